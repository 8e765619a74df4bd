//! `ddvla tasks widen-init --suite NAME --by M --out DIR`: a copy of a suite whose movable
//! objects start from wider regions, to record demonstrations a policy cannot imitate blind.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ddvla_tasks::suite::Suite;

/// The largest margin accepted, metres: past it the regions leave the reach of the scenes.
const MAX_MARGIN_M: f64 = 0.2;

/// Writes `<out_dir>/<suite>/` holding `suite.toml` and every task's BDDL file with its
/// movable objects' init regions grown by `margin_m` on every side
/// ([`ddvla_tasks::bddl::Problem::widen_object_regions`]). No init states are written
/// (`ddvla demos record` samples its own); evaluate on the original suite.
///
/// Refuses a margin outside (0, 0.2] m, an existing `<out_dir>/<suite>`, and a task in which
/// no region grows.
pub fn widen_init(dir: &Path, suite: &str, margin_m: f64, out_dir: &Path) -> Result<()> {
    if !(margin_m > 0.0 && margin_m <= MAX_MARGIN_M) {
        bail!("--by {margin_m}: must be in (0, {MAX_MARGIN_M}] metres");
    }
    let s = Suite::load(dir, suite)?;
    let out = out_dir.join(suite);
    if out.exists() {
        bail!("{} exists: never overwritten", out.display());
    }
    let mut files = Vec::with_capacity(s.tasks.len());
    for (task, entry) in s.tasks.iter().zip(&s.file.tasks) {
        let mut problem = task.problem.clone();
        let grown = problem.widen_object_regions(margin_m);
        if grown == 0 {
            bail!("{}: no movable object's init region to widen", entry.bddl);
        }
        println!("{}: {grown} regions widened by {margin_m} m", entry.bddl);
        files.push((&entry.bddl, problem.to_bddl_string()));
    }
    // Written beside, then renamed: an interrupted run leaves no half suite under the name.
    let staging = out_dir.join(format!(".{suite}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing the leftover {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let toml = s.dir.join("suite.toml");
    std::fs::copy(&toml, staging.join("suite.toml"))
        .with_context(|| format!("copying {} to {}", toml.display(), staging.display()))?;
    for (name, text) in files {
        let path = staging.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::rename(&staging, &out)
        .with_context(|| format!("renaming {} to {}", staging.display(), out.display()))?;
    Ok(())
}

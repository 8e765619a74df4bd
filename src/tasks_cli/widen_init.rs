//! `ddvla tasks widen-init --suite NAME --by M --out DIR`: a copy of a suite whose movable
//! objects start from wider regions, to record demonstrations a policy cannot imitate blind.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ddvla_policy::io_at;
use ddvla_policy::new_folder::write_new_folder;
use ddvla_tasks::suite::Suite;

/// The largest margin accepted, metres: past it the regions leave the reach of the scenes.
const MAX_MARGIN_M: f64 = 0.2;

/// Writes `<out_dir>/<suite>/` holding `suite.toml` and every task's BDDL file with its
/// movable objects' init regions grown by `margin_m` on every side
/// ([`ddvla_tasks::bddl::Problem::widen_object_regions`]). No init states are written
/// (`ddvla demos record` samples its own); evaluate on the original suite.
///
/// Refuses a margin outside (0, 0.2] m, an existing `<out_dir>/<suite>`, and a task in which
/// no region grows. The folder appears whole or not at all.
pub fn widen_init(dir: &Path, suite: &str, margin_m: f64, out_dir: &Path) -> Result<()> {
    if !(margin_m > 0.0 && margin_m <= MAX_MARGIN_M) {
        bail!("--by {margin_m}: must be in (0, {MAX_MARGIN_M}] metres");
    }
    let s = Suite::load(dir, suite)?;
    let out = out_dir.join(suite);
    let mut files = Vec::with_capacity(s.tasks.len());
    let mut grown = Vec::with_capacity(s.tasks.len());
    for (task, entry) in s.tasks.iter().zip(&s.file.tasks) {
        let mut problem = task.problem.clone();
        let n = problem.widen_object_regions(margin_m);
        if n == 0 {
            bail!("{}: no movable object's init region to widen", entry.bddl);
        }
        grown.push((&entry.bddl, n));
        files.push((&entry.bddl, problem.to_bddl_string()));
    }
    let toml = s.dir.join("suite.toml");
    // Staged beside `out` and renamed: an interrupted run leaves no half suite under the name.
    write_new_folder("tasks widen-init", &out, |staging| {
        std::fs::copy(&toml, staging.join("suite.toml")).map_err(io_at(&toml))?;
        for (name, text) in &files {
            let path = staging.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io_at(parent))?;
            }
            std::fs::write(&path, text).map_err(io_at(&path))?;
        }
        Ok(())
    })
    .with_context(|| format!("writing the widened copy of {suite}"))?;
    for (name, n) in grown {
        println!("{name}: {n} regions widened by {margin_m} m");
    }
    Ok(())
}

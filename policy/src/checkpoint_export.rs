//! A training run's policy, exported: the files a policy loads (configuration, weights,
//! tokenizer, statistics) copied out of a run folder, which also holds the optimizer and
//! trainer state and snapshots, into a new folder to commit or ship. The run's config and
//! loss log go beside them, so the folder says how it was made.
//!
//! The weights are checked to load as the configured model before anything is written, so an
//! exported folder is a checkpoint `ddvla eval --policy` accepts.

use std::path::Path;

use candle_core::Device;

use crate::checkpoint::{files, load_model};
use crate::error::io_at;
use crate::new_folder::write_new_folder;
use crate::{PolicyError, Result};

/// The files a policy needs, copied in this order; each must be in the run folder.
pub const POLICY_FILES: [&str; 4] = [
    files::CONFIG,
    files::WEIGHTS,
    files::TOKENIZER,
    files::STATISTICS,
];

/// The run's own records, copied when the run folder has them: the training config
/// `ddvla train` saved and its loss log.
pub const RUN_RECORDS: [&str; 2] = ["train.toml", "loss.csv"];

/// Copy the policy in the run (or checkpoint) folder `run` into `out`, a new folder (refused
/// if it exists), with [`RUN_RECORDS`] when present. Returns the names copied. Fails, writing
/// nothing, when a [`POLICY_FILES`] file is missing, the weights do not load as the model
/// `config.json` describes, or a copy fails part way (the folder appears only once whole).
pub fn export_checkpoint(run: &Path, out: &Path) -> Result<Vec<&'static str>> {
    if out.exists() {
        return Err(PolicyError::bad_input(
            "checkpoint export",
            format!(
                "output {} already exists: exporting never overwrites",
                out.display()
            ),
        ));
    }
    if let Some(missing) = POLICY_FILES.iter().find(|name| !run.join(name).is_file()) {
        return Err(PolicyError::bad_input(
            "checkpoint export",
            format!(
                "{} has no {missing}: not a checkpoint or training run folder",
                run.display()
            ),
        ));
    }
    load_model(run, &Device::Cpu)?;
    let present = RUN_RECORDS.iter().filter(|name| run.join(name).is_file());
    let names: Vec<&'static str> = POLICY_FILES.iter().chain(present).copied().collect();
    write_new_folder("checkpoint export", out, |staging| {
        for name in &names {
            let to = staging.join(name);
            std::fs::copy(run.join(name), &to).map_err(io_at(&to))?;
        }
        Ok(())
    })?;
    Ok(names)
}

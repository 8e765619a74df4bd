//! A checkpoint that no longer reads proprioception (`config.json`'s `use_proprio` false),
//! to fine-tune a policy that must take its state from the cameras: one trained with its
//! proprio can follow the demonstrated path by position alone and then mistake one phase of a
//! long task for another where two phases pass through the same poses with the gripper in
//! the same state. The proprio projector's weights are left out and the prompt loses the
//! proprio token, so the new checkpoint acts differently from the old one until a fine-tune
//! adapts it. Every other weight, the tokenizer and the statistics are copied (the proprio
//! statistics stay, unused).

use std::path::Path;

use crate::checkpoint::{files, load_model, load_weight_tensors};
use crate::model::{Config, ConfigFile};
use crate::new_folder::{copy_present_files, write_new_folder};
use crate::{PolicyError, Result};

/// The prefix of the proprio projector's tensors.
const PROJECTOR_PREFIX: &str = "proprio_projector.";

fn refuse(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoint drop-proprio", reason)
}

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` without its
/// proprio input. Refused, writing nothing, when the model reads no proprio already or takes
/// the episode step through it (which would be lost with it). A canonical axis-angle setting
/// (`proprio_axis_angle_at`) is cleared: there is no proprio left to read that way. Returns
/// the names of the tensors left out. The written folder is checked to load before it
/// appears.
pub fn drop_proprio_input(input: &Path, out: &Path) -> Result<Vec<String>> {
    let _span = tracing::info_span!("drop_proprio_input").entered();
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    if !old.use_proprio {
        return Err(refuse(format!(
            "{} reads no proprio already",
            input.display()
        )));
    }
    if old.episode_step_input {
        return Err(refuse(format!(
            "{} takes the episode step as a proprio value, which would be dropped with it",
            input.display()
        )));
    }
    let mut new = old;
    new.use_proprio = false;
    new.proprio_axis_angle_at = None;
    Config::new(new.clone())?;
    let mut weights = load_weight_tensors(input)?;
    let mut dropped: Vec<String> = weights
        .keys()
        .filter(|k| k.starts_with(PROJECTOR_PREFIX))
        .cloned()
        .collect();
    dropped.sort();
    if dropped.is_empty() {
        return Err(refuse(format!(
            "{} holds no `{PROJECTOR_PREFIX}*` tensors though config.json reads proprio",
            input.join(files::WEIGHTS).display()
        )));
    }
    for k in &dropped {
        weights.remove(k);
    }
    write_new_folder("checkpoint drop-proprio", out, |staging| {
        candle_core::safetensors::save(&weights, staging.join(files::WEIGHTS))?;
        new.save(&staging.join(files::CONFIG))?;
        copy_present_files(input, staging, &[files::STATISTICS, files::TOKENIZER])?;
        load_model(staging, &candle_core::Device::Cpu).map(drop)
    })?;
    Ok(dropped)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checkpoint_fixture::{act_at, tiny_checkpoint};

    #[test]
    fn the_new_checkpoint_ignores_the_proprio() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        tiny_checkpoint(&old);
        let dropped = drop_proprio_input(&old, &new).unwrap();
        assert!(!dropped.is_empty());
        assert!(dropped.iter().all(|k| k.starts_with(PROJECTOR_PREFIX)));
        let cfg = ConfigFile::load(&new.join(files::CONFIG)).unwrap();
        assert!(!cfg.use_proprio);
        let weights = load_weight_tensors(&new).unwrap();
        assert!(weights.keys().all(|k| !k.starts_with(PROJECTOR_PREFIX)));
        assert_eq!(
            weights.len() + dropped.len(),
            load_weight_tensors(&old).unwrap().len()
        );
        // The old checkpoint's actions follow the proprio; the new one's do not.
        assert_ne!(act_at(&old, -0.9), act_at(&old, 0.9));
        assert_eq!(act_at(&new, -0.9), act_at(&new, 0.9));
    }

    #[test]
    fn bad_requests_are_refused_without_writing() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        tiny_checkpoint(&old);
        drop_proprio_input(&old, &new).unwrap();
        let again = root.path().join("again");
        let err = drop_proprio_input(&new, &again).unwrap_err();
        assert!(
            err.to_string().contains("reads no proprio already"),
            "{err}"
        );
        assert!(!again.exists());
        let err = drop_proprio_input(&old, &new).unwrap_err();
        assert!(err.to_string().contains("never overwritten"), "{err}");
        let stepped = root.path().join("stepped");
        crate::checkpoint_episode_step::add_episode_step_input(&old, 100, &stepped).unwrap();
        let err = drop_proprio_input(&stepped, &again).unwrap_err();
        assert!(err.to_string().contains("episode step"), "{err}");
        assert!(!again.exists());
        let missing = root.path().join("missing");
        assert!(drop_proprio_input(&missing, &again).is_err());
    }
}

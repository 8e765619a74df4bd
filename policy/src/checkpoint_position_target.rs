//! A checkpoint whose first three action values are a target position
//! (`config.json`'s `action_position_target`, [`crate::position_target`]): the config names
//! the proprio's position and the metres per action unit, and every dataset's action
//! statistics get the targets' bounds for those values (`q01`/`q99`, computed by the caller
//! from the relabelled demonstrations), so the action tokenizer's bins span the workspace
//! instead of the delta range. Weights and tokenizer are copied: the model's position
//! tokens mean something new and need a fine-tune on relabelled data before it acts well;
//! its orientation and gripper tokens keep their meaning.

use std::path::Path;

use candle_core::Device;

use crate::checkpoint::{files, load_model};
use crate::error::io_at;
use crate::model::{Config, ConfigFile};
use crate::new_folder::write_new_folder;
use crate::position_target::{POSITION_DIMS, PositionTarget};
use crate::stats::{DatasetStatistics, MIN_SPREAD};
use crate::{PolicyError, Result};

fn refuse(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoint position-target", reason)
}

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` with action
/// values `0..3` read as a target position under `target`, normalised between `q01[i]` and
/// `q99[i]` (metres). Refused, writing nothing, when the input has position targets already,
/// the bounds are not finite or not at least [`MIN_SPREAD`] apart, or the new config does
/// not validate (proprio too short, too few action values). The written folder is checked
/// to load before it appears.
pub fn set_action_position_target(
    input: &Path,
    target: PositionTarget,
    q01: [f32; POSITION_DIMS],
    q99: [f32; POSITION_DIMS],
    out: &Path,
) -> Result<()> {
    let _span = tracing::info_span!("set_action_position_target").entered();
    if out.exists() {
        return Err(refuse(format!(
            "output {} already exists: never overwritten",
            out.display()
        )));
    }
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    if let Some(was) = old.action_position_target {
        return Err(refuse(format!(
            "{} predicts target positions already ({was:?})",
            input.display()
        )));
    }
    for i in 0..POSITION_DIMS {
        let (lo, hi) = (q01[i], q99[i]);
        if !(lo.is_finite() && hi.is_finite() && hi - lo >= MIN_SPREAD) {
            return Err(refuse(format!(
                "target bounds of value {i}: q01 {lo}, q99 {hi} (finite, at least \
                 {MIN_SPREAD} apart)"
            )));
        }
    }
    let mut new = old.clone();
    new.action_position_target = Some(target);
    Config::new(new.clone())?;
    let stats_path = input.join(files::STATISTICS);
    let mut stats = DatasetStatistics::load(&stats_path)?;
    for dataset in stats.0.values_mut() {
        let a = &mut dataset.action;
        a.validate(old.action.action_dim, "action")?;
        a.q01[..POSITION_DIMS].copy_from_slice(&q01);
        a.q99[..POSITION_DIMS].copy_from_slice(&q99);
        if let Some(m) = &mut a.mask {
            m[..POSITION_DIMS].fill(true);
        }
        // Summary fields other than the bounds no longer describe the position values.
        a.min = None;
        a.max = None;
        a.mean = None;
        a.std = None;
    }
    write_new_folder("checkpoint position-target", out, |staging| {
        new.save(&staging.join(files::CONFIG))?;
        stats.save(&staging.join(files::STATISTICS))?;
        for name in [files::WEIGHTS, files::TOKENIZER] {
            if input.join(name).is_file() {
                let to = staging.join(name);
                std::fs::copy(input.join(name), &to).map_err(io_at(&to))?;
            }
        }
        load_model(staging, &Device::Cpu).map(drop)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checkpoint_fixture::tiny_checkpoint;

    const T: PositionTarget = PositionTarget {
        proprio_at: 0,
        metres_per_unit: 0.02,
        labels: crate::position_target::PositionLabels::Delta,
    };

    #[test]
    fn the_config_names_the_target_and_the_bins_span_its_bounds() {
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        tiny_checkpoint(&input);
        let before = DatasetStatistics::load(&input.join(files::STATISTICS)).unwrap();
        set_action_position_target(&input, T, [0.3, -0.4, 0.0], [0.8, 0.4, 0.5], &out).unwrap();
        let cfg = ConfigFile::load(&out.join(files::CONFIG)).unwrap();
        assert_eq!(cfg.action_position_target, Some(T));
        let after = DatasetStatistics::load(&out.join(files::STATISTICS)).unwrap();
        for (key, stats) in &after.0 {
            let old = &before.0[key].action;
            assert_eq!(stats.action.q01[..3], [0.3, -0.4, 0.0]);
            assert_eq!(stats.action.q99[..3], [0.8, 0.4, 0.5]);
            assert_eq!(
                stats.action.q01[3..],
                old.q01[3..],
                "orientation and gripper kept"
            );
            assert_eq!(stats.action.q99[3..], old.q99[3..]);
        }
        assert_eq!(
            std::fs::read(out.join(files::WEIGHTS)).unwrap(),
            std::fs::read(input.join(files::WEIGHTS)).unwrap()
        );
    }

    #[test]
    fn bad_requests_are_refused_without_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        tiny_checkpoint(&input);
        let ok = ([0.3, -0.4, 0.0], [0.8, 0.4, 0.5]);
        let flat = set_action_position_target(&input, T, [0.3; 3], [0.3; 3], &out);
        assert!(flat.unwrap_err().to_string().contains("q01"));
        let nan = set_action_position_target(&input, T, [f32::NAN; 3], ok.1, &out);
        assert!(nan.is_err());
        let far = PositionTarget {
            proprio_at: 99,
            ..T
        };
        let err = set_action_position_target(&input, far, ok.0, ok.1, &out).unwrap_err();
        assert!(err.to_string().contains("proprio_at"), "{err}");
        assert!(!out.exists());
        set_action_position_target(&input, T, ok.0, ok.1, &out).unwrap();
        let again = tmp.path().join("again");
        let err = set_action_position_target(&out, T, ok.0, ok.1, &again).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        let exists = set_action_position_target(&input, T, ok.0, ok.1, &out).unwrap_err();
        assert!(exists.to_string().contains("never overwritten"), "{exists}");
    }
}

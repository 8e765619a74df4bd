//! A checkpoint given the episode step as one more proprio input
//! (`config.json`'s `episode_step_input`): the proprio projector's first layer gets one more
//! input column, all zeros, so the new checkpoint's actions are the old one's exactly until
//! a fine-tune teaches it to read the step; `proprio_dim` grows by one and every dataset's
//! proprio statistics gain the step's bounds (`q01` 0, `q99` `max_step`: steps
//! `0..=max_step` normalise to [-1, 1]). Every other weight, the tokenizer and the action
//! statistics are copied.

use std::path::Path;

use candle_core::{Device, Tensor};

use crate::checkpoint::{files, load_model};
use crate::error::io_at;
use crate::model::{Config, ConfigFile};
use crate::new_folder::write_new_folder;
use crate::stats::DatasetStatistics;
use crate::{PolicyError, Result};

/// The proprio projector's first layer weight, `[llm_dim, proprio_dim]`.
const FC1_WEIGHT: &str = "proprio_projector.fc1.weight";

fn refuse(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoint add-episode-step", reason)
}

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` taking the
/// episode step as its last proprio value, normalised so that step `max_step` maps to +1.
/// Refused, writing nothing, when the model has no proprio input or takes the step
/// already, `max_step` is 0, or the input is not a loadable checkpoint with statistics.
/// The written folder is checked to load before it appears.
pub fn add_episode_step_input(input: &Path, max_step: u32, out: &Path) -> Result<()> {
    let _span = tracing::info_span!("add_episode_step_input", max_step).entered();
    if out.exists() {
        return Err(refuse(format!(
            "output {} already exists: never overwritten",
            out.display()
        )));
    }
    if max_step == 0 {
        return Err(refuse("max_step must be at least 1".into()));
    }
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    if !old.use_proprio {
        return Err(refuse(format!(
            "{} takes no proprio input to append the step to",
            input.display()
        )));
    }
    if old.episode_step_input {
        return Err(refuse(format!(
            "{} takes the episode step already",
            input.display()
        )));
    }
    let mut new = old.clone();
    new.proprio_dim += 1;
    new.episode_step_input = true;
    Config::new(new.clone())?;
    let weights_path = input.join(files::WEIGHTS);
    let mut weights = crate::checkpoint::load_weight_tensors(input)?;
    let fc1 = weights.get(FC1_WEIGHT).ok_or_else(|| {
        refuse(format!(
            "{} holds no `{FC1_WEIGHT}` tensor",
            weights_path.display()
        ))
    })?;
    let &[rows, cols] = fc1.dims() else {
        return Err(refuse(format!(
            "`{FC1_WEIGHT}` has shape {:?}, not [width, proprio_dim]",
            fc1.dims()
        )));
    };
    if cols != old.proprio_dim {
        return Err(refuse(format!(
            "`{FC1_WEIGHT}` has {cols} input columns, config.json says proprio_dim {}",
            old.proprio_dim
        )));
    }
    let zeros = Tensor::zeros((rows, 1), fc1.dtype(), &Device::Cpu)?;
    let widened = Tensor::cat(&[fc1, &zeros], 1)?;
    weights.insert(FC1_WEIGHT.to_owned(), widened);
    let stats_path = input.join(files::STATISTICS);
    let mut stats = DatasetStatistics::load(&stats_path)?;
    for (key, dataset) in &mut stats.0 {
        let p = dataset.proprio.as_mut().ok_or_else(|| {
            refuse(format!(
                "{}: dataset {key:?} has no proprio statistics",
                stats_path.display()
            ))
        })?;
        p.validate(old.proprio_dim, "proprio")?;
        p.q01.push(0.0);
        p.q99.push(max_step as f32);
        if let Some(m) = &mut p.mask {
            m.push(true);
        }
        // Summary fields other than the bounds do not describe the new column: dropped.
        p.min = None;
        p.max = None;
        p.mean = None;
        p.std = None;
    }
    write_new_folder("checkpoint add-episode-step", out, |staging| {
        candle_core::safetensors::save(&weights, staging.join(files::WEIGHTS))?;
        new.save(&staging.join(files::CONFIG))?;
        stats.save(&staging.join(files::STATISTICS))?;
        if input.join(files::TOKENIZER).is_file() {
            let to = staging.join(files::TOKENIZER);
            std::fs::copy(input.join(files::TOKENIZER), &to).map_err(io_at(&to))?;
        }
        load_model(staging, &Device::Cpu).map(drop)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Policy;
    use crate::checkpoint_fixture::{act, observation, tiny_checkpoint};
    use crate::decode::{Parallel, ParallelConfig};

    #[test]
    fn the_new_input_starts_at_zero_weight_so_actions_are_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        let file = tiny_checkpoint(&input);
        add_episode_step_input(&input, 400, &out).unwrap();
        let new = ConfigFile::load(&out.join(files::CONFIG)).unwrap();
        assert!(new.episode_step_input);
        assert_eq!(new.proprio_dim, file.proprio_dim + 1);
        let stats = DatasetStatistics::load(&out.join(files::STATISTICS)).unwrap();
        let p = stats.select(None).unwrap().proprio.clone().unwrap();
        assert_eq!((p.q01.last(), p.q99.last()), (Some(&0.0), Some(&400.0)));
        let proprio: Vec<f32> = (0..file.proprio_dim).map(|i| i as f32 * 0.1).collect();
        let before = act(&input, &observation(proprio.clone()));
        for step in [0.0, 123.0, 900.0] {
            let mut with_step = proprio.clone();
            with_step.push(step);
            assert_eq!(act(&out, &observation(with_step)), before, "step {step}");
        }
        // Without the step the new model refuses the observation, naming the proprio.
        let policy = Policy::from_checkpoint(&out, None, &Device::Cpu).unwrap();
        let mut decoder = Parallel::new(ParallelConfig::default());
        let err = policy
            .act(&observation(proprio), &mut decoder, None)
            .err()
            .unwrap();
        assert!(err.to_string().contains("proprio"), "{err}");
    }

    #[test]
    fn refuses_twice_a_zero_bound_and_an_existing_output() {
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        tiny_checkpoint(&input);
        let zero = add_episode_step_input(&input, 0, &out).unwrap_err();
        assert!(zero.to_string().contains("max_step"), "{zero}");
        assert!(!out.exists());
        add_episode_step_input(&input, 300, &out).unwrap();
        let again = add_episode_step_input(&out, 300, &tmp.path().join("twice")).unwrap_err();
        assert!(again.to_string().contains("already"), "{again}");
        let exists = add_episode_step_input(&input, 300, &out).unwrap_err();
        assert!(exists.to_string().contains("exists"), "{exists}");
    }
}

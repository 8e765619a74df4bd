//! A checkpoint given its proprioception back (`config.json`'s `use_proprio` true again), the
//! step after [`checkpoint_drop_proprio`](crate::checkpoint_drop_proprio): a policy fine-tuned
//! without its pose has learned to take its state from the cameras, and gets the pose again
//! through a new proprio projector whose output layer is all zeros. The proprio token is then
//! the zero vector for every pose, so the new checkpoint's actions do not depend on the proprio
//! until a fine-tune teaches it to read it (ControlNet's zero-initialised layer); they are
//! close to, not equal to, the input's, as the prompt gains a token (attended with weight
//! `exp(0)` and shifting the later positions by one). The first layer is drawn from a seeded
//! stream so that its gradient is not zero once the output layer moves. Every other weight,
//! the tokenizer and the statistics (whose proprio bounds [`checkpoint_drop_proprio`] kept)
//! are copied.
//!
//! [`checkpoint_drop_proprio`]: crate::checkpoint_drop_proprio

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

use crate::checkpoint::{files, load_model, load_weight_tensors};
use crate::model::projector::ProprioProjector;
use crate::model::{Config, ConfigFile};
use crate::new_folder::{copy_present_files, write_new_folder};
use crate::stats::DatasetStatistics;
use crate::{PolicyError, Result};

/// The prefix of the proprio projector's tensors.
const PROJECTOR: &str = "proprio_projector";

fn refuse(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoint add-proprio", reason)
}

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` reading
/// `config.json`'s `proprio_dim` proprio values again, through a projector whose first layer
/// comes from `seed` and whose output layer is zero. Refused, writing nothing, when the model
/// reads proprio already, its `proprio_dim` is 0, or a dataset of its statistics has no
/// proprio bounds of that size (the bounds normalise the pose). Returns the names of the
/// tensors added. The written folder is checked to load before it appears.
pub fn add_proprio_input(input: &Path, seed: u64, out: &Path) -> Result<Vec<String>> {
    let _span = tracing::info_span!("add_proprio_input", seed).entered();
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    if old.use_proprio {
        return Err(refuse(format!("{} reads proprio already", input.display())));
    }
    if old.proprio_dim == 0 {
        return Err(refuse(format!(
            "{}: config.json's proprio_dim is 0",
            input.display()
        )));
    }
    let stats_path = input.join(files::STATISTICS);
    let stats = DatasetStatistics::load(&stats_path)?;
    for (key, dataset) in &stats.0 {
        let p = dataset.proprio.as_ref().ok_or_else(|| {
            refuse(format!(
                "{}: dataset {key:?} has no proprio statistics to normalise the pose with",
                stats_path.display()
            ))
        })?;
        p.validate(old.proprio_dim, "proprio")?;
    }
    let mut new = old.clone();
    new.use_proprio = true;
    Config::new(new.clone())?;
    let mut weights = load_weight_tensors(input)?;
    let added = projector_weights(old.proprio_dim, old.text.hidden_size, seed)?;
    let mut names: Vec<String> = added.keys().cloned().collect();
    names.sort();
    if let Some(clash) = names.iter().find(|k| weights.contains_key(*k)) {
        return Err(refuse(format!(
            "{} holds `{clash}` already though config.json reads no proprio",
            input.join(files::WEIGHTS).display()
        )));
    }
    weights.extend(added);
    write_new_folder("checkpoint add-proprio", out, |staging| {
        candle_core::safetensors::save(&weights, staging.join(files::WEIGHTS))?;
        new.save(&staging.join(files::CONFIG))?;
        copy_present_files(input, staging, &[files::STATISTICS, files::TOKENIZER])?;
        load_model(staging, &Device::Cpu).map(drop)
    })?;
    Ok(names)
}

/// A proprio projector's tensors by name: `fc1` drawn as a fresh model's from `seed`, `fc2`
/// (weight and bias) zero.
fn projector_weights(
    proprio_dim: usize,
    llm_dim: usize,
    seed: u64,
) -> Result<std::collections::HashMap<String, Tensor>> {
    let map = VarMap::new();
    let vb = crate::seeded_init::var_builder(&map, seed, DType::F32, &Device::Cpu);
    ProprioProjector::load(vb.pp(PROJECTOR), proprio_dim, llm_dim)?;
    let data = map
        .data()
        .lock()
        .map_err(|_| refuse("the projector's variable map was poisoned".into()))?;
    data.iter()
        .map(|(name, var)| {
            let t = var.as_tensor();
            let t = if name.starts_with(&format!("{PROJECTOR}.fc2.")) {
                t.zeros_like()?
            } else {
                t.copy()?
            };
            Ok((name.clone(), t))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checkpoint_drop_proprio::drop_proprio_input;
    use crate::checkpoint_fixture::{act_at, tiny_checkpoint};

    #[test]
    fn the_proprio_comes_back_through_a_zero_output_layer() {
        let root = tempfile::tempdir().unwrap();
        let (sighted, blind, back) = (
            root.path().join("sighted"),
            root.path().join("blind"),
            root.path().join("back"),
        );
        tiny_checkpoint(&sighted);
        let dropped = drop_proprio_input(&sighted, &blind).unwrap();
        let added = add_proprio_input(&blind, 7, &back).unwrap();
        assert_eq!(added, dropped, "the same tensors come back");
        assert!(
            ConfigFile::load(&back.join(files::CONFIG))
                .unwrap()
                .use_proprio
        );
        let weights = load_weight_tensors(&back).unwrap();
        let sum = |name: &str| -> f32 {
            weights[name]
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap()
        };
        assert!(sum("proprio_projector.fc1.weight") > 0.0);
        assert!(sum("proprio_projector.fc2.weight") <= 0.0);
        assert!(sum("proprio_projector.fc2.bias") <= 0.0);
        // It needs the proprio again, and acts the same whatever its value, until trained.
        assert_eq!(act_at(&back, -0.9), act_at(&back, 0.9));
        // The same seed gives the same checkpoint.
        let again = root.path().join("again");
        add_proprio_input(&blind, 7, &again).unwrap();
        assert_eq!(
            std::fs::read(back.join(files::WEIGHTS)).unwrap(),
            std::fs::read(again.join(files::WEIGHTS)).unwrap()
        );
    }

    #[test]
    fn bad_requests_are_refused_without_writing() {
        let root = tempfile::tempdir().unwrap();
        let (sighted, blind, out) = (
            root.path().join("sighted"),
            root.path().join("blind"),
            root.path().join("out"),
        );
        tiny_checkpoint(&sighted);
        let err = add_proprio_input(&sighted, 0, &out).unwrap_err();
        assert!(err.to_string().contains("reads proprio already"), "{err}");
        drop_proprio_input(&sighted, &blind).unwrap();
        let err = add_proprio_input(&blind, 0, &sighted).unwrap_err();
        assert!(err.to_string().contains("never overwritten"), "{err}");
        // Statistics without proprio bounds: nothing to normalise the pose with.
        let stats_path = blind.join(files::STATISTICS);
        let mut stats = DatasetStatistics::load(&stats_path).unwrap();
        for dataset in stats.0.values_mut() {
            dataset.proprio = None;
        }
        stats.save(&stats_path).unwrap();
        let err = add_proprio_input(&blind, 0, &out).unwrap_err();
        assert!(err.to_string().contains("no proprio statistics"), "{err}");
        assert!(!out.exists());
        assert!(add_proprio_input(&root.path().join("missing"), 0, &out).is_err());
    }
}

//! A checkpoint given a convolutional branch beside its vision towers' patch embedding
//! (`vision.conv_stem_channels`, [`crate::model::conv_stem`]). The branch's strided
//! convolutions start from candle's convolution init (seeded, so the same in every process)
//! and its 1×1 output at zero, so the new checkpoint's actions are the old one's exactly
//! until a fine-tune (`train_vision = true`) trains the branch. Every other weight, the
//! tokenizer and the statistics are copied.

use std::path::Path;

use candle_core::{DType, Device, Var};
use candle_nn::VarMap;

use crate::checkpoint::{files, load_model, load_weight_tensors};
use crate::model::{Config, ConfigFile, VlaModel};
use crate::new_folder::{copy_present_files, write_new_folder};
use crate::{PolicyError, Result};

fn refuse(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoint add-conv-stem", reason)
}

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` with a
/// convolutional branch of `channels` on every vision tower (the fused one too), its new
/// weights drawn with `seed`. Refused, writing nothing, when a tower has a branch already
/// or `channels` does not fit the patch (the error names `conv_stem_channels`). The written
/// folder is checked to load before it appears.
pub fn add_conv_stem(input: &Path, channels: &[usize], seed: u64, out: &Path) -> Result<()> {
    let _span = tracing::info_span!("add_conv_stem", ?channels).entered();
    if out.exists() {
        return Err(refuse(format!(
            "output {} already exists: never overwritten",
            out.display()
        )));
    }
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    let mut towers = std::iter::once(&old.vision).chain(old.fused_vision.as_ref());
    if towers.any(|v| !v.conv_stem_channels.is_empty()) {
        return Err(refuse(format!(
            "{} has a convolutional branch already",
            input.display()
        )));
    }
    if channels.is_empty() {
        return Err(refuse("give at least one channel count".into()));
    }
    let mut new = old;
    new.vision.conv_stem_channels = channels.to_vec();
    if let Some(fused) = &mut new.fused_vision {
        fused.conv_stem_channels = channels.to_vec();
    }
    let cfg = Config::new(new.clone())?;
    // The input's tensors, then the model built over them: what it asks for and the input
    // lacks (the branch) is created by the seeded builder.
    let vars = load_weight_tensors(input)?
        .into_iter()
        .map(|(name, t)| Ok((name, Var::from_tensor(&t)?)))
        .collect::<Result<_>>()?;
    let varmap = VarMap::new();
    *varmap
        .data()
        .lock()
        .map_err(|_| refuse("the VarMap lock is poisoned".into()))? = vars;
    let vb = crate::seeded_init::var_builder(&varmap, seed, DType::F32, &Device::Cpu);
    VlaModel::load(&vb, cfg)?;
    write_new_folder("checkpoint add-conv-stem", out, |staging| {
        varmap.save(staging.join(files::WEIGHTS))?;
        new.save(&staging.join(files::CONFIG))?;
        copy_present_files(input, staging, &[files::STATISTICS, files::TOKENIZER])?;
        load_model(staging, &Device::Cpu).map(drop)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checkpoint_fixture::{act, observation, tiny_checkpoint};
    use crate::model::presets;

    const STEM: &str = "vision_backbone.featurizer.embeddings.conv_stem";

    #[test]
    fn the_copy_acts_as_the_input_with_a_trainable_branch() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        tiny_checkpoint(&old);
        add_conv_stem(&old, &[4, 6, 8], 3, &new).unwrap();
        let cfg = ConfigFile::load(&new.join(files::CONFIG)).unwrap();
        assert_eq!(cfg.vision.conv_stem_channels, vec![4, 6, 8]);
        let obs = observation(vec![0.1; presets::tiny().proprio_dim]);
        assert_eq!(act(&new, &obs), act(&old, &obs));
        let weights = load_weight_tensors(&new).unwrap();
        let values =
            |name: &str| -> Vec<f32> { weights[name].flatten_all().unwrap().to_vec1().unwrap() };
        for zero in ["out.weight", "out.bias"] {
            let v = values(&format!("{STEM}.{zero}"));
            assert_eq!(v, vec![0.0; v.len()], "{zero}");
        }
        assert!(
            values(&format!("{STEM}.0.weight"))
                .iter()
                .any(|v| v.abs() > 1e-6)
        );
        assert_eq!(weights[&format!("{STEM}.2.weight")].dims(), &[8, 6, 3, 3]);
        // Every input tensor is copied unchanged.
        let input = load_weight_tensors(&old).unwrap();
        let mut names: Vec<&String> = input.keys().collect();
        names.sort();
        for name in names {
            let want: Vec<f32> = input[name].flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(values(name), want, "{name}");
        }
        // The same seed draws the same branch; another seed another.
        let again = root.path().join("again");
        add_conv_stem(&old, &[4, 6, 8], 3, &again).unwrap();
        let other = root.path().join("other");
        add_conv_stem(&old, &[4, 6, 8], 4, &other).unwrap();
        let first = |dir: &Path| {
            load_weight_tensors(dir).unwrap()[&format!("{STEM}.0.weight")]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(first(&again), first(&new));
        assert_ne!(first(&other), first(&new));
    }

    #[test]
    fn bad_requests_are_refused_without_writing() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("old");
        tiny_checkpoint(&old);
        let out = root.path().join("out");
        // The tiny preset's 8-pixel patch takes three halvings.
        let err = add_conv_stem(&old, &[4, 8], 0, &out).unwrap_err();
        assert!(err.to_string().contains("conv_stem_channels"), "{err}");
        assert!(!out.exists());
        let err = add_conv_stem(&old, &[], 0, &out).unwrap_err();
        assert!(err.to_string().contains("channel"), "{err}");
        let with = root.path().join("with");
        add_conv_stem(&old, &[4, 6, 8], 0, &with).unwrap();
        let err = add_conv_stem(&with, &[4, 6, 8], 0, &out).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        assert!(!out.exists());
        let err = add_conv_stem(&old, &[4, 6, 8], 0, &with).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }
}

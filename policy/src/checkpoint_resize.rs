//! A checkpoint taken to another camera image size: the vision tower's learned position
//! embeddings resampled bicubically to the new patch grid ([`crate::model::grid_resample`]),
//! every other weight copied, `config.json`'s `vision.image_size` changed. The result is the
//! starting point of a fine-tune at that resolution (ViT's and DeiT's recipe for training at
//! a higher resolution than the one pretrained at); before that fine-tune its actions are
//! the old model's seen through interpolated embeddings, not a policy to deploy.
//!
//! The patch size stays, so each patch still covers the same pixels: a larger image means
//! more, finer patches of the scene (192 px at 16 px patches: 12×12 per camera instead of
//! 8×8), and a longer backbone sequence, which must fit `text.max_position_embeddings`.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::checkpoint::{files, load_model};
use crate::error::io_at;
use crate::model::grid_resample::resample_square_grid;
use crate::model::{Config, ConfigFile};
use crate::new_folder::write_new_folder;
use crate::{PolicyError, Result};

/// File written beside the resized weights naming the checkpoint and sizes they came from.
pub const RESIZED_FROM: &str = "resized_from.json";

/// How the vision tower's position-embedding tensor's name ends.
const POSITION_EMBEDDING_SUFFIX: &str = "embeddings.position_embedding.weight";

fn refuse(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoint resize-images", reason)
}

/// What [`resize_image_inputs`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resized {
    /// The input's image side (px).
    pub from_px: usize,
    /// The output's image side (px).
    pub to_px: usize,
    /// Patch grid side before and after.
    pub grid: (usize, usize),
    /// Names of the resampled tensors.
    pub tensors: Vec<String>,
}

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` taken to
/// camera images of `image_size`×`image_size` px. Refused, writing nothing, when the size is
/// not a multiple of the patch size, the longer sequence does not fit the backbone's
/// positions, the model fuses two vision towers (their grids differ), or the input is not a
/// loadable checkpoint. The written folder is checked to load before it appears.
pub fn resize_image_inputs(input: &Path, image_size: usize, out: &Path) -> Result<Resized> {
    let _span = tracing::info_span!("resize_image_inputs", image_size).entered();
    if out.exists() {
        return Err(refuse(format!(
            "output {} already exists: resizing never overwrites",
            out.display()
        )));
    }
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    if old.fused_vision.is_some() {
        return Err(refuse(format!(
            "{} fuses two vision towers; resizing handles a single tower",
            input.display()
        )));
    }
    let patch = old.vision.patch_size;
    if image_size == 0 || !image_size.is_multiple_of(patch) {
        return Err(refuse(format!(
            "image size {image_size} px is not a positive multiple of the {patch} px patches"
        )));
    }
    let mut new = old.clone();
    new.vision.image_size = image_size;
    // Validates the new sequence length against `max_position_embeddings`.
    Config::new(new.clone())?;
    let (side, new_side) = (old.vision.image_size / patch, image_size / patch);
    let weights_path = input.join(files::WEIGHTS);
    let mut weights = crate::checkpoint::load_weight_tensors(input)?;
    let mut names: Vec<String> = weights
        .keys()
        .filter(|n| n.ends_with(POSITION_EMBEDDING_SUFFIX))
        .cloned()
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(refuse(format!(
            "{} holds no `…{POSITION_EMBEDDING_SUFFIX}` tensor",
            weights_path.display()
        )));
    }
    for name in &names {
        let t = &weights[name];
        let resized = resample_tensor(t, side, new_side).map_err(|reason| {
            refuse(format!(
                "{}: tensor `{name}` {reason}",
                weights_path.display()
            ))
        })?;
        weights.insert(name.clone(), resized);
    }
    write_new_folder("checkpoint resize-images", out, |staging| {
        candle_core::safetensors::save(&weights, staging.join(files::WEIGHTS))?;
        new.save(&staging.join(files::CONFIG))?;
        for name in [files::TOKENIZER, files::STATISTICS] {
            if input.join(name).is_file() {
                let to = staging.join(name);
                std::fs::copy(input.join(name), &to).map_err(io_at(&to))?;
            }
        }
        let record = serde_json::json!({
            "checkpoint": input.display().to_string(),
            "from_image_size": old.vision.image_size,
            "to_image_size": image_size,
            "patch_size": patch,
            "resampled": names,
            "method": "bicubic, a = -0.75, align_corners = false",
        });
        let to = staging.join(RESIZED_FROM);
        let text = serde_json::to_string_pretty(&record).map_err(|source| PolicyError::Json {
            path: out.join(RESIZED_FROM),
            source,
        })?;
        std::fs::write(&to, text).map_err(io_at(&to))?;
        load_model(staging, &Device::Cpu).map(drop)
    })?;
    Ok(Resized {
        from_px: old.vision.image_size,
        to_px: image_size,
        grid: (side, new_side),
        tensors: names,
    })
}

/// `t`, `[side², dim]`, resampled to `[new_side², dim]` in its own dtype.
fn resample_tensor(
    t: &Tensor,
    side: usize,
    new_side: usize,
) -> std::result::Result<Tensor, String> {
    let &[rows, dim] = t.dims() else {
        return Err(format!("has shape {:?}, not [patches, width]", t.dims()));
    };
    if rows != side * side {
        return Err(format!(
            "has {rows} rows, the config's {side}×{side} patch grid needs {}",
            side * side
        ));
    }
    let values: Vec<f32> = t
        .to_dtype(DType::F32)
        .and_then(|f| f.flatten_all())
        .and_then(|f| f.to_vec1())
        .map_err(|e| e.to_string())?;
    let out = resample_square_grid(&values, side, dim, new_side)
        .ok_or_else(|| "could not be resampled".to_owned())?;
    Tensor::from_vec(out, (new_side * new_side, dim), &Device::Cpu)
        .and_then(|r| r.to_dtype(t.dtype()))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checkpoint::{random_model, save};
    use crate::model::presets;

    /// A random `tiny` checkpoint (32 px images, 16 px patches: a 2×2 grid) in `dir`.
    fn tiny_checkpoint(dir: &Path) -> ConfigFile {
        let mut file = presets::tiny();
        file.vision.patch_size = 16;
        let (_, varmap) = random_model(Config::new(file.clone()).unwrap(), &Device::Cpu).unwrap();
        save(&varmap, &file, dir).unwrap();
        std::fs::write(dir.join(files::STATISTICS), "{\"s\": [0.5]}").unwrap();
        file
    }

    fn tensors(dir: &Path) -> std::collections::BTreeMap<String, Tensor> {
        candle_core::safetensors::load(dir.join(files::WEIGHTS), &Device::Cpu)
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn resamples_the_position_embeddings_and_copies_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        let file = tiny_checkpoint(&input);
        assert_eq!(file.vision.image_size, 32);
        let done = resize_image_inputs(&input, 48, &out).unwrap();
        assert_eq!((done.from_px, done.to_px, done.grid), (32, 48, (2, 3)));
        assert_eq!(done.tensors.len(), 1, "{:?}", done.tensors);
        let config = ConfigFile::load(&out.join(files::CONFIG)).unwrap();
        assert_eq!(config.vision.image_size, 48);
        assert_eq!(
            ConfigFile {
                vision: file.vision.clone(),
                ..config.clone()
            },
            file,
            "only the image size changes"
        );
        let (before, after) = (tensors(&input), tensors(&out));
        assert_eq!(before.len(), after.len());
        for (name, t) in &before {
            let u = &after[name];
            if done.tensors.contains(name) {
                assert_eq!(u.dims(), &[9, t.dims()[1]], "{name}");
                // The mean of a bicubic resample stays close to the input's.
                let m = |x: &Tensor| x.mean_all().unwrap().to_scalar::<f32>().unwrap();
                assert!((m(t) - m(u)).abs() < 0.05, "{name}: {} vs {}", m(t), m(u));
            } else {
                let (a, b) = (t.flatten_all().unwrap(), u.flatten_all().unwrap());
                let diff = (a - b).unwrap().abs().unwrap().sum_all().unwrap();
                assert_eq!(diff.to_scalar::<f32>().unwrap().to_bits(), 0f32.to_bits());
            }
        }
        assert!(out.join(files::STATISTICS).is_file());
        assert!(out.join(RESIZED_FROM).is_file());
        load_model(&out, &Device::Cpu).unwrap();
    }

    /// Resizing to the same size is the identity: the weights are bit for bit the input's.
    #[test]
    fn the_same_size_keeps_every_weight() {
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        tiny_checkpoint(&input);
        resize_image_inputs(&input, 32, &out).unwrap();
        let (before, after) = (tensors(&input), tensors(&out));
        for (name, t) in &before {
            let a: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            let b: Vec<f32> = after[name].flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(a, b, "{name}");
        }
    }

    #[test]
    fn refuses_bad_sizes_and_existing_outputs_writing_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        tiny_checkpoint(&input);
        let out = tmp.path().join("out");
        for (size, says) in [
            (40, "not a positive multiple of the 16 px patches"),
            (0, "not a positive multiple"),
            (1024, "max_position_embeddings"),
        ] {
            let err = resize_image_inputs(&input, size, &out)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{size}: {err}");
            assert!(!out.exists(), "{size}");
        }
        std::fs::create_dir(&out).unwrap();
        let err = resize_image_inputs(&input, 48, &out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("already exists"), "{err}");
        let missing = resize_image_inputs(&tmp.path().join("none"), 48, &tmp.path().join("o2"));
        assert!(missing.is_err());
    }
}

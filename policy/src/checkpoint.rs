//! Checkpoints: a directory with `config.json`, `model.safetensors` (names mirror the module
//! tree), optionally `tokenizer.json` and `dataset_statistics.json`.
//!
//! Loading goes through a checking `VarBuilder` backend: a missing tensor, a shape mismatch or
//! a non-finite weight is a typed [`PolicyError`] naming the tensor, the expected and the
//! found shape — not a panic deep inside a layer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::safetensors::BufferedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};

use crate::error::io_at;
use crate::model::{Config, ConfigFile, VlaModel};
use crate::{PolicyError, Result};

/// File names inside a checkpoint directory.
pub mod files {
    /// Model configuration.
    pub const CONFIG: &str = "config.json";
    /// Weights.
    pub const WEIGHTS: &str = "model.safetensors";
    /// Text tokenizer.
    pub const TOKENIZER: &str = "tokenizer.json";
    /// Normalisation statistics.
    pub const STATISTICS: &str = "dataset_statistics.json";
    /// The files of a checkpoint besides its weights, which checkpoints of one model share.
    pub const SIDE_FILES: [&str; 3] = [CONFIG, TOKENIZER, STATISTICS];
}

/// A safetensors backend that validates every tensor the model asks for.
struct CheckedSafetensors {
    inner: BufferedSafetensors,
    path: PathBuf,
    first_error: Arc<Mutex<Option<PolicyError>>>,
}

impl CheckedSafetensors {
    fn fail(&self, err: PolicyError) -> candle_core::Error {
        let msg = err.to_string();
        if let Ok(mut slot) = self.first_error.lock()
            && slot.is_none()
        {
            *slot = Some(err);
        }
        candle_core::Error::Msg(msg)
    }
}

impl SimpleBackend for CheckedSafetensors {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let Ok(view) = self.inner.get(name) else {
            return Err(self.fail(PolicyError::MissingTensor {
                path: self.path.clone(),
                tensor: name.to_owned(),
                expected: s.dims().to_vec(),
            }));
        };
        if view.shape() != s.dims() {
            return Err(self.fail(PolicyError::ShapeMismatch {
                path: self.path.clone(),
                tensor: name.to_owned(),
                expected: s.dims().to_vec(),
                found: view.shape().to_vec(),
            }));
        }
        let t = self.inner.load(name, dev)?.to_dtype(dtype)?;
        // 0·x is NaN exactly where x is NaN or ±inf.
        let probe = t
            .affine(0.0, 0.0)?
            .to_dtype(DType::F32)?
            .sum_all()?
            .to_scalar::<f32>()?;
        if probe.is_nan() {
            return Err(self.fail(PolicyError::NonFiniteWeights {
                path: self.path.clone(),
                tensor: name.to_owned(),
            }));
        }
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.inner.load(name, dev)?.to_dtype(dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.inner.get(name).is_ok()
    }
}

/// Run `build` over a checked `VarBuilder` reading `weights`; typed errors win over candle's.
pub fn with_checked_weights<T>(
    weights: &Path,
    device: &Device,
    build: impl FnOnce(&VarBuilder) -> Result<T>,
) -> Result<T> {
    let bytes = std::fs::read(weights).map_err(io_at(weights))?;
    let inner = BufferedSafetensors::new(bytes).map_err(|e| PolicyError::Io {
        path: weights.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    })?;
    let first_error = Arc::new(Mutex::new(None));
    let backend = CheckedSafetensors {
        inner,
        path: weights.to_owned(),
        first_error: Arc::clone(&first_error),
    };
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
    match build(&vb) {
        Ok(v) => Ok(v),
        Err(e) => Err(first_error
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or(e)),
    }
}

/// Load the model of a checkpoint directory.
pub fn load_model(dir: &Path, device: &Device) -> Result<VlaModel> {
    let cfg = Config::load(&dir.join(files::CONFIG))?;
    with_checked_weights(&dir.join(files::WEIGHTS), device, |vb| {
        VlaModel::load(vb, cfg)
    })
}

/// Seed of [`random_model`]'s weights.
pub const RANDOM_WEIGHTS_SEED: u64 = 0;

/// A model with freshly initialised (random) weights held in a [`VarMap`] (for training and
/// for benchmarks; such a model is untrained and its actions mean nothing). The weights are
/// the same in every process ([`crate::seeded_init`] with [`RANDOM_WEIGHTS_SEED`]).
pub fn random_model(cfg: Config, device: &Device) -> Result<(VlaModel, VarMap)> {
    random_model_with_seed(cfg, RANDOM_WEIGHTS_SEED, device)
}

/// [`random_model`] with the initialisation streams keyed by `seed`: another seed, other
/// weights (independently initialised models, e.g. for ensembles in tests).
pub fn random_model_with_seed(
    cfg: Config,
    seed: u64,
    device: &Device,
) -> Result<(VlaModel, VarMap)> {
    let varmap = VarMap::new();
    let vb = crate::seeded_init::var_builder(&varmap, seed, DType::F32, device);
    let model = VlaModel::load(&vb, cfg)?;
    Ok((model, varmap))
}

/// Write `config.json` and `model.safetensors` into `dir` (created if needed).
pub fn save(varmap: &VarMap, cfg: &ConfigFile, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    cfg.save(&dir.join(files::CONFIG))?;
    varmap.save(dir.join(files::WEIGHTS))?;
    Ok(())
}

/// The tensors of `dir`'s weights file (`model.safetensors`) by name, on the CPU; an
/// unreadable file is an I/O error naming it.
pub fn load_weight_tensors(dir: &Path) -> Result<std::collections::HashMap<String, Tensor>> {
    let path = dir.join(files::WEIGHTS);
    candle_core::safetensors::load(&path, &Device::Cpu).map_err(|e| PolicyError::Io {
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    })
}

/// Write into the new folder `out` (refused if it exists, `what` naming the command) the
/// checkpoint `input` with the config `new` and everything else copied: weights, statistics
/// and tokenizer. For commands that change only how the model reads its inputs; the folder is
/// checked to load before it appears.
pub(crate) fn write_with_config(
    what: &str,
    input: &Path,
    new: &ConfigFile,
    out: &Path,
) -> Result<()> {
    Config::new(new.clone())?;
    crate::new_folder::write_new_folder(what, out, |staging| {
        new.save(&staging.join(files::CONFIG))?;
        crate::new_folder::copy_present_files(
            input,
            staging,
            &[files::WEIGHTS, files::STATISTICS, files::TOKENIZER],
        )?;
        load_model(staging, &Device::Cpu).map(drop)
    })
}

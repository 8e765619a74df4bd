//! Training checkpoints: a regular policy checkpoint (`config.json`, `model.safetensors`,
//! `tokenizer.json`, `dataset_statistics.json`, loadable by [`crate::Policy`]) plus the
//! optimiser moments (`optimizer.safetensors`) and `trainer_state.json` (step, optimiser
//! bias-correction step, mask-RNG stream position, unnorm key, training config with its
//! objective), so that
//! [`Trainer::resume`] continues with exactly the updates an uninterrupted run would take.
//! A run that keeps a weight average adds `ema.safetensors` (the average, resumed exactly)
//! and `ema/`, a policy checkpoint with the averaged weights.

use std::path::Path;

use candle_core::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::TrainConfig;
use super::trainer::{Trainer, Weights};
use crate::checkpoint::{self, files as ckpt};
use crate::error::io_at;
use crate::model::Config;
use crate::stats::DatasetStatistics;
use crate::text::PromptTokenizer;
use crate::{PolicyError, Result};

/// File names a training checkpoint adds to a policy checkpoint.
pub mod files {
    /// AdamW moments, `m.<variable>` and `v.<variable>`.
    pub const OPTIMIZER: &str = "optimizer.safetensors";
    /// Step counters, RNG position and configuration (`TrainerState`).
    pub const STATE: &str = "trainer_state.json";
    /// Staging folder inside a run folder: a save writes every file here first, then
    /// renames them into the run folder, `trainer_state.json` last.
    pub const STAGING: &str = ".saving";
    /// The weight average (`ema.<variable>`), when the run keeps one.
    pub const EMA: &str = "ema.safetensors";
    /// A policy checkpoint with the averaged weights (the untrained variables as they
    /// are), when the run keeps an average: evaluate it like the run folder itself.
    pub const EMA_CHECKPOINT: &str = "ema";
}

/// Version of `trainer_state.json` written by this build. 2 added `train.objective` and
/// `train.parallel_slots`; version 1 files still load (with the diffusion objective and
/// `[MASK]` slots, the only behaviour version 1 had). 3 added `train.train_vision`; older
/// files load with it off (their towers were frozen). 4 added `train.ema_decay` and
/// `ema_updates`; older files load without an average.
const STATE_VERSION: u32 = 4;

/// Oldest `trainer_state.json` version this build reads.
const OLDEST_STATE_VERSION: u32 = 1;

/// The contents of `trainer_state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainerState {
    version: u32,
    step: u64,
    optimizer_steps: u64,
    /// ChaCha word position of the mask stream (decimal: u128 does not fit JSON numbers).
    mask_rng_word_pos: String,
    unnorm_key: Option<String>,
    train: TrainConfig,
    /// Updates folded into the weight average (0 without one).
    #[serde(default)]
    ema_updates: u64,
}

fn require(path: &Path) -> Result<()> {
    if path.exists() {
        Ok(())
    } else {
        Err(io_at(path)(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not found",
        )))
    }
}

/// Weights (as trainable variables), statistics and prompt tokenizer of a checkpoint.
pub(super) fn load_checkpoint(
    dir: &Path,
    device: &Device,
) -> Result<(Weights, DatasetStatistics, (PromptTokenizer, String))> {
    let cfg = Config::load(&dir.join(ckpt::CONFIG))?;
    let weights = dir.join(ckpt::WEIGHTS);
    require(&weights)?;
    // Variables are created (seeded) and then overwritten; `VarMap::load` fails on a
    // missing tensor or a shape mismatch. (For 7B models the seeded init is wasted time.)
    let (model, mut varmap) = checkpoint::random_model(cfg, device)?;
    varmap.load(&weights)?;
    let statistics = DatasetStatistics::load(&dir.join(ckpt::STATISTICS))?;
    let tok_path = dir.join(ckpt::TOKENIZER);
    let prompt = PromptTokenizer::from_file(&tok_path, model.config())?;
    let tokenizer_json = std::fs::read_to_string(&tok_path).map_err(io_at(&tok_path))?;
    Ok((
        Weights {
            varmap,
            model,
            file: Some(weights),
        },
        statistics,
        (prompt, tokenizer_json),
    ))
}

impl Trainer {
    /// Write a policy checkpoint plus the optimiser state into `dir` (created if needed).
    ///
    /// The files are written into `dir/.saving` and then renamed into `dir`, the state file
    /// last: a run killed while writing (seconds for the weights and moments) keeps its
    /// previous checkpoint whole and resumable; only a kill within the renames (microseconds)
    /// can mix two saves.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let staging = dir.join(files::STAGING);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
        }
        let file = self.policy_config_file();
        checkpoint::save(&self.varmap, &file, &staging)?;
        self.save_policy_extras(&staging)?;
        candle_core::safetensors::save(&self.opt.state_tensors(), staging.join(files::OPTIMIZER))?;
        if let Some(ema) = &self.ema {
            candle_core::safetensors::save(&ema.state_tensors(), staging.join(files::EMA))?;
            self.save_ema_checkpoint(ema, &file, &staging.join(files::EMA_CHECKPOINT))?;
        }
        let state = TrainerState {
            version: STATE_VERSION,
            step: self.step,
            optimizer_steps: self.opt.steps(),
            mask_rng_word_pos: self.rng.get_word_pos().to_string(),
            unnorm_key: self.unnorm_key.clone(),
            train: self.cfg.clone(),
            ema_updates: self.ema.as_ref().map_or(0, super::ema::WeightEma::updates),
        };
        let path = staging.join(files::STATE);
        let text = serde_json::to_string_pretty(&state).map_err(|source| PolicyError::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, text).map_err(io_at(&path))?;
        for name in [
            ckpt::WEIGHTS,
            ckpt::CONFIG,
            ckpt::STATISTICS,
            ckpt::TOKENIZER,
            files::OPTIMIZER,
        ] {
            let to = dir.join(name);
            std::fs::rename(staging.join(name), &to).map_err(io_at(&to))?;
        }
        // The average's files are replaced (or, when the run no longer keeps one, removed:
        // they would describe an average this state does not continue).
        let ema_file = dir.join(files::EMA);
        let ema_dir = dir.join(files::EMA_CHECKPOINT);
        if ema_dir.exists() {
            std::fs::remove_dir_all(&ema_dir).map_err(io_at(&ema_dir))?;
        }
        if self.ema.is_some() {
            std::fs::rename(staging.join(files::EMA), &ema_file).map_err(io_at(&ema_file))?;
            std::fs::rename(staging.join(files::EMA_CHECKPOINT), &ema_dir)
                .map_err(io_at(&ema_dir))?;
        } else if ema_file.exists() {
            std::fs::remove_file(&ema_file).map_err(io_at(&ema_file))?;
        }
        let to = dir.join(files::STATE);
        std::fs::rename(staging.join(files::STATE), &to).map_err(io_at(&to))?;
        std::fs::remove_dir(&staging).map_err(io_at(&staging))
    }

    /// The checkpoint's `config.json`: the model's, naming the decoder the latest training
    /// objective serves.
    fn policy_config_file(&self) -> crate::model::ConfigFile {
        let mut file = self.model.config().file.clone();
        file.decoder = Some(self.cfg.objective.decoder());
        file
    }

    /// The dataset statistics and tokenizer every policy checkpoint of this run holds.
    fn save_policy_extras(&self, dir: &Path) -> Result<()> {
        self.statistics.save(&dir.join(ckpt::STATISTICS))?;
        let tok = dir.join(ckpt::TOKENIZER);
        std::fs::write(&tok, &self.tokenizer_json).map_err(io_at(&tok))
    }

    /// Write a policy checkpoint with the current weights into `dir` (created if needed),
    /// plus `dir/ema/` with the averaged weights when the run keeps an average: a snapshot
    /// to evaluate later. No optimiser state: a snapshot does not resume.
    pub fn save_policy(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let file = self.policy_config_file();
        checkpoint::save(&self.varmap, &file, dir)?;
        self.save_policy_extras(dir)?;
        if let Some(ema) = &self.ema {
            self.save_ema_checkpoint(ema, &file, &dir.join(files::EMA_CHECKPOINT))?;
        }
        Ok(())
    }

    /// Write a policy checkpoint with the weights of `ema` into `dir`: every variable of the
    /// model, the trained ones replaced by their average.
    fn save_ema_checkpoint(
        &self,
        ema: &super::ema::WeightEma,
        file: &crate::model::ConfigFile,
        dir: &Path,
    ) -> Result<()> {
        let mut tensors: std::collections::HashMap<String, candle_core::Tensor> = {
            let data = self
                .varmap
                .data()
                .lock()
                .map_err(|_| PolicyError::config("train", "the VarMap lock is poisoned"))?;
            data.iter()
                .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
                .collect()
        };
        for (name, t) in ema.weights() {
            tensors.insert(name.to_owned(), t.clone());
        }
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        file.save(&dir.join(ckpt::CONFIG))?;
        candle_core::safetensors::save(&tensors, dir.join(ckpt::WEIGHTS))?;
        self.save_policy_extras(dir)
    }

    /// Continue a run saved by [`Self::save`]: weights, optimiser moments, step counters,
    /// learning-rate position and mask stream are restored, so the next step equals the one
    /// the saved trainer would have taken.
    pub fn resume(dir: &Path, device: &Device) -> Result<Self> {
        let path = dir.join(files::STATE);
        let text = std::fs::read_to_string(&path).map_err(io_at(&path))?;
        let mut state: TrainerState =
            serde_json::from_str(&text).map_err(|source| PolicyError::Json {
                path: path.clone(),
                source,
            })?;
        if !(OLDEST_STATE_VERSION..=STATE_VERSION).contains(&state.version) {
            return Err(PolicyError::config(
                "trainer_state.version",
                format!(
                    "is {}, this build reads {OLDEST_STATE_VERSION} to {STATE_VERSION}",
                    state.version
                ),
            ));
        }
        if state.version < 3 {
            state.train.train_vision = false;
        }
        let word_pos: u128 = state.mask_rng_word_pos.parse().map_err(|_| {
            PolicyError::config(
                "trainer_state.mask_rng_word_pos",
                format!("{:?} is not an integer", state.mask_rng_word_pos),
            )
        })?;
        let (weights, statistics, prompt) = load_checkpoint(dir, device)?;
        let mut t = Self::assemble(
            weights,
            statistics,
            state.unnorm_key.clone(),
            prompt,
            state.train.clone(),
        )?;
        let opt_path = dir.join(files::OPTIMIZER);
        require(&opt_path)?;
        let moments = candle_core::safetensors::load(&opt_path, device)?;
        t.opt.load_state(&moments, state.optimizer_steps)?;
        if let Some(ema) = &mut t.ema {
            let ema_path = dir.join(files::EMA);
            require(&ema_path)?;
            let saved = candle_core::safetensors::load(&ema_path, device)?;
            ema.load_state(&saved, state.ema_updates)?;
        }
        t.step = state.step;
        t.rng = ChaCha8Rng::seed_from_u64(t.cfg.seed);
        t.rng.set_word_pos(word_pos);
        Ok(t)
    }
}

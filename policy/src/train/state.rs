//! Training checkpoints: a regular policy checkpoint (`config.json`, `model.safetensors`,
//! `tokenizer.json`, `dataset_statistics.json`, loadable by [`crate::Policy`]) plus the
//! optimiser moments (`optimizer.safetensors`) and `trainer_state.json` (step, optimiser
//! bias-correction step, mask-RNG stream position, unnorm key, training config with its
//! objective), so that
//! [`Trainer::resume`] continues with exactly the updates an uninterrupted run would take.

use std::path::Path;

use candle_core::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::TrainConfig;
use super::trainer::{Trainer, Weights};
use crate::checkpoint::{self, files as ckpt};
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
}

/// Version of `trainer_state.json` written by this build. 2 added `train.objective` and
/// `train.parallel_slots`; version 1 files still load (with the diffusion objective and
/// `[MASK]` slots, the only behaviour version 1 had). 3 added `train.train_vision`; older
/// files load with it off (their towers were frozen).
const STATE_VERSION: u32 = 3;

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
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PolicyError + '_ {
    move |source| PolicyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn require(path: &Path) -> Result<()> {
    if path.exists() {
        Ok(())
    } else {
        Err(io(path)(std::io::Error::new(
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
    let tokenizer_json = std::fs::read_to_string(&tok_path).map_err(io(&tok_path))?;
    Ok((
        Weights { varmap, model },
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
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        // The checkpoint names the decoder its latest training objective serves.
        let mut file = self.model.config().file.clone();
        file.decoder = Some(self.cfg.objective.decoder());
        checkpoint::save(&self.varmap, &file, &staging)?;
        self.statistics.save(&staging.join(ckpt::STATISTICS))?;
        let tok = staging.join(ckpt::TOKENIZER);
        std::fs::write(&tok, &self.tokenizer_json).map_err(io(&tok))?;
        candle_core::safetensors::save(&self.opt.state_tensors(), staging.join(files::OPTIMIZER))?;
        let state = TrainerState {
            version: STATE_VERSION,
            step: self.step,
            optimizer_steps: self.opt.steps(),
            mask_rng_word_pos: self.rng.get_word_pos().to_string(),
            unnorm_key: self.unnorm_key.clone(),
            train: self.cfg.clone(),
        };
        let path = staging.join(files::STATE);
        let text = serde_json::to_string_pretty(&state).map_err(|source| PolicyError::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, text).map_err(io(&path))?;
        for name in [
            ckpt::WEIGHTS,
            ckpt::CONFIG,
            ckpt::STATISTICS,
            ckpt::TOKENIZER,
            files::OPTIMIZER,
            files::STATE,
        ] {
            let to = dir.join(name);
            std::fs::rename(staging.join(name), &to).map_err(io(&to))?;
        }
        std::fs::remove_dir(&staging).map_err(io(&staging))
    }

    /// Continue a run saved by [`Self::save`]: weights, optimiser moments, step counters,
    /// learning-rate position and mask stream are restored, so the next step equals the one
    /// the saved trainer would have taken.
    pub fn resume(dir: &Path, device: &Device) -> Result<Self> {
        let path = dir.join(files::STATE);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
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
        t.step = state.step;
        t.rng = ChaCha8Rng::seed_from_u64(t.cfg.seed);
        t.rng.set_word_pos(word_pos);
        Ok(t)
    }
}

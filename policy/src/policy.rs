//! [`Policy`]: model + prompt tokenizer + action tokenizer + statistics + decode kernels;
//! observation in, action chunk out.

use std::path::Path;
use std::time::Duration;

use candle_core::Device;
use ddvla_kernels::{CpuKernels, DecodeKernels};

use crate::action_tokens::ActionTokenizer;
use crate::checkpoint::{self, files};
use crate::decode::{
    DecodeContext, DecodeOutput, Decoder, Member, StartedAt, Stopwatch, decode_logit_ensemble,
};
use crate::model::{Config, Prefix, VlaModel};
use crate::observation::{Observation, prepare};
use crate::stats::{DatasetStatistics, NormStats};
use crate::text::PromptTokenizer;
use crate::{PolicyError, Result};

/// A runnable policy.
pub struct Policy {
    model: VlaModel,
    prompt: PromptTokenizer,
    actions: ActionTokenizer,
    proprio_stats: Option<NormStats>,
    kernels: Box<dyn DecodeKernels>,
    trained: bool,
}

impl Policy {
    /// Load a checkpoint directory (`config.json`, `model.safetensors`, `tokenizer.json`,
    /// `dataset_statistics.json`); `unnorm_key` picks the dataset in the statistics (may be
    /// `None` when there is only one).
    pub fn from_checkpoint(dir: &Path, unnorm_key: Option<&str>, device: &Device) -> Result<Self> {
        let stats_path = dir.join(files::STATISTICS);
        if !stats_path.exists() {
            return Err(PolicyError::Io {
                path: stats_path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "dataset statistics not found",
                ),
            });
        }
        let stats = DatasetStatistics::load(&stats_path)?;
        let model = checkpoint::load_model(dir, device)?;
        let prompt = PromptTokenizer::from_file(&dir.join(files::TOKENIZER), model.config())?;
        Self::assemble(model, prompt, stats.select(unnorm_key)?, true)
    }

    /// A policy with random weights, identity statistics and the byte-level tokenizer. It is
    /// untrained: its actions are meaningless and [`Self::is_trained`] says so.
    pub fn random(cfg: Config, device: &Device) -> Result<Self> {
        Self::random_with_seed(cfg, checkpoint::RANDOM_WEIGHTS_SEED, device)
    }

    /// [`Self::random`] with the weights drawn from `seed`'s streams.
    pub fn random_with_seed(cfg: Config, seed: u64, device: &Device) -> Result<Self> {
        let prompt = PromptTokenizer::byte_level(&cfg)?;
        let stats = DatasetStatistics::identity(cfg.file.action.action_dim, cfg.file.proprio_dim);
        let (model, _varmap) = checkpoint::random_model_with_seed(cfg, seed, device)?;
        Self::assemble(model, prompt, stats.select(None)?, false)
    }

    fn assemble(
        mut model: VlaModel,
        prompt: PromptTokenizer,
        stats: &crate::stats::DatasetStats,
        trained: bool,
    ) -> Result<Self> {
        model.fuse_for_inference()?;
        let cfg = model.config();
        let actions = ActionTokenizer::new(cfg, &stats.action)?;
        let proprio_stats = if cfg.file.use_proprio {
            stats
                .proprio
                .as_ref()
                .map(|p| {
                    p.validate(cfg.file.proprio_dim, "proprio")
                        .map(|()| p.clone())
                })
                .transpose()?
        } else {
            None
        };
        Ok(Self {
            model,
            prompt,
            actions,
            proprio_stats,
            kernels: Box::new(CpuKernels),
            trained,
        })
    }

    /// Whether the weights came from a (trained) checkpoint.
    pub fn is_trained(&self) -> bool {
        self.trained
    }

    /// The model.
    pub fn model(&self) -> &VlaModel {
        &self.model
    }

    /// The action tokenizer.
    pub fn action_tokenizer(&self) -> &ActionTokenizer {
        &self.actions
    }

    /// Check and embed an observation (vision runs here, once per observation).
    pub fn encode(&self, obs: &Observation) -> Result<Prefix> {
        let inputs = prepare(
            self.model.config(),
            obs,
            self.proprio_stats.as_ref(),
            &self.prompt,
            self.model.device(),
        )?;
        self.model.encode_prefix(&inputs)
    }

    /// Decode a chunk from an encoded prefix.
    pub fn decode(
        &self,
        prefix: &Prefix,
        decoder: &mut dyn Decoder,
        budget: Option<Duration>,
        clock: &dyn Stopwatch,
    ) -> Result<DecodeOutput> {
        self.decode_capped(prefix, decoder, budget, None, clock)
    }

    /// [`Self::decode`] with an anytime cut after `round_cap` rounds (diffusion decoders):
    /// reproduces a chunk that a deadline cut short in a recorded run.
    pub fn decode_capped(
        &self,
        prefix: &Prefix,
        decoder: &mut dyn Decoder,
        budget: Option<Duration>,
        round_cap: Option<usize>,
        clock: &dyn Stopwatch,
    ) -> Result<DecodeOutput> {
        let ctx = DecodeContext {
            model: &self.model,
            prefix,
            actions: &self.actions,
            kernels: self.kernels.as_ref(),
            clock,
            budget,
            round_cap,
        };
        let out = decoder.decode(&ctx)?;
        if let Some(i) = out.actions.iter().position(|a| !a.is_finite()) {
            tracing::error!(index = i, "decoded action is not finite");
            return Err(PolicyError::NonFiniteOutput { what: "actions" });
        }
        Ok(out)
    }

    /// Observation → action chunk, with an optional time budget (anytime mode).
    pub fn act(
        &self,
        obs: &Observation,
        decoder: &mut dyn Decoder,
        budget: Option<Duration>,
    ) -> Result<DecodeOutput> {
        let clock = StartedAt::now();
        let prefix = self.encode(obs)?;
        self.decode(&prefix, decoder, budget, &clock)
    }

    /// Observation → action chunk from a logit ensemble of this policy and `others`
    /// ([`decode_logit_ensemble`]): each encodes the observation with its own weights and
    /// statistics, the slots take the argmax of the members' mean log-probabilities, and this
    /// policy's action tokenizer decodes them. Every member must decode actions the same way
    /// (same chunk, bins and action statistics), or this refuses.
    pub fn act_logit_ensemble(&self, others: &[Policy], obs: &Observation) -> Result<DecodeOutput> {
        let clock = StartedAt::now();
        for (i, other) in others.iter().enumerate() {
            if other.actions.codec() != self.actions.codec()
                || other.actions.chunk_len() != self.actions.chunk_len()
            {
                return Err(PolicyError::config(
                    "logit ensemble",
                    format!(
                        "member {} decodes actions differently from the first (chunk length, \
                         bins or action statistics)",
                        i + 1
                    ),
                ));
            }
        }
        let prefixes = std::iter::once(self)
            .chain(others)
            .map(|p| p.encode(obs))
            .collect::<Result<Vec<_>>>()?;
        let members: Vec<Member<'_>> = std::iter::once(self)
            .chain(others)
            .zip(&prefixes)
            .map(|(p, prefix)| Member {
                model: &p.model,
                prefix,
            })
            .collect();
        let out = decode_logit_ensemble(&members, &self.actions, self.kernels.as_ref(), &clock)?;
        if out.actions.iter().any(|a| !a.is_finite()) {
            return Err(PolicyError::NonFiniteOutput { what: "actions" });
        }
        Ok(out)
    }
}

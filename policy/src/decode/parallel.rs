//! OpenVLA-OFT-style parallel decoding: one forward pass over empty action slots, argmax
//! (OpenVLA-OFT) or, with a temperature above 0, each slot's bin sampled from its softmax.

use ddvla_kernels::{ConfidenceMode, SamplingParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    DecodeContext, DecodeOutput, DecodeTrace, Decoder, RoundTrace, SlotEvent, finish, host_logits,
    readout,
};
use crate::Result;
use crate::model::{AttentionMode, SlotInput};

/// What fills the slots of the single pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EmptySlots {
    /// The `[MASK]` embedding (a DD-VLA model decoded in one round).
    #[default]
    Mask,
    /// Zero embeddings (OpenVLA-OFT).
    Zeros,
}

/// Settings of [`Parallel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ParallelConfig {
    /// Slot inputs.
    pub empty_slots: EmptySlots,
    /// Attention mode override (default: the model's).
    pub attention: Option<AttentionMode>,
    /// Sampling temperature of every slot's bin; 0 = argmax (OpenVLA-OFT).
    pub temperature: f32,
    /// RNG seed (used when the temperature is above 0).
    pub seed: u64,
    /// Read each slot's value as the probability-weighted mean of the bin centres within
    /// this many bins of the chosen bin ([`super::readout::window_mean`]) instead of the
    /// chosen bin's centre (`None`, OpenVLA-OFT). The tokens stay the chosen bins.
    pub readout_window_bins: Option<u32>,
}

/// The single-pass decoder.
pub struct Parallel {
    cfg: ParallelConfig,
    rng: ChaCha8Rng,
}

impl Parallel {
    /// A decoder with `cfg`.
    pub fn new(cfg: ParallelConfig) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            cfg,
        }
    }
}

impl Decoder for Parallel {
    fn name(&self) -> &'static str {
        "parallel"
    }

    fn decode(&mut self, ctx: &DecodeContext<'_>) -> Result<DecodeOutput> {
        let _span = tracing::debug_span!("parallel_decode").entered();
        let model_cfg = ctx.model.config();
        let l = model_cfg.action_tokens;
        let n_bins = model_cfg.file.action.n_bins;
        let mode = self.cfg.attention.unwrap_or(model_cfg.file.attention_mode);
        let t0 = ctx.clock.elapsed();
        let mask_ids = vec![model_cfg.file.tokens.mask_token_id; l];
        let slots = match self.cfg.empty_slots {
            EmptySlots::Mask => SlotInput::Tokens(&mask_ids),
            EmptySlots::Zeros => SlotInput::Zeros,
        };
        let logits = host_logits(&ctx.model.logits_full(ctx.prefix, slots, mode, None)?)?;
        let params = SamplingParams {
            temperature: self.cfg.temperature,
            mode: ConfidenceMode::MaxProb,
        };
        // Argmax draws nothing, so a temperature-0 decoder's RNG never moves.
        let uniforms: Vec<f32> = if self.cfg.temperature > 0.0 {
            (0..l).map(|_| self.rng.random::<f32>()).collect()
        } else {
            vec![0.0; l]
        };
        let stats = ctx
            .kernels
            .row_stats(&logits, n_bins, &params, &uniforms, &vec![None; l])?;
        let bins: Vec<u32> = stats.iter().map(|s| s.sampled).collect();
        let trace = DecodeTrace {
            decoder: self.name().to_owned(),
            forward_passes: 1,
            rounds: vec![RoundTrace {
                round: 0,
                committed: stats
                    .iter()
                    .enumerate()
                    .map(|(i, s)| SlotEvent {
                        slot: i,
                        bin: s.sampled,
                        confidence: s.confidence,
                    })
                    .collect(),
                remasked: Vec::new(),
                masked_after: 0,
                cached_pass: false,
                duration_us: ctx.clock.elapsed().saturating_sub(t0).as_micros() as u64,
            }],
            ..DecodeTrace::default()
        };
        let mut out = finish(ctx, &bins, trace)?;
        if let Some(half_width) = self.cfg.readout_window_bins {
            out.actions =
                readout::window_mean(ctx.actions.codec(), &logits, n_bins, &bins, half_width)?;
        }
        Ok(out)
    }
}

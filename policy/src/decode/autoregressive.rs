//! OpenVLA's autoregressive baseline: causal attention, one action token per forward pass,
//! with (or without, for checking) a KV cache.

use ddvla_kernels::{ConfidenceMode, SamplingParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    DecodeContext, DecodeOutput, DecodeTrace, Decoder, RoundTrace, SlotEvent, finish, host_logits,
};
use crate::Result;

/// Settings of [`Autoregressive`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoregressiveConfig {
    /// Reuse keys/values of earlier positions (OpenVLA does).
    pub use_cache: bool,
    /// Sampling temperature; 0 = greedy (OpenVLA evaluation).
    pub temperature: f32,
    /// RNG seed (used when the temperature is above 0).
    pub seed: u64,
}

impl Default for AutoregressiveConfig {
    fn default() -> Self {
        Self {
            use_cache: true,
            temperature: 0.0,
            seed: 0,
        }
    }
}

/// The autoregressive decoder.
pub struct Autoregressive {
    cfg: AutoregressiveConfig,
    rng: ChaCha8Rng,
}

impl Autoregressive {
    /// A decoder with `cfg`.
    pub fn new(cfg: AutoregressiveConfig) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            cfg,
        }
    }
}

impl Decoder for Autoregressive {
    fn name(&self) -> &'static str {
        "ar"
    }

    fn decode(&mut self, ctx: &DecodeContext<'_>) -> Result<DecodeOutput> {
        let _span = tracing::debug_span!("ar_decode", cache = self.cfg.use_cache).entered();
        let model_cfg = ctx.model.config();
        let l = model_cfg.action_tokens;
        let n_bins = model_cfg.file.action.n_bins;
        let begin = model_cfg.action_token_begin;
        let mut cache = self.cfg.use_cache.then(|| ctx.model.new_cache());
        let mut generated: Vec<u32> = Vec::with_capacity(l);
        let mut bins = Vec::with_capacity(l);
        let mut trace = DecodeTrace {
            decoder: self.name().to_owned(),
            ..DecodeTrace::default()
        };
        let params = SamplingParams {
            temperature: self.cfg.temperature,
            mode: ConfidenceMode::SampledProb,
        };
        for j in 0..l {
            let t0 = ctx.clock.elapsed();
            let logits = host_logits(&ctx.model.logits_next(
                ctx.prefix,
                &generated,
                cache.as_mut(),
            )?)?;
            trace.forward_passes += 1;
            let u: f32 = self.rng.random();
            let s = ctx
                .kernels
                .row_stats(&logits, n_bins, &params, &[u], &[None])?[0];
            generated.push(begin + s.sampled);
            bins.push(s.sampled);
            trace.rounds.push(RoundTrace {
                round: j,
                committed: vec![SlotEvent {
                    slot: j,
                    bin: s.sampled,
                    confidence: s.confidence,
                }],
                remasked: Vec::new(),
                masked_after: l - j - 1,
                cached_pass: self.cfg.use_cache && j > 0,
                duration_us: ctx.clock.elapsed().saturating_sub(t0).as_micros() as u64,
            });
        }
        finish(ctx, &bins, trace)
    }
}

//! Action decoders: one trait, three implementations.
//!
//! - [`MaskedDiffusion`]: DD-VLA adaptive-order remasking over T parallel rounds, with the
//!   optional prefix KV cache and a deadline ("anytime") mode.
//! - [`Autoregressive`]: OpenVLA's one-token-per-step baseline with a KV cache.
//! - [`Parallel`]: OpenVLA-OFT's single pass with argmax (or sampling at a temperature).
//!
//! Every decoder returns the unnormalised action chunk plus a [`DecodeTrace`] saying, per
//! round, which slots were committed or re-masked and with what confidence.

mod autoregressive;
mod diffusion;
mod logit_ensemble;
mod parallel;
pub mod readout;
pub mod schedule;
mod trace;

use std::time::{Duration, Instant};

use ddvla_kernels::DecodeKernels;
use serde::{Deserialize, Serialize};

pub use autoregressive::{Autoregressive, AutoregressiveConfig};
pub use diffusion::{
    CacheMode, CommitRule, DiffusionConfig, MaskedDiffusion, RemaskConfig, ThresholdDirection,
};
pub use logit_ensemble::{Member, decode_logit_ensemble};
pub use parallel::{EmptySlots, Parallel, ParallelConfig};
pub use trace::{DecodeTrace, RoundTrace, SlotEvent};

use crate::Result;
use crate::action_tokens::ActionTokenizer;
use crate::model::{Prefix, VlaModel};

/// A time source for deadlines and round timing (a mock in tests, a wall clock in use).
pub trait Stopwatch: Sync {
    /// Time since the decode started.
    fn elapsed(&self) -> Duration;
}

/// A wall-clock [`Stopwatch`] started at construction.
#[derive(Debug, Clone, Copy)]
pub struct StartedAt(pub Instant);

impl StartedAt {
    /// Start now.
    pub fn now() -> Self {
        Self(Instant::now())
    }
}

impl Stopwatch for StartedAt {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Everything a decoder needs for one chunk.
pub struct DecodeContext<'a> {
    /// The model.
    pub model: &'a VlaModel,
    /// The observation's embedded prefix.
    pub prefix: &'a Prefix,
    /// Token ↔ action mapping.
    pub actions: &'a ActionTokenizer,
    /// Hot-path ops implementation.
    pub kernels: &'a dyn DecodeKernels,
    /// Clock for round timing and the deadline.
    pub clock: &'a dyn Stopwatch,
    /// Time budget for the whole decode (anytime mode); `None` runs every round.
    pub budget: Option<Duration>,
    /// Anytime cut after this many rounds whatever the clock says (replaying a run whose
    /// chunk was cut by its deadline: the trace's `rounds.len()` when `deadline_hit`).
    pub round_cap: Option<usize>,
}

/// A decoded chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodeOutput {
    /// Unnormalised actions, `chunk_len × action_dim`, row-major.
    pub actions: Vec<f32>,
    /// Actions in the chunk (H).
    pub chunk_len: usize,
    /// Dimensions per action (D).
    pub action_dim: usize,
    /// The action token ids.
    pub tokens: Vec<u32>,
    /// What happened, round by round.
    pub trace: DecodeTrace,
}

/// Which decoder (for configs and the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecoderKind {
    /// [`MaskedDiffusion`] without cache.
    Diffusion,
    /// [`MaskedDiffusion`] with the prefix KV cache (approximate under bidirectional
    /// attention, exact otherwise; the trace says which).
    DiffusionCached,
    /// [`Autoregressive`].
    Ar,
    /// [`Parallel`].
    Parallel,
}

/// A decoding algorithm.
pub trait Decoder: Send {
    /// Short name for traces and benchmarks.
    fn name(&self) -> &'static str;

    /// Decode one chunk.
    fn decode(&mut self, ctx: &DecodeContext<'_>) -> Result<DecodeOutput>;
}

/// Build a decoder of `kind` with default settings and `seed`.
pub fn build(kind: DecoderKind, seed: u64) -> Box<dyn Decoder> {
    match kind {
        DecoderKind::Diffusion => Box::new(MaskedDiffusion::new(DiffusionConfig {
            seed,
            ..DiffusionConfig::default()
        })),
        DecoderKind::DiffusionCached => Box::new(MaskedDiffusion::new(DiffusionConfig {
            seed,
            cache: CacheMode::ApproximatePrefix,
            ..DiffusionConfig::default()
        })),
        DecoderKind::Ar => Box::new(Autoregressive::new(AutoregressiveConfig {
            seed,
            ..AutoregressiveConfig::default()
        })),
        DecoderKind::Parallel => Box::new(Parallel::new(ParallelConfig {
            seed,
            ..ParallelConfig::default()
        })),
    }
}

/// Finish a decode: bins → tokens → actions.
fn finish(ctx: &DecodeContext<'_>, bins: &[u32], trace: DecodeTrace) -> Result<DecodeOutput> {
    finish_with(ctx.actions, ctx.kernels, bins, trace)
}

/// [`finish`] with the tokenizer and kernels given directly.
fn finish_with(
    actions: &ActionTokenizer,
    kernels: &dyn DecodeKernels,
    bins: &[u32],
    trace: DecodeTrace,
) -> Result<DecodeOutput> {
    let values = kernels.detokenize(actions.codec(), bins)?;
    let begin = actions.token_begin();
    Ok(DecodeOutput {
        actions: values,
        chunk_len: actions.chunk_len(),
        action_dim: actions.action_dim(),
        tokens: bins.iter().map(|b| begin + b).collect(),
        trace,
    })
}

/// `[rows, n_bins]` logits → host vector.
fn host_logits(t: &candle_core::Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

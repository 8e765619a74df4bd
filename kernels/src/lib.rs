//! Hot-path operations of the discrete-diffusion action decoder.
//!
//! Every op has a CPU reference implementation ([`CpuKernels`]) that is always built and
//! tested. The ops work on host slices of *action-vocabulary* logits (`rows × n_bins`, e.g.
//! 56 × 256 floats for a LIBERO chunk), which is all a decoding round needs after the model's
//! forward pass. A device implementation (CUDA via cudarc + NVRTC, behind the `cuda` feature
//! in a later change) implements the same [`DecodeKernels`] trait and is compared against the
//! CPU reference with a tolerance.
//!
//! Reference: Liang et al., "Discrete Diffusion VLA" (arXiv 2508.20072) and the released
//! `parallel_decode.py` (a port of MaskGIT's decoder).

mod cpu;
mod detokenize;
mod error;
mod select;
mod stats;

pub use cpu::CpuKernels;
pub use detokenize::{BinCodec, normalize_bounds_q99};
pub use error::KernelError;
pub use select::{RemaskRule, select_remask, select_top_k};
pub use stats::{ConfidenceMode, RowStats, SamplingParams, row_stats};

/// The decoding ops, one implementation per device.
///
/// All slices are row-major; `logits.len() == rows * n_bins`.
pub trait DecodeKernels: Send + Sync {
    /// Name of the implementation (`"cpu"`, `"cuda"`), for traces and benchmarks.
    fn name(&self) -> &'static str;

    /// Softmax over each row of action logits, then pick a token per row and score it.
    ///
    /// `uniforms[r]` in `[0, 1)` drives the categorical sample of row `r` (ignored when the
    /// sampling temperature is 0, which means argmax). `current[r]` is the bin index currently
    /// committed at that row, if any; its probability is reported as [`RowStats::p_current`].
    fn row_stats(
        &self,
        logits: &[f32],
        n_bins: usize,
        params: &SamplingParams,
        uniforms: &[f32],
        current: &[Option<u32>],
    ) -> Result<Vec<RowStats>, KernelError>;

    /// Indices of the `k` highest `scores` among `eligible` rows (ties broken by lower index).
    fn top_k(&self, scores: &[f32], eligible: &[bool], k: usize)
    -> Result<Vec<usize>, KernelError>;

    /// Rows to re-mask: `eligible` rows whose confidence fails a check of `rule` (see
    /// [`select_remask`]).
    fn remask(
        &self,
        eligible: &[bool],
        current: &[f32],
        at_commit: &[f32],
        rule: &RemaskRule,
    ) -> Result<Vec<usize>, KernelError>;

    /// Action-vocabulary bin indices → unnormalised actions (`rows × action_dim`).
    fn detokenize(&self, codec: &BinCodec, bins: &[u32]) -> Result<Vec<f32>, KernelError>;
}

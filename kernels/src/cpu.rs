//! The CPU reference implementation of [`DecodeKernels`].

use crate::{BinCodec, DecodeKernels, KernelError, RemaskRule, RowStats, SamplingParams};

/// Plain-Rust implementations; the reference every device implementation is compared to.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuKernels;

impl DecodeKernels for CpuKernels {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn row_stats(
        &self,
        logits: &[f32],
        n_bins: usize,
        params: &SamplingParams,
        uniforms: &[f32],
        current: &[Option<u32>],
    ) -> Result<Vec<RowStats>, KernelError> {
        crate::row_stats(logits, n_bins, params, uniforms, current)
    }

    fn top_k(
        &self,
        scores: &[f32],
        eligible: &[bool],
        k: usize,
    ) -> Result<Vec<usize>, KernelError> {
        crate::select_top_k(scores, eligible, k)
    }

    fn remask(
        &self,
        eligible: &[bool],
        current: &[f32],
        at_commit: &[f32],
        rule: &RemaskRule,
    ) -> Result<Vec<usize>, KernelError> {
        crate::select_remask(eligible, current, at_commit, rule)
    }

    fn detokenize(&self, codec: &BinCodec, bins: &[u32]) -> Result<Vec<f32>, KernelError> {
        codec.decode(bins)
    }
}

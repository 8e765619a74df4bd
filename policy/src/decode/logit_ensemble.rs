//! A logit ensemble of single-pass (parallel) policies: every member reads the same
//! observation through its own weights, each action slot's log-probabilities are averaged
//! over the members, and the slot takes the argmax of that mean. Members trained from
//! different data or seeds disagree where each is unsure; averaging their log-probabilities
//! keeps the bins they agree on (a product of experts), which a uniform average of their
//! weights (`ddvla checkpoint average`) does not when the weights have drifted apart.

use super::{
    DecodeOutput, DecodeTrace, RoundTrace, SlotEvent, Stopwatch, finish_with, host_logits,
};
use crate::action_tokens::ActionTokenizer;
use crate::model::{Prefix, SlotInput, VlaModel};
use crate::{PolicyError, Result};
use ddvla_kernels::{ConfidenceMode, DecodeKernels, SamplingParams};

/// One member: its model and the observation encoded by it.
pub struct Member<'a> {
    /// The member's model.
    pub model: &'a VlaModel,
    /// The observation's prefix, embedded by that model.
    pub prefix: &'a Prefix,
}

/// Each of `log_probs`' rows (`rows × n_bins`, one row per slot) replaced by its log-softmax.
fn log_softmax_rows(logits: &mut [f32], n_bins: usize) {
    for row in logits.chunks_exact_mut(n_bins) {
        let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = row.iter().map(|&x| (x - top).exp()).sum::<f32>().ln() + top;
        for x in row.iter_mut() {
            *x -= log_sum;
        }
    }
}

/// Decode one chunk with the members' mean log-probabilities, argmax per slot. Every member
/// must have the same action layout (`actions`, the first member's tokenizer, decodes the
/// bins); the caller checks that.
pub fn decode_logit_ensemble(
    members: &[Member<'_>],
    actions: &ActionTokenizer,
    kernels: &dyn DecodeKernels,
    clock: &dyn Stopwatch,
) -> Result<DecodeOutput> {
    let _span = tracing::debug_span!("logit_ensemble_decode", members = members.len()).entered();
    let Some(first) = members.first() else {
        return Err(PolicyError::config(
            "logit ensemble",
            "needs at least one member",
        ));
    };
    let cfg = first.model.config();
    let (l, n_bins) = (cfg.action_tokens, cfg.file.action.n_bins);
    let t0 = clock.elapsed();
    let mut mean = vec![0.0_f32; l * n_bins];
    for m in members {
        let mcfg = m.model.config();
        if (mcfg.action_tokens, mcfg.file.action.n_bins) != (l, n_bins) {
            return Err(PolicyError::config(
                "logit ensemble",
                format!(
                    "members disagree on the action slots: {l} slots of {n_bins} bins against \
                     {} of {}",
                    mcfg.action_tokens, mcfg.file.action.n_bins
                ),
            ));
        }
        let mask_ids = vec![mcfg.file.tokens.mask_token_id; l];
        let mut logits = host_logits(&m.model.logits_full(
            m.prefix,
            SlotInput::Tokens(&mask_ids),
            mcfg.file.attention_mode,
            None,
        )?)?;
        log_softmax_rows(&mut logits, n_bins);
        for (acc, x) in mean.iter_mut().zip(&logits) {
            *acc += x / members.len() as f32;
        }
    }
    // The argmax of the mean, and its share of the renormalised mean (the members' geometric
    // mean probability) as the confidence: the kernels' greedy row statistics over it.
    let params = SamplingParams {
        temperature: 0.0,
        mode: ConfidenceMode::MaxProb,
    };
    let stats = kernels.row_stats(&mean, n_bins, &params, &vec![0.0; l], &vec![None; l])?;
    let trace = DecodeTrace {
        decoder: "parallel-logit-ensemble".to_owned(),
        forward_passes: members.len(),
        rounds: vec![RoundTrace {
            round: 0,
            committed: stats
                .iter()
                .enumerate()
                .map(|(slot, s)| SlotEvent {
                    slot,
                    bin: s.sampled,
                    confidence: s.confidence,
                })
                .collect(),
            remasked: Vec::new(),
            masked_after: 0,
            cached_pass: false,
            duration_us: clock.elapsed().saturating_sub(t0).as_micros() as u64,
        }],
        ..DecodeTrace::default()
    };
    let bins: Vec<u32> = stats.iter().map(|s| s.sampled).collect();
    finish_with(actions, kernels, &bins, trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_rows_normalise_each_row() {
        let mut rows = vec![1.0, 2.0, 3.0, -1.0, -1.0, -1.0];
        log_softmax_rows(&mut rows, 3);
        for row in rows.chunks_exact(3) {
            let total: f32 = row.iter().map(|x| x.exp()).sum();
            assert!((total - 1.0).abs() < 1e-5, "{row:?}");
        }
        assert!((rows[3] - (1.0_f32 / 3.0).ln()).abs() < 1e-6);
    }
}

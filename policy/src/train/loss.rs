//! The training loss terms of one sample under its [`SlotPlan`] (DD-VLA
//! `apply_mask_diffusion` + forward for the diffusion objective; see [`super::objective`]).
//!
//! Sequence: `[prefix] [slots] [STOP]`, run with the plan's attention mode. Supervised rows
//! follow the plan's row convention: shifted (the released code's `logit_shift`, and always
//! for the autoregressive objective), slot `j` is predicted from position `first_slot − 1 + j`
//! and STOP from the last slot's position; unshifted, slot `j` is read at its own position and
//! STOP is not supervised (its own position holds STOP itself). Cross-entropy is over the full
//! text vocabulary, as in the released training code (the decoders restrict to the action
//! rows at inference).

use candle_core::Tensor;

use super::forward::DiffBackbone;
use super::objective::{SlotFill, SlotPlan};
use crate::Result;
use crate::model::{AttentionMode, ModelInputs, VlaModel, attention_mask};

/// Logit rows and labels of one sample.
pub(crate) struct SampleTerms {
    /// `[n, vocab]` logits of the supervised positions.
    pub logits: Tensor,
    /// `n` target ids (action tokens, then STOP when supervised).
    pub labels: Vec<u32>,
}

/// Run the differentiable forward over one sample and collect its supervised rows.
pub(crate) fn sample_terms(
    model: &VlaModel,
    net: &DiffBackbone,
    inputs: &ModelInputs,
    targets: &[u32],
    plan: &SlotPlan,
) -> Result<SampleTerms> {
    let f = &model.config().file;
    let hidden = slot_hidden(model, net, inputs, &plan.slots, plan.mode, plan.shift)?;
    let mut rows = Vec::with_capacity(targets.len() + 1);
    let mut labels = Vec::with_capacity(targets.len() + 1);
    for (j, (&t, &s)) in targets.iter().zip(&plan.supervised).enumerate() {
        if s {
            rows.push((hidden.first + j) as u32);
            labels.push(t);
        }
    }
    if plan.stop {
        rows.push((hidden.first + targets.len()) as u32);
        labels.push(f.tokens.stop_token_id);
    }
    let idx = Tensor::from_slice(&rows, rows.len(), hidden.states.device())?;
    let logits = net.vocab_logits(&hidden.states.index_select(&idx, 0)?)?;
    Ok(SampleTerms { logits, labels })
}

/// Hidden states `[S, hidden]` of a sample and the row that scores slot 0.
pub(crate) struct SlotHidden {
    /// Final normed hidden states of the whole sequence.
    pub states: Tensor,
    /// Row whose logits score action slot 0.
    pub first: usize,
}

/// Prefix + `slots` (+ STOP) through the differentiable backbone; `shift`: slot `j` is
/// scored by row `first_slot − 1 + j`.
pub(crate) fn slot_hidden(
    model: &VlaModel,
    net: &DiffBackbone,
    inputs: &ModelInputs,
    slots: &SlotFill,
    mode: AttentionMode,
    shift: bool,
) -> Result<SlotHidden> {
    let f = &model.config().file;
    let prefix = model.encode_prefix(inputs)?;
    let slot_embeds = match slots {
        SlotFill::Tokens(ids) => net.embed(ids)?,
        SlotFill::Zeros => Tensor::zeros(
            (1, model.config().action_tokens, f.text.hidden_size),
            prefix.embeds.dtype(),
            model.device(),
        )?,
    };
    let mut parts = vec![prefix.embeds.clone(), slot_embeds];
    if f.append_stop_token {
        parts.push(net.embed(&[f.tokens.stop_token_id])?);
    }
    let x = Tensor::cat(&parts, 1)?;
    let s = x.dims()[1];
    let mask = attention_mask::build(mode, 0, s, s, prefix.len, model.device())?;
    let states = net.forward(&x, mask.as_ref())?.squeeze(0)?;
    let first = if shift { prefix.len - 1 } else { prefix.len };
    Ok(SlotHidden { states, first })
}

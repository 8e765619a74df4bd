//! The masked-token objective of one sample (DD-VLA `apply_mask_diffusion` + forward).
//!
//! Sequence: `[prefix] [slots: [MASK] at masked positions, ground truth elsewhere] [STOP]`,
//! run with the decoder's attention mode. Supervised rows follow the model's logit
//! convention: with `logit_shift` (released code), slot `j` is predicted from position
//! `first_slot − 1 + j` and STOP from the last slot's position; without it, slot `j` is read
//! at its own position and STOP is not supervised (its own position holds STOP itself).
//! Cross-entropy is over the full text vocabulary, as in the released training code (the
//! decoder restricts to the action rows at inference).

use candle_core::Tensor;

use super::forward::DiffBackbone;
use super::mask::SampleMask;
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
    mask: &SampleMask,
    mode: AttentionMode,
) -> Result<SampleTerms> {
    let f = &model.config().file;
    let hidden = slot_hidden(
        model,
        net,
        inputs,
        &mask.apply(targets, f.tokens.mask_token_id),
        mode,
    )?;
    let mut rows = Vec::with_capacity(targets.len() + 1);
    let mut labels = Vec::with_capacity(targets.len() + 1);
    for (j, (&t, &m)) in targets.iter().zip(&mask.masked).enumerate() {
        if m {
            rows.push((hidden.first + j) as u32);
            labels.push(t);
        }
    }
    if f.append_stop_token && f.logit_shift {
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

/// Prefix + `slot_ids` (+ STOP) through the differentiable backbone.
pub(crate) fn slot_hidden(
    model: &VlaModel,
    net: &DiffBackbone,
    inputs: &ModelInputs,
    slot_ids: &[u32],
    mode: AttentionMode,
) -> Result<SlotHidden> {
    let f = &model.config().file;
    let prefix = model.encode_prefix(inputs)?;
    let mut parts = vec![prefix.embeds.clone(), net.embed(slot_ids)?];
    if f.append_stop_token {
        parts.push(net.embed(&[f.tokens.stop_token_id])?);
    }
    let x = Tensor::cat(&parts, 1)?;
    let s = x.dims()[1];
    let mask = attention_mask::build(mode, 0, s, s, prefix.len, model.device())?;
    let states = net.forward(&x, mask.as_ref())?.squeeze(0)?;
    let first = if f.logit_shift {
        prefix.len - 1
    } else {
        prefix.len
    };
    Ok(SlotHidden { states, first })
}

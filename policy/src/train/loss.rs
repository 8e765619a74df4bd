//! The training loss terms of a batch, each sample under its [`SlotPlan`] (DD-VLA
//! `apply_mask_diffusion` + forward for the diffusion objective; see [`super::objective`]).
//!
//! Sequence: `[prefix] [slots] [STOP]`, run with the plan's attention mode. Supervised rows
//! follow the plan's row convention: shifted (the released code's `logit_shift`, and always
//! for the autoregressive objective), slot `j` is predicted from position `first_slot − 1 + j`
//! and STOP from the last slot's position; unshifted, slot `j` is read at its own position and
//! STOP is not supervised (its own position holds STOP itself). Cross-entropy is over the full
//! text vocabulary, as in the released training code (the decoders restrict to the action
//! rows at inference).
//!
//! The samples run as one batch: one vision pass (through the differentiable twin when the
//! towers are trained, detached when they are frozen), one pass of each
//! projector, and one backbone pass over `[B, S_max, hidden]` with the sequences right-padded
//! to the longest. Padded keys are blocked for the real rows, so those rows compute what a
//! per-sample pass computes (up to float rounding); padded rows are never read.

use candle_core::Tensor;

use super::forward::DiffBackbone;
use super::keypose::KeyposeInput;
use super::objective::{SlotFill, SlotPlan};
use super::vision::DiffVision;
use crate::Result;
use crate::model::{AttentionMode, ModelInputs, VlaModel, attention_mask};

/// Logit rows and labels of a batch.
pub(crate) struct SampleTerms {
    /// `[n, vocab]` logits of the supervised positions.
    pub logits: Tensor,
    /// `n` target ids (per sample: action tokens, then STOP when supervised).
    pub labels: Vec<u32>,
    /// `[B, width]`: per sample, what the keypose head reads ([`KeyposeInput`]: the mean
    /// final hidden state of the rows that score its action slots, or the scene camera's
    /// patch features flattened); computed only when asked for.
    pub head_input: Option<Tensor>,
}

/// One sample of a batched pass: its inputs and how its slots are filled and read.
pub(crate) struct PassInput<'a> {
    /// Prepared observation.
    pub inputs: &'a ModelInputs,
    /// Slot inputs.
    pub slots: &'a SlotFill,
    /// Attention mode.
    pub mode: AttentionMode,
    /// Slot `j` is scored by row `first_slot − 1 + j`.
    pub shift: bool,
    /// No other position attends to the proprio token (proprio dropout).
    pub hide_proprio: bool,
}

/// Run the differentiable forward over the batch (`targets` and `plans` per sample) and
/// collect the supervised rows (and, with `head_input`, what a keypose head reads).
pub(crate) fn batch_terms(
    model: &VlaModel,
    net: &DiffBackbone,
    vision: Option<&DiffVision>,
    samples: &[(&ModelInputs, &[u32], &SlotPlan)],
    head_input: Option<KeyposeInput>,
) -> Result<SampleTerms> {
    let f = &model.config().file;
    let pass: Vec<PassInput<'_>> = samples
        .iter()
        .map(|(inputs, _, plan)| PassInput {
            inputs,
            slots: &plan.slots,
            mode: plan.mode,
            shift: plan.shift,
            hide_proprio: plan.hide_proprio,
        })
        .collect();
    let hidden = batch_hidden(model, net, vision, &pass)?;
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    let mut slot_rows = Vec::new();
    for (b, (_, targets, plan)) in samples.iter().enumerate() {
        let first = b * hidden.seq + hidden.first[b];
        slot_rows.extend((first..first + targets.len()).map(|r| r as u32));
        for (j, (&t, &s)) in targets.iter().zip(&plan.supervised).enumerate() {
            if s {
                rows.push((first + j) as u32);
                labels.push(t);
            }
        }
        if plan.stop {
            rows.push((first + targets.len()) as u32);
            labels.push(f.tokens.stop_token_id);
        }
    }
    let idx = Tensor::from_slice(&rows, rows.len(), hidden.states.device())?;
    let logits = net.vocab_logits(&hidden.states.index_select(&idx, 0)?)?;
    let head_input = match head_input.map(KeyposeInput::camera) {
        None => None,
        Some(None) => {
            let slots = samples.first().map_or(0, |s| s.1.len());
            let slot_idx = Tensor::from_slice(&slot_rows, slot_rows.len(), hidden.states.device())?;
            Some(
                hidden
                    .states
                    .index_select(&slot_idx, 0)?
                    .reshape((samples.len(), slots, hidden.states.dims()[1]))?
                    .mean(1)?,
            )
        }
        Some(Some(camera)) => {
            let patches = hidden.patches.as_ref().ok_or_else(|| {
                crate::PolicyError::config(
                    "train.keypose.input",
                    "camera tokens are the vision tower's features: set train_vision",
                )
            })?;
            let n = model.config().patches_per_image;
            Some(patches.narrow(1, camera * n, n)?.flatten_from(1)?)
        }
    };
    Ok(SampleTerms {
        logits,
        labels,
        head_input,
    })
}

/// Hidden states of a batch and, per sample, the row that scores slot 0.
pub(crate) struct BatchHidden {
    /// Final normed hidden states `[B · seq, hidden]` (sample-major, padded to `seq`).
    pub states: Tensor,
    /// Padded sequence length.
    pub seq: usize,
    /// Per sample: row (within the sample) whose logits score action slot 0.
    pub first: Vec<usize>,
    /// The trained vision towers' patch features `[B, cameras · patches, feature_dim]`
    /// (camera order); `None` when the towers are frozen.
    pub patches: Option<Tensor>,
}

/// Prefix + slots (+ STOP) of every sample through the differentiable backbone in one
/// right-padded batch; the prefix's vision features come from `vision` when the towers are
/// trained (else from the model's frozen towers, detached).
pub(crate) fn batch_hidden(
    model: &VlaModel,
    net: &DiffBackbone,
    vision: Option<&DiffVision>,
    pass: &[PassInput<'_>],
) -> Result<BatchHidden> {
    let f = &model.config().file;
    let inputs: Vec<&ModelInputs> = pass.iter().map(|p| p.inputs).collect();
    let (prefixes, patches) = match vision {
        Some(v) => {
            let pixels = VlaModel::batch_pixels(&inputs)?;
            let patches = v.forward_batch(&pixels, inputs.len())?;
            (
                model.prefixes_from_patches(&inputs, &patches)?,
                Some(patches),
            )
        }
        None => (model.encode_prefixes(&inputs)?, None),
    };
    let stop = f
        .append_stop_token
        .then(|| net.embed(&[f.tokens.stop_token_id]))
        .transpose()?;
    let mut seqs = Vec::with_capacity(pass.len());
    for (p, prefix) in pass.iter().zip(&prefixes) {
        let slot_embeds = match p.slots {
            SlotFill::Tokens(ids) => net.embed(ids)?,
            SlotFill::Zeros => Tensor::zeros(
                (1, model.config().action_tokens, f.text.hidden_size),
                prefix.embeds.dtype(),
                model.device(),
            )?,
        };
        let mut parts = vec![prefix.embeds.clone(), slot_embeds];
        parts.extend(stop.clone());
        seqs.push(Tensor::cat(&parts, 1)?);
    }
    let lens: Vec<usize> = seqs.iter().map(|x| x.dims()[1]).collect();
    let seq = lens.iter().copied().max().unwrap_or(0);
    let padded = seqs
        .into_iter()
        .zip(&lens)
        .map(|(x, &len)| {
            if len == seq {
                return Ok(x);
            }
            let pad = Tensor::zeros((1, seq - len, f.text.hidden_size), x.dtype(), x.device())?;
            Ok(Tensor::cat(&[x, pad], 1)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let x = Tensor::cat(&padded, 0)?;
    // `[BOS] [image tokens] [proprio]`: the proprio token closes the vision tokens.
    let proprio_at = f.use_proprio.then(|| model.config().vision_tokens());
    let masks: Vec<MaskSpec> = pass
        .iter()
        .zip(&prefixes)
        .zip(&lens)
        .map(|((p, prefix), &len)| MaskSpec {
            mode: p.mode,
            len,
            action_start: prefix.len,
            hidden_key: proprio_at.filter(|_| p.hide_proprio),
        })
        .collect();
    let mask = batch_mask(&masks, seq, net.groups(), model.device())?;
    let states = net.forward(&x, mask.as_ref())?;
    let states = states.reshape((pass.len() * seq, f.text.hidden_size))?;
    let first = pass
        .iter()
        .zip(&prefixes)
        .map(|(p, prefix)| if p.shift { prefix.len - 1 } else { prefix.len })
        .collect();
    Ok(BatchHidden {
        states,
        seq,
        first,
        patches,
    })
}

/// Attention of one sample of a padded batch.
struct MaskSpec {
    mode: AttentionMode,
    len: usize,
    action_start: usize,
    /// A key no other position may attend to (the hidden proprio token).
    hidden_key: Option<usize>,
}

/// Additive mask `[B, 1, groups · seq, seq]` (the backbone's grouped-query row layout):
/// each sample's mode over its own tokens, padded keys blocked for real rows, padded rows
/// open (they are never read), a hidden key blocked for every row but its own. `None` when
/// nothing is blocked.
fn batch_mask(
    specs: &[MaskSpec],
    seq: usize,
    groups: usize,
    device: &candle_core::Device,
) -> Result<Option<Tensor>> {
    let open = |m: &MaskSpec| {
        m.len == seq && m.mode == AttentionMode::Bidirectional && m.hidden_key.is_none()
    };
    if specs.iter().all(open) {
        return Ok(None);
    }
    let mut data = Vec::with_capacity(specs.len() * groups * seq * seq);
    for m in specs {
        let mut block = Vec::with_capacity(seq * seq);
        for q in 0..seq {
            for k in 0..seq {
                let hidden = m.hidden_key == Some(k) && q != k;
                let ok = q >= m.len
                    || (k < m.len
                        && !hidden
                        && attention_mask::allowed(m.mode, q, k, m.action_start));
                block.push(if ok { 0.0_f32 } else { f32::NEG_INFINITY });
            }
        }
        for _ in 0..groups {
            data.extend_from_slice(&block);
        }
    }
    Ok(Some(Tensor::from_vec(
        data,
        (specs.len(), 1, groups * seq, seq),
        device,
    )?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests
    use super::*;

    fn rows(mask: &Tensor) -> Vec<Vec<f32>> {
        mask.squeeze(0)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap()
    }

    #[test]
    fn a_hidden_key_is_blocked_for_every_row_but_its_own() {
        let spec = |hidden_key| MaskSpec {
            mode: AttentionMode::Bidirectional,
            len: 4,
            action_start: 3,
            hidden_key,
        };
        let dev = candle_core::Device::Cpu;
        assert!(batch_mask(&[spec(None)], 4, 1, &dev).unwrap().is_none());
        let m = rows(&batch_mask(&[spec(Some(1))], 4, 1, &dev).unwrap().unwrap());
        for (q, row) in m.iter().enumerate() {
            for (k, &v) in row.iter().enumerate() {
                let blocked = k == 1 && q != 1;
                assert_eq!(v == f32::NEG_INFINITY, blocked, "row {q} key {k}");
            }
        }
    }
}

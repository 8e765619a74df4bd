//! Training objectives, one per decoder, so a decoding comparison uses a model trained for
//! each decoder (OpenVLA-style AR next-token, OpenVLA-OFT-style single pass, DD-VLA masked
//! diffusion) with the same code.
//!
//! Each objective says, per sample, what the `L` action slots hold, under which attention,
//! which row scores each slot and which slots are supervised (a `SlotPlan`):
//!
//! | objective        | slot inputs                      | attention             | rows (slot `j`)          | supervised                 |
//! |------------------|----------------------------------|-----------------------|--------------------------|----------------------------|
//! | `diffusion`      | `[MASK]` at a cosine-schedule draw, ground truth elsewhere | the model's (or `train.attention`) | model's `logit_shift` | masked slots (+ STOP) |
//! | `autoregressive` | the ground-truth tokens (teacher forcing) | causal            | always shifted: `first_slot − 1 + j` | every slot (+ STOP) |
//! | `parallel`       | every slot `[MASK]` (or zeros)   | the model's (or `train.attention`) | model's `logit_shift` | every slot (+ STOP) |
//!
//! These are exactly the inputs the matching decoders feed at inference:
//! [`crate::decode::Autoregressive`] calls [`crate::model::VlaModel::logits_next`], a causal
//! pass over `prefix ‖ generated` whose LAST row scores the next slot — the prefix's last token
//! predicts slot 0 and generated token `j − 1` predicts slot `j`, whatever the model's
//! `logit_shift` — so under teacher forcing (causal attention: a row never sees later slots)
//! row `first_slot − 1 + j` of one pass over `prefix ‖ targets` is the decoder's step `j`.
//! [`crate::decode::Parallel`] runs one [`crate::model::VlaModel::logits_full`] over all-`[MASK]`
//! (or zero) slots. STOP is supervised when the config appends it and the rows are shifted
//! (the last slot's row predicts it), as in the released training code.

use serde::{Deserialize, Serialize};

use super::mask::SampleMask;
use crate::decode::{DecoderKind, EmptySlots};
use crate::model::AttentionMode;

/// Which decoder the model is trained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// DD-VLA masked-token prediction at a cosine-schedule mask ratio (the masked-diffusion
    /// decoder).
    #[default]
    Diffusion,
    /// OpenVLA next-token prediction with teacher forcing under causal attention (the
    /// autoregressive decoder).
    Autoregressive,
    /// OpenVLA-OFT-style single pass: every slot empty (the parallel decoder).
    Parallel,
}

impl Objective {
    /// The decoder a model trained with this objective answers (recorded in the checkpoint's
    /// `config.json` as its default decoder).
    pub fn decoder(self) -> DecoderKind {
        match self {
            Self::Diffusion => DecoderKind::Diffusion,
            Self::Autoregressive => DecoderKind::Ar,
            Self::Parallel => DecoderKind::Parallel,
        }
    }

    /// Whether the objective draws a random mask per sample (consumes the mask RNG).
    pub fn draws_masks(self) -> bool {
        self == Self::Diffusion
    }
}

/// What fills the action slots of a training pass.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SlotFill {
    /// Token ids, one per slot.
    Tokens(Vec<u32>),
    /// Zero embeddings.
    Zeros,
}

/// One sample's training pass: inputs, attention, row convention and supervision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlotPlan {
    /// The slot inputs.
    pub slots: SlotFill,
    /// Attention mode of the pass.
    pub mode: AttentionMode,
    /// Slot `j` is scored by row `first_slot − 1 + j` (else by its own row).
    pub shift: bool,
    /// `supervised[j]`: slot `j` is in the loss.
    pub supervised: Vec<bool>,
    /// STOP is in the loss (scored by the row after the last slot's score row).
    pub stop: bool,
    /// The proprio token is hidden from every other position (proprio dropout,
    /// `train.proprio_dropout`): the sample is trained as if the robot state were unknown.
    pub hide_proprio: bool,
}

/// Model facts a plan depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanContext {
    /// `[MASK]` id.
    pub mask_id: u32,
    /// The model reads slot logits with the causal-LM shift.
    pub logit_shift: bool,
    /// A STOP token follows the slots.
    pub append_stop: bool,
    /// Attention of the diffusion / parallel passes.
    pub mode: AttentionMode,
    /// What fills the slots of the parallel objective.
    pub parallel_slots: EmptySlots,
}

impl SlotPlan {
    /// The plan of `objective` for `targets`; `mask` is the diffusion draw (ignored by the
    /// other objectives, required by diffusion: `None` then masks every slot).
    pub(crate) fn new(
        objective: Objective,
        targets: &[u32],
        mask: Option<&SampleMask>,
        ctx: PlanContext,
    ) -> Self {
        let all = vec![true; targets.len()];
        match objective {
            Objective::Diffusion => {
                let masked = mask.map_or(all, |m| m.masked.clone());
                let slots = targets
                    .iter()
                    .zip(&masked)
                    .map(|(&t, &m)| if m { ctx.mask_id } else { t })
                    .collect();
                Self {
                    slots: SlotFill::Tokens(slots),
                    mode: ctx.mode,
                    shift: ctx.logit_shift,
                    supervised: masked,
                    stop: ctx.append_stop && ctx.logit_shift,
                    hide_proprio: false,
                }
            }
            Objective::Autoregressive => Self {
                slots: SlotFill::Tokens(targets.to_vec()),
                mode: AttentionMode::Causal,
                shift: true,
                supervised: all,
                stop: ctx.append_stop,
                hide_proprio: false,
            },
            Objective::Parallel => Self {
                slots: match ctx.parallel_slots {
                    EmptySlots::Mask => SlotFill::Tokens(vec![ctx.mask_id; targets.len()]),
                    EmptySlots::Zeros => SlotFill::Zeros,
                },
                mode: ctx.mode,
                shift: ctx.logit_shift,
                supervised: all,
                stop: ctx.append_stop && ctx.logit_shift,
                hide_proprio: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(shift: bool) -> PlanContext {
        PlanContext {
            mask_id: 9,
            logit_shift: shift,
            append_stop: true,
            mode: AttentionMode::Bidirectional,
            parallel_slots: EmptySlots::Mask,
        }
    }

    #[test]
    fn plans_per_objective() {
        let targets = [1, 2, 3];
        let mask = SampleMask {
            r: 0.5,
            masked: vec![false, true, false],
        };
        let d = SlotPlan::new(Objective::Diffusion, &targets, Some(&mask), ctx(true));
        assert_eq!(d.slots, SlotFill::Tokens(vec![1, 9, 3]));
        assert_eq!(d.supervised, [false, true, false]);
        assert!(d.stop && d.shift);
        let a = SlotPlan::new(Objective::Autoregressive, &targets, None, ctx(false));
        assert_eq!(a.slots, SlotFill::Tokens(vec![1, 2, 3]));
        assert_eq!(a.mode, AttentionMode::Causal);
        assert!(
            a.shift && a.stop,
            "the AR decoder always reads the next-token row"
        );
        let p = SlotPlan::new(Objective::Parallel, &targets, None, ctx(false));
        assert_eq!(p.slots, SlotFill::Tokens(vec![9, 9, 9]));
        assert!(!p.shift && !p.stop);
        assert!(p.supervised.iter().all(|&s| s));
    }

    #[test]
    fn serde_names_are_kebab_case() {
        let o: Objective = serde_json::from_str("\"autoregressive\"").unwrap();
        assert_eq!(o, Objective::Autoregressive);
        assert_eq!(
            serde_json::to_string(&Objective::Parallel).unwrap(),
            "\"parallel\""
        );
        assert_eq!(Objective::default(), Objective::Diffusion);
    }
}

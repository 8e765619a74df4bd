//! Masked-token fine-tuning (DD-VLA's training objective) on the CPU with candle, plus the
//! AR (OpenVLA) and single-pass parallel (OpenVLA-OFT) objectives for decoder comparisons.
//!
//! One [`Trainer::step`] with the default [`Objective::Diffusion`]: per sample, draw a
//! cosine-schedule mask ([`mask`]) over the `L` action tokens of the target chunk (tokenized
//! with the policy's [`ActionTokenizer`] binning and the dataset's q01/q99 statistics), run
//! the model on `[prefix | slots with [MASK] | STOP]` under the decoder's attention mode, take
//! the cross-entropy on the masked slots (+ STOP) with the model's logit shift (`loss`),
//! backpropagate through a differentiable twin of the backbone (`forward`), clip the
//! global gradient norm and take an AdamW step with a warmup + cosine learning rate
//! ([`optim`], [`lr`]). [`Trainer::save`] writes a checkpoint that [`crate::Policy`] loads,
//! plus the optimiser moments, mask-RNG position and step, so [`Trainer::resume`] continues
//! exactly.
//!
//! [`Objective::Autoregressive`] and [`Objective::Parallel`] feed and supervise what their
//! decoders see instead (see [`objective`]). Training augmentation of camera frames is in
//! [`augment`] (applied by the caller when building samples).
//!
//! What is trained: the projectors, the proprio projector, the embeddings, the backbone and
//! `lm_head` (full fine-tuning; the released code uses LoRA), and the vision towers unless
//! `train_vision` is off: their inference ops (candle's fast LayerNorm and softmax) have no
//! backward pass, so they train through a differentiable twin ([`vision`]). Freezing them
//! suits a pretrained checkpoint; a model trained from random weights needs them trained.
//! See `../shared/docs/ddvla-algorithm.md` §3.
//!
//! [`ActionTokenizer`]: crate::action_tokens::ActionTokenizer

pub mod augment;
mod conv_stem;
pub mod ema;
pub(crate) mod forward;
pub mod keypose;
pub(crate) mod loss;
pub mod lr;
pub mod mask;
pub mod objective;
mod ops;
pub mod optim;
mod state;
#[cfg(test)]
mod test_support;
mod trainer;
mod trainer_eval;
pub(crate) mod vision;

use serde::{Deserialize, Serialize};

use crate::decode::EmptySlots;
use crate::model::AttentionMode;
use crate::observation::Observation;

pub use ema::WeightEma;
pub use keypose::{KeyposeConfig, KeyposeInput, KeyposeTarget};
pub use lr::LrSchedule;
pub use mask::{SampleMask, mask_count, mask_ratio};
pub use objective::Objective;
pub use optim::AdamWParams;
pub use state::files;
pub use trainer::Trainer;

/// Training hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Seed of the mask draws.
    pub seed: u64,
    /// Learning-rate schedule.
    pub lr: LrSchedule,
    /// AdamW hyper-parameters.
    pub adamw: AdamWParams,
    /// Clip the global gradient L2 norm to this value (`None`: no clipping).
    pub max_grad_norm: Option<f64>,
    /// Attention mode of the diffusion and parallel objectives (default: the model's, as
    /// their decoders use). The autoregressive objective is always causal (`causal` or
    /// unset only).
    pub attention: Option<AttentionMode>,
    /// What the model is trained for (default: DD-VLA masked diffusion).
    pub objective: Objective,
    /// Slot inputs of the parallel objective: `[MASK]` (the parallel decoder's default) or
    /// zeros (OpenVLA-OFT; decode with `EmptySlots::Zeros` then).
    pub parallel_slots: EmptySlots,
    /// Train the vision towers too (default). Off: they stay frozen (the only behaviour of
    /// `trainer_state.json` versions 1–2, which load with it off).
    pub train_vision: bool,
    /// Keep an exponential moving average of the trained weights with this decay (e.g.
    /// 0.999, about the last thousand steps; see [`ema`]) and save it beside each checkpoint
    /// as a policy checkpoint of its own (`ema/`). `None` (default): no average.
    pub ema_decay: Option<f64>,
    /// Diffusion objective only: the share of samples (in `[0, 1]`) whose action slots are
    /// all `[MASK]`, the input of the decoder's first round, instead of a cosine-schedule
    /// draw (which masks every slot only as `r → 0`). 0 (default): DD-VLA's schedule alone,
    /// drawing exactly the masks it always drew.
    pub all_masked_fraction: f64,
    /// The auxiliary keypose loss ([`keypose`]): `None` (default) trains on the
    /// cross-entropy alone, as every run before it.
    pub keypose: Option<KeyposeConfig>,
    /// Proprio dropout: the share of training samples (in `[0, 1]`) whose proprio token no
    /// other position may attend to, so the model also learns to act from the images alone
    /// (validation samples and inference always see it). 0 (default): every sample sees
    /// it, and no extra draw is made (the same masks as every run before it).
    pub proprio_dropout: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            lr: LrSchedule::default(),
            adamw: AdamWParams::default(),
            max_grad_norm: Some(1.0),
            attention: None,
            objective: Objective::Diffusion,
            parallel_slots: EmptySlots::Mask,
            train_vision: true,
            ema_decay: None,
            all_masked_fraction: 0.0,
            keypose: None,
            proprio_dropout: 0.0,
        }
    }
}

impl TrainConfig {
    /// Check the values.
    pub fn validate(&self) -> crate::Result<()> {
        self.lr.validate()?;
        if let Some(k) = &self.keypose {
            k.validate()?;
        }
        if let Some(d) = self.ema_decay {
            ema::validate_decay(d)?;
        }
        if let Some(c) = self.max_grad_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(crate::PolicyError::config(
                "train.max_grad_norm",
                "must be finite and > 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.all_masked_fraction) {
            return Err(crate::PolicyError::config(
                "train.all_masked_fraction",
                "must be in [0, 1]",
            ));
        }
        if !(0.0..=1.0).contains(&self.proprio_dropout) {
            return Err(crate::PolicyError::config(
                "train.proprio_dropout",
                "must be in [0, 1]",
            ));
        }
        if self.all_masked_fraction > 0.0 && self.objective != Objective::Diffusion {
            return Err(crate::PolicyError::config(
                "train.all_masked_fraction",
                "applies to the diffusion objective only (the parallel one masks every slot)",
            ));
        }
        if self.objective == Objective::Autoregressive
            && self.attention.is_some_and(|m| m != AttentionMode::Causal)
        {
            return Err(crate::PolicyError::config(
                "train.attention",
                "the autoregressive objective trains causal attention (set `causal` or leave unset)",
            ));
        }
        let a = &self.adamw;
        if !((0.0..1.0).contains(&a.beta1) && (0.0..1.0).contains(&a.beta2)) {
            return Err(crate::PolicyError::config(
                "train.adamw",
                "beta1 and beta2 must be in [0, 1)",
            ));
        }
        if !(a.eps > 0.0 && a.weight_decay >= 0.0) {
            return Err(crate::PolicyError::config(
                "train.adamw",
                "eps must be > 0 and weight_decay ≥ 0",
            ));
        }
        Ok(())
    }
}

/// One training example: an observation and the action chunk that followed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// What the policy saw.
    pub observation: Observation,
    /// Target chunk in robot units, `chunk_len × action_dim` row-major.
    pub actions: Vec<f32>,
    /// With a keypose loss (`train.keypose`): the standardised end-effector positions at the
    /// next gripper events, `events × 3` (see [`keypose`]); empty otherwise.
    pub keyposes: Vec<f32>,
}

/// A mini-batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// The examples (at least one).
    pub samples: Vec<Sample>,
}

/// What one optimiser step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Steps completed, this one included.
    pub step: u64,
    /// Mean cross-entropy over the supervised positions of the batch (before the update).
    pub loss: f32,
    /// Global gradient L2 norm before clipping.
    pub grad_norm: f32,
    /// Learning rate used.
    pub lr: f64,
    /// Supervised positions in the batch (supervised slots + STOP labels).
    pub supervised: usize,
    /// The keypose loss of the batch (mean squared error, unweighted), when the run has one.
    pub keypose_loss: Option<f32>,
}

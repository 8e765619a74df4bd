//! An auxiliary training loss that asks the model where the next gripper events will happen.
//!
//! Per sample, the target is the end-effector position (world frame, standardised per axis by
//! the caller) at each of the next `events` gripper events of the demonstration — where the
//! gripper will close on the object, then where it will open over the place target. A small
//! linear head reads the mean of the final hidden states of the action slots and regresses
//! those positions (mean squared error, weighted beside the cross-entropy).
//!
//! Why: a displaced object changes each step's action chunk only slightly (the scripted
//! expert's saturated approach), so the action cross-entropy gives the vision little to learn
//! the displacement from, and a policy trained on it alone keeps heading for the average
//! layout (docs/results-preamble.md, the long suite's widened layouts). The grasp point moves
//! one-for-one with the object: regressing it gives the image tokens a direct, dense signal
//! of where things are.
//!
//! The head is trained only. Its two tensors ([`HEAD_WEIGHT`], [`HEAD_BIAS`]) are saved in
//! the checkpoint's `model.safetensors` with the rest, so a resumed run continues them; the
//! policy loader reads the model's own tensors by name and never looks at them.
//!
//! Two other choices of what the head reads and predicts (`input`, `target`):
//! - `target = "objects"`: where the first `objects` movable objects of the demonstration's
//!   recording are at the sample's step (`/ddvla/objects`: the goal's objects first), instead
//!   of the next gripper events. What the scene camera shows, whatever the task's phase.
//! - `input = "scene_tokens"`: the scene camera's (camera 0's) patch features out of the
//!   vision tower, flattened (`patches × feature_dim` values), instead of the action slots'
//!   states. The proprio and the instruction cannot answer for the images there: the
//!   gradient reaches the vision tower alone, so it has to learn to localise — the signal
//!   the slot-state head could bypass (docs/results-preamble.md: that head fitted its targets
//!   as well with another task's images). Needs `train_vision`.
//! - `input = "hand_tokens"`: the same from the hand camera (camera 1), which sees the last
//!   centimetres of an approach at several pixels per millimetre where the scene camera
//!   spends ~7 mm per pixel; with `target = "objects_from_pinch"` (each object's position
//!   minus the end effector's, the proprio's first three values) it asks for what that
//!   camera shows: where the object sits relative to the fingers.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Init, VarMap};
use serde::{Deserialize, Serialize};

use crate::{PolicyError, Result};

/// Name of the head's weight `[3 · events, hidden]` in the weights file.
pub const HEAD_WEIGHT: &str = "keypose_head.weight";
/// Name of the head's bias `[3 · events]` in the weights file.
pub const HEAD_BIAS: &str = "keypose_head.bias";

/// Seed of the head's initial weights (the same head in every process).
const HEAD_SEED: u64 = 0x6B65_7970;

/// What the keypose head predicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyposeTarget {
    /// The end-effector positions at the next `events` gripper events.
    #[default]
    GripperEvents,
    /// The positions of the recording's first `objects` movable objects at the step.
    Objects,
    /// Those positions minus the end effector's at the step (the proprio's first three
    /// values): where each object sits relative to the fingers.
    ObjectsFromPinch,
}

/// What the keypose head reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyposeInput {
    /// The mean final backbone state of the action slots.
    #[default]
    ActionSlots,
    /// The scene camera's patch features out of the vision tower, flattened.
    SceneTokens,
    /// The hand camera's (camera 1's) patch features out of the vision tower, flattened.
    HandTokens,
}

impl KeyposeInput {
    /// The camera whose patch features the head reads, if it reads one.
    pub fn camera(self) -> Option<usize> {
        match self {
            Self::ActionSlots => None,
            Self::SceneTokens => Some(0),
            Self::HandTokens => Some(1),
        }
    }
}

/// `[train.keypose]`: the keypose loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyposeConfig {
    /// Gripper events ahead whose end-effector positions are predicted (3 values each), with
    /// `target = "gripper_events"`.
    pub events: usize,
    /// Weight of the mean squared error (of standardised positions) beside the
    /// cross-entropy.
    pub weight: f64,
    /// What is predicted.
    pub target: KeyposeTarget,
    /// Objects whose positions are predicted (3 values each), with `target = "objects"` or
    /// `"objects_from_pinch"`.
    pub objects: usize,
    /// What the head reads.
    pub input: KeyposeInput,
}

impl Default for KeyposeConfig {
    fn default() -> Self {
        Self {
            events: 2,
            weight: 1.0,
            target: KeyposeTarget::GripperEvents,
            objects: 2,
            input: KeyposeInput::ActionSlots,
        }
    }
}

impl KeyposeConfig {
    /// Positions predicted per sample: gripper events or objects.
    pub fn positions(&self) -> usize {
        match self.target {
            KeyposeTarget::GripperEvents => self.events,
            KeyposeTarget::Objects | KeyposeTarget::ObjectsFromPinch => self.objects,
        }
    }

    /// Values per sample: x, y, z of each position.
    pub fn outputs(&self) -> usize {
        3 * self.positions()
    }

    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if !(1..=8).contains(&self.events) {
            return Err(PolicyError::config(
                "train.keypose.events",
                format!("is {}, must be in 1..=8", self.events),
            ));
        }
        if !(1..=8).contains(&self.objects) {
            return Err(PolicyError::config(
                "train.keypose.objects",
                format!("is {}, must be in 1..=8", self.objects),
            ));
        }
        if !(self.weight.is_finite() && self.weight > 0.0) {
            return Err(PolicyError::config(
                "train.keypose.weight",
                format!("is {}, must be finite and > 0", self.weight),
            ));
        }
        Ok(())
    }
}

/// How many values the head reads under `model` (the action slots' hidden width, or one
/// camera's patches × features); an error naming the setting when it reads camera tokens
/// and the towers are not trained (`trains_vision` false) or the model lacks that camera.
pub(crate) fn input_width(
    k: &KeyposeConfig,
    model: &crate::model::Config,
    trains_vision: bool,
) -> Result<usize> {
    let Some(camera) = k.input.camera() else {
        return Ok(model.file.text.hidden_size);
    };
    if !trains_vision {
        return Err(PolicyError::config(
            "train.keypose.input",
            "camera tokens train the vision tower through the head: set train.train_vision = \
             true",
        ));
    }
    if camera >= model.file.num_images_in_input {
        return Err(PolicyError::config(
            "train.keypose.input",
            format!(
                "reads camera {camera}; the model has {} camera(s)",
                model.file.num_images_in_input
            ),
        ));
    }
    Ok(model.patches_per_image * model.vision_feature_dim)
}

/// The head's variables in `varmap` for `width` input values, created (seeded weight of std
/// 0.02 / √(width / 256), zero bias) when absent; an error when present with another shape.
pub(crate) fn head(
    varmap: &VarMap,
    cfg: &KeyposeConfig,
    width: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let vb = crate::seeded_init::var_builder(varmap, HEAD_SEED, DType::F32, device);
    let out = cfg.outputs();
    let shape_error = |name: &str, e: candle_core::Error| {
        PolicyError::config(
            "train.keypose.events",
            format!("the run's {name} does not fit {out} outputs × {width} inputs: {e}"),
        )
    };
    // The slot-state head's std at width 256; a wider input (the flattened scene tokens)
    // scaled down so its first predictions stay as small.
    let stdev = 0.02 * (256.0 / width.max(1) as f64).sqrt().min(1.0);
    let w = vb
        .get_with_hints((out, width), HEAD_WEIGHT, Init::Randn { mean: 0.0, stdev })
        .map_err(|e| shape_error(HEAD_WEIGHT, e))?;
    let b = vb
        .get_with_hints(out, HEAD_BIAS, Init::Const(0.0))
        .map_err(|e| shape_error(HEAD_BIAS, e))?;
    Ok((w, b))
}

/// Overwrite the head's variables with the tensors of the same names in `weights` (a
/// checkpoint's `model.safetensors`) when it holds them in the run's shapes; `false` when it
/// does not (a checkpoint trained without the loss, or with a head of another input or
/// output width — a slot-state head fine-tuned into a scene-token one: the head keeps its
/// fresh weights). A head of the same shape trained on other targets is taken as the start.
pub(crate) fn load_head(varmap: &VarMap, weights: &std::path::Path) -> Result<bool> {
    let saved = candle_core::safetensors::load(weights, &Device::Cpu)?;
    let (Some(w), Some(b)) = (saved.get(HEAD_WEIGHT), saved.get(HEAD_BIAS)) else {
        return Ok(false);
    };
    let fits = |name: &str, t: &Tensor| {
        super::forward::var(varmap, name).map(|v| v.as_tensor().dims() == t.dims())
    };
    if !(fits(HEAD_WEIGHT, w)? && fits(HEAD_BIAS, b)?) {
        tracing::info!(
            "{}: its keypose head {:?} does not fit the run's; starting a fresh one",
            weights.display(),
            w.dims()
        );
        return Ok(false);
    }
    for (name, t) in [(HEAD_WEIGHT, w), (HEAD_BIAS, b)] {
        super::forward::var(varmap, name)?.set(t).map_err(|e| {
            PolicyError::config(
                "train.keypose",
                format!(
                    "{}: {name} does not fit the run's head: {e}",
                    weights.display()
                ),
            )
        })?;
    }
    Ok(true)
}

/// Predicted positions `[B, outputs]` of the head's inputs `pooled` `[B, width]`.
pub(crate) fn predict(pooled: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(pooled.matmul(&w.t()?)?.broadcast_add(b)?)
}

/// Mean squared error of `pred` `[B, n]` against `targets` (B rows of n values).
pub(crate) fn mse(pred: &Tensor, targets: &[&[f32]]) -> Result<Tensor> {
    let (rows, n) = pred.dims2()?;
    let flat: Vec<f32> = targets.iter().flat_map(|t| t.iter().copied()).collect();
    if targets.len() != rows || flat.len() != rows * n {
        return Err(PolicyError::bad_input(
            "keypose targets",
            format!(
                "{} values in {} samples, expected {n} per sample for {rows}",
                flat.len(),
                targets.len()
            ),
        ));
    }
    let t = Tensor::from_vec(flat, (rows, n), pred.device())?;
    Ok((pred - t)?.sqr()?.mean_all()?)
}

/// Check one sample's targets: `expected` finite values.
pub(crate) fn check_targets(i: usize, values: &[f32], expected: usize) -> Result<()> {
    let what = || format!("batch sample {i} keyposes");
    if values.len() != expected {
        return Err(PolicyError::bad_input(
            what(),
            format!(
                "{} values, expected {expected} ([train.keypose] events × 3)",
                values.len()
            ),
        ));
    }
    if let Some(j) = values.iter().position(|v| !v.is_finite()) {
        return Err(PolicyError::bad_input(
            what(),
            format!("value {j} is {}", values[j]),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        assert!(KeyposeConfig::default().validate().is_ok());
        assert_eq!(KeyposeConfig::default().outputs(), 6);
        let objects = KeyposeConfig {
            target: KeyposeTarget::Objects,
            objects: 3,
            ..Default::default()
        };
        assert_eq!(objects.outputs(), 9);
        // The config's names; one without them keeps the slot-state head on gripper events.
        let parsed: KeyposeConfig =
            serde_json::from_str(r#"{"target": "objects", "input": "scene_tokens"}"#).unwrap();
        assert_eq!(
            (parsed.target, parsed.input),
            (KeyposeTarget::Objects, KeyposeInput::SceneTokens)
        );
        let old: KeyposeConfig = serde_json::from_str(r#"{"events": 1}"#).unwrap();
        assert_eq!(
            (old.target, old.input),
            (KeyposeTarget::GripperEvents, KeyposeInput::ActionSlots)
        );
        for bad in [
            KeyposeConfig {
                events: 0,
                ..Default::default()
            },
            KeyposeConfig {
                weight: f64::NAN,
                ..Default::default()
            },
            KeyposeConfig {
                weight: 0.0,
                ..Default::default()
            },
            KeyposeConfig {
                objects: 0,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_hand_camera_head_reads_camera_one_and_parses() {
        let parsed: KeyposeConfig = serde_json::from_str(
            r#"{"target": "objects_from_pinch", "input": "hand_tokens", "objects": 1}"#,
        )
        .unwrap();
        assert_eq!(
            (parsed.target, parsed.input, parsed.outputs()),
            (KeyposeTarget::ObjectsFromPinch, KeyposeInput::HandTokens, 3)
        );
        assert_eq!(KeyposeInput::HandTokens.camera(), Some(1));
        assert_eq!(KeyposeInput::SceneTokens.camera(), Some(0));
        assert_eq!(KeyposeInput::ActionSlots.camera(), None);
    }

    #[test]
    fn head_is_seeded_and_kept() {
        let cfg = KeyposeConfig::default();
        let (a, b) = (VarMap::new(), VarMap::new());
        let (wa, ba) = head(&a, &cfg, 16, &Device::Cpu).unwrap();
        let (wb, _) = head(&b, &cfg, 16, &Device::Cpu).unwrap();
        assert_eq!(wa.dims(), [6, 16]);
        assert_eq!(
            wa.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            wb.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        assert!(ba.to_vec1::<f32>().unwrap().iter().all(|&v| v == 0.0));
        // Asked again, the same variable (not a new draw); another width is an error.
        let (again, _) = head(&a, &cfg, 16, &Device::Cpu).unwrap();
        assert_eq!(
            again.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            wa.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        assert!(head(&a, &cfg, 8, &Device::Cpu).is_err());
    }

    #[test]
    fn mse_and_target_checks() {
        let pred = Tensor::new(&[[1.0f32, 2.0], [0.0, 0.0]], &Device::Cpu).unwrap();
        let loss = mse(&pred, &[&[1.0, 0.0], &[0.0, 2.0]]).unwrap();
        assert!((loss.to_scalar::<f32>().unwrap() - 2.0).abs() < 1e-6);
        assert!(mse(&pred, &[&[1.0, 0.0]]).is_err());
        assert!(check_targets(0, &[1.0, 2.0, 3.0], 3).is_ok());
        assert!(check_targets(0, &[1.0, 2.0], 3).is_err());
        assert!(check_targets(0, &[1.0, f32::NAN, 3.0], 3).is_err());
    }
}

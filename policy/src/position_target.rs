//! Position-target actions: a model whose first three action values are where the end
//! effector should go (metres, in the frame of the proprio's position), not how far to move.
//!
//! The suites' action is a delta `[dx dy dz …]` in units of 5 cm that the controller adds to
//! the current pose, and the scripted expert's is a proportional law, `a = k·(goal − p)`
//! saturated at the skill's speed. A policy that predicts the delta must subtract its own
//! position from a goal it has to know, to the millimetre, through its proprio input; one a
//! centimetre off the demonstrated path gets the delta of the path and stays a centimetre
//! off. Relabelled as `target = p + a·m` (with `m` the inverse of the expert's gain in metres
//! per action unit) the label is the skill's goal itself wherever the expert is not
//! saturated, a point a few centimetres ahead on its path where it is, and the subtraction is
//! done at execution with the position measured at that step: `a = (target − p) / m`,
//! scaled down as the expert's law is (the largest value 1, the direction kept). The
//! conversion is exact on the demonstrations (the same `p` both ways), and executed per step
//! it closes the loop inside a chunk (Diffusion Policy's position control, Chi et al. 2023).
//! Orientation and gripper values are left as they are.
//!
//! With [`PositionLabels::ExpertGoal`] the label is instead the goal the scripted expert
//! steered toward at that step (recorded with each demonstration step): the grasp point, the
//! carry waypoint, the place pose, constant through a phase, where `p + a·m` is a point a
//! few centimetres ahead of the arm wherever the expert is saturated.

use serde::{Deserialize, Serialize};

use crate::{PolicyError, Result};

/// `config.json`'s `action_position_target`: action values `0..3` are a target position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionTarget {
    /// Where the end effector's position (x, y, z, metres) lies in the proprio vector:
    /// values `proprio_at..proprio_at + 3`; the targets are in the same frame.
    pub proprio_at: usize,
    /// Metres per action unit of the executed delta: `target = p + a · metres_per_unit`
    /// (0.02 for the suites' expert: 5 cm per unit over its gain of 2.5).
    pub metres_per_unit: f32,
    /// What the targets were trained to be (absent: [`PositionLabels::Delta`]). Execution
    /// is the same either way.
    #[serde(default, skip_serializing_if = "PositionLabels::is_delta")]
    pub labels: PositionLabels,
}

/// Where a position-target model's training labels come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionLabels {
    /// Each recorded delta relabelled `p + a·m`: the skill's goal wherever the expert is not
    /// saturated, a point `m` metres per unit ahead of the arm where it is.
    #[default]
    Delta,
    /// The scripted expert's goal recorded with each step (`/ddvla/expert_goal`): constant
    /// through a phase of a skill.
    ExpertGoal,
}

impl PositionLabels {
    /// Whether this is the default, [`PositionLabels::Delta`].
    pub fn is_delta(&self) -> bool {
        *self == Self::Delta
    }
}

/// Action values a position target replaces (x, y, z).
pub const POSITION_DIMS: usize = 3;

impl PositionTarget {
    /// Check the settings against a model with `proprio_values` robot proprio values and
    /// `action_dim` action values.
    pub fn validate(&self, proprio_values: usize, action_dim: usize) -> Result<()> {
        if !(self.metres_per_unit.is_finite() && self.metres_per_unit > 0.0) {
            return Err(PolicyError::config(
                "action_position_target.metres_per_unit",
                format!("must be finite and > 0, got {}", self.metres_per_unit),
            ));
        }
        if self
            .proprio_at
            .checked_add(POSITION_DIMS)
            .is_none_or(|end| end > proprio_values)
        {
            return Err(PolicyError::config(
                "action_position_target.proprio_at",
                format!(
                    "values {}..{} must be robot proprio values (there are {proprio_values})",
                    self.proprio_at,
                    self.proprio_at.saturating_add(POSITION_DIMS)
                ),
            ));
        }
        if action_dim < POSITION_DIMS {
            return Err(PolicyError::config(
                "action_position_target",
                format!("needs at least {POSITION_DIMS} action values, the model has {action_dim}"),
            ));
        }
        Ok(())
    }

    /// The end effector's position in `proprio`, or an error naming what is missing or not
    /// finite.
    pub fn position(&self, proprio: &[f32]) -> Result<[f32; POSITION_DIMS]> {
        let p = self
            .proprio_at
            .checked_add(POSITION_DIMS)
            .and_then(|end| proprio.get(self.proprio_at..end))
            .ok_or_else(|| {
                PolicyError::bad_input(
                    "position-target action",
                    format!(
                        "the proprio has {} values, the position is values {}..{}",
                        proprio.len(),
                        self.proprio_at,
                        self.proprio_at.saturating_add(POSITION_DIMS)
                    ),
                )
            })?;
        if p.iter().any(|v| !v.is_finite()) {
            return Err(PolicyError::bad_input(
                "position-target action",
                format!("the end-effector position {p:?} is not finite"),
            ));
        }
        Ok([p[0], p[1], p[2]])
    }

    /// Relabel a recorded delta action as a target, in place: `a[i] = p[i] + a[i]·m` for
    /// the position values, with `p` the position in `proprio` when the action was taken.
    pub fn target_from_delta(&self, action: &mut [f32], proprio: &[f32]) -> Result<()> {
        let p = self.position(proprio)?;
        let len = action.len();
        let a = action.get_mut(..POSITION_DIMS).ok_or_else(|| short(len))?;
        for (v, p) in a.iter_mut().zip(p) {
            *v = p + *v * self.metres_per_unit;
        }
        Ok(())
    }

    /// Turn a decoded target into the delta to execute now, in place: `a[i] = (a[i] − p[i])
    /// / m`, with `p` the position measured at this step, scaled down so that its largest
    /// value is at most 1 (the direction kept, as the expert's saturated law moves). A target
    /// that is not finite is an error (the action left as it is), as is a short action and a
    /// delta that overflows (its infinite values left in place): either way the action is
    /// non-finite or unchanged, for a safety layer to refuse.
    pub fn delta_from_target(
        &self,
        action: &mut [f32],
        position: [f32; POSITION_DIMS],
    ) -> Result<()> {
        let len = action.len();
        let a = action.get_mut(..POSITION_DIMS).ok_or_else(|| short(len))?;
        if a.iter().any(|v| !v.is_finite()) {
            return Err(PolicyError::bad_input(
                "position-target action",
                format!("the decoded target {a:?} is not finite"),
            ));
        }
        for (v, p) in a.iter_mut().zip(position) {
            *v = (*v - p) / self.metres_per_unit;
        }
        let largest = a.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        if !largest.is_finite() {
            return Err(PolicyError::bad_input(
                "position-target action",
                format!(
                    "the delta toward the target is not finite ({a:?} at {} m per unit)",
                    self.metres_per_unit
                ),
            ));
        }
        if largest > 1.0 {
            for v in a.iter_mut() {
                *v /= largest;
            }
        }
        Ok(())
    }
}

impl PositionTarget {
    /// [`Self::delta_from_target`] from the position in `proprio` ([`Self::position`]): how
    /// evaluation executes a decoded target at the step's observation.
    pub fn delta_at(&self, action: &mut [f32], proprio: &[f32]) -> Result<()> {
        let p = self.position(proprio)?;
        self.delta_from_target(action, p)
    }
}

fn short(len: usize) -> PolicyError {
    PolicyError::bad_input(
        "position-target action",
        format!("the action has {len} values, a position target needs {POSITION_DIMS}"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T: PositionTarget = PositionTarget {
        proprio_at: 1,
        metres_per_unit: 0.02,
        labels: PositionLabels::Delta,
    };

    #[test]
    fn relabelling_then_executing_at_the_same_pose_gives_the_recorded_delta() {
        let proprio = [9.0, 0.50, -0.10, 0.30, 7.0];
        let recorded = [0.4, -1.0, 0.05, 0.2, -0.3, 0.1, 1.0];
        let mut a = recorded;
        T.target_from_delta(&mut a, &proprio).unwrap();
        assert!((a[0] - 0.508).abs() < 1e-6, "{a:?}");
        assert!((a[1] - -0.12).abs() < 1e-6, "{a:?}");
        assert_eq!(a[3..], recorded[3..], "orientation and gripper untouched");
        T.delta_from_target(&mut a, T.position(&proprio).unwrap())
            .unwrap();
        for (got, want) in a.iter().zip(recorded) {
            assert!((got - want).abs() < 1e-5, "{a:?} against {recorded:?}");
        }
    }

    #[test]
    fn a_target_is_executed_from_where_the_arm_is_and_scaled_down() {
        // Near the target: proportional (1 cm short in x is half a unit).
        let mut a = [0.51, 0.1, 0.2, 0.3];
        T.delta_from_target(&mut a, [0.50, 0.105, 0.2]).unwrap();
        assert!((a[0] - 0.5).abs() < 1e-5, "{a:?}");
        assert!((a[1] - -0.25).abs() < 1e-5, "{a:?}");
        assert!(a[2].abs() < 1e-6 && (a[3] - 0.3).abs() < 1e-9, "{a:?}");
        // Far: the largest value is 1 and the direction is kept (1 cm in x against 10 cm
        // in y is a tenth of a unit, not the half a unit a per-value clamp would give).
        let mut a = [0.51, 0.0, 0.2, 0.0];
        T.delta_from_target(&mut a, [0.50, 0.10, 0.2]).unwrap();
        assert!((a[0] - 0.1).abs() < 1e-5, "{a:?}");
        assert!((a[1] - -1.0).abs() < 1e-6, "{a:?}");
        assert!(a[2].abs() < 1e-6, "{a:?}");
    }

    #[test]
    fn labels_default_to_deltas_and_round_trip() {
        let t: PositionTarget =
            serde_json::from_str(r#"{"proprio_at": 0, "metres_per_unit": 0.02}"#).unwrap();
        assert_eq!(t.labels, PositionLabels::Delta);
        assert!(!serde_json::to_string(&t).unwrap().contains("labels"));
        let goal = PositionTarget {
            labels: PositionLabels::ExpertGoal,
            ..t
        };
        let text = serde_json::to_string(&goal).unwrap();
        assert!(text.contains(r#""labels":"expert_goal""#), "{text}");
        assert_eq!(serde_json::from_str::<PositionTarget>(&text).unwrap(), goal);
    }

    #[test]
    fn bad_values_are_refused() {
        let mut a = [f32::NAN, 0.0, 0.0];
        assert!(T.delta_from_target(&mut a, [0.0; 3]).is_err());
        assert!(T.target_from_delta(&mut [0.0; 3], &[0.0, 0.0]).is_err());
        assert!(T.position(&[0.0, f32::INFINITY, 0.0, 0.0]).is_err());
        assert!(T.delta_from_target(&mut [0.0; 2], [0.0; 3]).is_err());
        let mut huge_target = [f32::MAX, 0.0, 0.0];
        assert!(
            T.delta_from_target(&mut huge_target, [-f32::MAX, 0.0, 0.0])
                .is_err(),
            "an overflowing delta is refused, not sent as NaN"
        );
        assert!(T.validate(4, 7).is_ok());
        assert!(T.validate(3, 7).is_err(), "values 1..4 of 3");
        assert!(T.validate(8, 2).is_err());
        let huge = PositionTarget {
            proprio_at: usize::MAX,
            ..T
        };
        assert!(huge.validate(8, 7).is_err(), "no overflow");
        assert!(huge.position(&[0.0; 8]).is_err());
        let zero = PositionTarget {
            metres_per_unit: 0.0,
            ..T
        };
        assert!(zero.validate(8, 7).is_err());
    }
}

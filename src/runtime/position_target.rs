//! Executing a position-target model's actions ([`ddvla_policy::position_target`]): each
//! action's target turned into the delta to send at the tick it is sent, from the newest
//! measured end-effector position. Without a measured position there is nothing safe to
//! send: the loop holds.

use ddvla_policy::position_target::{POSITION_DIMS, PositionTarget};

/// The target-to-delta step of the control loop.
#[derive(Debug, Clone)]
pub struct TargetExecution {
    target: PositionTarget,
    /// The newest measured end-effector position (the proprio's, metres).
    measured: Option<[f32; POSITION_DIMS]>,
}

impl TargetExecution {
    /// Execution under `target`, with no position measured yet.
    pub fn new(target: PositionTarget) -> Self {
        Self {
            target,
            measured: None,
        }
    }

    /// A new proprio vector: its position becomes the one targets are executed from (a
    /// short or non-finite one clears it, so the loop holds until a good one arrives).
    pub fn observe(&mut self, proprio: &[f32]) {
        self.measured = self.target.position(proprio).ok();
    }

    /// Whether a position has been measured (targets can be executed).
    pub fn has_position(&self) -> bool {
        self.measured.is_some()
    }

    /// Turn `action`'s target into the delta to send now, in place. `false` (the action
    /// must not be sent) when no position has been measured or the target is not finite;
    /// the action is then left as it was (a non-finite target stays non-finite, for the
    /// safety layer to name).
    pub fn apply(&self, action: &mut [f32]) -> bool {
        match self.measured {
            Some(p) => self.target.delta_from_target(action, p).is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_executed_from_the_newest_position_and_held_without_one() {
        let mut x = TargetExecution::new(PositionTarget {
            proprio_at: 0,
            metres_per_unit: 0.02,
        });
        let mut a = [0.51, 0.0, 0.2, 0.3, 1.0];
        assert!(!x.has_position());
        assert!(!x.apply(&mut a.clone()), "no position measured yet");
        x.observe(&[0.50, 0.0, 0.2, 9.0]);
        assert!(x.apply(&mut a));
        assert!((a[0] - 0.5).abs() < 1e-5 && a[1].abs() < 1e-6, "{a:?}");
        assert_eq!(a[3..], [0.3, 1.0]);
        x.observe(&[f32::NAN, 0.0, 0.2]);
        assert!(
            !x.apply(&mut [0.5, 0.0, 0.2]),
            "a bad proprio clears the position"
        );
        x.observe(&[0.5, 0.0, 0.2]);
        let mut bad = [f32::INFINITY, 0.0, 0.2];
        assert!(!x.apply(&mut bad));
        assert!(bad[0].is_infinite(), "left as it was");
    }
}

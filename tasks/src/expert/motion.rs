//! From a target pose to one 7-D action `[dx dy dz dax day daz g]`: a saturated proportional
//! law on the position and orientation errors with a per-step limit on how much the action
//! may change (no jumps), the gripper pointing down and turned about world z only.

use nalgebra::{Matrix3, Vector3};

use super::world::Ee;

/// Metres per unit of translation action (LIBERO's OSC `output_max`).
const POS_SCALE_M: f64 = 0.05;
/// Radians per unit of rotation action.
const ROT_SCALE_RAD: f64 = 0.5;
/// Position gain: the action asks for this many times the remaining error (the OSC covers
/// about a fifth of the commanded offset per step, so this converges without overshoot).
const POS_GAIN: f64 = 2.5;
/// Orientation gain.
const ROT_GAIN: f64 = 1.5;
/// Largest rotation action.
const MAX_ROT: f64 = 0.6;
/// Largest change of a translation or rotation component from one step to the next.
const MAX_JERK: f32 = 0.25;

/// Where the expert wants the end effector this step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Target {
    /// Pinch position (m, world).
    pub pos: Vector3<f64>,
    /// Gripper yaw (rad, [`Ee::yaw`]).
    pub yaw: f64,
    /// +1 closes, −1 opens.
    pub grip: f32,
    /// Largest translation action (≤ 1).
    pub speed: f64,
}

impl Target {
    /// Move to `pos` with gripper yaw `yaw`, gripper `grip`, at full speed.
    pub fn new(pos: Vector3<f64>, yaw: f64, grip: f32) -> Self {
        Self {
            pos,
            yaw,
            grip,
            speed: 1.0,
        }
    }

    /// The same target at another speed.
    pub fn at(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }
}

/// The gripper yaw whose fingers close along world direction `theta` (rad), the one of the
/// two (fingers are symmetric) nearest the reset yaw 0.
pub(crate) fn yaw_for_axis(theta: f64) -> f64 {
    let pi = std::f64::consts::PI;
    let mut y = (theta - 0.5 * pi).rem_euclid(pi);
    if y > 0.5 * pi {
        y -= pi;
    }
    y
}

/// Pointing down, turned by `yaw` about world z.
pub(crate) fn down(yaw: f64) -> Matrix3<f64> {
    let (s, c) = yaw.sin_cos();
    Matrix3::new(c, s, 0.0, s, -c, 0.0, 0.0, 0.0, -1.0)
}

/// `½ Σ_i r_c,i × r_d,i`, the OSC's orientation error (world frame).
fn orientation_error(desired: &Matrix3<f64>, current: &Matrix3<f64>) -> Vector3<f64> {
    (0..3).fold(Vector3::zeros(), |acc, i| {
        acc + current.column(i).cross(&desired.column(i)) * 0.5
    })
}

/// Angle difference `a − b` wrapped to (−π, π].
pub(crate) fn wrap(a: f64) -> f64 {
    let pi = std::f64::consts::PI;
    let w = (a + pi).rem_euclid(2.0 * pi) - pi;
    if w <= -pi { w + 2.0 * pi } else { w }
}

/// A waypoint toward `goal` that keeps the pinch at or above `z_safe` until it is above the
/// goal: climb first (drifting up to `drift` m toward the goal), then cross, then go straight
/// down.
pub(crate) fn via(ee: Vector3<f64>, goal: Vector3<f64>, z_safe: f64, drift: f64) -> Vector3<f64> {
    let d = goal.xy() - ee.xy();
    let top = z_safe.max(goal.z);
    let dist = d.norm();
    if dist < 0.02 {
        return goal;
    }
    if ee.z < top - 0.012 {
        let step = d * (drift.min(dist) / dist);
        return Vector3::new(ee.x + step.x, ee.y + step.y, top);
    }
    Vector3::new(goal.x, goal.y, top)
}

/// How far an empty gripper drifts toward its goal while climbing (m).
pub(crate) const DRIFT_EMPTY_M: f64 = 0.025;
/// The same while carrying something (it hangs low among its neighbours).
pub(crate) const DRIFT_CARRY_M: f64 = 0.01;
/// A step that moves the end effector less than this (m) counts as still: a skill waiting
/// for a pose it cannot reach (fingers on the table, a held object against a rim) moves on
/// from there instead of waiting out a timer, which would hold one unchanging observation
/// for many steps under a single label.
pub(crate) const STILL_M: f64 = 0.0005;

/// Turns targets into actions, remembering the last action to bound its change.
#[derive(Debug, Clone, Default)]
pub(crate) struct Driver {
    last: [f32; 6],
}

impl Driver {
    /// The action that moves `ee` toward `t`.
    pub fn action(&mut self, ee: &Ee, t: &Target) -> Vec<f32> {
        let mut dp = (t.pos - ee.pos) * (POS_GAIN / POS_SCALE_M);
        let biggest = dp.amax();
        if biggest > t.speed {
            dp *= t.speed / biggest;
        }
        // Turn the short way round: aim at most 0.6 rad past the current yaw.
        let dyaw = wrap(t.yaw - ee.yaw()).clamp(-0.6, 0.6);
        let goal = down(ee.yaw() + dyaw);
        let dr = orientation_error(&goal, &ee.rot) * (ROT_GAIN / ROT_SCALE_RAD);
        let raw = [dp.x, dp.y, dp.z, dr.x, dr.y, dr.z];
        let mut out = Vec::with_capacity(7);
        for (i, v) in raw.iter().enumerate() {
            let limit = if i < 3 { 1.0 } else { MAX_ROT };
            let v = (v.clamp(-limit, limit)) as f32;
            let smooth = v.clamp(self.last[i] - MAX_JERK, self.last[i] + MAX_JERK);
            self.last[i] = smooth;
            out.push(smooth);
        }
        out.push(t.grip);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaw_for_axis_is_the_nearest_of_two() {
        let pi = std::f64::consts::PI;
        assert!(yaw_for_axis(0.5 * pi).abs() < 1e-12);
        assert!(yaw_for_axis(-0.5 * pi).abs() < 1e-12);
        assert!((yaw_for_axis(0.0).abs() - 0.5 * pi).abs() < 1e-12);
        assert!((yaw_for_axis(0.6 * pi) - 0.1 * pi).abs() < 1e-12);
    }

    #[test]
    fn down_has_yaw_and_points_down() {
        let ee = Ee {
            pos: Vector3::zeros(),
            rot: down(0.3),
            grip: 0.0,
        };
        assert!((ee.yaw() - 0.3).abs() < 1e-12);
        assert!((ee.rot.column(2) - Vector3::new(0.0, 0.0, -1.0)).norm() < 1e-12);
        assert!((ee.rot.determinant() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn actions_are_saturated_and_smooth() {
        let ee = Ee {
            pos: Vector3::zeros(),
            rot: down(0.0),
            grip: 0.0,
        };
        let mut d = Driver::default();
        let t = Target::new(Vector3::new(1.0, 0.0, 0.0), 0.0, -1.0);
        let a = d.action(&ee, &t);
        assert!((a[0] - MAX_JERK).abs() < 1e-6 && a[6] < 0.0, "{a:?}");
        for _ in 0..10 {
            d.action(&ee, &t);
        }
        assert!((d.action(&ee, &t)[0] - 1.0).abs() < 1e-6);
    }
}

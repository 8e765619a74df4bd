//! The SimplerEnv-style arms as the expert sees them: where the tool point is, how far the
//! pads are apart, and how a desired tool pose becomes one 7-D action in each arm's own
//! convention (`ddvla_sim::robot`, `../shared/docs/libero-protocol.md` §3):
//! - WidowX-like: `[Δxyz (m), Δrotvec (rad)]` in the base frame (= world, axis-aligned base)
//!   added to the **previous goal**, gripper absolute (+1 open, −1 closed);
//! - Google-like: the same units added to the **current pose**, gripper relative (+1
//!   closes by the full range, −1 opens).

use ddvla_sim::{Env, RobotKind};
use nalgebra::{Matrix3, Rotation3, Vector3};

use crate::eval::EvalError;

/// What differs between the two arms for the expert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ArmSpec {
    /// Which robot.
    pub kind: RobotKind,
    /// Tool-point site.
    pub ee_site: &'static str,
    /// One finger joint (the other mirrors it).
    pub finger_joint: &'static str,
    /// Lowest tool point above the table (m): the pad tips stay 2–3 mm clear of it.
    pub min_above_table_m: f64,
    /// Largest translation per action (m).
    pub max_step_m: f64,
    /// Largest rotation per action (rad).
    pub max_rot_rad: f64,
    /// Height above the grasp point where the descent starts (m).
    pub hover_m: f64,
    /// Pad gap (m) below which the closed fingers hold nothing.
    pub empty_gap_m: f64,
    /// Lowest carrying height of the tool point above the table (m).
    pub min_carry_m: f64,
}

/// WidowX-like (`sim/robots/widowx.xml`): pads reach 12 mm past the tool point, gap
/// `2 (q − 0.012)` = 6 mm closed … 50 mm open.
const WIDOWX: ArmSpec = ArmSpec {
    kind: RobotKind::WidowX,
    ee_site: "ee",
    finger_joint: "left_finger",
    min_above_table_m: 0.015,
    max_step_m: 0.05,
    max_rot_rad: 0.5,
    hover_m: 0.06,
    empty_gap_m: 0.009,
    min_carry_m: 0.1,
};

/// Google-like (`sim/robots/google_arm.xml`): pads reach 13 mm past the tool point, gap
/// `0.09 − 2q` = 90 mm open … 4 mm closed.
const GOOGLE: ArmSpec = ArmSpec {
    kind: RobotKind::GoogleArm,
    ee_site: "link_gripper_tcp",
    finger_joint: "joint_finger_left",
    min_above_table_m: 0.017,
    max_step_m: 0.08,
    max_rot_rad: 0.6,
    hover_m: 0.08,
    empty_gap_m: 0.008,
    min_carry_m: 0.15,
};

impl ArmSpec {
    /// The spec of a SimplerEnv-style arm (`None`: the Panda).
    pub fn of(kind: RobotKind) -> Option<&'static Self> {
        match kind {
            RobotKind::WidowX => Some(&WIDOWX),
            RobotKind::GoogleArm => Some(&GOOGLE),
            RobotKind::Panda => None,
        }
    }

    /// The tool pointing down with its fingers closing along world `(−sin yaw, cos yaw)`.
    /// The WidowX's tool axis is its site's x, the Google arm's its site's z; both close
    /// along the site's y.
    pub fn down(&self, yaw: f64) -> Matrix3<f64> {
        let base = match self.kind {
            // x → −z, y → y, z → x (pitched down about y).
            RobotKind::WidowX => Matrix3::new(0.0, 0.0, 1.0, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0),
            // x → −x, y → y, z → −z (turned over about y).
            _ => Matrix3::new(-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0),
        };
        Rotation3::from_axis_angle(&Vector3::z_axis(), yaw).into_inner() * base
    }

    /// Pad gap (m) for finger joint value `q`.
    pub fn gap(&self, q: f64) -> f64 {
        match self.kind {
            RobotKind::WidowX => 2.0 * (q - 0.012),
            _ => 0.09 - 2.0 * q,
        }
    }
}

/// The tool and the gripper now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pose {
    /// Tool point (m, world).
    pub pos: Vector3<f64>,
    /// world_from_tool.
    pub rot: Matrix3<f64>,
    /// Pad gap (m).
    pub gap: f64,
}

impl Pose {
    /// Read the arm `spec` from `env`.
    pub fn read(env: &Env, spec: &ArmSpec) -> Result<Self, EvalError> {
        let (p, r) = env.site_pose(spec.ee_site)?;
        let q = env.joint_qpos(spec.finger_joint)?[0];
        Ok(Self {
            pos: Vector3::new(p[0], p[1], p[2]),
            rot: Matrix3::from_row_slice(&r),
            gap: spec.gap(q),
        })
    }
}

/// Where the expert wants the tool this step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Target {
    /// Tool point (m, world).
    pub pos: Vector3<f64>,
    /// Yaw of the downward tool ([`ArmSpec::down`]).
    pub yaw: f64,
    /// Fingers closed.
    pub closed: bool,
    /// Largest translation this step (m).
    pub speed_m: f64,
}

impl Target {
    /// Move toward `pos` at the arm's full speed.
    pub fn new(pos: Vector3<f64>, yaw: f64, closed: bool) -> Self {
        Self {
            pos,
            yaw,
            closed,
            speed_m: f64::INFINITY,
        }
    }

    /// The same target at most `speed_m` per step.
    pub fn at(mut self, speed_m: f64) -> Self {
        self.speed_m = speed_m;
        self
    }
}

/// `log(a bᵀ)` as a rotation vector: the rotation taking `b` to `a` (world frame).
fn rotvec(a: &Matrix3<f64>, b: &Matrix3<f64>) -> Vector3<f64> {
    Rotation3::from_matrix(&(a * b.transpose())).scaled_axis()
}

fn clamp_norm(v: Vector3<f64>, max: f64) -> Vector3<f64> {
    let n = v.norm();
    if n > max { v * (max / n) } else { v }
}

/// Turns targets into actions; for the WidowX it keeps the goal the env adds deltas to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adapter {
    goal: Option<(Vector3<f64>, Matrix3<f64>)>,
}

impl Adapter {
    /// The action moving `pose` toward `t` for `spec`'s arm.
    pub fn action(&mut self, spec: &ArmSpec, pose: &Pose, t: &Target) -> Vec<f32> {
        let want_rot = spec.down(t.yaw);
        let step = spec.max_step_m.min(t.speed_m);
        let (dp, da) = if spec.kind == RobotKind::WidowX {
            let (gp, gr) = self.goal.get_or_insert((pose.pos, pose.rot));
            let dp = clamp_norm(t.pos - *gp, step);
            let da = clamp_norm(rotvec(&want_rot, gr), spec.max_rot_rad);
            *gp += dp;
            *gr = Rotation3::from_scaled_axis(da).into_inner() * *gr;
            (dp, da)
        } else {
            (
                clamp_norm(t.pos - pose.pos, step),
                clamp_norm(rotvec(&want_rot, &pose.rot), spec.max_rot_rad),
            )
        };
        // WidowX: absolute, +1 open; Google: relative, +1 closes (saturating, so repeating
        // it keeps the fingers closed).
        let g = match (spec.kind == RobotKind::WidowX, t.closed) {
            (true, true) | (false, false) => -1.0,
            (true, false) | (false, true) => 1.0,
        };
        let mut out: Vec<f32> = dp.iter().chain(da.iter()).map(|v| *v as f32).collect();
        out.push(g);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_points_the_tool_axis_down_and_fingers_along_the_yaw() {
        for kind in [RobotKind::WidowX, RobotKind::GoogleArm] {
            let spec = ArmSpec::of(kind).unwrap();
            let r = spec.down(0.3);
            let tool = if kind == RobotKind::WidowX {
                r.column(0).into_owned()
            } else {
                r.column(2).into_owned()
            };
            assert!((tool - Vector3::new(0.0, 0.0, -1.0)).norm() < 1e-12);
            let fingers = r.column(1);
            assert!((fingers.x + 0.3_f64.sin()).abs() < 1e-12);
            assert!((fingers.y - 0.3_f64.cos()).abs() < 1e-12);
            assert!((r.determinant() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn widowx_deltas_add_up_to_the_goal_and_grippers_follow_each_convention() {
        let spec = ArmSpec::of(RobotKind::WidowX).unwrap();
        let pose = Pose {
            pos: Vector3::zeros(),
            rot: spec.down(0.0),
            gap: 0.05,
        };
        let mut a = Adapter::default();
        let t = Target::new(Vector3::new(0.08, 0.0, 0.0), 0.0, false);
        let first = a.action(spec, &pose, &t);
        // The pose did not move, but the second delta continues from the first goal.
        let second = a.action(spec, &pose, &t);
        assert!((first[0] - 0.05).abs() < 1e-6 && (second[0] - 0.03).abs() < 1e-6);
        assert!((first[6] - 1.0).abs() < 1e-6);
        let closed = a.action(spec, &pose, &Target::new(pose.pos, 0.0, true));
        assert!((closed[6] + 1.0).abs() < 1e-6);
        let google = ArmSpec::of(RobotKind::GoogleArm).unwrap();
        let gpose = Pose {
            rot: google.down(0.0),
            ..pose
        };
        let mut b = Adapter::default();
        let g1 = b.action(google, &gpose, &t);
        let g2 = b.action(google, &gpose, &t);
        assert!((g1[0] - 0.08).abs() < 1e-6 && (g2[0] - 0.08).abs() < 1e-6);
        assert!((g1[6] + 1.0).abs() < 1e-6);
        let gc = b.action(google, &gpose, &Target::new(gpose.pos, 0.0, true));
        assert!((gc[6] - 1.0).abs() < 1e-6);
    }
}

//! Robot-specific plumbing of [`super::Env`]: the arm's MuJoCo ids and the interpretation of
//! pose-delta actions.

use mujoco_rs::prelude::*;
use nalgebra::Vector3;

use super::id;
use crate::error::Result;
use crate::osc::OscGains;
use crate::robot::{DeltaUnits, RobotSpec};

/// MuJoCo addresses of the arm joints and their torque actuators.
#[derive(Clone)]
pub(super) struct ArmIds {
    pub qpos: Vec<usize>,
    pub dof: Vec<usize>,
    pub ctrl: Vec<usize>,
    pub limits: Vec<(f64, f64)>,
}

impl ArmIds {
    /// Look up `robot`'s arm joints and actuators in `model`.
    pub fn lookup(model: &MjModel, robot: &RobotSpec) -> Result<Self> {
        let mut arm = Self {
            qpos: vec![],
            dof: vec![],
            ctrl: vec![],
            limits: vec![],
        };
        for (joint, actuator) in robot.joints.iter().zip(robot.actuators) {
            let j = id(model, MjtObjBase::mjOBJ_JOINT, "joint", joint)?;
            arm.qpos.push(model.jnt_qposadr()[j] as usize);
            arm.dof.push(model.jnt_dofadr()[j] as usize);
            let a = id(model, MjtObjBase::mjOBJ_ACTUATOR, "actuator", actuator)?;
            arm.ctrl.push(a);
            let r = model.actuator_ctrlrange()[a];
            arm.limits.push((r[0], r[1]));
        }
        Ok(arm)
    }
}

/// Position delta (m) and rotation vector (rad) of a 6-value pose-delta action (finite,
/// already validated) in `units`.
pub(super) fn pose_delta(
    a: &[f32],
    units: DeltaUnits,
    gains: &OscGains,
) -> (Vector3<f64>, Vector3<f64>) {
    let v = |i: usize| f64::from(a[i]);
    match units {
        DeltaUnits::Normalized => {
            let c = |i: usize| v(i).clamp(-1.0, 1.0);
            (
                Vector3::new(c(0), c(1), c(2)) * gains.max_step_pos_m,
                Vector3::new(c(3), c(4), c(5)) * gains.max_step_rot_rad,
            )
        }
        DeltaUnits::Metric {
            max_pos_m,
            max_rot_rad,
        } => {
            let dp = Vector3::new(v(0), v(1), v(2)).map(|x| x.clamp(-max_pos_m, max_pos_m));
            let mut aa = Vector3::new(v(3), v(4), v(5));
            let norm = aa.norm();
            if norm > max_rot_rad {
                aa *= max_rot_rad / norm;
            }
            (dp, aa)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_deltas_are_clipped_per_axis_and_by_rotation_norm() {
        let (dp, aa) = pose_delta(
            &[2.0, -0.1, 0.0, 0.0, 0.0, 4.0],
            DeltaUnits::Metric {
                max_pos_m: 1.0,
                max_rot_rad: 1.5,
            },
            &OscGains::default(),
        );
        assert!((dp - Vector3::new(1.0, -0.1, 0.0)).norm() < 1e-6, "{dp}");
        assert!((aa - Vector3::new(0.0, 0.0, 1.5)).norm() < 1e-12, "{aa}");
        let (dp, _) = pose_delta(&[3.0; 6], DeltaUnits::Normalized, &OscGains::default());
        assert!((dp.x - 0.05).abs() < 1e-12);
    }
}

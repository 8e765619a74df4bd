//! Joint-space control: a PD position controller with gravity/bias compensation (for
//! ROS 2 joint trajectories) and a damped-least-squares IK step that turns an end-effector
//! pose goal into joint targets (for SimplerEnv-style arms). Pure nalgebra.

use nalgebra::{DMatrix, DVector, Matrix3, Vector3};

use crate::osc::{ArmState, orientation_error};

/// Joint PD: `τ = M (kp (q* − q) − kd q̇) + bias`, clipped to the actuator limits.
#[derive(Debug, Clone)]
pub struct JointPd {
    /// Joint targets (rad).
    pub target: DVector<f64>,
    /// Stiffness (1/s²).
    pub kp: f64,
    /// Damping ratio (1 = critical).
    pub damping_ratio: f64,
    limits: Vec<(f64, f64)>,
}

impl JointPd {
    /// Hold `q` with stiffness `kp`.
    pub fn new(q: DVector<f64>, kp: f64, limits: Vec<(f64, f64)>) -> Self {
        Self {
            target: q,
            kp,
            damping_ratio: 1.0,
            limits,
        }
    }

    /// Torques for this substep.
    pub fn torques(&self, s: &ArmState) -> DVector<f64> {
        let kd = 2.0 * self.kp.sqrt() * self.damping_ratio;
        let acc = (&self.target - &s.q) * self.kp - &s.qdot * kd;
        let mut tau = &s.mass * acc + &s.bias;
        for (t, (lo, hi)) in tau.iter_mut().zip(&self.limits) {
            *t = t.clamp(*lo, *hi);
        }
        tau
    }
}

/// One damped-least-squares step toward a pose: `Δq = Jᵀ (J Jᵀ + λ² I)⁻¹ [e_pos; e_rot]`,
/// returned as new joint targets `q + Δq` (resolved-rate IK on the current Jacobian).
pub fn dls_targets(
    s: &ArmState,
    goal_pos: &Vector3<f64>,
    goal_rot: &Matrix3<f64>,
    damping: f64,
) -> DVector<f64> {
    let n = s.q.len();
    let mut jac = DMatrix::zeros(6, n);
    jac.rows_mut(0, 3).copy_from(&s.jac_pos);
    jac.rows_mut(3, 3).copy_from(&s.jac_rot);
    let e_pos = goal_pos - s.ee_pos;
    let e_rot = orientation_error(goal_rot, &s.ee_rot);
    let err = DVector::from_iterator(6, e_pos.iter().chain(e_rot.iter()).copied());
    let jjt = &jac * jac.transpose() + DMatrix::identity(6, 6) * (damping * damping);
    let step = jjt
        .lu()
        .solve(&err)
        .map_or_else(|| DVector::zeros(n), |y| jac.transpose() * y);
    &s.q + step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point_mass() -> ArmState {
        crate::osc::point_mass(2.0, [0.0, 0.0, 9.81])
    }

    #[test]
    fn pd_compensates_bias_and_pulls_to_target() {
        let s = point_mass();
        let mut pd = JointPd::new(DVector::zeros(3), 100.0, vec![(-50.0, 50.0); 3]);
        assert_eq!(pd.torques(&s), DVector::from_vec(vec![0.0, 0.0, 9.81]));
        pd.target[0] = 0.1;
        assert!((pd.torques(&s)[0] - 2.0 * 100.0 * 0.1).abs() < 1e-9);
    }

    #[test]
    fn dls_step_moves_toward_the_goal() {
        let s = point_mass();
        let q = dls_targets(
            &s,
            &Vector3::new(0.1, -0.2, 0.05),
            &Matrix3::identity(),
            0.01,
        );
        assert!((q - DVector::from_vec(vec![0.1, -0.2, 0.05])).norm() < 1e-3);
    }
}

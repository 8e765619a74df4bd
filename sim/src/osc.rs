//! Operational-space pose control as robosuite's `OSC_POSE` (the LIBERO controller):
//! `control_delta`, uncoupled position/orientation, fixed impedance (kp 150, critical
//! damping), nullspace pull toward the reset pose, bias compensation, torque clipping.
//! Pure math on nalgebra; the environment fills [`ArmState`] from MuJoCo.

use nalgebra::{DMatrix, DVector, Matrix3, Rotation3, Vector3};

/// Kinematic and dynamic state of the arm at one substep (arm DoFs only).
#[derive(Debug, Clone)]
pub struct ArmState {
    /// Joint positions (rad).
    pub q: DVector<f64>,
    /// Joint velocities (rad/s).
    pub qdot: DVector<f64>,
    /// End-effector position in the world frame (m).
    pub ee_pos: Vector3<f64>,
    /// End-effector orientation, world_from_ee.
    pub ee_rot: Matrix3<f64>,
    /// Translational Jacobian, 3 × n.
    pub jac_pos: DMatrix<f64>,
    /// Rotational Jacobian, 3 × n.
    pub jac_rot: DMatrix<f64>,
    /// Joint-space mass matrix, n × n.
    pub mass: DMatrix<f64>,
    /// Bias forces (Coriolis, centrifugal, gravity), n.
    pub bias: DVector<f64>,
}

/// Gains and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct OscGains {
    /// Stiffness (robosuite: 150).
    pub kp: f64,
    /// Damping ratio (1 = critical).
    pub damping_ratio: f64,
    /// Nullspace stiffness (robosuite: 10).
    pub kp_null: f64,
    /// Translation per unit action (m): robosuite `output_max` 0.05.
    pub max_step_pos_m: f64,
    /// Rotation per unit action (rad): 0.5.
    pub max_step_rot_rad: f64,
}

impl Default for OscGains {
    fn default() -> Self {
        Self {
            kp: 150.0,
            damping_ratio: 1.0,
            kp_null: 10.0,
            max_step_pos_m: 0.05,
            max_step_rot_rad: 0.5,
        }
    }
}

/// The controller: a goal pose updated once per policy step, torques every substep.
#[derive(Debug, Clone)]
pub struct Osc {
    gains: OscGains,
    goal_pos: Vector3<f64>,
    goal_rot: Matrix3<f64>,
    q_rest: DVector<f64>,
    torque_limits: Vec<(f64, f64)>,
}

/// `½ Σ_i r_c,i × r_d,i` (robosuite `orientation_error`).
pub fn orientation_error(desired: &Matrix3<f64>, current: &Matrix3<f64>) -> Vector3<f64> {
    (0..3).fold(Vector3::zeros(), |acc, i| {
        acc + current.column(i).cross(&desired.column(i)) * 0.5
    })
}

/// Inverse of a symmetric positive-definite matrix by Cholesky (fast path every substep),
/// falling back to the SVD pseudo-inverse (robosuite uses `pinv`) when it is singular.
fn spd_inverse(m: &DMatrix<f64>) -> DMatrix<f64> {
    m.clone()
        .cholesky()
        .map_or_else(|| pinv(m), |c| c.inverse())
}

fn pinv(m: &DMatrix<f64>) -> DMatrix<f64> {
    m.clone()
        .pseudo_inverse(1e-10)
        .unwrap_or_else(|_| DMatrix::zeros(m.ncols(), m.nrows()))
}

impl Osc {
    /// A controller holding `state`'s pose, pulling the nullspace toward `state.q`.
    pub fn new(gains: OscGains, state: &ArmState, torque_limits: Vec<(f64, f64)>) -> Self {
        Self {
            gains,
            goal_pos: state.ee_pos,
            goal_rot: state.ee_rot,
            q_rest: state.q.clone(),
            torque_limits,
        }
    }

    /// Current goal position (world, m).
    pub fn goal_pos(&self) -> Vector3<f64> {
        self.goal_pos
    }

    /// Set the goal from a 6-D delta action in [-1, 1] (already validated and clipped):
    /// position delta and world-frame axis-angle, scaled by the gains' maxima.
    pub fn set_delta_goal(&mut self, delta: &[f64; 6], state: &ArmState) {
        let dp = Vector3::new(delta[0], delta[1], delta[2]) * self.gains.max_step_pos_m;
        self.goal_pos = state.ee_pos + dp;
        let aa = Vector3::new(delta[3], delta[4], delta[5]) * self.gains.max_step_rot_rad;
        if aa.iter().any(|v| *v != 0.0) {
            self.goal_rot = Rotation3::from_scaled_axis(aa).into_inner() * state.ee_rot;
        }
    }

    /// Set an absolute goal pose (scripted experts, tests).
    pub fn set_goal(&mut self, pos: Vector3<f64>, rot: Matrix3<f64>) {
        self.goal_pos = pos;
        self.goal_rot = rot;
    }

    /// Joint torques for this substep, clipped to the actuator limits.
    pub fn torques(&self, s: &ArmState) -> DVector<f64> {
        let g = &self.gains;
        let kd = 2.0 * g.kp.sqrt() * g.damping_ratio;
        let e_pos = self.goal_pos - s.ee_pos;
        let e_rot = orientation_error(&self.goal_rot, &s.ee_rot);
        let v = &s.jac_pos * &s.qdot;
        let w = &s.jac_rot * &s.qdot;
        let f_pos = DVector::from_iterator(
            3,
            (e_pos * g.kp - Vector3::new(v[0], v[1], v[2]) * kd)
                .iter()
                .copied(),
        );
        let f_rot = DVector::from_iterator(
            3,
            (e_rot * g.kp - Vector3::new(w[0], w[1], w[2]) * kd)
                .iter()
                .copied(),
        );
        let n = s.q.len();
        let mut jac = DMatrix::zeros(6, n);
        jac.rows_mut(0, 3).copy_from(&s.jac_pos);
        jac.rows_mut(3, 3).copy_from(&s.jac_rot);
        // X = M⁻¹ Jᵀ by one Cholesky solve; J X holds the inverse operational-space inertias
        // of the full task (6×6) and, as diagonal blocks, of position and orientation (3×3).
        let m_inv_jt = s.mass.clone().cholesky().map_or_else(
            || pinv(&s.mass) * jac.transpose(),
            |c| c.solve(&jac.transpose()),
        );
        let inv_lambda = &jac * &m_inv_jt;
        let lambda_full = spd_inverse(&inv_lambda);
        let lambda_pos = spd_inverse(&inv_lambda.view((0, 0), (3, 3)).into_owned());
        let lambda_rot = spd_inverse(&inv_lambda.view((3, 3), (3, 3)).into_owned());
        let wrench_pos = lambda_pos * f_pos;
        let wrench_rot = lambda_rot * f_rot;
        let mut tau =
            s.jac_pos.transpose() * wrench_pos + s.jac_rot.transpose() * wrench_rot + &s.bias;
        // Nullspace: pull toward the rest pose without disturbing the task.
        let kd_null = 2.0 * g.kp_null.sqrt();
        let pose = &s.mass * ((&self.q_rest - &s.q) * g.kp_null - &s.qdot * kd_null);
        let jbar = m_inv_jt * &lambda_full;
        let null = DMatrix::identity(n, n) - jac.transpose() * jbar.transpose();
        tau += null * pose;
        for (t, (lo, hi)) in tau.iter_mut().zip(&self.torque_limits) {
            *t = t.clamp(*lo, *hi);
        }
        tau
    }
}

/// A 3-DoF Cartesian point mass (J = [I; 0], M = mass·I) for the controllers' unit tests.
#[cfg(test)]
pub(crate) fn point_mass(mass: f64, bias: [f64; 3]) -> ArmState {
    ArmState {
        q: DVector::zeros(3),
        qdot: DVector::zeros(3),
        ee_pos: Vector3::zeros(),
        ee_rot: Matrix3::identity(),
        jac_pos: DMatrix::identity(3, 3),
        jac_rot: DMatrix::zeros(3, 3),
        mass: DMatrix::identity(3, 3) * mass,
        bias: DVector::from_row_slice(&bias),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_error_is_the_rotation_vector_for_small_angles() {
        let r = Rotation3::from_scaled_axis(Vector3::new(0.0, 0.0, 0.01)).into_inner();
        let e = orientation_error(&r, &Matrix3::identity());
        assert!((e - Vector3::new(0.0, 0.0, 0.01)).norm() < 1e-6, "{e}");
        assert!(orientation_error(&r, &r).norm() < 1e-12);
    }

    #[test]
    fn point_mass_is_pushed_toward_the_goal_and_clipped() {
        let s = point_mass(1.0, [0.0; 3]);
        let mut osc = Osc::new(OscGains::default(), &s, vec![(-5.0, 5.0); 3]);
        osc.set_delta_goal(&[0.2, 0.0, -1.0, 0.0, 0.0, 0.0], &s);
        let tau = osc.torques(&s);
        assert!((tau[0] - 150.0 * 0.01).abs() < 1e-9, "{tau}");
        assert!((tau[2] + 5.0).abs() < 1e-12, "clipped: {tau}");
    }
}

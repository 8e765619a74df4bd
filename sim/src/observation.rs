//! Typed observations returned by [`crate::Env`].

use crate::camera::CameraFrame;

/// Proprioception.
#[derive(Debug, Clone, PartialEq)]
pub struct Proprio {
    /// End-effector position, world frame (m).
    pub ee_pos: [f64; 3],
    /// End-effector orientation quaternion (w, x, y, z), world_from_ee.
    pub ee_quat_wxyz: [f64; 4],
    /// Gripper joint positions.
    pub gripper_qpos: Vec<f64>,
    /// Arm joint positions (rad), base to tip: 7 for the Panda and the Google-like arm, 6 for
    /// the WidowX-like arm.
    pub joint_pos: Vec<f64>,
    /// Arm joint velocities (rad/s), same order.
    pub joint_vel: Vec<f64>,
}

/// What the environment returns after reset and each step.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// One frame per configured camera.
    pub images: Vec<CameraFrame>,
    /// Robot state.
    pub proprio: Proprio,
    /// Simulation time (s).
    pub time_s: f64,
}

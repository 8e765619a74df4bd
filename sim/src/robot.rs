//! The robots a scene can hold and their control conventions: the Menagerie Franka Panda
//! (LIBERO), and two SimplerEnv-style arms we author from primitives in `sim/robots/`: a
//! WidowX-250-like 6-DoF arm (Bridge) and a Google-robot-like 7-DoF arm (Fractal / RT-1).
//!
//! SimplerEnv's conventions (ManiSkill2_real2sim agent configs): 7-D actions
//! `[Δxyz (m, base frame), Δrotvec (rad), gripper]`;
//! - WidowX: `arm_pd_ee_target_delta_pose_align2` and `gripper_pd_joint_pos` (absolute,
//!   +1 open), 5 Hz;
//! - Google robot: `arm_pd_ee_delta_pose_align` and `gripper_pd_joint_target_delta_pos`
//!   (relative, +1 closes), 3 Hz.

/// Which robot a scene holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RobotKind {
    /// Menagerie Franka Panda with a Robotiq 2F-85 (gym-hil assets), LIBERO's conventions.
    #[default]
    Panda,
    /// WidowX-250-like 6-DoF arm with a parallel slide gripper (`sim/robots/widowx.xml`).
    WidowX,
    /// Google-robot-like 7-DoF arm on a torso, parallel slide gripper
    /// (`sim/robots/google_arm.xml`).
    GoogleArm,
}

/// How the last action value drives the gripper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GripperConvention {
    /// LIBERO: the command ramps 0.01 per substep toward the sign of `g` (+1 closes, −1
    /// opens, 0 keeps).
    Ramp,
    /// SimplerEnv WidowX: `g` in [−1, 1] is the finger target, −1 closed … +1 open.
    Absolute,
    /// SimplerEnv Google robot: `g` in [−1, 1] moves the finger target by `g` times the full
    /// range (+1 closes, −1 opens); 0 keeps the last target.
    Relative,
}

/// What a delta action is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaReference {
    /// The current end-effector pose (robosuite OSC, SimplerEnv `ee_delta_pose_align`).
    CurrentPose,
    /// The previous goal (SimplerEnv `ee_target_delta_pose_align2`).
    PreviousGoal,
}

/// Units of the first six action values in the pose-delta modes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeltaUnits {
    /// Clipped to [−1, 1], scaled by `EnvConfig::gains` (LIBERO: 5 cm / 0.5 rad).
    Normalized,
    /// Metres and radians (SimplerEnv, `normalize_action=False`), each position component
    /// clipped to ±`max_pos_m` and the rotation vector's norm to `max_rot_rad`.
    Metric {
        /// Largest position delta per axis (m).
        max_pos_m: f64,
        /// Largest rotation per step (rad).
        max_rot_rad: f64,
    },
}

/// Names and conventions of one robot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobotSpec {
    /// Which robot.
    pub kind: RobotKind,
    /// Scene-template placeholder replaced by this robot's MJCF file (`{PANDA}`, …).
    pub placeholder: &'static str,
    /// Our own MJCF (`None`: the Panda, from the assets directory).
    pub mjcf: Option<&'static str>,
    /// Arm joints, base to tip.
    pub joints: &'static [&'static str],
    /// Torque actuators of the arm joints, same order.
    pub actuators: &'static [&'static str],
    /// The gripper's actuator (its control range maps command −1 … +1).
    pub gripper_actuator: &'static str,
    /// Finger joints reported in `Proprio::gripper_qpos`.
    pub gripper_joints: &'static [&'static str],
    /// End-effector site.
    pub ee_site: &'static str,
    /// Gripper action convention.
    pub gripper: GripperConvention,
    /// Normalised gripper actuator command (−1 = low end of its control range, +1 = high
    /// end) of an open gripper, used at reset.
    pub gripper_open_cmd: f64,
    /// Finger joint value of an open gripper, set at reset (`None`: leave the model's).
    pub gripper_open_qpos: Option<f64>,
    /// Default control rate (Hz).
    pub control_hz: f64,
    /// Reset pose (rad), one value per arm joint.
    pub init_qpos: &'static [f64],
    /// Cameras of the robot's own MJCF, the defaults for [`crate::EnvConfig::for_robot`].
    pub cameras: &'static [&'static str],
    /// Reference of pose deltas.
    pub delta_reference: DeltaReference,
    /// Units of pose deltas.
    pub delta_units: DeltaUnits,
    /// Built-in scene with this robot on a table.
    pub default_scene: &'static str,
}

/// LIBERO's Panda reset pose (robosuite `init_qpos`).
pub const LIBERO_INIT_QPOS: [f64; 7] = [
    0.0,
    -0.161,
    0.0,
    -2.4446,
    0.0,
    2.2268,
    std::f64::consts::FRAC_PI_4,
];

/// SimplerEnv's Bridge WidowX reset pose (arm part of `widowx` `init_qpos`: gripper pointing
/// down, about 0.29 m in front of and 0.13 m above the base).
pub const WIDOWX_INIT_QPOS: [f64; 6] = [
    -0.018_407_77,
    0.039_883_5,
    0.222_427_22,
    -0.004_601_94,
    1.365_242_96,
    0.001_533_98,
];

/// Our Google-like arm's reset pose: gripper pointing down at (0.5, 0, 0.95), 0.2 m above
/// the default table (solved by hand for the link lengths in `google_arm.xml`).
pub const GOOGLE_ARM_INIT_QPOS: [f64; 7] = [0.0, 0.471, 0.0, 1.531, 0.0, 1.140, 0.0];

const PANDA: RobotSpec = RobotSpec {
    kind: RobotKind::Panda,
    placeholder: "{PANDA}",
    mjcf: None,
    joints: &[
        "joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "joint7",
    ],
    actuators: &[
        "actuator1",
        "actuator2",
        "actuator3",
        "actuator4",
        "actuator5",
        "actuator6",
        "actuator7",
    ],
    gripper_actuator: "fingers_actuator",
    gripper_joints: &["left_driver_joint", "right_driver_joint"],
    ee_site: "pinch",
    gripper: GripperConvention::Ramp,
    gripper_open_cmd: -1.0,
    gripper_open_qpos: None,
    control_hz: 20.0,
    init_qpos: &LIBERO_INIT_QPOS,
    cameras: &["handcam_rgb"],
    delta_reference: DeltaReference::CurrentPose,
    delta_units: DeltaUnits::Normalized,
    default_scene: "tabletop",
};

const WIDOWX: RobotSpec = RobotSpec {
    kind: RobotKind::WidowX,
    placeholder: "{WIDOWX}",
    mjcf: Some(include_str!("../robots/widowx.xml")),
    joints: &[
        "waist",
        "shoulder",
        "elbow",
        "forearm_roll",
        "wrist_angle",
        "wrist_rotate",
    ],
    actuators: &[
        "act_waist",
        "act_shoulder",
        "act_elbow",
        "act_forearm_roll",
        "act_wrist_angle",
        "act_wrist_rotate",
    ],
    gripper_actuator: "act_gripper",
    gripper_joints: &["left_finger", "right_finger"],
    ee_site: "ee",
    gripper: GripperConvention::Absolute,
    gripper_open_cmd: 1.0,
    gripper_open_qpos: Some(0.037),
    control_hz: 5.0,
    init_qpos: &WIDOWX_INIT_QPOS,
    cameras: &["3rd_view_camera", "wrist_camera"],
    delta_reference: DeltaReference::PreviousGoal,
    delta_units: DeltaUnits::Metric {
        max_pos_m: 1.0,
        max_rot_rad: std::f64::consts::FRAC_PI_2,
    },
    default_scene: "widowx_tabletop",
};

const GOOGLE_ARM: RobotSpec = RobotSpec {
    kind: RobotKind::GoogleArm,
    placeholder: "{GOOGLE_ARM}",
    mjcf: Some(include_str!("../robots/google_arm.xml")),
    joints: &[
        "joint_torso",
        "joint_shoulder",
        "joint_bicep",
        "joint_elbow",
        "joint_forearm",
        "joint_wrist",
        "joint_gripper",
    ],
    actuators: &[
        "act_torso",
        "act_shoulder",
        "act_bicep",
        "act_elbow",
        "act_forearm",
        "act_wrist",
        "act_gripper_roll",
    ],
    gripper_actuator: "act_fingers",
    gripper_joints: &["joint_finger_left", "joint_finger_right"],
    ee_site: "link_gripper_tcp",
    gripper: GripperConvention::Relative,
    gripper_open_cmd: -1.0,
    gripper_open_qpos: Some(0.0),
    control_hz: 3.0,
    init_qpos: &GOOGLE_ARM_INIT_QPOS,
    cameras: &["overhead_camera", "gripper_camera"],
    delta_reference: DeltaReference::CurrentPose,
    delta_units: DeltaUnits::Metric {
        max_pos_m: 1.0,
        max_rot_rad: std::f64::consts::FRAC_PI_2,
    },
    default_scene: "google_tabletop",
};

impl RobotKind {
    /// Every robot.
    pub const ALL: [Self; 3] = [Self::Panda, Self::WidowX, Self::GoogleArm];

    /// Names and conventions.
    pub fn spec(self) -> &'static RobotSpec {
        match self {
            Self::Panda => &PANDA,
            Self::WidowX => &WIDOWX,
            Self::GoogleArm => &GOOGLE_ARM,
        }
    }

    /// Number of arm joints (7 or 6).
    pub fn dof(self) -> usize {
        self.spec().joints.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_consistent() {
        for r in RobotKind::ALL {
            let s = r.spec();
            assert_eq!(s.kind, r);
            assert_eq!(s.joints.len(), s.actuators.len(), "{r:?}");
            assert_eq!(s.joints.len(), s.init_qpos.len(), "{r:?}");
            assert!(s.placeholder.starts_with('{') && s.placeholder.ends_with('}'));
        }
        assert_eq!(RobotKind::WidowX.dof(), 6);
        assert_eq!(RobotKind::default(), RobotKind::Panda);
    }
}

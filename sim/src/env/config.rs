//! [`EnvConfig`] and [`ControlMode`].

use std::path::PathBuf;

use crate::camera::ImageConvention;
use crate::indicator::StateIndicator;
use crate::osc::OscGains;
use crate::robot::{LIBERO_INIT_QPOS, RobotKind};
use crate::scene;

/// How actions drive the arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlMode {
    /// LIBERO's OSC_POSE: 7-D `[dx dy dz dax day daz g]` deltas in [-1, 1].
    #[default]
    OscPose,
    /// Joint positions: `[q1 … qn g]` (8-D for the 7-DoF arms, 7-D for the WidowX), absolute
    /// targets in rad (ROS 2 joint trajectories); `g` in the robot's gripper convention.
    JointPosition,
    /// 7-D pose deltas solved by damped-least-squares IK into joint targets tracked by the
    /// joint PD (SimplerEnv-style arms). Units and reference follow the robot
    /// ([`crate::robot::RobotSpec::delta_units`], [`crate::robot::RobotSpec::delta_reference`]).
    IkPose,
}

/// Environment settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvConfig {
    /// Built-in scene name (or the name of `scene_mjcf`).
    pub scene: String,
    /// A scene template from [`crate::builder::SceneBuilder::to_mjcf`]; overrides the built-in.
    pub scene_mjcf: Option<String>,
    /// The robot in the scene (the scene's robot placeholder must match).
    pub robot: RobotKind,
    /// Directory with the Panda MJCF (see `scripts/setup.sh`); unused by our own arms.
    pub assets_dir: PathBuf,
    /// Cameras rendered into each observation, in order.
    pub cameras: Vec<String>,
    /// Square image side in pixels (≤ the scene's offscreen buffer, 256).
    pub image_size: u32,
    /// Row order of returned images.
    pub image_convention: ImageConvention,
    /// Policy (control) rate in Hz; substeps = 1 / (rate · timestep).
    pub control_hz: f64,
    /// Arm reset pose, one value per arm joint.
    pub init_qpos: Vec<f64>,
    /// Uniform jitter of free objects' x/y at reset (m), seeded.
    pub object_jitter_m: f64,
    /// How actions drive the arm.
    pub control: ControlMode,
    /// OSC gains (and the per-step delta scales used by `IkPose` with normalised deltas).
    pub gains: OscGains,
    /// Joint PD stiffness for `JointPosition` and `IkPose` (1/s²).
    pub joint_kp: f64,
    /// Damping λ of the DLS IK step.
    pub ik_damping: f64,
    /// Visual-only geoms shown in the camera images while a joint is on (a stove's glow).
    pub indicators: Vec<StateIndicator>,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            scene: "tabletop".into(),
            scene_mjcf: None,
            robot: RobotKind::Panda,
            assets_dir: scene::default_assets_dir(),
            cameras: vec!["agentview".into(), "handcam_rgb".into()],
            image_size: 128,
            image_convention: ImageConvention::TopDown,
            control_hz: 20.0,
            init_qpos: LIBERO_INIT_QPOS.to_vec(),
            object_jitter_m: 0.02,
            control: ControlMode::OscPose,
            gains: OscGains::default(),
            joint_kp: 400.0,
            ik_damping: 0.05,
            indicators: Vec::new(),
        }
    }
}

impl EnvConfig {
    /// The defaults for `robot`: the Panda gives [`EnvConfig::default`]; the SimplerEnv-style
    /// arms get their built-in tabletop scene, their cameras, control rate (WidowX 5 Hz,
    /// Google arm 3 Hz), reset pose and `IkPose` control.
    pub fn for_robot(robot: RobotKind) -> Self {
        let spec = robot.spec();
        if robot == RobotKind::Panda {
            return Self::default();
        }
        Self {
            scene: spec.default_scene.into(),
            robot,
            cameras: spec.cameras.iter().map(|c| (*c).to_owned()).collect(),
            control_hz: spec.control_hz,
            init_qpos: spec.init_qpos.to_vec(),
            control: ControlMode::IkPose,
            ..Self::default()
        }
    }
}

//! The observation/action contract of a suite, applied in one place: what the cameras
//! render, how frames are turned before a policy sees them, what the proprio vector holds,
//! and which sign of the gripper action closes.

use std::path::Path;

use ddvla_sim::{ImageConvention, Observation};
use nalgebra::UnitQuaternion;
use serde::{Deserialize, Serialize};

use super::SuiteError;

/// Which sign of the policy's gripper action closes the gripper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GripperConvention {
    /// `+1` closes, `-1` opens (LIBERO's environment, robosuite `PandaGripper`).
    CloseIsPositive,
    /// `+1` opens, `-1` closes (OpenVLA-style datasets; inverted before the env sees it).
    OpenIsPositive,
    /// SimplerEnv's WidowX (Bridge): `g` is an absolute finger target, `+1` open, `-1`
    /// closed, which is the WidowX-like arm's own convention, so it reaches the env
    /// unchanged. Neither variant above says this: the Panda env's `+1` closes, so
    /// `close_is_positive` would mislabel it and `open_is_positive` would invert it.
    AbsoluteOpenIsPositive,
}

/// `[contract]` in `suite.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Cameras rendered, in the order the policy receives them.
    pub cameras: Vec<String>,
    /// Square image side (px) rendered by the simulator.
    pub image_size: u32,
    /// Render with OpenGL's bottom-up rows, as robosuite does (LIBERO data is stored so).
    pub opengl_rows: bool,
    /// Rotate frames by 180° before the policy sees them (LIBERO clients' `img[::-1, ::-1]`).
    pub rotate_180: bool,
    /// Centre crop (fraction of the area) the policy applies at inference, matching a
    /// random-crop training augmentation (DD-VLA: 0.9); `None`: no crop.
    #[serde(default)]
    pub center_crop_area: Option<f32>,
    /// Gripper sign convention of the policy's actions.
    pub gripper: GripperConvention,
    /// Action dimension (7: `[dx dy dz dax day daz g]`).
    pub action_dim: usize,
}

/// An RGB frame as the policy receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyImage {
    /// Camera name.
    pub camera: String,
    /// Width (px).
    pub width: usize,
    /// Height (px).
    pub height: usize,
    /// Row-major HWC bytes.
    pub rgb: Vec<u8>,
}

/// What a policy sees at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFrame {
    /// One frame per contract camera, in order.
    pub images: Vec<PolicyImage>,
    /// `[ee x y z (m, world), ee axis-angle (rad, world), gripper qpos…]` (LIBERO's 8-D
    /// proprio for a two-joint gripper).
    pub proprio: Vec<f32>,
}

impl Contract {
    /// Check the values (called by `Suite::load`).
    pub fn validate(&self, path: &Path) -> Result<(), SuiteError> {
        let bad = |reason: String| {
            Err(SuiteError::Invalid {
                path: path.to_owned(),
                reason: format!("[contract] {reason}"),
            })
        };
        if self.cameras.is_empty() {
            return bad("cameras is empty".into());
        }
        if !(16..=256).contains(&self.image_size) {
            return bad(format!("image_size {} not in 16..=256", self.image_size));
        }
        if let Some(a) = self.center_crop_area
            && !(a > 0.0 && a <= 1.0)
        {
            return bad(format!("center_crop_area {a} not in (0, 1]"));
        }
        if self.action_dim != 7 {
            return bad(format!("action_dim {} (only 7-D actions)", self.action_dim));
        }
        Ok(())
    }

    /// The row order the simulator renders in.
    pub fn image_convention(&self) -> ImageConvention {
        if self.opengl_rows {
            ImageConvention::OpenGl
        } else {
            ImageConvention::TopDown
        }
    }

    /// The policy's view of a simulator observation.
    pub fn frame(&self, obs: &Observation) -> PolicyFrame {
        let images = obs
            .images
            .iter()
            .map(|f| {
                let mut rgb = f.rgb.clone();
                if self.rotate_180 {
                    // Reversing the pixel order (3 bytes each) turns the frame by 180°.
                    let mut out = Vec::with_capacity(rgb.len());
                    for px in rgb.chunks_exact(3).rev() {
                        out.extend_from_slice(px);
                    }
                    rgb = out;
                }
                PolicyImage {
                    camera: f.camera.clone(),
                    width: f.width,
                    height: f.height,
                    rgb,
                }
            })
            .collect();
        let p = &obs.proprio;
        let [w, x, y, z] = p.ee_quat_wxyz;
        let rot = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(w, x, y, z));
        let aa = rot.scaled_axis();
        let mut proprio: Vec<f32> = p
            .ee_pos
            .iter()
            .chain(aa.iter())
            .chain(&p.gripper_qpos)
            .map(|v| *v as f32)
            .collect();
        proprio.shrink_to_fit();
        PolicyFrame { images, proprio }
    }

    /// The environment's action for a policy action (gripper sign converted; env convention
    /// is `+1` closes, except the WidowX-like arm's absolute `+1` open, which
    /// [`GripperConvention::AbsoluteOpenIsPositive`] passes through).
    pub fn to_env_action(&self, action: &[f32]) -> Vec<f32> {
        let mut a = action.to_vec();
        if self.gripper == GripperConvention::OpenIsPositive
            && let Some(g) = a.last_mut()
        {
            *g = -*g;
        }
        a
    }
}

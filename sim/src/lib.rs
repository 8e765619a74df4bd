//! ddvla-sim: a MuJoCo harness (mujoco-rs, MuJoCo 3.17.0) with the LIBERO-style OSC
//! controller, headless offscreen cameras and typed observations.
//!
//! MuJoCo and the Panda model come from PyPI wheels fetched by `scripts/setup.sh`.

pub mod builder;
mod camera;
mod env;
mod error;
pub mod joint_control;
mod observation;
pub mod osc;
pub mod scene;

pub use camera::{CameraFrame, CameraRig, ImageConvention};
pub use env::{ControlMode, Env, EnvConfig, LIBERO_INIT_QPOS, Observation, Proprio};
pub use error::{Result, SimError};

/// The version of the MuJoCo library in use (e.g. `3.17.0`), for result and init-state files.
pub fn mujoco_version() -> String {
    mujoco_rs::mujoco_version().to_owned()
}

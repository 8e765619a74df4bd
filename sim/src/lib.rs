//! ddvla-sim: MuJoCo harness via mujoco-rs: models, stepping, OSC control, offscreen cameras.
//!
//! Not written yet: this crate is filled by its own issue (see `issues`). It exists so the
//! workspace has its final shape.

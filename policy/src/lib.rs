//! ddvla-policy: the Discrete Diffusion VLA model and its decoders in candle.
//!
//! - [`model`]: vision encoder(s), projectors and a Llama-style backbone with bidirectional,
//!   prefix and causal attention; presets `tiny`, `small`, `base`, `openvla-7b`.
//! - [`action_tokens`]: OpenVLA action binning with q01/q99 normalisation.
//! - [`decode`]: masked diffusion (DD-VLA), autoregressive (OpenVLA) and parallel (OFT).
//! - [`checkpoint`]: safetensors + `config.json` + `tokenizer.json` + statistics;
//!   [`checkpoint_average`]: the uniform average of several checkpoints of one model;
//!   [`checkpoint_export`]: a training run's policy copied out to commit or ship;
//!   [`checkpoint_resize`]: a checkpoint taken to another camera image size;
//!   [`checkpoint_episode_step`]: a checkpoint given the episode step as a proprio input;
//!   [`checkpoint_drop_proprio`]: a checkpoint that no longer reads proprioception;
//!   [`checkpoint_add_proprio`]: one given it back through a zero-output projector;
//!   [`checkpoint_skill_prompt`]: one whose instruction names the task's part.
//! - [`skill_prompt`]: the part of a multi-step task, counted from the executed gripper
//!   commands and named in the instruction.
//! - [`policy::Policy`]: observation in, action chunk out.
//!
//! Reference: Liang et al., "Discrete Diffusion VLA" (arXiv 2508.20072) and its released code;
//! see `../shared/docs/ddvla-algorithm.md` in the development notes for the conventions kept.

pub mod action_tokens;
pub mod checkpoint;
pub mod checkpoint_add_proprio;
pub mod checkpoint_average;
pub mod checkpoint_axis_angle;
pub mod checkpoint_conv_stem;
pub mod checkpoint_drop_proprio;
pub mod checkpoint_episode_step;
pub mod checkpoint_export;
#[cfg(test)]
mod checkpoint_fixture;
pub mod checkpoint_position_target;
pub mod checkpoint_resize;
pub mod checkpoint_skill_prompt;
pub mod decode;
mod error;
pub mod kv_cache;
pub mod model;
pub mod new_folder;
pub mod observation;
pub mod policy;
pub mod position_target;
pub mod proprio_rotation;
pub mod seeded_init;
pub mod skill_prompt;
pub mod stats;
pub mod text;
pub mod train;

pub use error::{PolicyError, Result, io_at};
pub use policy::Policy;

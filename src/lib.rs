//! ddvla: the realtime runtime for Discrete Diffusion VLA policies.
//!
//! The control loop, chunk scheduling and safety layer ([`runtime`]), the ROS 2 node over
//! zenoh ([`serve`]), recording ([`record_cli`]) and the benchmark harnesses behind
//! `ddvla bench policy|sim|bridge|loop`.

pub mod alloc;
pub mod bench;
pub mod checkpoint_cli;
pub mod commands;
pub mod demos;
pub mod demos_cli;
pub mod eval_cli;
pub mod latency;
pub mod record_cli;
pub mod remote;
pub mod replay_cli;
#[cfg(feature = "rerun")]
pub mod replay_rrd;
#[cfg(feature = "rerun")]
pub mod rrd;
pub mod runtime;
pub mod serve;
pub mod sim_cli;
pub mod sim_robot;
pub mod sim_serve;
pub mod sim_task;
pub mod tasks_cli;
pub mod train_cli;

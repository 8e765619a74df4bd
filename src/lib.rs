//! ddvla: the realtime runtime for Discrete Diffusion VLA policies.
//!
//! This crate will hold the realtime control loop, chunk scheduling and the safety layer
//! (tracked by the runtime issue). Today it provides the benchmark harness behind
//! `ddvla bench policy` and the latency statistics it reports.

pub mod alloc;
pub mod bench;
pub mod latency;
pub mod record_cli;
pub mod runtime;
pub mod serve;
pub mod sim_cli;

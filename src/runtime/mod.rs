//! The realtime runtime's building blocks: monotonic and mock clocks, measured inference
//! latency, chunk scheduling and the safety layer. The loop that ties them to the policy and
//! the transports is built on these.

pub mod control_loop;
pub mod gripper_dwell;
pub mod latency_tracker;
pub mod safety;
pub mod schedule;
pub mod time;
pub mod worker;

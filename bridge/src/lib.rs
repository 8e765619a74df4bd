//! ddvla-bridge: ROS 2 messages in CDR and rosbag2-compatible MCAP recording and replay.
//!
//! Transports (zenoh with the rmw_zenoh wire format, r2r behind `ros2`, in-process) are
//! tracked by the bridge issue and not written yet.

mod error;
pub mod msg;
pub mod record;

pub use error::{BridgeError, Result};
pub use msg::{RosMessage, decode, decode_limited, encode};

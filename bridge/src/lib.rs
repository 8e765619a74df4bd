//! ddvla-bridge: ROS 2 messages in CDR, the rmw_zenoh wire format, transports (zenoh,
//! r2r behind `ros2`, in-process) and rosbag2-compatible MCAP recording and replay.

mod error;
pub mod msg;
pub mod record;
pub mod replay;
pub mod rmw;
pub mod transport;

pub use error::{BridgeError, Result};
pub use msg::{RosMessage, decode, decode_limited, encode};
pub use transport::{Publisher, Sample, Subscription, TopicSpec, Transport, publish_msg};

//! The bridge crate's error type.

use std::path::PathBuf;

/// What can go wrong encoding, decoding, recording or replaying messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// A CDR payload could not be decoded.
    #[error("{type_name}: malformed CDR ({len} bytes): {reason}")]
    Decode {
        /// ROS 2 type, e.g. `sensor_msgs/msg/Image`.
        type_name: &'static str,
        /// Payload length.
        len: usize,
        /// What failed.
        reason: String,
    },
    /// A message could not be encoded.
    #[error("{type_name}: cannot encode: {reason}")]
    Encode {
        /// ROS 2 type.
        type_name: &'static str,
        /// What failed.
        reason: String,
    },
    /// A decoded message is inconsistent (e.g. image step/size/encoding disagree).
    #[error("{type_name}: invalid message: {reason}")]
    Invalid {
        /// ROS 2 type.
        type_name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A payload is larger than the configured limit.
    #[error("{type_name}: payload of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// ROS 2 type.
        type_name: &'static str,
        /// Payload length.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// A type description (ros2msg text) could not be turned into a type hash.
    #[error("{type_name}: bad type description: {reason}")]
    TypeDescription {
        /// The type being described.
        type_name: String,
        /// What is wrong.
        reason: String,
    },
    /// An rmw_zenoh attachment does not have the 33-byte layout.
    #[error("bad rmw_zenoh attachment ({len} bytes): {reason}")]
    Attachment {
        /// Attachment length.
        len: usize,
        /// What is wrong.
        reason: String,
    },
    /// A topic name is not a valid ROS 2 name.
    #[error("topic {topic:?}: {reason}")]
    Topic {
        /// The topic as given.
        topic: String,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is invalid.
    #[error("config {what}: {reason}")]
    Config {
        /// Which setting.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The transport (zenoh session, ROS 2 node, channel) failed.
    #[error("transport {what}: {reason}")]
    Transport {
        /// What was being done, e.g. `declare publisher on 0/chatter/...`.
        what: String,
        /// The underlying error.
        reason: String,
    },
    /// Recording or replay failed.
    #[error("{path}: {reason}")]
    Bag {
        /// The MCAP file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, BridgeError>;

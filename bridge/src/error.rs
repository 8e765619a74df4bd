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

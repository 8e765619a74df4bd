//! ROS 2 messages in CDR (XCDR1 little-endian with the 4-byte encapsulation header, body
//! alignment relative to the byte after it), serde-based.

/// The `ros2msg` dependency blocks of `std_msgs/Header` (and its `builtin_interfaces/Time`),
/// shared by every stamped message's definition.
macro_rules! header_deps {
    () => {
        concat!(
            "================================================================================\n",
            "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n",
            "================================================================================\n",
            "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n"
        )
    };
}

pub mod geometry;
pub mod sensor;
pub mod std;
pub mod trajectory;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{BridgeError, Result};

/// Default largest payload accepted by [`decode`] (a 1080p RGB image is 6.2 MB).
pub const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// A ROS 2 message type.
pub trait RosMessage: Serialize + DeserializeOwned {
    /// Full type name, e.g. `sensor_msgs/msg/Image`.
    const TYPE_NAME: &'static str;
    /// The `ros2msg` definition with its dependencies (rosbag2's MCAP schema text).
    const DEFINITION: &'static str;

    /// Semantic checks after decoding (sizes that must agree, known encodings).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Serialize `msg` as CDR little-endian with the encapsulation header `00 01 00 00`.
pub fn encode<M: RosMessage>(msg: &M) -> Result<Vec<u8>> {
    let body = cdr_encoding::to_vec::<M, byteorder::LittleEndian>(msg).map_err(|e| {
        BridgeError::Encode {
            type_name: M::TYPE_NAME,
            reason: e.to_string(),
        }
    })?;
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&[0x00, 0x01, 0x00, 0x00]);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decode a CDR payload (CDR_LE or CDR_BE encapsulation), at most `max_len` bytes, then
/// [`RosMessage::validate`]. Truncated, malformed or inconsistent payloads are errors.
pub fn decode_limited<M: RosMessage>(bytes: &[u8], max_len: usize) -> Result<M> {
    let fail = |reason: String| BridgeError::Decode {
        type_name: M::TYPE_NAME,
        len: bytes.len(),
        reason,
    };
    if bytes.len() > max_len {
        return Err(BridgeError::TooLarge {
            type_name: M::TYPE_NAME,
            len: bytes.len(),
            limit: max_len,
        });
    }
    // Slice-based decoding: a corrupt length prefix fails on the missing bytes instead of
    // allocating what it claims. Alignment is relative to the byte after the header.
    let body = bytes
        .get(4..)
        .ok_or_else(|| fail("shorter than the 4-byte encapsulation header".into()))?;
    let decoded = match bytes[..2] {
        [0x00, 0x01] => cdr_encoding::from_bytes::<M, byteorder::LittleEndian>(body),
        [0x00, 0x00] => cdr_encoding::from_bytes::<M, byteorder::BigEndian>(body),
        _ => {
            return Err(fail(format!(
                "unsupported encapsulation {:02x?} (want CDR_LE 00 01 or CDR_BE 00 00)",
                &bytes[..4]
            )));
        }
    };
    let (msg, _used) = decoded.map_err(|e| fail(e.to_string()))?;
    msg.validate()?;
    Ok(msg)
}

/// [`decode_limited`] with [`DEFAULT_MAX_PAYLOAD`].
pub fn decode<M: RosMessage>(bytes: &[u8]) -> Result<M> {
    decode_limited(bytes, DEFAULT_MAX_PAYLOAD)
}

/// Every message type this crate knows: `(type name, ros2msg definition)`.
pub fn known_types() -> [(&'static str, &'static str); 10] {
    fn entry<M: RosMessage>() -> (&'static str, &'static str) {
        (M::TYPE_NAME, M::DEFINITION)
    }
    [
        entry::<std::StringMsg>(),
        entry::<std::Bool>(),
        entry::<std::Header>(),
        entry::<std::Float32MultiArray>(),
        entry::<geometry::PoseStamped>(),
        entry::<geometry::TwistStamped>(),
        entry::<sensor::Image>(),
        entry::<sensor::CompressedImage>(),
        entry::<sensor::JointState>(),
        entry::<trajectory::JointTrajectory>(),
    ]
}

/// The definition of a known type, by name (`sensor_msgs/msg/Image`).
pub fn definition_of(type_name: &str) -> Result<&'static str> {
    known_types()
        .into_iter()
        .find(|(name, _)| *name == type_name)
        .map(|(_, definition)| definition)
        .ok_or_else(|| BridgeError::Config {
            what: format!("message type {type_name}"),
            reason: format!(
                "unknown; known types: {}",
                known_types().map(|(n, _)| n).join(", ")
            ),
        })
}

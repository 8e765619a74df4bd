//! The rmw_zenoh wire mapping: key expressions, the 33-byte attachment, liveliness tokens and
//! endpoint GIDs (ros2/rmw_zenoh `docs/design.md`; see `../shared/docs/ros2-zenoh-wire.md`).
//!
//! Pure functions over strings and bytes, so every transport (and the tests) share them.

pub mod type_hash;

use crate::error::{BridgeError, Result};
pub use type_hash::{TypeHash, dds_type_name, type_hash};

/// Length of an rmw_zenoh publisher GID.
pub const GID_LEN: usize = 16;
/// Length of the attachment rmw_zenoh puts on every sample.
pub const ATTACHMENT_LEN: usize = 8 + 8 + 1 + GID_LEN;

/// The QoS part of a liveliness token for rmw_zenoh's default profile (reliable, volatile,
/// keep-last 10): fields equal to the default are empty, the depth is always written.
pub const DEFAULT_QOS_KEY: &str = "::,10:,:,:,,";

/// The per-sample metadata rmw_zenoh sends as the zenoh attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attachment {
    /// Publisher sequence number, starting at 1.
    pub sequence: i64,
    /// Source timestamp, ns since the UNIX epoch.
    pub source_time_ns: i64,
    /// Publisher GID.
    pub gid: [u8; GID_LEN],
}

impl Attachment {
    /// The 33 wire bytes: sequence (i64 LE), timestamp (i64 LE), GID length (LEB128 = 16),
    /// GID.
    pub fn to_bytes(&self) -> [u8; ATTACHMENT_LEN] {
        let mut out = [0u8; ATTACHMENT_LEN];
        out[..8].copy_from_slice(&self.sequence.to_le_bytes());
        out[8..16].copy_from_slice(&self.source_time_ns.to_le_bytes());
        out[16] = GID_LEN as u8;
        out[17..].copy_from_slice(&self.gid);
        out
    }

    /// Parse the wire bytes; anything but the 33-byte layout is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = |reason: String| BridgeError::Attachment {
            len: bytes.len(),
            reason,
        };
        if bytes.len() != ATTACHMENT_LEN {
            return Err(bad(format!("expected {ATTACHMENT_LEN} bytes")));
        }
        if usize::from(bytes[16]) != GID_LEN {
            return Err(bad(format!("GID length byte is {}, not 16", bytes[16])));
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[..8]);
        let sequence = i64::from_le_bytes(word);
        word.copy_from_slice(&bytes[8..16]);
        let source_time_ns = i64::from_le_bytes(word);
        let mut gid = [0u8; GID_LEN];
        gid.copy_from_slice(&bytes[17..]);
        Ok(Self {
            sequence,
            source_time_ns,
            gid,
        })
    }
}

/// A topic name without its leading and trailing `/` (inner slashes kept), checked to be a
/// valid ROS 2 name.
pub fn strip_topic(topic: &str) -> Result<&str> {
    let stripped = topic.trim_matches('/');
    let valid = !stripped.is_empty()
        && !stripped.contains("//")
        && stripped
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/')
        && !stripped.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(stripped)
    } else {
        Err(BridgeError::Topic {
            topic: topic.to_owned(),
            reason: "a ROS 2 topic is `/`-separated [A-Za-z0-9_] tokens not starting with a digit"
                .into(),
        })
    }
}

/// The data key expression `<domain>/<topic>/<dds type>/<hash>` of a topic.
pub fn topic_key(domain_id: u32, topic: &str, type_name: &str, hash: &TypeHash) -> Result<String> {
    Ok(format!(
        "{domain_id}/{}/{}/{hash}",
        strip_topic(topic)?,
        dds_type_name(type_name)?
    ))
}

/// `/a/b` → `%a%b`; an empty name or `/` → `%`.
pub fn mangle(name: &str) -> String {
    if name.is_empty() || name == "/" {
        "%".into()
    } else {
        name.replace('/', "%")
    }
}

/// The kind of a graph entity in a liveliness token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// A node (`NN`).
    Node,
    /// A message publisher (`MP`).
    Publisher,
    /// A message subscription (`MS`).
    Subscription,
    /// A service server (`SS`).
    ServiceServer,
}

impl EntityKind {
    fn code(self) -> &'static str {
        match self {
            Self::Node => "NN",
            Self::Publisher => "MP",
            Self::Subscription => "MS",
            Self::ServiceServer => "SS",
        }
    }
}

/// The node a transport speaks as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// `ROS_DOMAIN_ID`.
    pub domain_id: u32,
    /// The zenoh session id (hex).
    pub session_id: String,
    /// Node id within the session.
    pub node_id: u32,
    /// Namespace, `/` for none.
    pub namespace: String,
    /// Node name.
    pub name: String,
}

impl NodeIdentity {
    /// `@ros2_lv/<domain>/<session>/<node>/<node>/NN/%/<ns>/<name>`.
    pub fn node_token(&self) -> String {
        format!(
            "@ros2_lv/{}/{}/{}/{}/NN/%/{}/{}",
            self.domain_id,
            self.session_id,
            self.node_id,
            self.node_id,
            mangle(&self.namespace),
            self.name
        )
    }

    /// The liveliness token of a publisher, subscription or service of this node.
    pub fn endpoint_token(
        &self,
        entity_id: u32,
        kind: EntityKind,
        topic: &str,
        type_name: &str,
        hash: &TypeHash,
    ) -> Result<String> {
        Ok(format!(
            "@ros2_lv/{}/{}/{}/{entity_id}/{}/%/{}/{}/{}/{}/{hash}/{DEFAULT_QOS_KEY}",
            self.domain_id,
            self.session_id,
            self.node_id,
            kind.code(),
            mangle(&self.namespace),
            self.name,
            mangle(&format!("/{}", strip_topic(topic)?)),
            dds_type_name(type_name)?,
        ))
    }
}

/// An endpoint GID as rmw_zenoh computes it: XXH3-128 of its liveliness token.
pub fn endpoint_gid(liveliness_token: &str) -> [u8; GID_LEN] {
    xxhash_rust::xxh3::xxh3_128(liveliness_token.as_bytes()).to_le_bytes()
}

/// `ROS_DOMAIN_ID` from the environment (0 when unset); a value that is not a number in
/// 0..=232 is an error naming it.
pub fn domain_id_from_env() -> Result<u32> {
    match std::env::var("ROS_DOMAIN_ID") {
        Err(_) => Ok(0),
        Ok(text) if text.trim().is_empty() => Ok(0),
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|id| *id <= 232)
            .ok_or(BridgeError::Config {
                what: "ROS_DOMAIN_ID".into(),
                reason: format!("{text:?} is not a domain id in 0..=232"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_hash() -> TypeHash {
        type_hash("std_msgs/msg/String", "string data\n").expect("hash")
    }

    #[test]
    fn keys_follow_the_design_doc_examples() {
        let hash = string_hash();
        assert_eq!(
            topic_key(0, "/chatter", "std_msgs/msg/String", &hash).expect("key"),
            "0/chatter/std_msgs::msg::dds_::String_/RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
        );
        assert_eq!(
            topic_key(0, "/robot1/chatter/", "std_msgs/msg/String", &hash)
                .expect("key")
                .split('/')
                .take(3)
                .collect::<Vec<_>>(),
            ["0", "robot1", "chatter"]
        );
        let node = NodeIdentity {
            domain_id: 2,
            session_id: "8b20917502ee955ac4476e0266340d5c".into(),
            node_id: 0,
            namespace: "/".into(),
            name: "talker".into(),
        };
        let token = node
            .endpoint_token(
                10,
                EntityKind::Publisher,
                "/chatter",
                "std_msgs/msg/String",
                &hash,
            )
            .expect("token");
        assert_eq!(
            token,
            format!(
                "@ros2_lv/2/8b20917502ee955ac4476e0266340d5c/0/10/MP/%/%/talker/%chatter/std_msgs::msg::dds_::String_/{hash}/::,10:,:,:,,"
            )
        );
        assert_eq!(
            node.node_token(),
            "@ros2_lv/2/8b20917502ee955ac4476e0266340d5c/0/0/NN/%/%/talker"
        );
        assert_ne!(endpoint_gid(&token), endpoint_gid(&node.node_token()));
    }

    #[test]
    fn attachment_round_trips_and_rejects_other_layouts() {
        let a = Attachment {
            sequence: 7,
            source_time_ns: 1_700_000_000_123_456_789,
            gid: [3; 16],
        };
        let bytes = a.to_bytes();
        assert_eq!(bytes.len(), 33);
        assert_eq!(&bytes[..8], &7i64.to_le_bytes());
        assert_eq!(bytes[16], 16);
        assert_eq!(Attachment::parse(&bytes).expect("parse"), a);
        assert!(Attachment::parse(&bytes[..32]).is_err());
        let mut bad = bytes;
        bad[16] = 8;
        assert!(Attachment::parse(&bad).is_err());
    }

    #[test]
    fn bad_topics_are_rejected() {
        for bad in ["", "/", "a//b", "/1abc", "/a b", "/a*"] {
            assert!(strip_topic(bad).is_err(), "{bad:?}");
        }
        assert_eq!(mangle("/robot1"), "%robot1");
    }
}

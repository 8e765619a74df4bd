//! Transports: one [`Transport`] trait, three implementations — zenoh speaking the rmw_zenoh
//! wire format (feature `zenoh`, default), r2r (feature `ros2`) and in-process channels.
//!
//! Transports move CDR bytes (with the encapsulation header) between topics; typing is done
//! on top by [`publish_msg`] and [`Subscription::recv_msg`], which decode, validate and count
//! bad payloads instead of failing the caller.

mod inbox;
pub mod inproc;
#[cfg(feature = "ros2")]
pub mod r2r;
#[cfg(feature = "zenoh")]
pub mod zenoh;

use std::sync::Arc;
use std::time::Duration;

pub use inbox::{Inbox, SubscriptionCounts, SubscriptionStats};

use crate::error::Result;
use crate::msg::{RosMessage, decode, encode};
use crate::rmw::{Attachment, TypeHash, strip_topic, type_hash};

/// What a transport needs to know about a topic: name, ROS 2 type and its REP-2016 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name, e.g. `/camera/agentview/image_raw`.
    pub name: String,
    /// ROS 2 type, e.g. `sensor_msgs/msg/Image`.
    pub type_name: String,
    /// RIHS01 hash of the type.
    pub type_hash: TypeHash,
    /// The `ros2msg` definition (for recording schemas).
    pub definition: String,
}

impl TopicSpec {
    /// The spec of topic `name` carrying message type `M`; the name is validated.
    pub fn of<M: RosMessage>(name: &str) -> Result<Self> {
        strip_topic(name)?;
        Ok(Self {
            name: format!("/{}", name.trim_matches('/')),
            type_name: M::TYPE_NAME.to_owned(),
            type_hash: type_hash(M::TYPE_NAME, M::DEFINITION)?,
            definition: M::DEFINITION.to_owned(),
        })
    }

    /// The spec of topic `name` with a type given by name and definition (from a bag's schema).
    pub fn from_definition(name: &str, type_name: &str, definition: &str) -> Result<Self> {
        strip_topic(name)?;
        Ok(Self {
            name: format!("/{}", name.trim_matches('/')),
            type_name: type_name.to_owned(),
            type_hash: type_hash(type_name, definition)?,
            definition: definition.to_owned(),
        })
    }

    /// The spec of topic `name` carrying one of the [known types](crate::msg::known_types).
    pub fn known(name: &str, type_name: &str) -> Result<Self> {
        Self::from_definition(name, type_name, crate::msg::definition_of(type_name)?)
    }
}

/// One received sample: the CDR payload and what came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The topic it arrived on.
    pub topic: Arc<str>,
    /// CDR bytes with the encapsulation header.
    pub payload: Vec<u8>,
    /// Sequence number, source time and publisher GID (absent if the sender sent none or a
    /// malformed one).
    pub attachment: Option<Attachment>,
    /// When this process received it, ns since the UNIX epoch.
    pub receive_time_ns: i64,
}

/// Publishes CDR payloads on one topic.
pub trait Publisher: Send + Sync {
    /// Send one CDR payload (with encapsulation header).
    fn publish(&self, cdr: &[u8]) -> Result<()>;
    /// Send an owned payload (transports that can take ownership avoid a copy).
    fn publish_owned(&self, cdr: Vec<u8>) -> Result<()> {
        self.publish(&cdr)
    }
    /// The topic this publisher sends on.
    fn topic(&self) -> &TopicSpec;
}

/// A way to exchange ROS 2 messages.
pub trait Transport: Send + Sync {
    /// Declare a publisher.
    fn publisher(&self, topic: &TopicSpec) -> Result<Box<dyn Publisher>>;
    /// Subscribe, keeping at most `depth` unread samples (oldest dropped first).
    fn subscribe(&self, topic: &TopicSpec, depth: usize) -> Result<Subscription>;
    /// Short name for logs (`zenoh`, `ros2`, `inproc`).
    fn kind(&self) -> &'static str;
}

/// Encode `msg` and publish it.
pub fn publish_msg<M: RosMessage>(publisher: &dyn Publisher, msg: &M) -> Result<()> {
    publisher.publish_owned(encode(msg)?)
}

/// A live subscription; dropping it undeclares it.
pub struct Subscription {
    topic: TopicSpec,
    inbox: Arc<Inbox>,
    _declaration: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic.name)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Wrap an inbox fed by a transport; `declaration` is kept alive with the subscription.
    pub fn new(topic: TopicSpec, inbox: Arc<Inbox>, declaration: Box<dyn Send + Sync>) -> Self {
        Self {
            topic,
            inbox,
            _declaration: declaration,
        }
    }

    /// The subscribed topic.
    pub fn topic(&self) -> &TopicSpec {
        &self.topic
    }

    /// The oldest unread sample, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Sample> {
        self.inbox.pop_timeout(timeout)
    }

    /// The oldest unread sample without waiting.
    pub fn try_recv(&self) -> Option<Sample> {
        self.inbox.try_pop()
    }

    /// The newest unread sample, discarding older unread ones (latest frame semantics).
    pub fn latest(&self) -> Option<Sample> {
        self.inbox.pop_latest()
    }

    /// The next sample that decodes as `M`, waiting up to `timeout` in all. Payloads that do
    /// not decode are counted, logged and skipped.
    pub fn recv_msg<M: RosMessage>(&self, timeout: Duration) -> Option<(M, Sample)> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let sample = self.inbox.pop_timeout(left)?;
            if let Some(msg) = self.decode_counted::<M>(&sample) {
                return Some((msg, sample));
            }
        }
    }

    /// Decode a sample of this subscription as `M`; a failure is counted and logged.
    pub fn decode_counted<M: RosMessage>(&self, sample: &Sample) -> Option<M> {
        match decode::<M>(&sample.payload) {
            Ok(msg) => Some(msg),
            Err(e) => {
                let n = self.inbox.stats.count_decode_failure();
                // Log the 1st, 2nd, 4th, 8th… so a bad publisher cannot flood the log.
                if n.is_power_of_two() {
                    tracing::warn!(topic = %self.topic.name, error = %e, rejected = n, "rejected a payload");
                }
                None
            }
        }
    }

    /// The subscription's counters.
    pub fn counts(&self) -> SubscriptionCounts {
        self.inbox.stats.snapshot()
    }
}

/// Now as ns since the UNIX epoch (the rmw_zenoh source timestamp clock).
pub fn unix_time_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

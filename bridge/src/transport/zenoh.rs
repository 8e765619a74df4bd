//! zenoh transport speaking the rmw_zenoh wire format: a ddvla process is a ROS 2 node to
//! `ros2 topic echo`, rviz2 and ros2_control running `rmw_zenoh_cpp`, with no ROS install.
//!
//! Per topic: data on `<domain>/<topic>/<dds type>/RIHS01_<hash>` with the 33-byte
//! attachment; liveliness tokens for the node and every publisher and subscription. A
//! subscription listens on every hash of its topic and type so that a publisher with another
//! definition is seen, rejected and counted rather than silently ignored.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use zenoh::Wait;

use super::{Inbox, Publisher, Sample, Subscription, TopicSpec, Transport, unix_time_ns};
use crate::error::{BridgeError, Result};
use crate::rmw::{
    Attachment, EntityKind, GID_LEN, NodeIdentity, dds_type_name, domain_id_from_env, endpoint_gid,
    strip_topic, topic_key,
};

/// How the zenoh session starts (rmw_zenoh's defaults: peer, listen on loopback, connect to
/// a router on `tcp/localhost:7447` if one runs, multicast scouting off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZenohConfig {
    /// ROS domain; `None` reads `ROS_DOMAIN_ID` (0 when unset).
    pub domain_id: Option<u32>,
    /// Node name in the ROS 2 graph.
    pub node_name: String,
    /// Node namespace (`/` for none).
    pub namespace: String,
    /// Endpoints to listen on.
    pub listen: Vec<String>,
    /// Endpoints to connect to (a router, or other peers); failures are retried by zenoh and
    /// do not stop the session from opening.
    pub connect: Vec<String>,
    /// UDP multicast scouting (off, as rmw_zenoh).
    pub multicast_scouting: bool,
    /// A zenoh JSON5 config file applied first (TLS, access control, …); the fields above
    /// override its mode, endpoints and scouting.
    pub config_file: Option<PathBuf>,
}

impl Default for ZenohConfig {
    fn default() -> Self {
        Self {
            domain_id: None,
            node_name: "ddvla".into(),
            namespace: "/".into(),
            listen: vec!["tcp/127.0.0.1:0".into()],
            connect: vec!["tcp/127.0.0.1:7447".into()],
            multicast_scouting: false,
            config_file: None,
        }
    }
}

impl ZenohConfig {
    /// A domain-0 peer on loopback TCP `port`, with no router: it listens on the port
    /// (`listen`) or connects to it. For tests, benchmarks and processes on one host.
    pub fn loopback(node_name: &str, port: u16, listen: bool) -> Self {
        let endpoint = vec![format!("tcp/127.0.0.1:{port}")];
        Self {
            domain_id: Some(0),
            node_name: node_name.to_owned(),
            listen: if listen { endpoint.clone() } else { vec![] },
            connect: if listen { vec![] } else { endpoint },
            ..Self::default()
        }
    }

    fn to_zenoh(&self) -> Result<zenoh::Config> {
        let bad = |what: &str, e: &dyn std::fmt::Display| BridgeError::Config {
            what: format!("zenoh {what}"),
            reason: e.to_string(),
        };
        let mut config = match &self.config_file {
            Some(path) => zenoh::Config::from_file(path)
                .map_err(|e| bad(&format!("config file {}", path.display()), &e))?,
            None => zenoh::Config::default(),
        };
        let json = |list: &[String]| serde_json_list(list);
        for (key, value) in [
            ("mode", "\"peer\"".to_owned()),
            ("listen/endpoints", json(&self.listen)),
            ("connect/endpoints", json(&self.connect)),
            (
                "scouting/multicast/enabled",
                self.multicast_scouting.to_string(),
            ),
        ] {
            config
                .insert_json5(key, &value)
                .map_err(|e| bad(&format!("{key} = {value}"), &e))?;
        }
        Ok(config)
    }
}

/// A loopback TCP port that was free a moment ago (bind port 0, read it, release it).
pub fn free_loopback_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn serde_json_list(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(","))
}

/// A zenoh session acting as one ROS 2 node.
pub struct ZenohTransport {
    session: zenoh::Session,
    node: NodeIdentity,
    next_entity: AtomicU32,
    _node_token: zenoh::liveliness::LivelinessToken,
}

fn transport_error(what: impl Into<String>) -> impl FnOnce(zenoh::Error) -> BridgeError {
    let what = what.into();
    move |e| BridgeError::Transport {
        what,
        reason: e.to_string(),
    }
}

impl ZenohTransport {
    /// Open the session and declare the node's liveliness token.
    pub fn open(config: &ZenohConfig) -> Result<Self> {
        let domain_id = match config.domain_id {
            Some(id) => id,
            None => domain_id_from_env()?,
        };
        let session = zenoh::open(config.to_zenoh()?)
            .wait()
            .map_err(transport_error("open zenoh session"))?;
        let node = NodeIdentity {
            domain_id,
            session_id: session.zid().to_string(),
            node_id: 0,
            namespace: config.namespace.clone(),
            name: config.node_name.clone(),
        };
        let token = node.node_token();
        let node_token = session
            .liveliness()
            .declare_token(token.clone())
            .wait()
            .map_err(transport_error(format!("declare liveliness {token}")))?;
        tracing::info!(zid = %node.session_id, domain_id, node = %node.name, "zenoh node up");
        Ok(Self {
            session,
            node,
            next_entity: AtomicU32::new(1),
            _node_token: node_token,
        })
    }

    /// The node identity (domain, session id, name) used in keys and tokens.
    pub fn node(&self) -> &NodeIdentity {
        &self.node
    }

    /// The underlying session (for queryables and other zenoh-native use).
    pub fn session(&self) -> &zenoh::Session {
        &self.session
    }

    fn declare_token(
        &self,
        kind: EntityKind,
        topic: &TopicSpec,
    ) -> Result<(String, zenoh::liveliness::LivelinessToken)> {
        let id = self.next_entity.fetch_add(1, Ordering::Relaxed);
        let token =
            self.node
                .endpoint_token(id, kind, &topic.name, &topic.type_name, &topic.type_hash)?;
        let declared = self
            .session
            .liveliness()
            .declare_token(token.clone())
            .wait()
            .map_err(transport_error(format!("declare liveliness {token}")))?;
        Ok((token, declared))
    }
}

struct ZenohPublisher {
    topic: TopicSpec,
    publisher: zenoh::pubsub::Publisher<'static>,
    sequence: AtomicI64,
    gid: [u8; GID_LEN],
    _token: zenoh::liveliness::LivelinessToken,
}

impl Publisher for ZenohPublisher {
    fn publish(&self, cdr: &[u8]) -> Result<()> {
        self.publish_owned(cdr.to_vec())
    }

    fn publish_owned(&self, cdr: Vec<u8>) -> Result<()> {
        let attachment = Attachment {
            sequence: self.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            source_time_ns: unix_time_ns(),
            gid: self.gid,
        };
        self.publisher
            .put(cdr)
            .attachment(attachment.to_bytes().to_vec())
            .wait()
            .map_err(transport_error(format!("put on {}", self.topic.name)))
    }

    fn topic(&self) -> &TopicSpec {
        &self.topic
    }
}

/// What a zenoh subscription keeps alive.
struct ZenohSubscription {
    _subscriber: zenoh::pubsub::Subscriber<()>,
    _token: zenoh::liveliness::LivelinessToken,
    inbox: Arc<Inbox>,
}

impl Drop for ZenohSubscription {
    fn drop(&mut self) {
        self.inbox.close();
    }
}

impl Transport for ZenohTransport {
    fn publisher(&self, topic: &TopicSpec) -> Result<Box<dyn Publisher>> {
        let key = topic_key(
            self.node.domain_id,
            &topic.name,
            &topic.type_name,
            &topic.type_hash,
        )?;
        let (token, declared) = self.declare_token(EntityKind::Publisher, topic)?;
        let publisher = self
            .session
            .declare_publisher(key.clone())
            .wait()
            .map_err(transport_error(format!("declare publisher {key}")))?;
        Ok(Box::new(ZenohPublisher {
            topic: topic.clone(),
            publisher,
            sequence: AtomicI64::new(0),
            gid: endpoint_gid(&token),
            _token: declared,
        }))
    }

    fn subscribe(&self, topic: &TopicSpec, depth: usize) -> Result<Subscription> {
        let any_hash = format!(
            "{}/{}/{}/*",
            self.node.domain_id,
            strip_topic(&topic.name)?,
            dds_type_name(&topic.type_name)?
        );
        let want = topic.type_hash.to_string();
        let inbox = Arc::new(Inbox::new(depth));
        let feed = Arc::clone(&inbox);
        let topic_name: Arc<str> = Arc::from(topic.name.as_str());
        let subscriber = self
            .session
            .declare_subscriber(any_hash.clone())
            .callback(move |sample| {
                let key = sample.key_expr().as_str();
                if key.rsplit('/').next() != Some(want.as_str()) {
                    feed.stats.count_type_hash_mismatch();
                    tracing::warn!(%key, expected = %want, "rejected a sample with another type hash");
                    return;
                }
                let attachment = sample.attachment().and_then(|a| {
                    Attachment::parse(&a.to_bytes())
                        .inspect_err(|e| {
                            feed.stats.count_bad_attachment();
                            tracing::warn!(%key, error = %e, "bad attachment");
                        })
                        .ok()
                });
                if sample.attachment().is_none() {
                    feed.stats.count_bad_attachment();
                }
                feed.push(Sample {
                    topic: Arc::clone(&topic_name),
                    payload: sample.payload().to_bytes().into_owned(),
                    attachment,
                    receive_time_ns: unix_time_ns(),
                });
            })
            .wait()
            .map_err(transport_error(format!("declare subscriber {any_hash}")))?;
        let (_, token) = self.declare_token(EntityKind::Subscription, topic)?;
        Ok(Subscription::new(
            topic.clone(),
            Arc::clone(&inbox),
            Box::new(ZenohSubscription {
                _subscriber: subscriber,
                _token: token,
                inbox,
            }),
        ))
    }

    fn kind(&self) -> &'static str {
        "zenoh"
    }
}

//! In-process transport: topics are channels inside one process (simulation, tests, and the
//! runtime closed on the MuJoCo harness). Same semantics as zenoh: type hashes must match,
//! samples carry an rmw_zenoh-style attachment, subscribers keep the last `depth` samples.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::{Inbox, Publisher, Sample, Subscription, TopicSpec, Transport, unix_time_ns};
use crate::error::Result;
use crate::rmw::{Attachment, GID_LEN, TypeHash};

type Registry = Mutex<HashMap<String, Vec<(TypeHash, Weak<Inbox>)>>>;

/// Channels between publishers and subscribers of one process. Clones share the topics.
#[derive(Clone, Default)]
pub struct InProcessTransport {
    registry: Arc<Registry>,
    next_publisher: Arc<AtomicU32>,
}

impl InProcessTransport {
    /// An empty set of topics.
    pub fn new() -> Self {
        Self::default()
    }
}

struct InProcessPublisher {
    topic: TopicSpec,
    topic_name: Arc<str>,
    registry: Arc<Registry>,
    sequence: AtomicI64,
    gid: [u8; GID_LEN],
}

impl Publisher for InProcessPublisher {
    fn publish(&self, cdr: &[u8]) -> Result<()> {
        let attachment = Attachment {
            sequence: self.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            source_time_ns: unix_time_ns(),
            gid: self.gid,
        };
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(subscribers) = registry.get_mut(&self.topic.name) {
            subscribers.retain(|(_, inbox)| inbox.strong_count() > 0);
            for (hash, inbox) in subscribers.iter() {
                let Some(inbox) = inbox.upgrade() else {
                    continue;
                };
                if *hash == self.topic.type_hash {
                    inbox.push(Sample {
                        topic: Arc::clone(&self.topic_name),
                        payload: cdr.to_vec(),
                        attachment: Some(attachment),
                        receive_time_ns: unix_time_ns(),
                    });
                } else {
                    inbox.stats.count_type_hash_mismatch();
                    tracing::warn!(
                        topic = %self.topic.name,
                        published = %self.topic.type_hash,
                        subscribed = %hash,
                        "rejected a sample with another type hash"
                    );
                }
            }
        }
        Ok(())
    }

    fn topic(&self) -> &TopicSpec {
        &self.topic
    }
}

/// Closes the inbox when the subscription is dropped.
struct CloseOnDrop(Arc<Inbox>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Transport for InProcessTransport {
    fn publisher(&self, topic: &TopicSpec) -> Result<Box<dyn Publisher>> {
        let id = self.next_publisher.fetch_add(1, Ordering::Relaxed);
        let mut gid = [0u8; GID_LEN];
        gid[..4].copy_from_slice(&id.to_le_bytes());
        Ok(Box::new(InProcessPublisher {
            topic: topic.clone(),
            topic_name: Arc::from(topic.name.as_str()),
            registry: Arc::clone(&self.registry),
            sequence: AtomicI64::new(0),
            gid,
        }))
    }

    fn subscribe(&self, topic: &TopicSpec, depth: usize) -> Result<Subscription> {
        let inbox = Arc::new(Inbox::new(depth));
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(topic.name.clone())
            .or_default()
            .push((topic.type_hash, Arc::downgrade(&inbox)));
        Ok(Subscription::new(
            topic.clone(),
            Arc::clone(&inbox),
            Box::new(CloseOnDrop(inbox)),
        ))
    }

    fn kind(&self) -> &'static str {
        "inproc"
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::msg::sensor::JointState;
    use crate::msg::std::StringMsg;
    use crate::transport::publish_msg;

    #[test]
    fn delivers_typed_messages_and_counts_rejects() {
        let transport = InProcessTransport::new();
        let spec = TopicSpec::of::<StringMsg>("/instruction").expect("spec");
        let sub = transport.subscribe(&spec, 8).expect("sub");
        let publisher = transport.publisher(&spec).expect("pub");
        publish_msg(
            publisher.as_ref(),
            &StringMsg {
                data: "pick".into(),
            },
        )
        .expect("publish");
        let (msg, sample) = sub
            .recv_msg::<StringMsg>(Duration::from_secs(1))
            .expect("message");
        assert_eq!(msg.data, "pick");
        assert_eq!(sample.attachment.map(|a| a.sequence), Some(1));

        // Same topic, another type: rejected by hash, counted, not delivered.
        let wrong = TopicSpec::of::<JointState>("/instruction").expect("spec");
        let wrong_pub = transport.publisher(&wrong).expect("pub");
        publish_msg(wrong_pub.as_ref(), &JointState::default()).expect("publish");
        // Garbage bytes with the right hash: delivered, rejected when decoded.
        publisher.publish(&[0, 1, 0, 0, 0xff]).expect("publish");
        assert!(
            sub.recv_msg::<StringMsg>(Duration::from_millis(20))
                .is_none()
        );
        let counts = sub.counts();
        assert_eq!(counts.rejected_type_hash, 1);
        assert_eq!(counts.rejected_decode, 1);
        assert_eq!(counts.received, 2);
    }

    #[test]
    fn dropped_subscriptions_are_forgotten() {
        let transport = InProcessTransport::new();
        let spec = TopicSpec::of::<StringMsg>("/a").expect("spec");
        let publisher = transport.publisher(&spec).expect("pub");
        drop(transport.subscribe(&spec, 1).expect("sub"));
        publisher.publish(&[0, 1, 0, 0]).expect("publish to nobody");
        assert!(TopicSpec::of::<StringMsg>("/bad topic").is_err());
    }
}

//! r2r transport (feature `ros2`): a real rcl node, for machines with ROS 2 sourced (any RMW).
//!
//! r2r's node is `Send` but not `Sync` and must be spun; it lives on its own thread, which
//! creates publishers and subscriptions on request and drains raw subscriptions after every
//! `spin_once`. Payloads are whole serialized messages including the CDR encapsulation header
//! in both directions, like every other transport. Type names must be ones r2r linked at
//! build time (`std_msgs/msg/String`, …). Built here only with `ros2-doc-only` (cargo check):
//! ROS 2 is not installable on our CI machines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt};

use super::{Inbox, Publisher, Sample, Subscription, TopicSpec, Transport, unix_time_ns};
use crate::error::{BridgeError, Result};

type Callback = Box<dyn FnMut(Vec<u8>) + Send>;
type RawStream = Box<dyn Stream<Item = Vec<u8>> + Unpin + Send>;

enum Command {
    Publisher {
        topic: TopicSpec,
        reply: mpsc::SyncSender<r2r::Result<r2r::PublisherUntyped>>,
    },
    Subscribe {
        topic: TopicSpec,
        callback: Callback,
        reply: mpsc::SyncSender<r2r::Result<()>>,
    },
}

fn failed(what: String) -> impl FnOnce(r2r::Error) -> BridgeError {
    move |e| BridgeError::Transport {
        what,
        reason: e.to_string(),
    }
}

fn gone(what: &str) -> BridgeError {
    BridgeError::Transport {
        what: what.to_owned(),
        reason: "the r2r spin thread has stopped".into(),
    }
}

/// A ROS 2 node through r2r, spun on a dedicated thread.
pub struct R2rTransport {
    commands: Mutex<mpsc::SyncSender<Command>>,
    stop: Arc<AtomicBool>,
    spinner: Option<thread::JoinHandle<()>>,
}

impl R2rTransport {
    /// Create the node `name` in `namespace` and start spinning it.
    pub fn open(name: &str, namespace: &str) -> Result<Self> {
        let (commands, inbox) = mpsc::sync_channel::<Command>(64);
        let (ready_tx, ready_rx) = mpsc::sync_channel::<r2r::Result<()>>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let (name, namespace, stopping) = (name.to_owned(), namespace.to_owned(), stop.clone());
        let spinner = thread::Builder::new()
            .name("r2r-spin".into())
            .spawn(move || {
                let node =
                    r2r::Context::create().and_then(|c| r2r::Node::create(c, &name, &namespace));
                let mut node = match node {
                    Ok(node) => {
                        let _ = ready_tx.send(Ok(()));
                        node
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut subscriptions: Vec<(RawStream, Callback)> = Vec::new();
                while !stopping.load(Ordering::Relaxed) {
                    while let Ok(command) = inbox.try_recv() {
                        match command {
                            Command::Publisher { topic, reply } => {
                                let _ = reply.send(node.create_publisher_untyped(
                                    &topic.name,
                                    &topic.type_name,
                                    r2r::QosProfile::default(),
                                ));
                            }
                            Command::Subscribe {
                                topic,
                                callback,
                                reply,
                            } => {
                                let result = node
                                    .subscribe_raw(
                                        &topic.name,
                                        &topic.type_name,
                                        r2r::QosProfile::default(),
                                    )
                                    .map(|s| subscriptions.push((Box::new(s), callback)));
                                let _ = reply.send(result);
                            }
                        }
                    }
                    node.spin_once(Duration::from_millis(5));
                    // r2r's raw channel holds 10 samples: drain after every spin.
                    for (stream, callback) in &mut subscriptions {
                        while let Some(Some(bytes)) = stream.next().now_or_never() {
                            callback(bytes);
                        }
                    }
                }
            })
            .map_err(|e| BridgeError::Transport {
                what: "spawn the r2r spin thread".into(),
                reason: e.to_string(),
            })?;
        ready_rx
            .recv()
            .map_err(|_| gone("create the r2r node"))?
            .map_err(failed("create the r2r node".into()))?;
        Ok(Self {
            commands: Mutex::new(commands),
            stop,
            spinner: Some(spinner),
        })
    }

    fn send(&self, command: Command, what: &str) -> Result<()> {
        self.commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(command)
            .map_err(|_| gone(what))
    }
}

impl Drop for R2rTransport {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(spinner) = self.spinner.take() {
            let _ = spinner.join();
        }
    }
}

struct R2rPublisher {
    topic: TopicSpec,
    publisher: Mutex<r2r::PublisherUntyped>,
}

impl Publisher for R2rPublisher {
    fn publish(&self, cdr: &[u8]) -> Result<()> {
        self.publisher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .publish_raw(cdr)
            .map_err(failed(format!("publish on {}", self.topic.name)))
    }

    fn topic(&self) -> &TopicSpec {
        &self.topic
    }
}

impl Transport for R2rTransport {
    fn publisher(&self, topic: &TopicSpec) -> Result<Box<dyn Publisher>> {
        let what = format!("create publisher {} ({})", topic.name, topic.type_name);
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(
            Command::Publisher {
                topic: topic.clone(),
                reply,
            },
            &what,
        )?;
        let publisher = answer
            .recv()
            .map_err(|_| gone(&what))?
            .map_err(failed(what))?;
        Ok(Box::new(R2rPublisher {
            topic: topic.clone(),
            publisher: Mutex::new(publisher),
        }))
    }

    fn subscribe(&self, topic: &TopicSpec, depth: usize) -> Result<Subscription> {
        let what = format!("subscribe {} ({})", topic.name, topic.type_name);
        let inbox = Arc::new(Inbox::new(depth));
        let feed = Arc::clone(&inbox);
        let topic_name: Arc<str> = Arc::from(topic.name.as_str());
        let callback: Callback = Box::new(move |payload| {
            feed.push(Sample {
                topic: Arc::clone(&topic_name),
                payload,
                attachment: None,
                receive_time_ns: unix_time_ns(),
            });
        });
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(
            Command::Subscribe {
                topic: topic.clone(),
                callback,
                reply,
            },
            &what,
        )?;
        answer
            .recv()
            .map_err(|_| gone(&what))?
            .map_err(failed(what))?;
        Ok(Subscription::new(topic.clone(), inbox, Box::new(())))
    }

    fn kind(&self) -> &'static str {
        "ros2"
    }
}

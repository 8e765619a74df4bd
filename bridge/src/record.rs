//! rosbag2-compatible MCAP recording (profile `ros2`, `ros2msg` schemas, `cdr` messages, one
//! channel per topic, zstd chunks) and replay.
//!
//! The writer closes a chunk and flushes the file at least every `flush_interval_ns` of log
//! time, so a killed process loses at most about that much.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::error::{BridgeError, Result};
use crate::msg::{RosMessage, encode};
use crate::transport::TopicSpec;

/// Default flush interval: one second of log time.
pub const DEFAULT_FLUSH_INTERVAL_NS: u64 = 1_000_000_000;

/// Writes messages to an MCAP file.
pub struct Recorder {
    path: PathBuf,
    writer: Option<mcap::Writer<BufWriter<File>>>,
    channels: BTreeMap<String, (u16, String)>,
    sequence: u32,
    last_flush_ns: u64,
    flush_interval_ns: u64,
    messages: u64,
}

impl Recorder {
    /// Create (truncate) `path`, and its parent folders when missing.
    pub fn create(path: &Path) -> Result<Self> {
        let bag = |reason: String| BridgeError::Bag {
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| bag(format!("creating {}: {e}", dir.display())))?;
        }
        let file = File::create(path).map_err(|e| bag(e.to_string()))?;
        let writer = mcap::WriteOptions::new()
            .profile("ros2")
            .compression(Some(mcap::Compression::Zstd))
            .create(BufWriter::new(file))
            .map_err(|e| bag(e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            writer: Some(writer),
            channels: BTreeMap::new(),
            sequence: 0,
            last_flush_ns: 0,
            flush_interval_ns: DEFAULT_FLUSH_INTERVAL_NS,
            messages: 0,
        })
    }

    /// Change how often chunks are closed and flushed (log-time nanoseconds).
    pub fn set_flush_interval_ns(&mut self, ns: u64) {
        self.flush_interval_ns = ns;
    }

    fn bag_err(&self, reason: impl ToString) -> BridgeError {
        BridgeError::Bag {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    fn channel(&mut self, topic: &str, type_name: &str, definition: &str) -> Result<u16> {
        if let Some((id, ty)) = self.channels.get(topic) {
            if ty != type_name {
                return Err(self.bag_err(format!(
                    "topic {topic} already carries {ty}, not {type_name}"
                )));
            }
            return Ok(*id);
        }
        let path = self.path.clone();
        let writer = self.writer.as_mut().ok_or_else(|| BridgeError::Bag {
            path: path.clone(),
            reason: "recorder is finished".into(),
        })?;
        let schema = writer
            .add_schema(type_name, "ros2msg", definition.as_bytes())
            .map_err(|e| BridgeError::Bag {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let id = writer
            .add_channel(schema, topic, "cdr", &BTreeMap::new())
            .map_err(|e| BridgeError::Bag {
                path,
                reason: e.to_string(),
            })?;
        self.channels
            .insert(topic.to_owned(), (id, type_name.to_owned()));
        Ok(id)
    }

    /// Record `msg` on `topic` with log and publish times (ns).
    pub fn write<M: RosMessage>(
        &mut self,
        topic: &str,
        msg: &M,
        log_time_ns: u64,
        publish_time_ns: u64,
    ) -> Result<()> {
        let data = encode(msg)?;
        self.write_raw::<M>(topic, &data, log_time_ns, publish_time_ns)
    }

    /// Record an already encoded CDR payload of type `M`.
    pub fn write_raw<M: RosMessage>(
        &mut self,
        topic: &str,
        cdr: &[u8],
        log_time_ns: u64,
        publish_time_ns: u64,
    ) -> Result<()> {
        let channel_id = self.channel(topic, M::TYPE_NAME, M::DEFINITION)?;
        self.write_to_channel(channel_id, cdr, log_time_ns, publish_time_ns)
    }

    /// Record a CDR payload received on (or sent to) `topic`.
    pub fn write_payload(
        &mut self,
        topic: &TopicSpec,
        cdr: &[u8],
        log_time_ns: u64,
        publish_time_ns: u64,
    ) -> Result<()> {
        let channel_id = self.channel(&topic.name, &topic.type_name, &topic.definition)?;
        self.write_to_channel(channel_id, cdr, log_time_ns, publish_time_ns)
    }

    fn write_to_channel(
        &mut self,
        channel_id: u16,
        cdr: &[u8],
        log_time_ns: u64,
        publish_time_ns: u64,
    ) -> Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let header = mcap::records::MessageHeader {
            channel_id,
            sequence: self.sequence,
            log_time: log_time_ns,
            publish_time: publish_time_ns,
        };
        let path = self.path.clone();
        let writer = self.writer.as_mut().ok_or_else(|| BridgeError::Bag {
            path: path.clone(),
            reason: "recorder is finished".into(),
        })?;
        writer
            .write_to_known_channel(&header, cdr)
            .map_err(|e| BridgeError::Bag {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        self.messages += 1;
        if log_time_ns.saturating_sub(self.last_flush_ns) >= self.flush_interval_ns {
            writer.flush().map_err(|e| BridgeError::Bag {
                path,
                reason: e.to_string(),
            })?;
            self.last_flush_ns = log_time_ns;
        }
        Ok(())
    }

    /// Messages written so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Write the summary and close the file.
    pub fn finish(mut self) -> Result<()> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.finish().map_err(|e| self.bag_err(e))?;
        }
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.finish_inner() {
            tracing::error!(error = %e, "closing the recording failed");
        }
    }
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedMessage {
    /// Topic.
    pub topic: String,
    /// ROS 2 type name from the schema.
    pub type_name: String,
    /// The schema's `ros2msg` definition.
    pub definition: String,
    /// Log time (ns).
    pub log_time_ns: u64,
    /// Publish time (ns).
    pub publish_time_ns: u64,
    /// CDR payload.
    pub data: Vec<u8>,
}

/// Read every message of `path` (in file order), keeping `topics` only when given.
pub fn read_bag(path: &Path, topics: Option<&[&str]>) -> Result<Vec<RecordedMessage>> {
    let (messages, err) = read_bag_lenient(path, topics)?;
    match err {
        Some(e) => Err(e),
        None => Ok(messages),
    }
}

/// Like [`read_bag`], but for a file cut short (a killed recorder): returns the messages read
/// before the damage, and the error that stopped reading, if any.
pub fn read_bag_lenient(
    path: &Path,
    topics: Option<&[&str]>,
) -> Result<(Vec<RecordedMessage>, Option<BridgeError>)> {
    let bag = |reason: String| BridgeError::Bag {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bag(e.to_string()))?;
    let stream = mcap::MessageStream::new(&bytes).map_err(|e| bag(e.to_string()))?;
    let mut out = Vec::new();
    for m in stream {
        let m = match m {
            Ok(m) => m,
            Err(e) => return Ok((out, Some(bag(e.to_string())))),
        };
        if topics.is_some_and(|t| !t.contains(&m.channel.topic.as_str())) {
            continue;
        }
        out.push(RecordedMessage {
            topic: m.channel.topic.clone(),
            type_name: m
                .channel
                .schema
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            definition: m
                .channel
                .schema
                .as_ref()
                .map(|s| String::from_utf8_lossy(&s.data).into_owned())
                .unwrap_or_default(),
            log_time_ns: m.log_time,
            publish_time_ns: m.publish_time,
            data: m.data.into_owned(),
        });
    }
    Ok((out, None))
}

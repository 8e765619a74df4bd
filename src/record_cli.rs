//! `ddvla record`: subscribe to topics over zenoh (rmw_zenoh wire format) and write every
//! message to a rosbag2-compatible MCAP file until a duration passes or Ctrl-C.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ddvla_bridge::record::Recorder;
use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport};
use ddvla_bridge::transport::{Sample, SubscriptionCounts};
use ddvla_bridge::{TopicSpec, Transport};

/// The runtime's default topics and their types (what `ddvla serve` reads and writes).
pub const DEFAULT_TOPICS: [(&str, &str); 8] = [
    ("/camera/agentview/image_raw", "sensor_msgs/msg/Image"),
    ("/camera/wrist/image_raw", "sensor_msgs/msg/Image"),
    ("/instruction", "std_msgs/msg/String"),
    ("/joint_states", "sensor_msgs/msg/JointState"),
    ("/ddvla/estop", "std_msgs/msg/Bool"),
    ("/ddvla/action_chunk", "std_msgs/msg/Float32MultiArray"),
    ("/ddvla/cmd_ee_delta", "geometry_msgs/msg/TwistStamped"),
    ("/ddvla/status", "std_msgs/msg/String"),
];

/// Parse `TOPIC=TYPE` (type one of the known message types).
pub fn parse_topic(text: &str) -> Result<TopicSpec> {
    let (topic, type_name) = text.split_once('=').with_context(|| {
        format!(
            "--topic {text:?}: expected TOPIC=TYPE, e.g. /joint_states=sensor_msgs/msg/JointState"
        )
    })?;
    TopicSpec::known(topic, type_name).with_context(|| format!("--topic {text:?}"))
}

/// Record `topics` (all of [`DEFAULT_TOPICS`] when empty) to `out`.
pub fn record(
    out: &Path,
    topics: &[TopicSpec],
    zenoh: &ZenohConfig,
    duration: Option<Duration>,
) -> Result<()> {
    let topics: Vec<TopicSpec> = if topics.is_empty() {
        DEFAULT_TOPICS
            .iter()
            .map(|(t, ty)| TopicSpec::known(t, ty))
            .collect::<Result<_, _>>()?
    } else {
        topics.to_vec()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = Arc::clone(&stop);
    ctrlc::set_handler(move || on_signal.store(true, Ordering::Relaxed))
        .context("installing the Ctrl-C handler")?;
    let transport = ZenohTransport::open(zenoh).context("opening the zenoh session")?;
    let mut recorder =
        Recorder::create(out).with_context(|| format!("creating {}", out.display()))?;
    let (tx, rx) = mpsc::sync_channel::<(usize, Sample)>(4096);
    let mut readers = Vec::new();
    for (index, spec) in topics.iter().enumerate() {
        let sub = transport
            .subscribe(spec, 256)
            .with_context(|| format!("subscribing to {}", spec.name))?;
        let (tx, stop) = (tx.clone(), Arc::clone(&stop));
        readers.push(
            std::thread::Builder::new()
                .name(format!("record {}", spec.name))
                .spawn(move || -> SubscriptionCounts {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(sample) = sub.recv_timeout(Duration::from_millis(100))
                            && tx.send((index, sample)).is_err()
                        {
                            break;
                        }
                    }
                    sub.counts()
                })?,
        );
    }
    drop(tx);
    tracing::info!(file = %out.display(), topics = topics.len(), "recording; Ctrl-C stops");
    let started = Instant::now();
    let mut per_topic = vec![0u64; topics.len()];
    loop {
        if duration.is_some_and(|d| started.elapsed() >= d) {
            stop.store(true, Ordering::Relaxed);
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok((index, sample)) => {
                let log_ns = u64::try_from(sample.receive_time_ns).unwrap_or(0);
                let publish_ns = sample
                    .attachment
                    .and_then(|a| u64::try_from(a.source_time_ns).ok())
                    .unwrap_or(log_ns);
                recorder
                    .write_payload(&topics[index], &sample.payload, log_ns, publish_ns)
                    .with_context(|| format!("writing {}", out.display()))?;
                per_topic[index] += 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let written = recorder.messages();
    recorder
        .finish()
        .with_context(|| format!("closing {}", out.display()))?;
    for (spec, reader) in topics.iter().zip(readers) {
        let Ok(counts) = reader.join() else {
            bail!("the reader of {} panicked", spec.name);
        };
        let index = topics.iter().position(|t| t == spec).unwrap_or(0);
        println!(
            "{:<32} {:>7} recorded, {} dropped, {} wrong type hash, {} bad attachment",
            spec.name,
            per_topic[index],
            counts.dropped_overflow,
            counts.rejected_type_hash,
            counts.rejected_attachment
        );
    }
    println!("wrote {written} messages to {}", out.display());
    Ok(())
}

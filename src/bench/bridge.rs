//! `ddvla bench bridge`: publish→receive latency of RGB images over zenoh on loopback (two
//! sessions in this process, TCP between them, rmw_zenoh keys and attachments, CDR encode and
//! decode included) at a fixed rate, and MCAP write throughput.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ddvla_bridge::msg::sensor::Image;
use ddvla_bridge::msg::std::{Header, Time};
use ddvla_bridge::record::Recorder;
use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport, free_loopback_port};
use ddvla_bridge::{TopicSpec, Transport, encode, publish_msg};
use serde::Serialize;

use crate::latency::LatencySummary;

/// Latency of one image size.
#[derive(Debug, Clone, Serialize)]
pub struct ImageLatency {
    /// Image width (px).
    pub width: u32,
    /// Image height (px).
    pub height: u32,
    /// CDR payload size (bytes).
    pub payload_bytes: usize,
    /// Publish rate (Hz).
    pub rate_hz: f64,
    /// Frames published.
    pub published: usize,
    /// Frames received.
    pub received: usize,
    /// From before encoding on the publisher to after decoding on the subscriber.
    pub latency: LatencySummary,
}

/// MCAP write throughput.
#[derive(Debug, Clone, Serialize)]
pub struct McapThroughput {
    /// Messages written.
    pub messages: usize,
    /// Payload bytes written.
    pub bytes: usize,
    /// Messages per second.
    pub messages_per_s: f64,
    /// Payload megabytes (1e6) per second.
    pub megabytes_per_s: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct BridgeBenchReport {
    /// Per image size.
    pub zenoh: Vec<ImageLatency>,
    /// 224×224 RGB images into a zstd-chunked MCAP file.
    pub mcap_224: McapThroughput,
    /// Build profile of this binary.
    pub build_profile: &'static str,
}

fn session(name: &str, port: u16, listen: bool, file: Option<&Path>) -> Result<ZenohTransport> {
    let config = ZenohConfig {
        config_file: file.map(Path::to_path_buf),
        ..ZenohConfig::loopback(name, port, listen)
    };
    Ok(ZenohTransport::open(&config)?)
}

fn image(width: u32, height: u32, stamp: Time) -> Image {
    // Noise, not a pattern: zstd would shrink a pattern to nothing and flatter the MCAP number.
    let mut state = 0x9e37_79b9_u32;
    let data = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    Image::rgb8(
        Header {
            stamp,
            frame_id: "agentview".into(),
        },
        width,
        height,
        data,
    )
}

fn bench_size(
    (width, height): (u32, u32),
    frames: usize,
    rate_hz: f64,
    zenoh_config: Option<&Path>,
) -> Result<ImageLatency> {
    let port = free_loopback_port()?;
    let robot = session("bench_camera", port, true, zenoh_config)?;
    let ddvla = session("bench_ddvla", port, false, zenoh_config)?;
    let spec = TopicSpec::of::<Image>("/camera/agentview/image_raw")?;
    let sub = ddvla.subscribe(&spec, frames.max(1))?;
    let publisher = robot.publisher(&spec)?;
    let epoch = Instant::now();
    // Routes are established asynchronously: probe until one frame goes through.
    let probe_deadline = Instant::now() + Duration::from_secs(10);
    while sub.recv_msg::<Image>(Duration::from_millis(20)).is_none() {
        if Instant::now() > probe_deadline {
            bail!("no route between the two zenoh sessions within 10 s");
        }
        publish_msg(publisher.as_ref(), &image(width, height, Time::default()))?;
    }
    while sub.try_recv().is_some() {}
    let template = image(width, height, Time::default());
    let payload_bytes = encode(&template)?.len();
    let period = Duration::try_from_secs_f64(1.0 / rate_hz)?;
    let mut latencies = Vec::with_capacity(frames);
    for i in 0..frames {
        let due = epoch + period * u32::try_from(i)?;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut msg = template.clone();
        let sent = epoch.elapsed();
        msg.header.stamp = Time::from_ns(u64::try_from(sent.as_nanos())?);
        publish_msg(publisher.as_ref(), &msg)?;
        // Read what arrived before the next frame is due.
        if let Some((got, _)) = sub.recv_msg::<Image>(period) {
            let sent_ns = got.header.stamp.as_ns();
            let now_ns = u64::try_from(epoch.elapsed().as_nanos())?;
            latencies.push(Duration::from_nanos(now_ns.saturating_sub(sent_ns)));
        }
    }
    while let Some((got, _)) = sub.recv_msg::<Image>(Duration::from_millis(200)) {
        let now_ns = u64::try_from(epoch.elapsed().as_nanos())?;
        latencies.push(Duration::from_nanos(
            now_ns.saturating_sub(got.header.stamp.as_ns()),
        ));
    }
    Ok(ImageLatency {
        width,
        height,
        payload_bytes,
        rate_hz,
        published: frames,
        received: latencies.len(),
        latency: LatencySummary::from_durations(&latencies),
    })
}

fn bench_mcap(frames: usize) -> Result<McapThroughput> {
    let dir = std::env::temp_dir().join(format!("ddvla-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("bench.mcap");
    let template = image(224, 224, Time::default());
    let cdr = encode(&template)?;
    let started = Instant::now();
    let mut recorder = Recorder::create(&path)?;
    for i in 0..frames {
        let t = u64::try_from(i)? * 33_333_333;
        recorder.write_raw::<Image>("/camera/agentview/image_raw", &cdr, t, t)?;
    }
    recorder.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir).ok();
    Ok(McapThroughput {
        messages: frames,
        bytes: cdr.len() * frames,
        messages_per_s: frames as f64 / seconds,
        megabytes_per_s: (cdr.len() * frames) as f64 / seconds / 1e6,
    })
}

/// Run the benchmark: `frames` images per size at `rate_hz`, both sessions configured by
/// `zenoh_config` (a zenoh JSON5 file) when given.
pub fn run_bridge_bench(
    frames: usize,
    rate_hz: f64,
    zenoh_config: Option<&Path>,
) -> Result<BridgeBenchReport> {
    if !(rate_hz.is_finite() && rate_hz > 0.0) {
        bail!("--rate-hz must be positive, got {rate_hz}");
    }
    let zenoh = [(224, 224), (640, 480)]
        .into_iter()
        .map(|size| bench_size(size, frames, rate_hz, zenoh_config))
        .collect::<Result<Vec<_>>>()?;
    Ok(BridgeBenchReport {
        zenoh,
        mcap_224: bench_mcap(frames.max(100))?,
        build_profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    })
}

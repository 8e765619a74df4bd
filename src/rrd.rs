//! rerun views shared by `ddvla replay --rrd` ([`crate::replay_rrd`]) and the live view of
//! `ddvla serve --rrd/--connect` ([`crate::serve::rerun_view`]): the observation an
//! inference saw, an action chunk as per-dimension time series, the remasking trace as an
//! image (one row per decoding round, one column per action token: green = committed this
//! round, brighter for higher confidence; pale green = committed earlier; red = re-masked;
//! grey = still masked), and the loop's counters. Everything is logged on the `tick`
//! timeline, which the caller sets.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ddvla_policy::decode::DecodeTrace;
use ddvla_policy::observation::Observation;
use rerun::RecordingStream;

/// The viewer's gRPC proxy URL for `addr`: a full URL (`rerun+http://host:port/proxy`) as
/// is, or `host:port` (`rerun+http://host:port/proxy`).
pub fn viewer_url(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("rerun+http://{addr}/proxy")
    }
}

/// A recording stream named `app` writing to the `rrd` file, streaming to the viewer at
/// `connect` (see [`viewer_url`]), or both.
pub fn open_stream(
    app: &'static str,
    rrd: Option<&Path>,
    connect: Option<&str>,
) -> Result<RecordingStream> {
    let builder = rerun::RecordingStreamBuilder::new(app);
    let file = |path: &Path| -> Result<rerun::sink::FileSink> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        rerun::sink::FileSink::new(path).with_context(|| format!("creating {}", path.display()))
    };
    let viewer = |addr: &str| -> Result<rerun::sink::GrpcSink> {
        let url = viewer_url(addr);
        let uri: rerun::external::re_uri::ProxyUri = url.parse().with_context(|| {
            format!(
                "rerun viewer address {addr:?}: expected HOST:PORT or rerun+http://HOST:PORT/proxy"
            )
        })?;
        Ok(rerun::sink::GrpcSink::new(uri))
    };
    let rec = match (rrd, connect) {
        (Some(path), None) => builder.set_sinks((file(path)?,)),
        (None, Some(addr)) => builder.set_sinks((viewer(addr)?,)),
        (Some(path), Some(addr)) => builder.set_sinks((file(path)?, viewer(addr)?)),
        (None, None) => bail!("a rerun view needs a file (--rrd) or a viewer (--connect)"),
    };
    rec.context("opening the rerun recording")
}

/// Colours of the trace image.
pub const MASKED: [u8; 3] = [60, 60, 60];
const EARLIER: [u8; 3] = [120, 170, 120];
const REMASKED: [u8; 3] = [220, 40, 40];

/// The remasking trace of a decode over `slots` action tokens as `rounds × slots` RGB
/// pixels, with its `[width, height]`.
pub fn trace_image(trace: &DecodeTrace, slots: usize) -> (Vec<u8>, [u32; 2]) {
    let slots = slots.max(1);
    let rounds = trace.rounds.len().max(1);
    let mut state = vec![MASKED; slots];
    let mut pixels = Vec::with_capacity(slots * rounds * 3);
    for round in &trace.rounds {
        for px in &mut state {
            if *px != MASKED && *px != REMASKED {
                *px = EARLIER;
            }
            if *px == REMASKED {
                *px = MASKED;
            }
        }
        for event in &round.committed {
            if let Some(px) = state.get_mut(event.slot) {
                let c = (event.confidence.clamp(0.0, 1.0) * 175.0) as u8;
                *px = [20, 80 + c, 20];
            }
        }
        for event in &round.remasked {
            if let Some(px) = state.get_mut(event.slot) {
                *px = REMASKED;
            }
        }
        pixels.extend(state.iter().flatten());
    }
    if trace.rounds.is_empty() {
        pixels.extend(state.iter().flatten());
    }
    (pixels, [slots as u32, rounds as u32])
}

/// The camera frames (`camera/<i>`), instruction (`instruction`) and proprioception
/// (`proprio/<k>`) of an observation.
pub fn log_observation(rec: &RecordingStream, observation: &Observation) -> Result<()> {
    for (i, image) in observation.images.iter().enumerate() {
        rec.log(
            format!("camera/{i}"),
            &rerun::Image::from_rgb24(
                image.rgb.clone(),
                [u32::try_from(image.width)?, u32::try_from(image.height)?],
            ),
        )?;
    }
    rec.log(
        "instruction",
        &rerun::TextLog::new(observation.instruction.clone()),
    )?;
    for (k, v) in observation.proprio.iter().enumerate() {
        rec.log(
            format!("proprio/{k}"),
            &rerun::Scalars::new([f64::from(*v)]),
        )?;
    }
    Ok(())
}

/// A decode's remasking trace (`decode/remask_trace`), its re-masked token count and
/// whether a deadline cut it short.
pub fn log_trace(rec: &RecordingStream, trace: &DecodeTrace, slots: usize) -> Result<()> {
    let (pixels, size) = trace_image(trace, slots);
    rec.log(
        "decode/remask_trace",
        &rerun::Image::from_rgb24(pixels, size),
    )?;
    let remasked: usize = trace.rounds.iter().map(|r| r.remasked.len()).sum();
    rec.log(
        "decode/remasked_tokens",
        &rerun::Scalars::new([remasked as f64]),
    )?;
    rec.log(
        "decode/deadline_hit",
        &rerun::Scalars::new([f64::from(u8::from(trace.deadline_hit))]),
    )?;
    Ok(())
}

/// A chunk computed at `start_tick` as time series `<path>/<dim>`: action `k` at tick
/// `start_tick + k`. Leaves the `tick` timeline at the chunk's last action.
pub fn log_chunk(
    rec: &RecordingStream,
    path: &str,
    start_tick: u64,
    dim: usize,
    actions: &[f32],
) -> Result<()> {
    let t = i64::try_from(start_tick)?;
    for (step, action) in actions.chunks(dim.max(1)).enumerate() {
        rec.set_time_sequence("tick", t + i64::try_from(step)?);
        for (d, v) in action.iter().enumerate() {
            rec.log(format!("{path}/{d}"), &rerun::Scalars::new([f64::from(*v)]))?;
        }
    }
    Ok(())
}

/// The loop's status (the JSON of the status topic): loop and safety-intervention
/// counters (`loop/<name>`, `safety/<name>`), p95 inference latency, and the hold reason
/// when the safety layer held.
pub fn log_status(rec: &RecordingStream, status: &serde_json::Value) -> Result<()> {
    if let Some(p95) = status["inference_p95_ms"].as_f64() {
        rec.log("loop/inference_p95_ms", &rerun::Scalars::new([p95]))?;
    }
    for group in ["loop", "safety"] {
        if let Some(map) = status[group].as_object() {
            for (name, v) in map {
                if let Some(v) = v.as_f64() {
                    rec.log(format!("{group}/{name}"), &rerun::Scalars::new([v]))?;
                }
            }
        }
    }
    if !status["held"].is_null() {
        rec.log(
            "safety/held",
            &rerun::TextLog::new(status["held"].to_string()),
        )?;
    }
    Ok(())
}

/// A task event (JSON from the simulated robot, e.g. `{"kind": "success", ...}`) as a text
/// log `events/task`, and a success as the scalar `events/success` = 1.
pub fn log_task_event(rec: &RecordingStream, text: &str) -> Result<()> {
    rec.log(
        "events/task",
        &rerun::TextLog::new(text.to_owned()).with_level(rerun::TextLogLevel::INFO),
    )?;
    let kind = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned));
    if kind.as_deref() == Some("success") {
        rec.log("events/success", &rerun::Scalars::new([1.0]))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use candle_core::Device;
    use ddvla_policy::Policy;
    use ddvla_policy::decode::{self, DecoderKind};
    use ddvla_policy::model::presets;

    use super::*;

    #[test]
    fn the_trace_image_has_a_row_per_round_and_ends_unmasked() {
        let cfg = presets::preset("tiny").unwrap();
        let obs = crate::bench::synthetic_observation(&cfg);
        let policy = Policy::random(cfg, &Device::Cpu).unwrap();
        let mut decoder = decode::build(DecoderKind::Diffusion, 0);
        let out = policy.act(&obs, decoder.as_mut(), None).unwrap();
        let (pixels, [w, h]) = trace_image(&out.trace, out.tokens.len());
        assert_eq!(w as usize, out.tokens.len());
        assert_eq!(h as usize, out.trace.rounds.len());
        assert_eq!(pixels.len(), (w * h * 3) as usize);
        // Round 0 leaves some slots masked; after the last round nothing is.
        let first_row = &pixels[..(w * 3) as usize];
        assert!(first_row.chunks(3).any(|p| p == MASKED));
        let last_row = &pixels[((h - 1) * w * 3) as usize..];
        assert!(last_row.chunks(3).all(|p| p != MASKED));
    }
}

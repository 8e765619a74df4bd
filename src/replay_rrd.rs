//! rerun output of `ddvla replay --rrd FILE` (feature `rerun`): for each replayed inference,
//! on the `tick` timeline, the camera frames, instruction and proprioception it saw, the
//! replayed and recorded chunks as per-dimension time series, and the remasking trace as an
//! image (one row per decoding round, one column per action token: green = committed this
//! round, brighter for higher confidence; pale green = committed earlier; red = re-masked;
//! grey = still masked).

use std::path::Path;

use anyhow::{Context, Result};
use ddvla_policy::decode::DecodeOutput;
use ddvla_policy::observation::Observation;

/// An open rerun recording.
pub struct RrdWriter {
    rec: rerun::RecordingStream,
}

/// Colours of the trace image.
const MASKED: [u8; 3] = [60, 60, 60];
const EARLIER: [u8; 3] = [120, 170, 120];
const REMASKED: [u8; 3] = [220, 40, 40];

/// The remasking trace as `rounds × slots` RGB pixels.
pub fn trace_image(out: &DecodeOutput) -> (Vec<u8>, [u32; 2]) {
    let slots = out.tokens.len().max(1);
    let rounds = out.trace.rounds.len().max(1);
    let mut state = vec![MASKED; slots];
    let mut pixels = Vec::with_capacity(slots * rounds * 3);
    for round in &out.trace.rounds {
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
    if out.trace.rounds.is_empty() {
        pixels.extend(state.iter().flatten());
    }
    (pixels, [slots as u32, rounds as u32])
}

impl RrdWriter {
    /// Write to `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let rec = rerun::RecordingStreamBuilder::new("ddvla_replay")
            .save(path)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { rec })
    }

    /// Stream to a running viewer (`rerun+http://127.0.0.1:9876/proxy`).
    pub fn connect(url: &str) -> Result<Self> {
        let rec = rerun::RecordingStreamBuilder::new("ddvla_replay")
            .connect_grpc_opts(url.to_owned())
            .with_context(|| format!("connecting to the rerun viewer at {url}"))?;
        Ok(Self { rec })
    }

    /// Log one inference made at `tick`.
    pub fn log_inference(
        &self,
        tick: u64,
        observation: &Observation,
        out: &DecodeOutput,
        recorded: Option<&[f32]>,
    ) -> Result<()> {
        let rec = &self.rec;
        let t = i64::try_from(tick)?;
        rec.set_time_sequence("tick", t);
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
        let (pixels, size) = trace_image(out);
        rec.log(
            "decode/remask_trace",
            &rerun::Image::from_rgb24(pixels, size),
        )?;
        let remasked: usize = out.trace.rounds.iter().map(|r| r.remasked.len()).sum();
        rec.log(
            "decode/remasked_tokens",
            &rerun::Scalars::new([remasked as f64]),
        )?;
        rec.log(
            "decode/deadline_hit",
            &rerun::Scalars::new([f64::from(u8::from(out.trace.deadline_hit))]),
        )?;
        let dim = out.action_dim.max(1);
        for step in 0..out.chunk_len {
            rec.set_time_sequence("tick", t + i64::try_from(step)?);
            for d in 0..dim {
                let i = step * dim + d;
                rec.log(
                    format!("action/replayed/{d}"),
                    &rerun::Scalars::new([f64::from(out.actions[i])]),
                )?;
                if let Some(v) = recorded.and_then(|r| r.get(i)) {
                    rec.log(
                        format!("action/recorded/{d}"),
                        &rerun::Scalars::new([f64::from(*v)]),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Log what the run itself recorded, on the same `tick` timeline: each accepted chunk's
    /// inference latency (ticks from request to acceptance), deadline cuts (rounds run), and
    /// the 1 Hz status — loop and safety-intervention counters, p95 inference latency, and
    /// the hold reason when the safety layer held.
    pub fn log_run(
        &self,
        events: &[serde_json::Value],
        statuses: &[serde_json::Value],
    ) -> Result<()> {
        let rec = &self.rec;
        for e in events {
            let (Some(kind), Some(tick)) = (
                e["kind"].as_str(),
                e["tick"].as_u64().or_else(|| e["start_tick"].as_u64()),
            ) else {
                continue;
            };
            rec.set_time_sequence("tick", i64::try_from(tick)?);
            match kind {
                "chunk" => {
                    let start = e["start_tick"].as_u64().unwrap_or(tick);
                    rec.log(
                        "loop/inference_latency_ticks",
                        &rerun::Scalars::new([tick.saturating_sub(start) as f64]),
                    )?;
                }
                "deadline_cut" => {
                    let rounds = e["rounds"].as_u64().unwrap_or(0);
                    rec.log(
                        "decode/deadline_cut_rounds",
                        &rerun::Scalars::new([rounds as f64]),
                    )?;
                }
                _ => {}
            }
        }
        for s in statuses {
            let Some(tick) = s["tick"].as_u64() else {
                continue;
            };
            rec.set_time_sequence("tick", i64::try_from(tick)?);
            if let Some(p95) = s["inference_p95_ms"].as_f64() {
                rec.log("loop/inference_p95_ms", &rerun::Scalars::new([p95]))?;
            }
            for group in ["loop", "safety"] {
                if let Some(map) = s[group].as_object() {
                    for (name, v) in map {
                        if let Some(v) = v.as_f64() {
                            rec.log(format!("{group}/{name}"), &rerun::Scalars::new([v]))?;
                        }
                    }
                }
            }
            if !s["held"].is_null() {
                rec.log("safety/held", &rerun::TextLog::new(s["held"].to_string()))?;
            }
        }
        Ok(())
    }

    /// Flush everything written so far.
    pub fn flush(&self) -> Result<()> {
        self.rec
            .flush_blocking()
            .context("flushing the rerun recording")?;
        Ok(())
    }
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
    fn writes_a_rerun_file_with_the_trace() {
        let cfg = presets::preset("tiny").unwrap();
        let obs = crate::bench::synthetic_observation(&cfg);
        let policy = Policy::random(cfg, &Device::Cpu).unwrap();
        let mut decoder = decode::build(DecoderKind::Diffusion, 0);
        let out = policy.act(&obs, decoder.as_mut(), None).unwrap();
        let (pixels, [w, h]) = trace_image(&out);
        assert_eq!(w as usize, out.tokens.len());
        assert_eq!(h as usize, out.trace.rounds.len());
        assert_eq!(pixels.len(), (w * h * 3) as usize);
        // After the last round nothing is still masked.
        let last_row = &pixels[((h - 1) * w * 3) as usize..];
        assert!(last_row.chunks(3).all(|p| p != MASKED));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.rrd");
        {
            let writer = RrdWriter::create(&path).unwrap();
            writer
                .log_inference(10, &obs, &out, Some(&out.actions))
                .unwrap();
            let events = [
                serde_json::json!({"kind": "chunk", "start_tick": 10, "tick": 13}),
                serde_json::json!({"kind": "deadline_cut", "start_tick": 10, "rounds": 4}),
            ];
            let statuses = [serde_json::json!({
                "tick": 20, "held": "StaleObservation", "inference_p95_ms": 41.5,
                "loop": {"ticks": 20, "stalls": 0}, "safety": {"clamped": 3}
            })];
            writer.log_run(&events, &statuses).unwrap();
            writer.flush().unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"RRF2");
        assert!(bytes.len() > 1000, "{} bytes", bytes.len());
    }
}

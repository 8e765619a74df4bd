//! rerun output of `ddvla replay --rrd FILE` (feature `rerun`): for each replayed inference,
//! on the `tick` timeline, the camera frames, instruction and proprioception it saw, the
//! replayed and recorded chunks as per-dimension time series, and the remasking trace as an
//! image (the views are shared with `ddvla serve --rrd`, see [`crate::rrd`]).

use std::path::Path;

use anyhow::{Context, Result};
use ddvla_policy::decode::DecodeOutput;
use ddvla_policy::observation::Observation;

use crate::rrd;

/// An open rerun recording.
pub struct RrdWriter {
    rec: rerun::RecordingStream,
}

impl RrdWriter {
    /// Write to `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let rec = rrd::open_stream("ddvla_replay", Some(path), None)?;
        Ok(Self { rec })
    }

    /// Stream to a running viewer (`rerun+http://127.0.0.1:9876/proxy`, or `HOST:PORT`).
    pub fn connect(url: &str) -> Result<Self> {
        let rec = rrd::open_stream("ddvla_replay", None, Some(url))?;
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
        rec.set_time_sequence("tick", i64::try_from(tick)?);
        rrd::log_observation(rec, observation)?;
        rrd::log_trace(rec, &out.trace, out.tokens.len())?;
        rrd::log_chunk(rec, "action/replayed", tick, out.action_dim, &out.actions)?;
        if let Some(recorded) = recorded {
            rrd::log_chunk(rec, "action/recorded", tick, out.action_dim, recorded)?;
        }
        Ok(())
    }

    /// Log what the run itself recorded, on the same `tick` timeline: each accepted chunk's
    /// inference latency (ticks from request to acceptance), deadline cuts (rounds run), task
    /// events from the simulated robot (success), and
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
                "task_event" => rrd::log_task_event(rec, &e["event"].to_string())?,
                _ => {}
            }
        }
        for s in statuses {
            let Some(tick) = s["tick"].as_u64() else {
                continue;
            };
            rec.set_time_sequence("tick", i64::try_from(tick)?);
            rrd::log_status(rec, s)?;
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
                serde_json::json!({"kind": "task_event", "tick": 30,
                    "event": {"kind": "success", "task": "libero_style_goal/x", "step": 29}}),
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

//! The live rerun view of `ddvla serve --rrd FILE / --connect [ADDR]` (feature `rerun`),
//! written on the telemetry logger's thread, on the `tick` timeline and the run's `time`
//! (seconds since the loop started):
//! - every inference request: camera frames `camera/<i>`, `instruction`, `proprio/<k>`;
//! - every accepted chunk: the policy's actions as time series `action/chunk/<dim>` (action
//!   `k` at tick `start + k`, on the tick timeline only), the remasking trace image `decode/remask_trace` (local
//!   policies), `decode/rounds_cut`, and `loop/inference_latency_ms`;
//! - every tick: `loop/lateness_ms`, the command sent `command/<dim>`, `safety/holding`
//!   (0/1) and `safety/hold_reason` when it changes; every 20 ticks the lateness p50/p99/max
//!   over the last 200 ticks (`loop/jitter/*_ms`);
//! - deadline cuts `decode/deadline_cut_rounds`; at the status period the loop and
//!   safety-intervention counters (`loop/*`, `safety/*`), `loop/inference_p95_ms` and
//!   `telemetry/dropped`; task events `events/task` and `events/success`.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, Result};
use rerun::RecordingStream;

use super::config::RerunConfig;
use super::telemetry::{Telemetry, TelemetrySink, TickSample};
use crate::rrd;
use crate::runtime::safety::HoldReason;
use crate::runtime::time::MonoNs;

/// Ticks in the jitter window.
const JITTER_WINDOW: usize = 200;
/// Jitter statistics every this many ticks.
const JITTER_EVERY: u64 = 20;
/// How long the end of the run waits for a viewer to take what is left.
const VIEWER_FLUSH: Duration = Duration::from_secs(5);

/// A rerun recording fed by the telemetry logger.
pub struct RerunView {
    rec: RecordingStream,
    /// Streaming to a viewer (flushes wait at most [`VIEWER_FLUSH`]).
    viewer: bool,
    origin: Option<MonoNs>,
    lateness_ms: VecDeque<f64>,
    /// The hold state last logged (`held_logged`: whether any was).
    held: Option<HoldReason>,
    held_logged: bool,
}

impl RerunView {
    /// Open the file and/or viewer connection `config` names.
    pub fn open(config: &RerunConfig) -> Result<Self> {
        let rec = rrd::open_stream(
            "ddvla_serve",
            config.rrd.as_deref(),
            config.connect.as_deref(),
        )?;
        if let Some(addr) = &config.connect {
            tracing::info!(viewer = %rrd::viewer_url(addr), "live rerun view");
        }
        Ok(Self::new(rec, config.connect.is_some()))
    }

    /// A view on an open recording stream.
    pub fn new(rec: RecordingStream, viewer: bool) -> Self {
        Self {
            rec,
            viewer,
            origin: None,
            lateness_ms: VecDeque::with_capacity(JITTER_WINDOW),
            held: None,
            held_logged: false,
        }
    }

    fn at_tick(&self, tick: u64) -> Result<()> {
        self.rec.set_time_sequence("tick", i64::try_from(tick)?);
        Ok(())
    }

    fn log_tick(&mut self, s: &TickSample) -> Result<()> {
        let origin = *self.origin.get_or_insert(s.at);
        self.at_tick(s.tick)?;
        self.rec
            .set_duration_secs("time", s.at.since(origin).as_secs_f64());
        let rec = &self.rec;
        let lateness = s.lateness_ns as f64 / 1e6;
        rec.log("loop/lateness_ms", &rerun::Scalars::new([lateness]))?;
        for (d, v) in s.command[..s.dim].iter().enumerate() {
            rec.log(
                format!("command/{d}"),
                &rerun::Scalars::new([f64::from(*v)]),
            )?;
        }
        rec.log(
            "safety/holding",
            &rerun::Scalars::new([f64::from(u8::from(s.held.is_some()))]),
        )?;
        if !self.held_logged || self.held != s.held {
            (self.held, self.held_logged) = (s.held, true);
            let text = s
                .held
                .map_or_else(|| "released".to_owned(), |r| format!("hold: {r:?}"));
            let level = if s.held.is_some() {
                rerun::TextLogLevel::WARN
            } else {
                rerun::TextLogLevel::INFO
            };
            rec.log(
                "safety/hold_reason",
                &rerun::TextLog::new(text).with_level(level),
            )?;
        }
        if self.lateness_ms.len() == JITTER_WINDOW {
            self.lateness_ms.pop_front();
        }
        self.lateness_ms.push_back(lateness);
        if s.tick.is_multiple_of(JITTER_EVERY) {
            let mut sorted: Vec<f64> = self.lateness_ms.iter().copied().collect();
            sorted.sort_by(f64::total_cmp);
            let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
            rec.log("loop/jitter/p50_ms", &rerun::Scalars::new([q(0.5)]))?;
            rec.log("loop/jitter/p99_ms", &rerun::Scalars::new([q(0.99)]))?;
            rec.log("loop/jitter/max_ms", &rerun::Scalars::new([q(1.0)]))?;
        }
        Ok(())
    }

    fn log_chunk(
        &self,
        tick: u64,
        chunk: &crate::runtime::schedule::Chunk,
        latency: Option<Duration>,
    ) -> Result<()> {
        let rec = &self.rec;
        self.at_tick(tick)?;
        if let Some(latency) = latency {
            rec.log(
                "loop/inference_latency_ms",
                &rerun::Scalars::new([latency.as_secs_f64() * 1e3]),
            )?;
        }
        rec.log(
            "decode/rounds_cut",
            &rerun::Scalars::new([chunk.rounds_cut.map_or(0.0, |r| r as f64)]),
        )?;
        if let Some(trace) = &chunk.trace {
            rrd::log_trace(rec, trace, chunk.horizon * chunk.dim)?;
        }
        // The chunk's actions are for future ticks: on the tick timeline only (the next tick
        // sample sets `time` again).
        rec.disable_timeline("time");
        rrd::log_chunk(
            rec,
            "action/chunk",
            chunk.start_tick,
            chunk.dim,
            &chunk.actions,
        )
    }
}

impl TelemetrySink for RerunView {
    fn log(&mut self, event: &Telemetry) -> Result<()> {
        match event {
            Telemetry::Tick(s) => self.log_tick(s),
            Telemetry::Request { tick, observation } => {
                self.at_tick(*tick)?;
                rrd::log_observation(&self.rec, observation)
            }
            Telemetry::Chunk {
                tick,
                chunk,
                latency,
            } => self.log_chunk(*tick, chunk, *latency),
            Telemetry::DeadlineCut { tick, rounds, .. } => {
                self.at_tick(*tick)?;
                self.rec.log(
                    "decode/deadline_cut_rounds",
                    &rerun::Scalars::new([*rounds as f64]),
                )?;
                Ok(())
            }
            Telemetry::Status {
                tick,
                counts,
                safety,
                inference_p95,
                dropped,
            } => {
                self.at_tick(*tick)?;
                let status = serde_json::json!({
                    "loop": counts,
                    "safety": safety,
                    "inference_p95_ms": inference_p95.as_secs_f64() * 1e3,
                });
                rrd::log_status(&self.rec, &status)?;
                self.rec
                    .log("telemetry/dropped", &rerun::Scalars::new([*dropped as f64]))?;
                Ok(())
            }
            Telemetry::TaskEvent { tick, text } => {
                self.at_tick(*tick)?;
                rrd::log_task_event(&self.rec, text)
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        let flushed = if self.viewer {
            self.rec.flush_with_timeout(VIEWER_FLUSH)
        } else {
            self.rec.flush_blocking()
        };
        if self.viewer {
            // A viewer that went away must not fail the run.
            if let Err(e) = flushed {
                tracing::warn!(error = %e, "the rerun viewer did not take everything");
            }
            return Ok(());
        }
        flushed.context("flushing the rerun recording")
    }
}

#[cfg(test)]
#[path = "rerun_view_tests.rs"]
mod tests;

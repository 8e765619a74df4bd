//! `ddvla bench loop`: tick jitter of the control loop on the system clock while the policy
//! runs concurrently on the inference worker, and frame-to-action latency.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use ddvla_policy::Policy;
use ddvla_policy::decode::DecoderKind;
use ddvla_policy::model::presets;
use serde::Serialize;

use super::synthetic_observation;
use crate::latency::LatencySummary;
use crate::runtime::control_loop::{ActuatorSink, ControlLoop, LoopConfig};
use crate::runtime::latency_tracker::LatencyTracker;
use crate::runtime::safety::{HoldReason, SafetyConfig, SafetyCounts, SafetyLayer};
use crate::runtime::schedule::{ChunkScheduler, Strategy};
use crate::runtime::time::{Clock, SystemClock};
use crate::runtime::worker::spawn_policy_worker;

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct LoopBenchReport {
    /// Model preset (random weights).
    pub preset: String,
    /// Decoder on the worker.
    pub decoder: DecoderKind,
    /// Control rate (Hz).
    pub rate_hz: f64,
    /// Ticks run.
    pub ticks: u64,
    /// How late each tick started past its deadline.
    pub tick_lateness: LatencySummary,
    /// From the frame an inference used to the tick that sent its chunk's first action.
    pub frame_to_action: LatencySummary,
    /// Measured p95 inference latency at the end (ms).
    pub inference_p95_ms: f64,
    /// Loop counters.
    pub loop_counts: crate::runtime::control_loop::LoopCounts,
    /// Safety interventions (holds while waiting for the first chunk included).
    pub safety: SafetyCounts,
    /// Build profile.
    pub build_profile: &'static str,
}

/// Counts sends without storing anything (no allocation on the tick path).
struct NullSink(u64);

impl ActuatorSink for NullSink {
    fn send(&mut self, _tick: u64, _command: &[f32], _held: Option<HoldReason>) {
        self.0 += 1;
    }
}

/// Run the loop at `rate_hz` for `seconds` with `preset`'s random-weight policy.
pub fn run_loop_bench(
    preset: &str,
    decoder: DecoderKind,
    rate_hz: f64,
    seconds: f64,
) -> Result<LoopBenchReport> {
    if !(rate_hz > 0.0 && seconds > 0.0 && rate_hz.is_finite() && seconds.is_finite()) {
        bail!("--rate-hz and --seconds must be positive");
    }
    let cfg = presets::preset(preset).with_context(|| format!("preset {preset:?}"))?;
    let (horizon, dim) = (cfg.file.action.chunk_len, cfg.file.action.action_dim);
    let observation = Arc::new(synthetic_observation(&cfg));
    let policy = Policy::random(cfg, &Device::Cpu)?;
    let worker = spawn_policy_worker(policy, decoder, 0)?;
    let period = Duration::try_from_secs_f64(1.0 / rate_hz)?;
    let safety = SafetyLayer::new(
        SafetyConfig {
            lower: vec![-10.0; dim],
            upper: vec![10.0; dim],
            max_step: vec![20.0; dim],
            hold_value: vec![0.0; dim],
            hold_keep_last_dims: vec![],
            max_observation_age_ms: 1000.0,
            workspace: None,
        },
        &vec![0.0; dim],
    )?;
    let mut control = ControlLoop::new(
        LoopConfig {
            period,
            max_inference: Duration::from_secs(30),
            retry_after_error: Duration::from_secs(1),
        },
        ChunkScheduler::new(
            Strategy::RecedingHorizon {
                replan_every: (horizon / 2).max(1),
            },
            horizon,
            dim,
        ),
        safety,
        LatencyTracker::new(32, 1, Duration::from_secs(1)),
        worker.requests.clone(),
        worker.results,
    );
    drop(worker.requests);
    let clock = SystemClock::default();
    let ticks = (seconds * rate_hz).ceil() as u64;
    let mut tick_times = Vec::with_capacity(usize::try_from(ticks)?);
    let mut frame_to_action = Vec::with_capacity(usize::try_from(ticks)?);
    let mut sink = NullSink(0);
    let start = clock.now();
    let mut lateness = Vec::with_capacity(usize::try_from(ticks)?);
    for i in 0..ticks {
        let deadline = start.plus(period * u32::try_from(i)?);
        clock.sleep_until(deadline);
        let now = clock.now();
        lateness.push(now.since(deadline));
        tick_times.push(now);
        control.observe(Arc::clone(&observation), now, None);
        let report = control.tick(now, &mut sink);
        if let Some(start_tick) = report.accepted
            && let Some(frame) = tick_times.get(usize::try_from(start_tick)?)
        {
            frame_to_action.push(now.since(*frame));
        }
    }
    let inference_p95_ms = control.latency_p95().as_secs_f64() * 1e3;
    let report = LoopBenchReport {
        preset: preset.to_owned(),
        decoder,
        rate_hz,
        ticks,
        tick_lateness: LatencySummary::from_durations(&lateness),
        frame_to_action: LatencySummary::from_durations(&frame_to_action),
        inference_p95_ms,
        loop_counts: control.counts(),
        safety: control.safety_counts(),
        build_profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    };
    drop(control); // closes the request channel: the worker ends after its inference
    worker.thread.join().ok();
    Ok(report)
}

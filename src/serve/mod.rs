//! `ddvla serve --config launch/robot.toml`: the ROS 2 node over zenoh (rmw_zenoh wire).
//!
//! Camera images, the instruction, the proprio vector (joint states or a proprio topic), the
//! e-stop and task events come in on their topics ([`inputs`]); the control loop runs at the
//! configured rate on the system clock with the policy on its inference worker; each tick's
//! command goes out (`TwistStamped` or `JointTrajectory`), each new chunk as
//! `Float32MultiArray`, and the loop and safety counters as JSON on the status topic and the
//! zenoh queryable `ddvla/<node>/status`. Every message in and out is recorded to MCAP when
//! asked; with `--rrd`/`--connect` (feature `rerun`) a logger thread fed through a bounded,
//! never-blocking queue ([`telemetry`]) draws the run live in rerun.

mod checks;
pub mod config;
pub mod inputs;
pub mod io;
#[cfg(feature = "rerun")]
pub mod rerun_view;
pub mod telemetry;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use ddvla_bridge::msg::std::StringMsg;
use ddvla_bridge::record::Recorder;
use ddvla_bridge::transport::zenoh::ZenohTransport;
use ddvla_bridge::{TopicSpec, Transport};
use ddvla_policy::Policy;
use ddvla_policy::model::presets;
use ddvla_policy::observation::Observation;
use zenoh::Wait;

use crate::remote::msgs::ModelShape;
use crate::runtime::control_loop::{ControlLoop, LoopConfig, TickReport};
use crate::runtime::latency_tracker::LatencyTracker;
use crate::runtime::safety::SafetyLayer;
use crate::runtime::schedule::ChunkScheduler;
use crate::runtime::time::{Clock, SystemClock};
use crate::runtime::worker::{WorkerHandle, spawn_policy_worker};
use config::{CommandKind, ProprioSource, ServeConfig};
use inputs::Inputs;
use io::{Outputs, Which};
use telemetry::{LoggerReport, Telemetry, TelemetryTx, TickSample};

fn ms(v: f64) -> Result<Duration> {
    Ok(Duration::try_from_secs_f64(v / 1e3)?)
}

/// The configured policy: a checkpoint, or a random-weight preset (with a warning).
pub fn load_policy(p: &config::PolicyConfig) -> Result<Policy> {
    if let Some(dir) = &p.checkpoint {
        return Policy::from_checkpoint(dir, p.unnorm_key.as_deref(), &Device::Cpu)
            .with_context(|| format!("loading the checkpoint {}", dir.display()));
    }
    tracing::warn!(preset = %p.preset, "no checkpoint: serving an UNTRAINED random-weight policy");
    Ok(Policy::random(presets::preset(&p.preset)?, &Device::Cpu)?)
}

fn open_outputs(transport: &dyn Transport, config: &ServeConfig) -> Result<Outputs> {
    let t = &config.topics;
    let command = match config.output.command {
        CommandKind::EeDelta => transport.publisher(&TopicSpec::of::<
            ddvla_bridge::msg::geometry::TwistStamped,
        >(&t.cmd_ee_delta)?)?,
        CommandKind::JointPosition => transport.publisher(&TopicSpec::of::<
            ddvla_bridge::msg::trajectory::JointTrajectory,
        >(&t.cmd_joint)?)?,
    };
    Ok(Outputs {
        command,
        command_kind: config.output.command,
        joint_names: config.output.joint_names.clone(),
        frame_id: config.output.frame_id.clone(),
        chunk: transport.publisher(&TopicSpec::of::<ddvla_bridge::msg::std::Float32MultiArray>(
            &t.action_chunk,
        )?)?,
        status: transport.publisher(&TopicSpec::of::<StringMsg>(&t.status)?)?,
        events: transport.publisher(&TopicSpec::of::<StringMsg>(&t.events)?)?,
        raw_command: transport.publisher(&TopicSpec::of::<
            ddvla_bridge::msg::std::Float32MultiArray,
        >(&t.command)?)?,
        recorder: match &config.record {
            Some(path) => Some(Recorder::create(path)?),
            None => None,
        },
        errors: 0,
    })
}

fn declare_status(
    transport: &ZenohTransport,
    config: &ServeConfig,
    served: Arc<Mutex<String>>,
) -> Result<zenoh::query::Queryable<()>> {
    let status_key = format!("ddvla/{}/status", config.zenoh.node_name);
    transport
        .session()
        .declare_queryable(status_key.clone())
        .callback(move |query| {
            let body = served
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Err(e) = query.reply(query.key_expr().clone(), body).wait() {
                tracing::warn!(error = %e, "status reply failed");
            }
        })
        .wait()
        .map_err(|e| anyhow::anyhow!("declaring the status queryable {status_key}: {e}"))
}

/// The serve loop's bookkeeping besides the control loop.
struct RunState {
    /// The instruction of the newest observation.
    instruction: String,
    /// Where the newest observation's inputs are in the recording.
    provenance: serde_json::Value,
    /// The newest observation (what the next request uses).
    observation: Option<Arc<Observation>>,
    /// Requests and deadline cuts already published.
    requests: u64,
    cuts: u64,
    telemetry: TelemetryTx,
    /// Tick lateness (past the deadline) over the last `LATENESS_WINDOW` ticks.
    lateness: LatencyTracker,
}

/// Ticks in the status's jitter window.
const LATENESS_WINDOW: usize = 1000;

impl RunState {
    /// After new inputs: hand the control loop the newest observation.
    fn observe(&mut self, inputs: &Inputs, control: &mut ControlLoop<Observation>) {
        self.instruction.clear();
        self.instruction.push_str(control.instruction());
        // No instruction yet: nothing to ask the policy (the loop holds on stale input).
        if self.instruction.is_empty() {
            return;
        }
        let episode_step = control.ticks_since_instruction();
        if let Some((obs, at)) = inputs.observation(&self.instruction, episode_step) {
            let obs = Arc::new(obs);
            // A position-target model's proprio holds the end effector's position (checked
            // at start-up: the proprio topic), which its targets are executed from.
            let ee_position_m = control
                .position_target()
                .and_then(|t| t.position(&obs.proprio).ok())
                .map(|p| p.map(f64::from));
            control.observe(Arc::clone(&obs), at, ee_position_m);
            self.observation = Some(obs);
            self.provenance = inputs.provenance(&self.instruction, episode_step);
        }
    }
}

fn publish_event(outputs: &mut Outputs, event: &serde_json::Value) {
    outputs.publish(
        Which::Events,
        &StringMsg {
            data: event.to_string(),
        },
    );
}

/// The request event of `tick`: the instruction in force, the observation's provenance and,
/// with a skill prompt, the skills finished when the request was made (the part its
/// instruction named).
fn request_event(
    control: &ControlLoop<Observation>,
    tick: u64,
    provenance: &serde_json::Value,
) -> serde_json::Value {
    let mut event = serde_json::json!({
        "kind": "request",
        "tick": tick,
        "instruction": control.instruction(),
        "observation": provenance,
    });
    if let Some(done) = control.last_request_skills_done() {
        event["skills_done"] = done.into();
    }
    event
}

/// Runtime events, for `ddvla replay` (which observation each inference used, deadline cuts,
/// chunk arrivals: the policy's raw chunk goes out when it arrives) and for the live view.
fn publish_events(
    control: &ControlLoop<Observation>,
    report: &TickReport,
    run: &mut RunState,
    outputs: &mut Outputs,
) {
    let counts = control.counts();
    if counts.deadline_cuts > run.cuts {
        run.cuts = counts.deadline_cuts;
        if let Some((start_tick, rounds)) = control.last_deadline_cut() {
            publish_event(
                outputs,
                &serde_json::json!({"kind": "deadline_cut", "start_tick": start_tick, "rounds": rounds}),
            );
            run.telemetry.send(Telemetry::DeadlineCut {
                tick: report.tick,
                start_tick,
                rounds,
            });
        }
    }
    if counts.requests > run.requests {
        run.requests = counts.requests;
        publish_event(
            outputs,
            &request_event(control, report.tick, &run.provenance),
        );
        if let Some(observation) = &run.observation {
            run.telemetry.send(Telemetry::Request {
                tick: report.tick,
                observation: Arc::clone(observation),
            });
        }
    }
    if let Some(start_tick) = report.accepted
        && let Some(chunk) = control.last_raw_chunk().cloned()
    {
        publish_event(
            outputs,
            &serde_json::json!({"kind": "chunk", "start_tick": start_tick, "tick": report.tick}),
        );
        outputs.send_chunk(&chunk);
        run.telemetry.send(Telemetry::Chunk {
            tick: report.tick,
            chunk,
            latency: control.last_inference_latency(),
        });
    }
}

/// Task events received (the simulated robot's success): into the events (so the recording
/// has them on the tick they arrived) and the live view.
fn forward_task_events(inputs: &mut Inputs, run: &mut RunState, outputs: &mut Outputs, tick: u64) {
    for text in inputs.task_events_in.drain(..) {
        let event = serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|_| serde_json::Value::String(text.clone()));
        publish_event(
            outputs,
            &serde_json::json!({"kind": "task_event", "tick": tick, "event": event}),
        );
        run.telemetry.send(Telemetry::TaskEvent { tick, text });
    }
}

fn publish_status(
    control: &mut ControlLoop<Observation>,
    report: &TickReport,
    (inputs, run): (&Inputs, &mut RunState),
    outputs: &mut Outputs,
    served: &Mutex<String>,
) {
    let [late_p50, late_p99, late_max] = run.lateness.quantiles([0.5, 0.99, 1.0]);
    let status = serde_json::json!({
        "tick": report.tick,
        "held": report.held,
        "trigger": report.trigger,
        "loop": control.counts(),
        "safety": control.safety_counts(),
        "inference_p95_ms": control.latency_p95().as_secs_f64() * 1e3,
        "tick_lateness_ms": {
            "p50": late_p50.as_secs_f64() * 1e3,
            "p99": late_p99.as_secs_f64() * 1e3,
            "max": late_max.as_secs_f64() * 1e3,
            "window_ticks": run.lateness.len(),
        },
        "rejected_inputs": inputs.rejected,
        "output_errors": outputs.errors,
        "telemetry_dropped": run.telemetry.dropped(),
    })
    .to_string();
    outputs.publish(
        Which::Status,
        &StringMsg {
            data: status.clone(),
        },
    );
    *served.lock().unwrap_or_else(PoisonError::into_inner) = status;
    run.telemetry.send(Telemetry::Status {
        tick: report.tick,
        counts: control.counts(),
        safety: control.safety_counts(),
        inference_p95: control.latency_p95(),
        dropped: run.telemetry.dropped(),
    });
}

/// The live view's logger (a rerun file or viewer), when one is asked for.
fn start_telemetry(
    config: &config::RerunConfig,
) -> Result<(TelemetryTx, Option<JoinHandle<Result<LoggerReport>>>)> {
    if !config.enabled() {
        return Ok((TelemetryTx::disabled(), None));
    }
    #[cfg(feature = "rerun")]
    {
        let view = rerun_view::RerunView::open(config)?;
        let (tx, thread) = telemetry::spawn_logger(Box::new(view), config.queue)?;
        Ok((tx, Some(thread)))
    }
    #[cfg(not(feature = "rerun"))]
    bail!(
        "rerun.rrd / rerun.connect (--rrd / --connect) need a build with the rerun feature: \
         cargo build --release --features rerun"
    )
}

/// The inference worker: the remote policy server's, or a local policy's.
fn start_worker(
    config: &ServeConfig,
    zenoh: Option<&ZenohTransport>,
    max_inference: Duration,
) -> Result<(ModelShape, WorkerHandle)> {
    if let Some(prefix) = &config.policy.remote {
        let Some(transport) = zenoh else {
            bail!("policy.remote needs the zenoh transport");
        };
        let shape = crate::remote::describe(transport.session(), prefix, max_inference)
            .with_context(|| format!("asking the policy server {prefix} for its model"))?;
        if !shape.trained {
            tracing::warn!(%prefix, "the policy server runs an UNTRAINED random-weight policy");
        }
        let worker =
            crate::remote::spawn_remote_worker(transport.session().clone(), prefix, max_inference)?;
        return Ok((shape, worker));
    }
    let policy = load_policy(&config.policy)?;
    let shape = crate::remote::shape_of(&policy);
    let decoder = config.policy.decoder_for(&policy);
    let worker = spawn_policy_worker(policy, decoder, config.policy.seed)?;
    Ok((shape, worker))
}

/// Run until `stop` is set (Ctrl-C) or `max_ticks` ticks ran.
pub fn serve(config: &ServeConfig, stop: &AtomicBool, max_ticks: Option<u64>) -> Result<()> {
    let transport = ZenohTransport::open(&config.zenoh).context("opening the zenoh session")?;
    serve_on(config, &transport, Some(&transport), stop, max_ticks)
}

/// [`serve`] on any transport (in-process for simulation); `zenoh` enables the status
/// queryable and remote policies.
pub fn serve_on(
    config: &ServeConfig,
    transport: &dyn Transport,
    zenoh: Option<&ZenohTransport>,
    stop: &AtomicBool,
    max_ticks: Option<u64>,
) -> Result<()> {
    let (telemetry, logger) = start_telemetry(&config.rerun)?;
    let max_inference = ms(config.control.max_inference_ms)?;
    let (model, worker) = start_worker(config, zenoh, max_inference)?;
    checks::check_shapes(config, &model)?;
    let source = config.input.proprio.unwrap_or(ProprioSource::JointStates);
    let mut inputs = Inputs::open(
        transport,
        config,
        (
            model.image_size,
            model.proprio_dim,
            model.episode_step_input,
        ),
        source,
    )?;
    let mut outputs = open_outputs(transport, config)?;
    let status_json = Arc::new(Mutex::new(String::from("{}")));
    let _queryable = match zenoh {
        Some(z) => Some(declare_status(z, config, Arc::clone(&status_json))?),
        None => None,
    };
    let c = &config.control;
    let mut control = ControlLoop::new(
        LoopConfig {
            period: Duration::try_from_secs_f64(1.0 / c.rate_hz)?,
            max_inference,
            retry_after_error: ms(c.retry_after_error_ms)?,
        },
        ChunkScheduler::new(config.schedule, model.chunk_len, model.action_dim),
        SafetyLayer::new(config.safety.clone(), &config.safety.hold_value)?,
        LatencyTracker::new(32, 1, ms(c.initial_latency_ms)?),
        worker.requests.clone(),
        worker.results,
    );
    drop(worker.requests);
    if let Some(prompt) = &model.skill_prompt {
        control.set_skill_prompt(prompt.clone());
    }
    if let Some(target) = model.action_position_target {
        control.set_position_target(target);
    }
    let mut run = RunState {
        instruction: String::new(),
        provenance: serde_json::Value::Null,
        observation: None,
        requests: 0,
        cuts: 0,
        telemetry,
        lateness: LatencyTracker::new(LATENESS_WINDOW, 0, Duration::ZERO),
    };
    tracing::info!(rate_hz = c.rate_hz, node = %config.zenoh.node_name, ?source, "serving");
    let ran = run_loop(
        config,
        (&mut control, &mut inputs, &mut outputs, &mut run),
        &status_json,
        stop,
        max_ticks,
    );
    let dropped = run.telemetry.dropped();
    drop(run); // ends the logger's feed
    if let Some(logger) = logger {
        let report = logger
            .join()
            .map_err(|_| anyhow::anyhow!("the telemetry logger panicked"))??;
        tracing::info!(
            logged = report.logged,
            failed = report.failed,
            dropped,
            "live view closed"
        );
    }
    ran?;
    if let Some(recorder) = outputs.recorder.take() {
        recorder.finish()?;
    }
    tracing::info!(counts = ?control.counts(), safety = ?control.safety_counts(), "stopped");
    Ok(())
}

/// The fixed-rate loop on the system clock.
fn run_loop(
    config: &ServeConfig,
    (control, inputs, outputs, run): (
        &mut ControlLoop<Observation>,
        &mut Inputs,
        &mut Outputs,
        &mut RunState,
    ),
    status_json: &Mutex<String>,
    stop: &AtomicBool,
    max_ticks: Option<u64>,
) -> Result<()> {
    let c = &config.control;
    let period = Duration::try_from_secs_f64(1.0 / c.rate_hz)?;
    let status_every = (c.status_period_ms / 1e3 * c.rate_hz).ceil().max(1.0) as u64;
    let clock = SystemClock::default();
    let start = clock.now();
    for i in 0.. {
        if stop.load(Ordering::Relaxed) || max_ticks.is_some_and(|m| i >= m) {
            break;
        }
        let deadline = start.plus(period * u32::try_from(i)?);
        clock.sleep_until(deadline);
        let now = clock.now();
        let _span = tracing::trace_span!("serve_tick", tick = i).entered();
        if inputs.drain(now, control, outputs.recorder.as_mut()) {
            run.observe(inputs, control);
        }
        let report = control.tick(now, outputs);
        let lateness_ns = now.0.saturating_sub(deadline.0);
        run.lateness.record(Duration::from_nanos(lateness_ns));
        run.telemetry.send(Telemetry::Tick(TickSample::new(
            (report.tick, now, lateness_ns),
            report.held,
            report.trigger,
            control.last_command(),
        )));
        publish_events(control, &report, run, outputs);
        forward_task_events(inputs, run, outputs, report.tick);
        if i % status_every == 0 {
            publish_status(control, &report, (inputs, run), outputs, status_json);
        }
    }
    Ok(())
}

//! `ddvla serve --config launch/robot.toml`: the ROS 2 node over zenoh (rmw_zenoh wire).
//!
//! Camera images, the instruction, joint states and the e-stop come in on their topics; the
//! control loop runs at the configured rate on the system clock with the policy on its
//! inference worker; each tick's command goes out (`TwistStamped` or `JointTrajectory`),
//! each new chunk as `Float32MultiArray`, and the loop and safety counters as JSON on the
//! status topic and the zenoh queryable `ddvla/<node>/status`. Every message in and out is
//! recorded to MCAP when asked.

pub mod config;
pub mod io;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use ddvla_bridge::msg::sensor::{Image, JointState};
use ddvla_bridge::msg::std::{Bool, StringMsg};
use ddvla_bridge::record::Recorder;
use ddvla_bridge::transport::zenoh::ZenohTransport;
use ddvla_bridge::{Sample, Subscription, TopicSpec, Transport};
use ddvla_policy::Policy;
use ddvla_policy::model::presets;
use ddvla_policy::observation::{CameraImage, Observation};
use zenoh::Wait;

use crate::remote::msgs::ModelShape;
use crate::runtime::control_loop::{ControlLoop, LoopConfig, TickReport};
use crate::runtime::latency_tracker::LatencyTracker;
use crate::runtime::safety::SafetyLayer;
use crate::runtime::schedule::ChunkScheduler;
use crate::runtime::time::{Clock, MonoNs, SystemClock};
use crate::runtime::worker::{WorkerHandle, spawn_policy_worker};
use config::{CommandKind, ServeConfig};
use io::{Outputs, Which, camera_image};

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

/// The latest input state.
struct Inputs {
    cameras: Vec<Subscription>,
    instruction: Subscription,
    joints: Subscription,
    estop: Subscription,
    frames: Vec<Option<(CameraImage, MonoNs)>>,
    /// The model's image side (frames are resized to it).
    image_size: usize,
    /// Receive time (ns since the epoch; the recording's log time) of each camera's frame.
    frame_receive_ns: Vec<u64>,
    proprio: Vec<f32>,
    /// Receive time of the joint state behind `proprio`.
    joints_receive_ns: Option<u64>,
    rejected: u64,
}

impl Inputs {
    /// Read everything that arrived; returns whether a new camera frame came in.
    fn drain(
        &mut self,
        now: MonoNs,
        control: &mut ControlLoop<Observation>,
        recorder: Option<&mut Recorder>,
    ) -> bool {
        // Received samples to record (kept only when recording: no work otherwise).
        let recording = recorder.is_some();
        let mut log: Vec<(TopicSpec, Sample)> = Vec::new();
        let mut fresh = false;
        for (i, sub) in self.cameras.iter().enumerate() {
            let Some(sample) = sub.latest() else { continue };
            match sub
                .decode_counted::<Image>(&sample)
                .map(|img| camera_image(&img, self.image_size))
            {
                Some(Ok(frame)) => {
                    self.frames[i] = Some((frame, now));
                    self.frame_receive_ns[i] = u64::try_from(sample.receive_time_ns).unwrap_or(0);
                    fresh = true;
                }
                Some(Err(e)) => {
                    self.rejected += 1;
                    tracing::warn!(topic = %sub.topic().name, error = %e, "bad image");
                }
                None => self.rejected += 1,
            }
            if recording {
                log.push((sub.topic().clone(), sample));
            }
        }
        if let Some(sample) = self.joints.latest() {
            if let Some(js) = self.joints.decode_counted::<JointState>(&sample) {
                self.proprio = js.position.iter().map(|v| *v as f32).collect();
                self.joints_receive_ns = u64::try_from(sample.receive_time_ns).ok();
            }
            if recording {
                log.push((self.joints.topic().clone(), sample));
            }
        }
        while let Some(sample) = self.instruction.try_recv() {
            if let Some(text) = self.instruction.decode_counted::<StringMsg>(&sample) {
                control.set_instruction(&text.data);
            }
            if recording {
                log.push((self.instruction.topic().clone(), sample));
            }
        }
        while let Some(sample) = self.estop.try_recv() {
            if let Some(flag) = self.estop.decode_counted::<Bool>(&sample) {
                control.set_estop(flag.data);
            }
            if recording {
                log.push((self.estop.topic().clone(), sample));
            }
        }
        if let Some(recorder) = recorder {
            for (topic, s) in log {
                let t = u64::try_from(s.receive_time_ns).unwrap_or(0);
                let sent = s
                    .attachment
                    .map_or(t, |a| u64::try_from(a.source_time_ns).unwrap_or(t));
                if let Err(e) = recorder.write_payload(&topic, &s.payload, t, sent) {
                    tracing::error!(error = %e, "recording failed");
                }
            }
        }
        fresh
    }

    /// The observation once every camera has a frame (stamped with the oldest frame's time,
    /// so one dead camera makes it stale).
    fn observation(&self, instruction: &str, proprio_dim: usize) -> Option<(Observation, MonoNs)> {
        let mut images = Vec::with_capacity(self.frames.len());
        let mut oldest = MonoNs(u64::MAX);
        for frame in &self.frames {
            let (image, at) = frame.as_ref()?;
            images.push(image.clone());
            oldest = oldest.min(*at);
        }
        let mut proprio = self.proprio.clone();
        proprio.resize(proprio_dim, 0.0);
        Some((
            Observation {
                images,
                instruction: instruction.to_owned(),
                proprio,
            },
            oldest,
        ))
    }
}

fn open_inputs(
    transport: &dyn Transport,
    config: &ServeConfig,
    image_size: usize,
) -> Result<Inputs> {
    let t = &config.topics;
    let sub = |name: &str, spec: Result<TopicSpec, _>, depth| -> Result<Subscription> {
        transport
            .subscribe(&spec.with_context(|| format!("topic {name}"))?, depth)
            .with_context(|| format!("subscribing to {name}"))
    };
    Ok(Inputs {
        cameras: t
            .cameras
            .iter()
            .map(|c| sub(c, TopicSpec::of::<Image>(c), 2))
            .collect::<Result<_>>()?,
        instruction: sub(
            &t.instruction,
            TopicSpec::of::<StringMsg>(&t.instruction),
            16,
        )?,
        joints: sub(
            &t.joint_states,
            TopicSpec::of::<JointState>(&t.joint_states),
            4,
        )?,
        estop: sub(&t.estop, TopicSpec::of::<Bool>(&t.estop), 16)?,
        frames: vec![None; t.cameras.len()],
        image_size,
        frame_receive_ns: vec![0; t.cameras.len()],
        proprio: Vec::new(),
        joints_receive_ns: None,
        rejected: 0,
    })
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

/// Runtime events, for `ddvla replay`: which observation each inference used, and the
/// policy's raw chunk when it arrived.
fn publish_events(
    control: &ControlLoop<Observation>,
    report: &TickReport,
    provenance: &serde_json::Value,
    (requests, cuts): (&mut u64, &mut u64),
    outputs: &mut Outputs,
) {
    if control.counts().deadline_cuts > *cuts {
        *cuts = control.counts().deadline_cuts;
        if let Some((start_tick, rounds)) = control.last_deadline_cut() {
            let event = serde_json::json!({
                "kind": "deadline_cut",
                "start_tick": start_tick,
                "rounds": rounds,
            });
            outputs.publish(
                Which::Events,
                &StringMsg {
                    data: event.to_string(),
                },
            );
        }
    }
    if control.counts().requests > *requests {
        *requests = control.counts().requests;
        let event = serde_json::json!({
            "kind": "request",
            "tick": report.tick,
            "instruction": control.instruction(),
            "observation": provenance,
        });
        outputs.publish(
            Which::Events,
            &StringMsg {
                data: event.to_string(),
            },
        );
    }
    if let Some(start_tick) = report.accepted
        && let Some(chunk) = control.last_raw_chunk().cloned()
    {
        let event =
            serde_json::json!({"kind": "chunk", "start_tick": start_tick, "tick": report.tick});
        outputs.publish(
            Which::Events,
            &StringMsg {
                data: event.to_string(),
            },
        );
        outputs.send_chunk(&chunk);
    }
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
    let worker = spawn_policy_worker(policy, config.policy.decoder, config.policy.seed)?;
    Ok((shape, worker))
}

/// The config must match the model: camera count, action dims, command kind.
fn check_shapes(config: &ServeConfig, model: &ModelShape) -> Result<()> {
    if config.topics.cameras.len() != model.cameras {
        bail!(
            "topics.cameras lists {} cameras, the model takes {}",
            config.topics.cameras.len(),
            model.cameras
        );
    }
    let dim = model.action_dim;
    if config.safety.lower.len() != dim {
        bail!(
            "safety has {} dims, the model's actions have {dim}",
            config.safety.lower.len()
        );
    }
    if config.output.command == CommandKind::EeDelta && dim < 6 {
        bail!("output.command = ee_delta needs 6+ action dims, the model has {dim}");
    }
    Ok(())
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
    let max_inference = ms(config.control.max_inference_ms)?;
    let (model, worker) = start_worker(config, zenoh, max_inference)?;
    check_shapes(config, &model)?;
    let (horizon, dim) = (model.chunk_len, model.action_dim);
    let mut inputs = open_inputs(transport, config, model.image_size)?;
    let mut outputs = open_outputs(transport, config)?;
    let status_json = Arc::new(Mutex::new(String::from("{}")));
    let _queryable = match zenoh {
        Some(z) => Some(declare_status(z, config, Arc::clone(&status_json))?),
        None => None,
    };
    let c = &config.control;
    let period = Duration::try_from_secs_f64(1.0 / c.rate_hz)?;
    let mut control = ControlLoop::new(
        LoopConfig {
            period,
            max_inference: ms(c.max_inference_ms)?,
            retry_after_error: ms(c.retry_after_error_ms)?,
        },
        ChunkScheduler::new(config.schedule, horizon, dim),
        SafetyLayer::new(config.safety.clone(), &config.safety.hold_value)?,
        LatencyTracker::new(32, 1, ms(c.initial_latency_ms)?),
        worker.requests.clone(),
        worker.results,
    );
    drop(worker.requests);
    let clock = SystemClock::default();
    let start = clock.now();
    let status_every = (c.status_period_ms / 1e3 * c.rate_hz).ceil().max(1.0) as u64;
    let mut instruction = String::new();
    let mut provenance = serde_json::Value::Null;
    let (mut requests, mut cuts) = (0, 0);
    tracing::info!(rate_hz = c.rate_hz, node = %config.zenoh.node_name, "serving");
    for i in 0.. {
        if stop.load(Ordering::Relaxed) || max_ticks.is_some_and(|m| i >= m) {
            break;
        }
        clock.sleep_until(start.plus(period * u32::try_from(i)?));
        let now = clock.now();
        if inputs.drain(now, &mut control, outputs.recorder.as_mut()) {
            let current = control.instruction().to_owned();
            instruction.clone_from(&current);
            // No instruction yet: nothing to ask the policy (the loop holds on stale input).
            if !instruction.is_empty()
                && let Some((obs, at)) = inputs.observation(&instruction, model.proprio_dim)
            {
                control.observe(Arc::new(obs), at, None);
                provenance = serde_json::json!({
                    "frames_ns": inputs.frame_receive_ns,
                    "joints_ns": inputs.joints_receive_ns,
                    "instruction": instruction,
                });
            }
        }
        let report = control.tick(now, &mut outputs);
        publish_events(
            &control,
            &report,
            &provenance,
            (&mut requests, &mut cuts),
            &mut outputs,
        );
        if i % status_every == 0 {
            let status = serde_json::json!({
                "tick": report.tick,
                "held": report.held,
                "trigger": report.trigger,
                "loop": control.counts(),
                "safety": control.safety_counts(),
                "inference_p95_ms": control.latency_p95().as_secs_f64() * 1e3,
                "rejected_inputs": inputs.rejected,
                "output_errors": outputs.errors,
            })
            .to_string();
            outputs.publish(
                Which::Status,
                &StringMsg {
                    data: status.clone(),
                },
            );
            *status_json.lock().unwrap_or_else(PoisonError::into_inner) = status;
        }
    }
    if let Some(recorder) = outputs.recorder.take() {
        recorder.finish()?;
    }
    tracing::info!(counts = ?control.counts(), safety = ?control.safety_counts(), "stopped");
    Ok(())
}

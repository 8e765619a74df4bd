//! `ddvla serve`'s inputs: the latest frame per camera, the instruction, the proprio vector
//! (from joint states or a proprio topic, see [`ProprioSource`]), the e-stop and task events;
//! each received message is recorded when recording, with the receive times that let
//! `ddvla replay` find the exact inputs of each inference again.

use anyhow::{Context, Result};
use ddvla_bridge::msg::sensor::{Image, JointState};
use ddvla_bridge::msg::std::{Bool, Float32MultiArray, StringMsg};
use ddvla_bridge::record::Recorder;
use ddvla_bridge::{Sample, Subscription, TopicSpec, Transport};
use ddvla_policy::observation::{CameraImage, Observation};

use super::config::{ProprioSource, ServeConfig};
use super::io::camera_image;
use crate::runtime::control_loop::ControlLoop;
use crate::runtime::time::MonoNs;

/// The latest input state.
pub struct Inputs {
    cameras: Vec<Subscription>,
    instruction: Subscription,
    joints: Subscription,
    /// With [`ProprioSource::Topic`].
    proprio_topic: Option<Subscription>,
    task_events: Subscription,
    estop: Subscription,
    frames: Vec<Option<(CameraImage, MonoNs)>>,
    /// The model's image side (frames are resized to it).
    image_size: usize,
    /// Receive time (ns since the epoch; the recording's log time) of each camera's frame.
    pub frame_receive_ns: Vec<u64>,
    /// Where `proprio` comes from.
    pub source: ProprioSource,
    /// The robot's proprio length (the model's, less the episode step appended here).
    proprio_dim: usize,
    /// Whether the model takes the episode step as its last proprio value.
    episode_step_input: bool,
    proprio: Option<Vec<f32>>,
    /// When the proprio topic's newest vector was taken (with [`ProprioSource::Topic`]).
    proprio_at: Option<MonoNs>,
    /// Receive time of the message behind `proprio`.
    pub proprio_receive_ns: Option<u64>,
    /// Task events received since the caller last took them (JSON text).
    pub task_events_in: Vec<String>,
    /// Messages refused (undecodable, wrong size).
    pub rejected: u64,
}

fn receive_ns(sample: &Sample) -> Option<u64> {
    u64::try_from(sample.receive_time_ns).ok()
}

impl Inputs {
    /// Subscribe to `config`'s input topics, for a model taking `image_size` frames,
    /// `proprio_dim` robot values and, when `episode_step_input`, the episode step after
    /// them, with proprio from `source`.
    pub fn open(
        transport: &dyn Transport,
        config: &ServeConfig,
        (image_size, proprio_dim, episode_step_input): (usize, usize, bool),
        source: ProprioSource,
    ) -> Result<Self> {
        let t = &config.topics;
        let sub = |name: &str, spec: Result<TopicSpec, _>, depth| -> Result<Subscription> {
            transport
                .subscribe(&spec.with_context(|| format!("topic {name}"))?, depth)
                .with_context(|| format!("subscribing to {name}"))
        };
        Ok(Self {
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
            proprio_topic: match source {
                ProprioSource::Topic => Some(sub(
                    &t.proprio,
                    TopicSpec::of::<Float32MultiArray>(&t.proprio),
                    4,
                )?),
                ProprioSource::JointStates => None,
            },
            task_events: sub(
                &t.task_events,
                TopicSpec::of::<StringMsg>(&t.task_events),
                16,
            )?,
            estop: sub(&t.estop, TopicSpec::of::<Bool>(&t.estop), 16)?,
            frames: vec![None; t.cameras.len()],
            image_size,
            frame_receive_ns: vec![0; t.cameras.len()],
            source,
            proprio_dim,
            episode_step_input,
            proprio: None,
            proprio_at: None,
            proprio_receive_ns: None,
            task_events_in: Vec::new(),
            rejected: 0,
        })
    }

    /// Read everything that arrived; returns whether a new camera frame came in.
    pub fn drain(
        &mut self,
        now: MonoNs,
        control: &mut ControlLoop<Observation>,
        recorder: Option<&mut Recorder>,
    ) -> bool {
        // Received samples to record (kept only when recording: no work otherwise).
        let mut log: Option<Vec<(TopicSpec, Sample)>> = recorder.is_some().then(Vec::new);
        let mut keep = |sub: &Subscription, sample: Sample| {
            if let Some(log) = &mut log {
                log.push((sub.topic().clone(), sample));
            }
        };
        let mut fresh = false;
        for i in 0..self.cameras.len() {
            let Some(sample) = self.cameras[i].latest() else {
                continue;
            };
            fresh |= self.take_frame(i, &sample, now);
            keep(&self.cameras[i], sample);
        }
        if let Some(sample) = self.joints.latest() {
            if self.source == ProprioSource::JointStates
                && let Some(js) = self.joints.decode_counted::<JointState>(&sample)
            {
                self.proprio = Some(js.position.iter().map(|v| *v as f32).collect());
                self.proprio_receive_ns = receive_ns(&sample);
            }
            keep(&self.joints, sample);
        }
        if let Some(sub) = &self.proprio_topic
            && let Some(sample) = sub.latest()
        {
            match sub.decode_counted::<Float32MultiArray>(&sample) {
                Some(msg) if msg.data.len() == self.proprio_dim => {
                    self.proprio = Some(msg.data);
                    self.proprio_at = Some(now);
                    self.proprio_receive_ns = receive_ns(&sample);
                }
                Some(msg) => {
                    self.rejected += 1;
                    tracing::warn!(topic = %sub.topic().name, got = msg.data.len(),
                        expected = self.proprio_dim, "proprio vector of the wrong length: refused");
                }
                None => self.rejected += 1,
            }
            keep(sub, sample);
        }
        while let Some(sample) = self.instruction.try_recv() {
            if let Some(text) = self.instruction.decode_counted::<StringMsg>(&sample) {
                control.set_instruction(&text.data);
            }
            keep(&self.instruction, sample);
        }
        while let Some(sample) = self.estop.try_recv() {
            if let Some(flag) = self.estop.decode_counted::<Bool>(&sample) {
                control.set_estop(flag.data);
            }
            keep(&self.estop, sample);
        }
        while let Some(sample) = self.task_events.try_recv() {
            if let Some(text) = self.task_events.decode_counted::<StringMsg>(&sample) {
                tracing::info!(event = %text.data, "task event");
                self.task_events_in.push(text.data);
            }
            keep(&self.task_events, sample);
        }
        if let (Some(recorder), Some(log)) = (recorder, log) {
            record(recorder, log);
        }
        fresh
    }

    fn take_frame(&mut self, i: usize, sample: &Sample, now: MonoNs) -> bool {
        let sub = &self.cameras[i];
        match sub
            .decode_counted::<Image>(sample)
            .map(|img| camera_image(&img, self.image_size))
        {
            Some(Ok(frame)) => {
                self.frames[i] = Some((frame, now));
                self.frame_receive_ns[i] = receive_ns(sample).unwrap_or(0);
                true
            }
            Some(Err(e)) => {
                self.rejected += 1;
                tracing::warn!(topic = %sub.topic().name, error = %e, "bad image");
                false
            }
            None => {
                self.rejected += 1;
                false
            }
        }
    }

    /// The observation once every camera has a frame (stamped with the oldest frame's time,
    /// or the proprio topic's vector's when older, so one dead camera or a dead proprio feed
    /// makes it stale) and, with a proprio topic, a proprio vector came;
    /// `episode_step` (control ticks since the instruction began) is appended to the proprio
    /// when the model takes it.
    pub fn observation(
        &self,
        instruction: &str,
        episode_step: u64,
    ) -> Option<(Observation, MonoNs)> {
        let mut images = Vec::with_capacity(self.frames.len());
        let mut oldest = MonoNs(u64::MAX);
        for frame in &self.frames {
            let (image, at) = frame.as_ref()?;
            images.push(image.clone());
            oldest = oldest.min(*at);
        }
        let mut proprio = match (&self.proprio, self.source) {
            (Some(p), _) => p.clone(),
            // Joint states have always been optional (zeros until they come).
            (None, ProprioSource::JointStates) => Vec::new(),
            (None, ProprioSource::Topic) => return None,
        };
        if let (ProprioSource::Topic, Some(at)) = (self.source, self.proprio_at) {
            oldest = oldest.min(at);
        }
        proprio.resize(self.proprio_dim, 0.0);
        if self.episode_step_input {
            // Steps stay far below f32's 2^24 exact integers (~2.3 days at 100 Hz).
            proprio.push(episode_step as f32);
        }
        Some((
            Observation {
                images,
                instruction: instruction.to_owned(),
                proprio,
            },
            oldest,
        ))
    }

    /// Where the newest observation's inputs are in the recording (`ddvla replay` reads it
    /// back from the request events).
    pub fn provenance(&self, instruction: &str, episode_step: u64) -> serde_json::Value {
        let mut p = serde_json::json!({
            "frames_ns": self.frame_receive_ns,
            "proprio_source": self.source,
            "proprio_ns": self.proprio_receive_ns,
            "instruction": instruction,
        });
        if self.episode_step_input {
            p["episode_step"] = episode_step.into();
        }
        if self.source == ProprioSource::JointStates {
            // What recordings before the proprio topic carried.
            p["joints_ns"] = self.proprio_receive_ns.into();
        }
        p
    }
}

fn record(recorder: &mut Recorder, log: Vec<(TopicSpec, Sample)>) {
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

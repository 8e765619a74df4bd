//! A simulated robot on a transport: the MuJoCo harness publishes its camera frames and joint
//! state like a real robot's drivers and applies the newest command vector (EE delta and
//! gripper, LIBERO's OSC convention; with a suite task, in the suite contract's gripper
//! convention, converted as `ddvla eval` does) at a fixed rate. `ddvla serve --sim` runs it in-process
//! against the same serve loop a real robot gets; `ddvla sim robot` runs it over zenoh.
//! With a suite task it also publishes the task contract's proprio vector
//! (`std_msgs/Float32MultiArray`) and, when the goal first holds, a success event
//! (`std_msgs/String`, JSON) that `ddvla serve` records and shows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ddvla_bridge::msg::sensor::{Image, JointState};
use ddvla_bridge::msg::std::{Float32MultiArray, Header, StringMsg, Time};
use ddvla_bridge::transport::unix_time_ns;
use ddvla_bridge::{Publisher, TopicSpec, Transport, publish_msg};
use ddvla_sim::{Env, EnvConfig};
use serde::Serialize;

use crate::runtime::time::{Clock, SystemClock};
use crate::sim_task::SimTask;

/// What the simulated robot runs.
#[derive(Debug, Clone)]
pub struct SimRobotConfig {
    /// Scene name (see `ddvla sim render`).
    pub scene: String,
    /// `(topic, camera name)` per published camera.
    pub cameras: Vec<(String, String)>,
    /// Image side (px).
    pub image_size: u32,
    /// Reset seed.
    pub seed: u64,
    /// Control rate (Hz).
    pub rate_hz: f64,
    /// Joint state topic.
    pub joint_states: String,
    /// With a task: the contract's proprio vector (`Float32MultiArray`) goes out here.
    pub proprio: String,
    /// With a task: the success event (`std_msgs/String`, JSON `{"kind": "success", "task",
    /// "step"}`) goes out here when the goal first holds.
    pub task_events: String,
    /// Command topic (`Float32MultiArray`, 7 values: EE delta xyz, rpy, gripper).
    pub command: String,
    /// `(topic, text)`: an instruction the robot side repeats every second (the task's
    /// language instruction in simulation).
    pub instruction: Option<(String, String)>,
    /// A suite task instead of a plain scene: its scene, init state, camera contract and goal.
    pub task: Option<SimTask>,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct SimRobotReport {
    /// Control steps run.
    pub steps: u64,
    /// Steps that applied a received command (the rest held still).
    pub commands_applied: u64,
    /// Commands refused (wrong length, NaN).
    pub commands_rejected: u64,
    /// End-effector position at the start (m, base frame).
    pub ee_start_m: [f64; 3],
    /// End-effector position at the end.
    pub ee_end_m: [f64; 3],
    /// With a task: the first step at which its goal held.
    pub success_step: Option<u64>,
}

struct Publishers {
    cameras: Vec<Box<dyn Publisher>>,
    joints: Box<dyn Publisher>,
    /// With a task.
    proprio: Option<Box<dyn Publisher>>,
}

/// Watches a task's goal and publishes a success event the first time it holds.
pub struct GoalWatch {
    publisher: Box<dyn Publisher>,
    first_success: Option<u64>,
}

impl GoalWatch {
    /// Publish on `topic` of `transport`.
    pub fn new(transport: &dyn Transport, topic: &str) -> Result<Self> {
        Ok(Self {
            publisher: transport.publisher(&TopicSpec::of::<StringMsg>(topic)?)?,
            first_success: None,
        })
    }

    /// After control step `step`: whether `task`'s goal holds in `env` for the first time
    /// (then the success event went out).
    pub fn check(&mut self, task: &SimTask, env: &Env, step: u64) -> Result<bool> {
        if self.first_success.is_some() || !task.success(env)? {
            return Ok(false);
        }
        self.first_success = Some(step);
        let event = serde_json::json!({
            "kind": "success",
            "task": task.name,
            "step": step,
        });
        publish_msg(
            self.publisher.as_ref(),
            &StringMsg {
                data: event.to_string(),
            },
        )?;
        tracing::info!(step, task = %task.name, "goal reached");
        println!("sim: goal of {} reached at step {step}", task.name);
        Ok(true)
    }

    /// The first step at which the goal held.
    pub fn first_success(&self) -> Option<u64> {
        self.first_success
    }
}

fn publish(p: &Publishers, obs: &ddvla_sim::Observation, proprio: &[f32]) -> Result<()> {
    let header = Header {
        stamp: Time::from_ns(u64::try_from(unix_time_ns()).unwrap_or(0)),
        frame_id: "world".into(),
    };
    for (publisher, frame) in p.cameras.iter().zip(&obs.images) {
        let image = Image::rgb8(
            header.clone(),
            u32::try_from(frame.width)?,
            u32::try_from(frame.height)?,
            frame.rgb.clone(),
        );
        publish_msg(publisher.as_ref(), &image)?;
    }
    let joints = JointState {
        header,
        name: (1..=7)
            .map(|j| format!("joint{j}"))
            .chain(["finger_left".into(), "finger_right".into()])
            .take(7 + obs.proprio.gripper_qpos.len())
            .collect(),
        position: obs
            .proprio
            .joint_pos
            .iter()
            .chain(&obs.proprio.gripper_qpos)
            .copied()
            .collect(),
        velocity: vec![],
        effort: vec![],
    };
    publish_msg(p.joints.as_ref(), &joints)?;
    if let Some(publisher) = &p.proprio {
        let mut msg = Float32MultiArray::action_chunk(1, proprio.len(), proprio.to_vec());
        msg.layout.dim.remove(0);
        msg.layout.dim[0].label = "proprio".into();
        publish_msg(publisher.as_ref(), &msg)?;
    }
    Ok(())
}

/// Run the simulated robot on `transport` until `stop` or `max_steps`.
pub fn run_sim_robot(
    transport: &dyn Transport,
    config: &SimRobotConfig,
    stop: &AtomicBool,
    max_steps: Option<u64>,
) -> Result<SimRobotReport> {
    if !(config.rate_hz.is_finite() && config.rate_hz > 0.0) {
        bail!("sim robot rate {} Hz is not positive", config.rate_hz);
    }
    let cameras: Vec<String> = config.cameras.iter().map(|(_, c)| c.clone()).collect();
    let env_cfg = match &config.task {
        Some(t) => t.env_config(&cameras)?,
        None => EnvConfig {
            scene: config.scene.clone(),
            cameras,
            image_size: config.image_size,
            ..EnvConfig::default()
        },
    };
    let mut env = Env::new(env_cfg).context("building the simulation")?;
    let publishers = Publishers {
        cameras: config
            .cameras
            .iter()
            .map(|(topic, _)| transport.publisher(&TopicSpec::of::<Image>(topic)?))
            .collect::<ddvla_bridge::Result<_>>()?,
        joints: transport.publisher(&TopicSpec::of::<JointState>(&config.joint_states)?)?,
        proprio: match &config.task {
            Some(_) => {
                Some(transport.publisher(&TopicSpec::of::<Float32MultiArray>(&config.proprio)?)?)
            }
            None => None,
        },
    };
    let mut goal = match &config.task {
        Some(_) => Some(GoalWatch::new(transport, &config.task_events)?),
        None => None,
    };
    let commands = transport.subscribe(&TopicSpec::of::<Float32MultiArray>(&config.command)?, 4)?;
    let instruction = match &config.instruction {
        Some((topic, text)) => Some((
            transport.publisher(&TopicSpec::of::<StringMsg>(topic)?)?,
            StringMsg { data: text.clone() },
        )),
        None => None,
    };
    let steps_per_second = config.rate_hz.ceil().max(1.0) as u64;
    let mut obs = env.reset(config.seed)?;
    let mut proprio = Vec::new();
    if let Some(t) = &config.task {
        (obs, proprio) = t.start(&mut env)?;
    }
    let ee_start_m = obs.proprio.ee_pos;
    let clock = SystemClock::default();
    let period = Duration::try_from_secs_f64(1.0 / config.rate_hz)?;
    let start = clock.now();
    let mut report = SimRobotReport {
        steps: 0,
        commands_applied: 0,
        commands_rejected: 0,
        ee_start_m,
        ee_end_m: ee_start_m,
        success_step: None,
    };
    // The environment's action (its own gripper convention); commands arrive in the policy's.
    let mut action = [0.0_f32, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0];
    if let Some(t) = &config.task
        && t.wait_action().len() == action.len()
    {
        action.copy_from_slice(t.wait_action());
    }
    while !stop.load(Ordering::Relaxed) && max_steps.is_none_or(|m| report.steps < m) {
        if let Some((publisher, text)) = &instruction
            && report.steps.is_multiple_of(steps_per_second)
        {
            publish_msg(publisher.as_ref(), text)?;
        }
        publish(&publishers, &obs, &proprio)?;
        clock.sleep_until(start.plus(period * u32::try_from(report.steps + 1)?));
        let mut applied = false;
        if let Some(sample) = commands.latest() {
            match commands.decode_counted::<Float32MultiArray>(&sample) {
                Some(cmd) if cmd.data.len() == 7 && cmd.data.iter().all(|v| v.is_finite()) => {
                    match &config.task {
                        Some(t) => action.copy_from_slice(&t.to_env_action(&cmd.data)),
                        None => action.copy_from_slice(&cmd.data),
                    }
                    applied = true;
                }
                _ => report.commands_rejected += 1,
            }
        }
        if !applied {
            // No new command: stay still, gripper as last commanded.
            action[..6].fill(0.0);
        }
        report.commands_applied += u64::from(applied);
        obs = env.step(&action)?;
        report.steps += 1;
        if let (Some(t), Some(goal)) = (&config.task, &mut goal) {
            (obs, proprio) = t.frame(obs);
            goal.check(t, &env, report.steps)?;
            report.success_step = goal.first_success();
        }
    }
    report.ee_end_m = obs.proprio.ee_pos;
    Ok(report)
}

//! `ddvla serve` configuration (launch/robot.toml): typed, every field defaulted and
//! documented, unknown fields rejected.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ddvla_bridge::transport::zenoh::ZenohConfig;
use ddvla_policy::decode::DecoderKind;
use serde::Deserialize;

use crate::runtime::safety::SafetyConfig;
use crate::runtime::schedule::Strategy;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Control loop timing.
    #[serde(default)]
    pub control: ControlConfig,
    /// The policy.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Chunk scheduling strategy.
    #[serde(default = "default_strategy")]
    pub schedule: Strategy,
    /// Safety limits (required: they depend on the robot).
    pub safety: SafetyConfig,
    /// Topic names.
    #[serde(default)]
    pub topics: Topics,
    /// Per-step command output.
    #[serde(default)]
    pub output: OutputConfig,
    /// zenoh session (rmw_zenoh defaults).
    #[serde(default)]
    pub zenoh: ZenohConfig,
    /// Record every message in and out to this MCAP file.
    #[serde(default)]
    pub record: Option<PathBuf>,
    /// Where the observation's inputs come from.
    #[serde(default)]
    pub input: InputConfig,
    /// Live rerun view of the run (a build with `--features rerun`).
    #[serde(default)]
    pub rerun: RerunConfig,
}

/// Where the policy's proprioception comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProprioSource {
    /// `topics.joint_states` (`sensor_msgs/JointState`): the positions, in order.
    JointStates,
    /// `topics.proprio` (`std_msgs/Float32MultiArray`): the vector as is, e.g. the suite
    /// contract's 8-D EE position, axis-angle and gripper qpos that demonstrations and
    /// `ddvla eval` use. A vector of another length than the model's is refused.
    Topic,
}

/// Observation inputs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    /// The proprio source; unset: `joint_states`, or `topic` under `--sim SUITE/TASK`
    /// (where the simulated robot publishes the task contract's vector).
    pub proprio: Option<ProprioSource>,
}

/// Where a running rerun viewer listens by default (`rerun` with no arguments).
pub const DEFAULT_VIEWER: &str = "rerun+http://127.0.0.1:9876/proxy";

/// The live rerun view of `ddvla serve` (needs a `--features rerun` build). Logging runs on
/// its own thread, fed through a bounded queue: the control loop never waits for it, and
/// what does not fit is dropped and counted (`telemetry_dropped` in the status).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RerunConfig {
    /// Write a rerun recording here (`--rrd` overrides).
    pub rrd: Option<PathBuf>,
    /// Stream to the rerun viewer at this address: `HOST:PORT` or
    /// `rerun+http://HOST:PORT/proxy` (`--connect` overrides).
    pub connect: Option<String>,
    /// Events the queue holds before dropping.
    pub queue: usize,
}

impl Default for RerunConfig {
    fn default() -> Self {
        Self {
            rrd: None,
            connect: None,
            queue: 1024,
        }
    }
}

impl RerunConfig {
    /// Whether a view is asked for.
    pub fn enabled(&self) -> bool {
        self.rrd.is_some() || self.connect.is_some()
    }
}

fn default_strategy() -> Strategy {
    Strategy::RecedingHorizon { replan_every: 4 }
}

/// Control loop timing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// Output rate (Hz).
    pub rate_hz: f64,
    /// An inference longer than this is a stall (ms).
    pub max_inference_ms: f64,
    /// Back-off after a policy error (ms).
    pub retry_after_error_ms: f64,
    /// Latency assumed before the first measurement (ms); pessimistic on purpose.
    pub initial_latency_ms: f64,
    /// Status publication period (ms).
    pub status_period_ms: f64,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            rate_hz: 20.0,
            max_inference_ms: 2000.0,
            retry_after_error_ms: 1000.0,
            initial_latency_ms: 500.0,
            status_period_ms: 1000.0,
        }
    }
}

/// Which policy to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// A checkpoint directory; when absent, a random-weight `preset` (says so in the log).
    pub checkpoint: Option<PathBuf>,
    /// Dataset key for un-normalisation in a multi-dataset checkpoint.
    pub unnorm_key: Option<String>,
    /// Preset for a random-weight policy.
    pub preset: String,
    /// Decoder. Default: the one the checkpoint was trained for (its `config.json`
    /// `decoder`); `diffusion-cached` for random weights and older checkpoints.
    pub decoder: Option<DecoderKind>,
    /// Decoder seed.
    pub seed: u64,
    /// Use the policy server at this key prefix (e.g. `ddvla/gpu0`, see
    /// `ddvla policy-server`) instead of a local policy; requests time out after
    /// `control.max_inference_ms`.
    pub remote: Option<String>,
}

impl PolicyConfig {
    /// The decoder to run `policy` with: the configured one, else the one the checkpoint was
    /// trained for, else `diffusion-cached` (random weights, checkpoints that do not say).
    pub fn decoder_for(&self, policy: &ddvla_policy::Policy) -> DecoderKind {
        self.decoder
            .or(policy.model().config().file.decoder)
            .unwrap_or(DecoderKind::DiffusionCached)
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            checkpoint: None,
            unnorm_key: None,
            preset: "tiny".into(),
            decoder: None,
            seed: 0,
            remote: None,
        }
    }
}

/// Topic names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topics {
    /// Camera image topics (`sensor_msgs/Image`), in the model's camera order.
    pub cameras: Vec<String>,
    /// Instruction (`std_msgs/String`).
    pub instruction: String,
    /// Joint states (`sensor_msgs/JointState`; with `input.proprio = "joint_states"` the
    /// positions, in order, are the proprio vector).
    pub joint_states: String,
    /// The proprio vector (`std_msgs/Float32MultiArray`) with `input.proprio = "topic"`.
    pub proprio: String,
    /// Task events in (`std_msgs/String`, JSON, e.g. the simulated robot's `{"kind":
    /// "success", ...}` when a suite task's goal first holds): recorded, logged, shown.
    pub task_events: String,
    /// E-stop (`std_msgs/Bool`: true latches, false clears).
    pub estop: String,
    /// Action chunks out (`std_msgs/Float32MultiArray`, dims [horizon, action_dim]).
    pub action_chunk: String,
    /// Per-step end-effector delta out (`geometry_msgs/TwistStamped`).
    pub cmd_ee_delta: String,
    /// Per-step joint command out (`trajectory_msgs/JointTrajectory`).
    pub cmd_joint: String,
    /// The whole command vector out every tick (`std_msgs/Float32MultiArray`, dims
    /// `[action_dim]`; e.g. EE delta and gripper together, what `ddvla sim robot` applies).
    pub command: String,
    /// Status JSON out (`std_msgs/String`).
    pub status: String,
    /// Runtime events out (`std_msgs/String`, JSON): inference requests with the inputs they
    /// used, chunk arrivals. `ddvla replay` reads them back.
    pub events: String,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            cameras: vec![
                "/camera/agentview/image_raw".into(),
                "/camera/wrist/image_raw".into(),
            ],
            instruction: "/instruction".into(),
            joint_states: "/joint_states".into(),
            proprio: "/ddvla/proprio".into(),
            task_events: "/ddvla/task_events".into(),
            estop: "/ddvla/estop".into(),
            action_chunk: "/ddvla/action_chunk".into(),
            cmd_ee_delta: "/ddvla/cmd_ee_delta".into(),
            cmd_joint: "/ddvla/cmd_joint".into(),
            command: "/ddvla/command".into(),
            status: "/ddvla/status".into(),
            events: "/ddvla/events".into(),
        }
    }
}

/// The per-step command message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// `TwistStamped`: action dims 0–2 linear, 3–5 angular (the gripper goes in the chunk).
    #[default]
    EeDelta,
    /// `JointTrajectory` with one point: every action dim is a joint position.
    JointPosition,
}

/// Per-step command output.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Which message carries each step's command.
    pub command: CommandKind,
    /// Joint names for `joint_position`.
    pub joint_names: Vec<String>,
    /// `header.frame_id` of stamped outputs.
    pub frame_id: String,
}

/// Read and parse a TOML file into `T`, naming the file in errors.
fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

impl ServeConfig {
    /// Read and check a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let config: Self = read_toml(path)?;
        config
            .check()
            .with_context(|| format!("checking {}", path.display()))?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        let c = &self.control;
        for (name, v) in [
            ("control.rate_hz", c.rate_hz),
            ("control.max_inference_ms", c.max_inference_ms),
            ("control.retry_after_error_ms", c.retry_after_error_ms),
            ("control.initial_latency_ms", c.initial_latency_ms),
            ("control.status_period_ms", c.status_period_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                bail!("{name} = {v}: must be a positive number");
            }
        }
        if self.topics.cameras.is_empty() {
            bail!("topics.cameras: at least one camera topic");
        }
        if self.rerun.queue == 0 {
            bail!("rerun.queue = 0: the logger needs room for at least one event");
        }
        if self.output.command == CommandKind::JointPosition
            && self.output.joint_names.len() != self.safety.lower.len()
        {
            bail!(
                "output.joint_names has {} names, the action has {} dims",
                self.output.joint_names.len(),
                self.safety.lower.len()
            );
        }
        Ok(())
    }
}

/// `ddvla policy-server --config launch/policy-server.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyServerConfig {
    /// Key prefix of the queryables (`<prefix>/describe`, `<prefix>/infer`).
    pub prefix: String,
    /// The policy.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// zenoh session.
    #[serde(default)]
    pub zenoh: ZenohConfig,
}

impl PolicyServerConfig {
    /// Read and check a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let config: Self = read_toml(path)?;
        if config.prefix.is_empty() || config.prefix.contains(['*', '$', '?', '#']) {
            bail!(
                "{}: prefix {:?} is not a zenoh key prefix",
                path.display(),
                config.prefix
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failure is the test failing

    use candle_core::Device;
    use ddvla_policy::Policy;
    use ddvla_policy::decode::DecoderKind;
    use ddvla_policy::model::presets;

    use super::PolicyConfig;

    #[test]
    fn the_decoder_is_the_configured_one_else_the_checkpoints_else_diffusion_cached() {
        let mut file = presets::tiny();
        let random = Policy::random(presets::preset("tiny").unwrap(), &Device::Cpu).unwrap();
        let unset = PolicyConfig::default();
        assert_eq!(unset.decoder_for(&random), DecoderKind::DiffusionCached);
        file.decoder = Some(DecoderKind::Parallel);
        let trained_for_parallel = Policy::random(
            ddvla_policy::model::Config::new(file).unwrap(),
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(
            unset.decoder_for(&trained_for_parallel),
            DecoderKind::Parallel
        );
        let told = PolicyConfig {
            decoder: Some(DecoderKind::Ar),
            ..PolicyConfig::default()
        };
        assert_eq!(told.decoder_for(&trained_for_parallel), DecoderKind::Ar);
    }
}

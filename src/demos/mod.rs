//! Demonstrations: episodes of a policy (the scripted expert) recorded as rosbag2 MCAP files,
//! one per episode, plus an `index.json` manifest — the dataset layout `ddvla train` reads.
//!
//! ```text
//! <dir>/index.json                                   DemoIndex (format "ddvla-demos/1")
//! <dir>/<suite>/<task>/episode_<k>.mcap              one episode
//! ```
//! Each episode file holds, per policy step `t` (log time `t / control_hz` seconds):
//! - `/camera/<name>/image_raw/compressed` — `sensor_msgs/CompressedImage` (JPEG q90) per
//!   contract camera, as the policy saw the frame (the contract's 180° turn applied);
//! - `/ddvla/proprio` — `std_msgs/Float32MultiArray`, the contract's proprio vector;
//! - `/ddvla/action` — `std_msgs/Float32MultiArray`, the action taken (policy convention) or,
//!   in an expert-labelled episode ([`Labels::Expert`]), the expert's action from that state;
//! - `/ddvla/executed_action` — expert-labelled episodes only: the action actually executed;
//! - `/ddvla/expert_chunk` — expert-labelled episodes recorded with `--label-chunk H` only:
//!   the expert's own H-step chunk from that state (layout `[steps, action]`, row-major), the
//!   step's chunk target in training;
//! - `/ddvla/objects` — where the movable objects were when the frame was rendered (world
//!   frame, m; layout `[objects, xyz]`, the objects named by the manifest entry's `objects`:
//!   the goal's objects first), the target of the localisation loss in training (recordings
//!   made before it have none);
//! - `/ddvla/expert_goal` — plain scripted-expert recordings only (not DART or DAgger ones,
//!   whose wrappers report no goal): the target pose the expert's action moved toward,
//!   `[x, y, z, yaw, speed]` (the pinch point in the world frame, m, the proprio position's
//!   frame; the gripper yaw about world z, rad; the largest translation action it moves
//!   there with), the label of position-target training for a model whose
//!   `action_position_target.labels` is `expert_goal` (`ddvla checkpoint position-target
//!   --labels expert-goal`; recordings made before it have none);
//!
//! and once: `/instruction` (`std_msgs/String`) at the start and `/ddvla/episode`
//! (`std_msgs/String`, JSON [`DemoEpisode`]) at the end. Any MCAP/ROS 2 tool opens them.

mod expert_labels;
mod noisy_expert;
mod read;
mod record;

use serde::{Deserialize, Serialize};

pub use expert_labels::{ExpertLabelled, Label, LabelSlot};
pub use noisy_expert::{ActionNoise, NoisyExpert};
pub use read::{Episode, load_episode, load_episode_with, read_index};
pub use record::{DemoRecorder, RecordOptions, record};

/// The manifest's format tag.
pub const FORMAT: &str = "ddvla-demos/1";
/// Proprio topic.
pub const PROPRIO_TOPIC: &str = "/ddvla/proprio";
/// Action topic.
pub const ACTION_TOPIC: &str = "/ddvla/action";
/// Executed-action topic of expert-labelled episodes.
pub const EXECUTED_ACTION_TOPIC: &str = "/ddvla/executed_action";
/// Expert-chunk topic of expert-labelled episodes recorded with chunk labels.
pub const EXPERT_CHUNK_TOPIC: &str = "/ddvla/expert_chunk";
/// Movable-object positions topic.
pub const OBJECTS_TOPIC: &str = "/ddvla/objects";
/// Expert-goal topic of scripted-expert recordings.
pub const EXPERT_GOAL_TOPIC: &str = "/ddvla/expert_goal";
/// Values of an [`EXPERT_GOAL_TOPIC`] message: x, y, z (m), yaw (rad), speed.
pub const EXPERT_GOAL_VALUES: usize = 5;
/// Instruction topic.
pub const INSTRUCTION_TOPIC: &str = "/instruction";
/// Episode metadata topic.
pub const EPISODE_TOPIC: &str = "/ddvla/episode";

/// The image topic of camera `name`.
pub fn image_topic(name: &str) -> String {
    format!("/camera/{name}/image_raw/compressed")
}

/// One recorded episode in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoEpisode {
    /// File, relative to the dataset folder.
    pub file: String,
    /// Suite.
    pub suite: String,
    /// Task name.
    pub task: String,
    /// Task index in the suite.
    pub task_index: usize,
    /// Episode index (init state of the sampled set).
    pub episode: usize,
    /// The instruction.
    pub instruction: String,
    /// Policy steps recorded.
    pub steps: u32,
    /// Whether the goal was reached.
    pub success: bool,
    /// The episode's seed.
    pub seed: u64,
    /// What the action topic holds (absent in older manifests: the executed actions).
    #[serde(default)]
    pub labels: Labels,
    /// Steps of the expert chunk labelled at every step ([`EXPERT_CHUNK_TOPIC`]); absent
    /// when the episode has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_chunk: Option<usize>,
    /// The noise the expert executed with (DART recordings, [`NoisyExpert`]); absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_noise: Option<ActionNoise>,
    /// The movable objects whose positions [`OBJECTS_TOPIC`] holds, in its order (goal
    /// objects first); empty in recordings made before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
    /// Whether every step has the expert's goal on [`EXPERT_GOAL_TOPIC`] (absent: none).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expert_goals: bool,
}

/// What an episode's `/ddvla/action` topic holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Labels {
    /// The actions the recorded policy executed (a demonstration).
    #[default]
    Executed,
    /// The scripted expert's action from each state another policy (DAgger) or the expert
    /// with action noise (DART, [`NoisyExpert`]) reached; the executed ones are on
    /// [`EXECUTED_ACTION_TOPIC`]. Correct targets whether or not the episode succeeded.
    Expert,
}

/// `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoIndex {
    /// [`FORMAT`].
    pub format: String,
    /// The command that recorded it.
    pub created_by: String,
    /// ddvla build.
    pub ddvla_commit: String,
    /// Camera names, in the order of the policy's inputs.
    pub cameras: Vec<String>,
    /// Image side (px).
    pub image_size: u32,
    /// Control rate (Hz).
    pub control_hz: f64,
    /// Action dimension.
    pub action_dim: usize,
    /// Proprio dimension.
    pub proprio_dim: usize,
    /// Episodes.
    pub episodes: Vec<DemoEpisode>,
}

impl DemoIndex {
    /// A manifest without episodes for recordings of `suite` (its cameras, image size, rate
    /// and action dimension), made by the command `created_by`.
    pub fn empty(suite: &ddvla_tasks::suite::Suite, created_by: String) -> Self {
        let c = &suite.file.contract;
        Self {
            format: FORMAT.into(),
            created_by,
            ddvla_commit: crate::eval_cli::ddvla_commit(),
            cameras: c.cameras.clone(),
            image_size: c.image_size,
            control_hz: suite.file.protocol.control_hz,
            action_dim: c.action_dim,
            proprio_dim: 0,
            episodes: Vec::new(),
        }
    }
}

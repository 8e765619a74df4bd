//! Task suites: a folder of BDDL files, a `suite.toml` naming them in benchmark order with the
//! episode protocol and the observation/action contract, and committed init states.
//!
//! ```text
//! tasks/suites/<suite>/suite.toml
//! tasks/suites/<suite>/<task>.bddl
//! tasks/suites/<suite>/init_states/<task>.json
//! ```
//!
//! The evaluation instruction of a task is derived from its BDDL file name as LIBERO does
//! (`grab_language_from_filename`: underscores become spaces, a `SCENE<n>_`-style prefix is
//! dropped); the BDDL `(:language …)` string is kept as metadata.

mod contract;
mod error;
mod init_states;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use contract::{Contract, GripperConvention, PolicyFrame};
pub use error::SuiteError;
pub use init_states::{InitState, InitStates};

use crate::bddl::{self, Problem};

/// When an episode counts as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuccessRule {
    /// LIBERO: stop at the first step where the goal holds.
    FirstSuccess,
    /// SimplerEnv: run to the step limit (or the policy's end) and score the final step.
    FinalStep,
}

/// The robot a suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RobotName {
    /// The Panda with LIBERO's OSC controller (LIBERO-style suites).
    #[default]
    Panda,
    /// The WidowX-250-like arm (SimplerEnv Bridge-style suites).
    Widowx,
    /// The Google-robot-like arm (SimplerEnv Fractal-style suites).
    GoogleArm,
}

/// The episode protocol of a suite (`[protocol]` in `suite.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Policy steps after the wait steps (LIBERO: spatial 220, object 280, goal 300, long 520).
    pub max_steps: u32,
    /// No-op steps before the policy starts (LIBERO: 10).
    #[serde(default = "default_wait_steps")]
    pub wait_steps: u32,
    /// The action of the wait steps (LIBERO: `[0,0,0,0,0,0,-1]`).
    #[serde(default = "default_wait_action")]
    pub wait_action: Vec<f32>,
    /// When an episode succeeds.
    pub success: SuccessRule,
    /// Control rate (Hz).
    pub control_hz: f64,
    /// Init states per task (LIBERO: 50).
    #[serde(default = "default_init_states")]
    pub init_states: usize,
}

fn default_wait_steps() -> u32 {
    10
}

fn default_wait_action() -> Vec<f32> {
    vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
}

fn default_init_states() -> usize {
    50
}

/// How the scene is laid out (`[scene]`): where the table is and what the cameras see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneLayout {
    /// The robot.
    #[serde(default)]
    pub robot: RobotName,
    /// Table top centre (m, world; the robot base is at the origin facing +x).
    pub table_center_m: [f64; 3],
    /// Table top half extents (m); the top surface is at `center.z + half.z`.
    pub table_half_m: [f64; 3],
    /// Region ranges in the BDDL files are relative to this point on the table top (m).
    pub workspace_offset_m: [f64; 2],
}

/// One task entry (`[[tasks]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskEntry {
    /// The BDDL file, relative to the suite folder.
    pub bddl: String,
    /// This task's step limit when it differs from `[protocol] max_steps` (SimplerEnv:
    /// eggplant 120 among Bridge's 60, drawers 113 among Fractal's 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u32>,
}

/// `suite.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Suite name (also the folder name).
    pub name: String,
    /// One line on what the suite tests.
    pub description: String,
    /// Episode protocol.
    pub protocol: Protocol,
    /// Observation/action contract.
    pub contract: Contract,
    /// Scene layout.
    pub scene: SceneLayout,
    /// Tasks in benchmark order.
    pub tasks: Vec<TaskEntry>,
}

/// A loaded task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Position in the suite (0-based, benchmark order).
    pub index: usize,
    /// Task name: the BDDL file stem.
    pub name: String,
    /// The evaluation instruction (from the file name, as LIBERO).
    pub instruction: String,
    /// The parsed problem.
    pub problem: Problem,
    /// Where its init states live.
    pub init_states_path: PathBuf,
}

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The folder it was loaded from.
    pub dir: PathBuf,
    /// `suite.toml`.
    pub file: SuiteFile,
    /// Its tasks, in order.
    pub tasks: Vec<Task>,
}

/// LIBERO's `grab_language_from_filename`: the file stem with `_` → space, dropping an
/// upper-case scene prefix such as `KITCHEN_SCENE3_`.
pub fn instruction_from_file_name(stem: &str) -> String {
    let words: Vec<&str> = stem.split('_').collect();
    let start = words
        .iter()
        .position(|w| w.starts_with("SCENE"))
        .map_or(0, |i| i + 1);
    words[start..].join(" ").to_lowercase()
}

/// The folder holding the suites that ship with ddvla.
pub fn builtin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("suites")
}

/// Names of the suites in `dir` (folders with a `suite.toml`), sorted.
pub fn list(dir: &Path) -> Result<Vec<String>, SuiteError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SuiteError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("suite.toml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

impl Suite {
    /// The step limit of task `index` (its own `max_steps`, else the protocol's).
    pub fn task_max_steps(&self, index: usize) -> u32 {
        self.file
            .tasks
            .get(index)
            .and_then(|t| t.max_steps)
            .unwrap_or(self.file.protocol.max_steps)
    }

    /// Load suite `name` from `dir` (`<dir>/<name>/suite.toml`), parse every BDDL file and
    /// check the contract.
    pub fn load(dir: &Path, name: &str) -> Result<Self, SuiteError> {
        let sdir = dir.join(name);
        let path = sdir.join("suite.toml");
        if !path.is_file() {
            return Err(SuiteError::UnknownSuite {
                name: name.to_owned(),
                dir: dir.to_owned(),
                known: list(dir).map(|l| l.join(", ")).unwrap_or_default(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| SuiteError::Io {
            path: path.clone(),
            source,
        })?;
        let file: SuiteFile = toml::from_str(&text).map_err(|e| SuiteError::Toml {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if file.name != name {
            return Err(SuiteError::Invalid {
                path,
                reason: format!("name {:?} differs from its folder {name:?}", file.name),
            });
        }
        file.contract.validate(&path)?;
        let hz = file.protocol.control_hz;
        if file.protocol.max_steps == 0 || hz.is_nan() || hz <= 0.0 {
            return Err(SuiteError::Invalid {
                path,
                reason: "protocol.max_steps and protocol.control_hz must be > 0".into(),
            });
        }
        let mut tasks = Vec::with_capacity(file.tasks.len());
        for (index, entry) in file.tasks.iter().enumerate() {
            let bddl_path = sdir.join(&entry.bddl);
            let problem = bddl::parse_file(&bddl_path)?;
            let name = Path::new(&entry.bddl)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            tasks.push(Task {
                index,
                instruction: instruction_from_file_name(&name),
                init_states_path: sdir.join("init_states").join(format!("{name}.json")),
                name,
                problem,
            });
        }
        if tasks.is_empty() {
            return Err(SuiteError::Invalid {
                path,
                reason: "no [[tasks]]".into(),
            });
        }
        Ok(Self {
            dir: sdir,
            file,
            tasks,
        })
    }

    /// The suite's name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// Task by name or 0-based index.
    pub fn task(&self, key: &str) -> Result<&Task, SuiteError> {
        key.parse::<usize>()
            .ok()
            .and_then(|i| self.tasks.get(i))
            .or_else(|| self.tasks.iter().find(|t| t.name == key))
            .ok_or_else(|| SuiteError::UnknownTask {
                suite: self.name().to_owned(),
                task: key.to_owned(),
                count: self.tasks.len(),
            })
    }
}

#[cfg(test)]
mod tests;

//! Committed init states: per task, N scene states (object poses, drawer and knob positions)
//! stored per joint name, generated once by `ddvla tasks init-states` and loaded at every
//! episode reset (LIBERO's `*.pruned_init`, keyed by name instead of by `qpos` index).

use std::path::Path;

use ddvla_sim::Env;
use serde::{Deserialize, Serialize};

use super::SuiteError;

/// One scene state: the position values of each joint in [`InitStates::joints`] order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitState {
    /// Per joint: 7 values for a free joint (`x y z qw qx qy qz`), 1 for a hinge or slide.
    pub qpos: Vec<Vec<f64>>,
}

/// The init states of one task (`init_states/<task>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitStates {
    /// Suite name.
    pub suite: String,
    /// Task name.
    pub task: String,
    /// The generator's seed.
    pub seed: u64,
    /// MuJoCo version they were settled with.
    pub mujoco_version: String,
    /// The command that wrote the file.
    pub generated_by: String,
    /// Joint names (scene joints: objects' free joints, fixtures' joints).
    pub joints: Vec<String>,
    /// The states.
    pub states: Vec<InitState>,
}

/// Round to 1e-7 so the files stay small and diffable; the rounded value is what episodes
/// load, so results do not depend on it.
fn round(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

impl InitStates {
    /// Read and check a file.
    pub fn read(path: &Path) -> Result<Self, SuiteError> {
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Io {
            path: path.to_owned(),
            source,
        })?;
        let s: Self = serde_json::from_str(&text).map_err(|e| SuiteError::InitStates {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        for (i, st) in s.states.iter().enumerate() {
            if st.qpos.len() != s.joints.len() {
                return Err(SuiteError::InitStates {
                    path: path.to_owned(),
                    reason: format!(
                        "state {i} has {} joints, the header names {}",
                        st.qpos.len(),
                        s.joints.len()
                    ),
                });
            }
            if st.qpos.iter().flatten().any(|v| !v.is_finite()) {
                return Err(SuiteError::InitStates {
                    path: path.to_owned(),
                    reason: format!("state {i} has a non-finite value"),
                });
            }
        }
        Ok(s)
    }

    /// Write the file (values rounded to 1e-7).
    pub fn write(&self, path: &Path) -> Result<(), SuiteError> {
        let mut s = self.clone();
        for st in &mut s.states {
            for v in st.qpos.iter_mut().flatten() {
                *v = round(*v);
            }
        }
        let io = |source| SuiteError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string(&s).map_err(|e| SuiteError::InitStates {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        std::fs::write(path, text + "\n").map_err(io)
    }

    /// Read the scene joints of `env` into a state.
    pub fn capture(env: &Env, joints: &[String]) -> ddvla_sim::Result<InitState> {
        let qpos = joints
            .iter()
            .map(|j| env.joint_qpos(j))
            .collect::<ddvla_sim::Result<Vec<_>>>()?;
        Ok(InitState { qpos })
    }

    /// Load state `index` into `env` (after `env.reset`): every joint set, velocities zeroed,
    /// `mj_forward` run. `path` names the file in errors.
    pub fn apply(&self, env: &mut Env, index: usize, path: &Path) -> Result<(), SuiteError> {
        let st = self
            .states
            .get(index)
            .ok_or_else(|| SuiteError::InitStates {
                path: path.to_owned(),
                reason: format!("no state {index} ({} states)", self.states.len()),
            })?;
        for (joint, q) in self.joints.iter().zip(&st.qpos) {
            env.set_joint_qpos(joint, q)
                .map_err(|e| SuiteError::InitStates {
                    path: path.to_owned(),
                    reason: format!("state {index}, joint {joint}: {e}"),
                })?;
        }
        env.forward();
        Ok(())
    }
}

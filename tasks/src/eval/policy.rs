//! What the evaluation protocol drives: anything that turns a step's context into actions.

use ddvla_sim::Env;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::EvalError;
use crate::scene::TaskScene;
use crate::suite::{PolicyFrame, Task};

/// What a policy may look at when asked for actions. Learned policies use `frame` and
/// `instruction` only; scripted experts also read the simulator (`env`, `scene`).
pub struct StepContext<'a> {
    /// The task.
    pub task: &'a Task,
    /// The instruction.
    pub instruction: &'a str,
    /// The observation under the suite's contract.
    pub frame: &'a PolicyFrame,
    /// Policy step index (0 after the wait steps).
    pub step: u32,
    /// The simulator (privileged state, for experts).
    pub env: &'a Env,
    /// The composed scene (catalog facts, for experts).
    pub scene: &'a TaskScene,
}

/// Where a scripted policy steers the end effector at a step: the target pose its actions
/// move toward (the scripted expert's proportional law) and the speed it moves there at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EeGoal {
    /// Target position of the end effector (world frame, m: the frame of the proprio's
    /// position).
    pub position_m: [f64; 3],
    /// Target gripper yaw about world z (rad).
    pub yaw_rad: f64,
    /// Largest translation action it moves there with (action units, at most 1).
    pub speed: f64,
}

/// A policy under evaluation.
pub trait EvalPolicy {
    /// What it is, for results (`expert`, `random`, a checkpoint and its decoding settings).
    fn describe(&self) -> String;

    /// Whether `act` reads camera frames (`false` for scripted experts: nothing is rendered
    /// for them unless an observer records frames).
    fn needs_frames(&self) -> bool {
        true
    }

    /// A new episode starts (seeded: `seed` is the episode's seed).
    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError>;

    /// The next actions (one or a chunk, executed in order before the policy is asked
    /// again), in the suite contract's gripper convention.
    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError>;

    /// The action to execute now, from one that `act` returned, given this step's
    /// observation: a policy whose actions are target positions turns the target into the
    /// delta from the position measured now. Default: the action as it is.
    fn to_execute(
        &mut self,
        action: Vec<f32>,
        _frame: &PolicyFrame,
    ) -> Result<Vec<f32>, EvalError> {
        Ok(action)
    }

    /// The end-effector goal behind the actions the last [`Self::act`] returned, for a
    /// policy that steers toward one (the scripted expert, on arms it drives by target
    /// poses); `None` otherwise.
    fn goal(&self) -> Option<EeGoal> {
        None
    }
}

/// Uniform random actions in [-1, 1] (the chance baseline), seeded per episode.
#[derive(Debug)]
pub struct RandomPolicy {
    rng: ChaCha8Rng,
    dim: usize,
}

impl RandomPolicy {
    /// Random `dim`-D actions.
    pub fn new(dim: usize) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(0),
            dim,
        }
    }
}

impl EvalPolicy for RandomPolicy {
    fn describe(&self) -> String {
        "random".into()
    }

    fn needs_frames(&self) -> bool {
        false
    }

    fn begin_episode(&mut self, _: &Task, _: usize, seed: u64) -> Result<(), EvalError> {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(())
    }

    fn act(&mut self, _: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        Ok(vec![
            (0..self.dim)
                .map(|_| self.rng.random_range(-1.0..=1.0))
                .collect(),
        ])
    }
}

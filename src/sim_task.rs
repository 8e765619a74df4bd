//! A suite task for the simulated robot (`ddvla serve --sim SUITE/TASK`): the task's scene,
//! one of its init states, the suite's camera contract (frames published as the policy
//! sees them during evaluation and in demonstrations) and its goal.

use anyhow::{Context, Result, bail};
use ddvla_sim::{CameraFrame, Env, EnvConfig, Observation};
use ddvla_tasks::predicates::Goal;
use ddvla_tasks::scene::TaskScene;
use ddvla_tasks::suite::{Contract, InitStates, Suite};

/// A loaded task.
#[derive(Debug, Clone)]
pub struct SimTask {
    /// `suite/task`.
    pub name: String,
    /// The instruction.
    pub instruction: String,
    env: EnvConfig,
    init: InitStates,
    init_path: std::path::PathBuf,
    state: usize,
    wait_steps: u32,
    wait_action: Vec<f32>,
    contract: Contract,
    goal: Goal,
}

impl SimTask {
    /// Load `SUITE/TASK` (task by name or index) from the built-in suites, init state `state`.
    pub fn load(spec: &str, state: usize) -> Result<Self> {
        let Some((suite_name, task_key)) = spec.split_once('/') else {
            bail!("--sim {spec:?}: expected SUITE/TASK (see `ddvla tasks list`)");
        };
        let suite = Suite::load(&ddvla_tasks::suite::builtin_dir(), suite_name)?;
        let task = suite.task(task_key)?;
        let scene = TaskScene::compose(&suite, task)?;
        let init = InitStates::read(&task.init_states_path)?;
        if state >= init.states.len() {
            bail!(
                "--sim-state {state}: {spec} has {} init states",
                init.states.len()
            );
        }
        Ok(Self {
            name: format!("{}/{}", suite.name(), task.name),
            instruction: task.instruction.clone(),
            env: scene.env_config(&suite)?,
            init,
            init_path: task.init_states_path.clone(),
            state,
            wait_steps: suite.file.protocol.wait_steps,
            wait_action: suite.file.protocol.wait_action.clone(),
            contract: suite.file.contract.clone(),
            goal: Goal::new(&task.problem)?,
        })
    }

    /// The simulator config rendering `cameras` (default: the contract's).
    pub fn env_config(&self, cameras: &[String]) -> Result<EnvConfig> {
        let mut cfg = self.env.clone();
        if !cameras.is_empty() {
            cfg.cameras = cameras.to_vec();
        }
        Ok(cfg)
    }

    /// After `env.reset`: load the init state, run the protocol's wait steps, observe (see
    /// [`Self::frame`]).
    pub fn start(&self, env: &mut Env) -> Result<(Observation, Vec<f32>)> {
        self.init
            .apply(env, self.state, &self.init_path)
            .with_context(|| format!("loading init state {} of {}", self.state, self.name))?;
        for _ in 0..self.wait_steps {
            env.step_blind(&self.wait_action)?;
        }
        Ok(self.frame(env.observe()?))
    }

    /// The environment's action for a command in the policy's (the suite contract's)
    /// convention: the gripper sign converted as `ddvla eval` does.
    pub fn to_env_action(&self, command: &[f32]) -> Vec<f32> {
        self.contract.to_env_action(command)
    }

    /// The environment action held during the protocol's wait steps (and until the first
    /// command arrives).
    pub fn wait_action(&self) -> &[f32] {
        &self.wait_action
    }

    /// Frames as the policy sees them under the suite contract (the 180° turn applied), and
    /// the contract's proprio vector (EE position, axis-angle, gripper qpos: what
    /// demonstrations and `ddvla eval` give the policy).
    pub fn frame(&self, obs: Observation) -> (Observation, Vec<f32>) {
        let frame = self.contract.frame(&obs);
        let images = Observation {
            images: frame
                .images
                .into_iter()
                .map(|i| CameraFrame {
                    camera: i.camera,
                    width: i.width,
                    height: i.height,
                    rgb: i.rgb,
                })
                .collect(),
            ..obs
        };
        (images, frame.proprio)
    }

    /// Whether the task's goal holds now.
    pub fn success(&self, env: &Env) -> Result<bool> {
        Ok(self.goal.evaluate(env)?.success)
    }
}

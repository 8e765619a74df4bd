//! LIBERO's evaluation protocol on our suites: per task a seeded reset, init state `i` for
//! episode `i`, the wait steps with the wait action, then up to the suite's step limit with
//! the policy's actions (chunks executed in order), success checked right after every
//! physics step — stop at the first success, or score the final step (SimplerEnv-style).
//!
//! Sharding: the (task, episode) list in task-major order is split round-robin
//! ([`Shard`]); every episode's seed depends only on (seed, task, episode), so merged shards
//! equal one run ([`EvalResults::merge`]).

mod error;
mod failure_modes;
mod outcome;
mod policy;
mod results;

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use ddvla_sim::Env;

pub use error::EvalError;
pub use failure_modes::FailureModes;
pub use outcome::{
    Approach, AtomMet, EpisodeOutcome, FailureKind, GRIP_CLOSED_SHARE, HOLD_REACH_M,
    LIFT_THRESHOLD_M, Lift, ObjectAt, OutcomeTracker, grip_of,
};
pub use policy::{EeGoal, EvalPolicy, RandomPolicy, StepContext};
pub use results::{
    EpisodeResult, EpisodeTiming, EvalMeta, EvalResults, RunTiming, Shard, TaskSummary,
};

use crate::predicates::Goal;
use crate::scene::TaskScene;
use crate::suite::{InitStates, PolicyFrame, SuccessRule, Suite, Task};

/// Options of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Episodes per task (with `first_episode`, ≤ the suite's init states).
    pub episodes_per_task: usize,
    /// The first init state: episodes `first_episode..first_episode + episodes_per_task`
    /// (0 in LIBERO's protocol; later states give a second, disjoint set, e.g. to pick a
    /// checkpoint on without touching the states it is reported on).
    pub first_episode: usize,
    /// Task indices to run (`None`: all).
    pub tasks: Option<Vec<usize>>,
    /// This run's shard.
    pub shard: Shard,
    /// Base seed (LIBERO's OpenVLA script uses 7).
    pub seed: u64,
    /// Override the suite's policy step limit (shorter CI runs).
    pub max_steps: Option<u32>,
    /// The ddvla build, recorded in results.
    pub ddvla_commit: String,
    /// Sample fresh init states with this seed instead of loading the committed ones
    /// (demonstrations: the evaluation states stay unseen by training).
    pub init_seed: Option<u64>,
    /// (task index, episode) pairs to leave out: a resumed recording's finished episodes.
    /// Every other episode keeps its seed and init state.
    pub skip: BTreeSet<(usize, usize)>,
}

/// Sees every step of an episode (demo recording, visualisation).
pub trait EpisodeObserver {
    /// An episode starts.
    fn begin(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        let _ = (task, episode, seed);
        Ok(())
    }
    /// Policy step `step`: the frame the policy saw and the action executed on it (policy
    /// convention).
    fn step(&mut self, step: u32, frame: &PolicyFrame, action: &[f32]) -> Result<(), EvalError> {
        let _ = (step, frame, action);
        Ok(())
    }
    /// Whether [`Self::objects`] should be called (it costs a list per step).
    fn wants_objects(&self) -> bool {
        false
    }
    /// Where the movable objects are when step `step`'s frame is rendered (goal objects
    /// first; [`OutcomeTracker::object_positions`]), called just before [`Self::step`] when
    /// [`Self::wants_objects`].
    fn objects(&mut self, step: u32, objects: &[ObjectAt]) -> Result<(), EvalError> {
        let _ = (step, objects);
        Ok(())
    }
    /// The policy's end-effector goal ([`EvalPolicy::goal`]) behind the actions it returned
    /// at step `step`, called just after it answered, before [`Self::step`].
    fn goal(&mut self, step: u32, goal: &EeGoal) -> Result<(), EvalError> {
        let _ = (step, goal);
        Ok(())
    }
    /// Whether `step` needs the camera frames of every step (recording demonstrations);
    /// otherwise frames are rendered only when the policy asks for actions.
    fn wants_frames(&self) -> bool {
        false
    }
    /// The episode ended.
    fn end(&mut self, result: &EpisodeResult) -> Result<(), EvalError> {
        let _ = result;
        Ok(())
    }
}

/// An observer that does nothing.
#[derive(Debug, Default)]
pub struct NoObserver;

impl EpisodeObserver for NoObserver {}

/// Render only when a frame is needed: the rest of the time the frame carries proprio only.
fn frame_of(
    env: &mut Env,
    contract: &crate::suite::Contract,
    render: bool,
) -> Result<PolicyFrame, EvalError> {
    if render {
        return Ok(contract.frame(&env.observe()?));
    }
    let obs = ddvla_sim::Observation {
        images: Vec::new(),
        proprio: env.proprio()?,
        time_s: env.data().time(),
    };
    Ok(contract.frame(&obs))
}

/// The seed of one episode: a function of (base seed, task, episode) only.
pub fn episode_seed(seed: u64, task_index: usize, episode: usize) -> u64 {
    let mut x = seed ^ ((task_index as u64) << 32) ^ episode as u64;
    // splitmix64 finaliser.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The (task index, episode) pairs of this shard, in task-major order.
pub fn plan(suite: &Suite, opts: &EvalOptions) -> Result<Vec<(usize, usize)>, EvalError> {
    let tasks = task_list(suite, opts)?;
    let n = suite.file.protocol.init_states;
    if opts.episodes_per_task == 0 || opts.first_episode + opts.episodes_per_task > n {
        return Err(EvalError::Config {
            reason: format!(
                "--first-episode {} with --episodes-per-task {} must stay within the {n} init \
                 states per task (episodes-per-task in 1..={})",
                opts.first_episode,
                opts.episodes_per_task,
                n.saturating_sub(opts.first_episode)
            ),
        });
    }
    let episodes = opts.first_episode..opts.first_episode + opts.episodes_per_task;
    Ok(tasks
        .iter()
        .flat_map(|&t| episodes.clone().map(move |e| (t, e)))
        .enumerate()
        .filter(|(k, _)| k % opts.shard.count == opts.shard.index)
        .map(|(_, te)| te)
        .filter(|te| !opts.skip.contains(te))
        .collect())
}

fn task_list(suite: &Suite, opts: &EvalOptions) -> Result<Vec<usize>, EvalError> {
    let all: Vec<usize> = (0..suite.tasks.len()).collect();
    let tasks = opts.tasks.clone().unwrap_or(all);
    if let Some(bad) = tasks.iter().find(|&&t| t >= suite.tasks.len()) {
        return Err(EvalError::Config {
            reason: format!(
                "task {bad} not in suite {} (0..{})",
                suite.name(),
                suite.tasks.len()
            ),
        });
    }
    Ok(tasks)
}

/// One task's scene, simulator, goal and init states, reused across its episodes.
pub struct TaskRunner<'s> {
    suite: &'s Suite,
    task: &'s Task,
    /// The composed scene.
    pub scene: TaskScene,
    /// The simulator.
    pub env: Env,
    goal: Goal,
    init: InitStates,
}

impl<'s> TaskRunner<'s> {
    /// Build the task's scene and simulator and read its committed init states (or, with
    /// `init_seed`, sample `count` fresh ones).
    pub fn new(
        suite: &'s Suite,
        task: &'s Task,
        init_seed: Option<u64>,
        count: usize,
    ) -> Result<Self, EvalError> {
        let scene = TaskScene::compose(suite, task)?;
        let env = Env::new(scene.env_config(suite)?)?;
        let goal = Goal::new(&task.problem)?;
        let init = match init_seed {
            Some(seed) => crate::scene::generate_init_states(suite, task, count, seed)?,
            None => InitStates::read(&task.init_states_path)?,
        };
        Ok(Self {
            suite,
            task,
            scene,
            env,
            goal,
            init,
        })
    }

    /// Reset to init state `episode` and run the wait steps (nothing rendered).
    pub fn start(&mut self, episode: usize, seed: u64) -> Result<(), EvalError> {
        let p = &self.suite.file.protocol;
        self.env.reset(seed)?;
        self.init
            .apply(&mut self.env, episode, &self.task.init_states_path)?;
        for _ in 0..p.wait_steps {
            self.env.step_blind(&p.wait_action)?;
        }
        Ok(())
    }

    /// Whether the goal holds now.
    pub fn success(&self) -> Result<bool, EvalError> {
        Ok(self.goal.evaluate(&self.env)?.success)
    }

    /// Run one episode under the suite's protocol.
    pub fn run_episode(
        &mut self,
        episode: usize,
        seed: u64,
        max_steps: u32,
        policy: &mut dyn EvalPolicy,
        observer: &mut dyn EpisodeObserver,
    ) -> Result<EpisodeResult, EvalError> {
        let t0 = Instant::now();
        let (suite, task) = (self.suite, self.task);
        let contract = &suite.file.contract;
        policy.begin_episode(task, episode, seed)?;
        observer.begin(task, episode, seed)?;
        self.start(episode, seed)?;
        let proprio = self.env.proprio()?;
        let mut tracker = OutcomeTracker::start(
            &task.problem,
            &self.env,
            proprio.ee_pos,
            grip_of(&proprio.gripper_qpos),
        )?;
        let mut last_status = None;
        let (mut policy_s, mut success, mut steps, mut calls) = (0.0, false, 0, 0);
        let mut queue: VecDeque<Vec<f32>> = VecDeque::new();
        let every_frame = observer.wants_frames();
        let wants_objects = observer.wants_objects();
        while steps < max_steps {
            let render = every_frame || (queue.is_empty() && policy.needs_frames());
            let frame = frame_of(&mut self.env, contract, render)?;
            if queue.is_empty() {
                let ctx = StepContext {
                    task,
                    instruction: &task.instruction,
                    frame: &frame,
                    step: steps,
                    env: &self.env,
                    scene: &self.scene,
                };
                let tp = Instant::now();
                queue.extend(policy.act(&ctx)?);
                policy_s += tp.elapsed().as_secs_f64();
                calls += 1;
                if let Some(goal) = policy.goal() {
                    observer.goal(steps, &goal)?;
                }
                if queue.is_empty() {
                    return Err(EvalError::Policy {
                        policy: policy.describe(),
                        reason: format!("returned no action at step {steps}"),
                    });
                }
            }
            let action = policy.to_execute(queue.pop_front().unwrap_or_default(), &frame)?;
            if wants_objects {
                observer.objects(steps, &tracker.object_positions())?;
            }
            observer.step(steps, &frame, &action)?;
            self.env.step_blind(&contract.to_env_action(&action))?;
            steps += 1;
            let proprio = self.env.proprio()?;
            tracker.observe(&self.env, proprio.ee_pos, grip_of(&proprio.gripper_qpos))?;
            let status = self.goal.evaluate(&self.env)?;
            tracker.observe_goal(&status, steps);
            success = status.success;
            last_status = Some(status);
            if success && suite.file.protocol.success == SuccessRule::FirstSuccess {
                break;
            }
        }
        let last_status = match last_status {
            Some(s) => s,
            None => self.goal.evaluate(&self.env)?,
        };
        let wall_s = t0.elapsed().as_secs_f64();
        let result = EpisodeResult {
            task_index: task.index,
            task: task.name.clone(),
            episode,
            seed,
            success,
            steps,
            timing: EpisodeTiming {
                wall_s,
                policy_s,
                policy_calls: calls,
                sim_s: wall_s - policy_s,
            },
            outcome: Some(tracker.finish(&last_status)),
        };
        observer.end(&result)?;
        Ok(result)
    }
}

/// Run this shard of the evaluation; `on_episode` sees every result as it lands (progress).
pub fn run(
    suite: &Suite,
    opts: &EvalOptions,
    policy: &mut dyn EvalPolicy,
    observer: &mut dyn EpisodeObserver,
    on_episode: &mut dyn FnMut(&EpisodeResult),
) -> Result<EvalResults, EvalError> {
    let plan = plan(suite, opts)?;
    let max_steps = opts.max_steps.unwrap_or(suite.file.protocol.max_steps);
    let mut episodes = Vec::with_capacity(plan.len());
    let mut runner: Option<TaskRunner<'_>> = None;
    for (t, e) in plan {
        if runner.as_ref().is_none_or(|r| r.task.index != t) {
            runner = Some(TaskRunner::new(
                suite,
                &suite.tasks[t],
                opts.init_seed,
                opts.first_episode + opts.episodes_per_task,
            )?);
        }
        if let Some(r) = runner.as_mut() {
            let result = r.run_episode(
                e,
                episode_seed(opts.seed, t, e),
                opts.max_steps.unwrap_or_else(|| suite.task_max_steps(t)),
                policy,
                observer,
            )?;
            on_episode(&result);
            episodes.push(result);
        }
    }
    let meta = EvalMeta {
        suite: suite.name().to_owned(),
        policy: policy.describe(),
        episodes_per_task: opts.episodes_per_task,
        first_episode: opts.first_episode,
        tasks: task_list(suite, opts)?,
        seed: opts.seed,
        max_steps,
        task_max_steps: task_list(suite, opts)?
            .into_iter()
            .map(|t| (t, opts.max_steps.unwrap_or_else(|| suite.task_max_steps(t))))
            .filter(|&(_, m)| m != max_steps)
            .collect(),
        success_rule: suite.file.protocol.success,
        image_size: suite.file.contract.image_size,
        ddvla_commit: opts.ddvla_commit.clone(),
        mujoco_version: ddvla_sim::mujoco_version(),
    };
    Ok(EvalResults::new(meta, vec![opts.shard], episodes))
}

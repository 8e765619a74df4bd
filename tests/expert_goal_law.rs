//! The scripted expert's goals (`/ddvla/expert_goal`, the labels of `labels = "expert_goal"`
//! position-target training) executed the way `ddvla eval` executes a position-target
//! model's actions: `(goal − p) / 0.02`, scaled so the largest value is 1, from the position
//! measured at each step, at full speed and without the expert's limit on how fast an action
//! may change. If the labels were decoded exactly, this is what the policy would do: the
//! ceiling of the action representation, measured apart from the model.
//!
//! - CI: a long-suite task executed this way still succeeds.
//! - Full: `cargo test --release --test expert_goal_law -- --ignored --nocapture` runs every
//!   LIBERO-style suite's tasks × 10 episodes and prints the success table.
//!
//! Needs `scripts/setup.sh` (MuJoCo and the Panda assets).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_policy::position_target::{PositionLabels, PositionTarget};
use ddvla_tasks::eval::{
    EeGoal, EvalError, EvalPolicy, NoObserver, StepContext, TaskRunner, episode_seed,
};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::{PolicyFrame, Suite, Task, builtin_dir};

/// The expert choosing, the position-target law executing its goal.
struct GoalLaw {
    expert: ScriptedExpert,
    target: PositionTarget,
}

impl GoalLaw {
    fn new() -> Self {
        Self {
            expert: ScriptedExpert::new(),
            target: PositionTarget {
                proprio_at: 0,
                metres_per_unit: 0.02,
                labels: PositionLabels::ExpertGoal,
            },
        }
    }
}

impl EvalPolicy for GoalLaw {
    fn describe(&self) -> String {
        "expert goals through the position-target law".into()
    }
    fn needs_frames(&self) -> bool {
        false
    }
    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        self.expert.begin_episode(task, episode, seed)
    }
    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        let mut actions = self.expert.act(ctx)?;
        let goal: EeGoal = self.expert.goal().unwrap();
        for a in &mut actions {
            for (v, g) in a.iter_mut().zip(goal.position_m) {
                *v = g as f32;
            }
        }
        Ok(actions)
    }
    fn to_execute(
        &mut self,
        mut action: Vec<f32>,
        frame: &PolicyFrame,
    ) -> Result<Vec<f32>, EvalError> {
        let bad = |e: ddvla_policy::PolicyError| EvalError::Policy {
            policy: self.describe(),
            reason: e.to_string(),
        };
        self.target
            .delta_at(&mut action, &frame.proprio)
            .map_err(bad)?;
        Ok(action)
    }
}

/// Successes of `episodes` episodes of task `task` of `suite` under the goal law.
fn successes(suite: &Suite, task: usize, episodes: std::ops::Range<usize>) -> usize {
    let mut runner = TaskRunner::new(suite, &suite.tasks[task], None, 0).unwrap();
    let mut policy = GoalLaw::new();
    episodes
        .filter(|&e| {
            runner
                .run_episode(
                    e,
                    episode_seed(7, task, e),
                    suite.file.protocol.max_steps,
                    &mut policy,
                    &mut NoObserver,
                )
                .unwrap()
                .success
        })
        .count()
}

#[test]
fn a_long_task_succeeds_with_the_goals_executed_by_the_law() {
    let suite = Suite::load(&builtin_dir(), "libero_style_long").unwrap();
    assert_eq!(successes(&suite, 0, 0..2), 2);
}

#[test]
#[ignore = "every suite's tasks × 10 episodes: minutes in release"]
fn goal_law_table() {
    for name in [
        "libero_style_spatial",
        "libero_style_object",
        "libero_style_goal",
        "libero_style_long",
    ] {
        let suite = Suite::load(&builtin_dir(), name).unwrap();
        let per_task: Vec<usize> = (0..suite.tasks.len())
            .map(|t| successes(&suite, t, 0..10))
            .collect();
        let total: usize = per_task.iter().sum();
        println!(
            "{name}: {per_task:?} of 10, {total} of {}",
            10 * per_task.len()
        );
    }
}

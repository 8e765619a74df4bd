//! Shared by the expert tests: the scripted expert on chosen episodes of one task.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_tasks::eval::{EpisodeObserver, TaskRunner, episode_seed};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::{Suite, builtin_dir};

/// Runs the scripted expert on `suite`'s task `name` for each of `episodes` (init state and
/// seed of that episode, the suite's step limit), asserts each is solved, and returns each
/// episode's observer in the same order.
pub fn solved_expert_episodes<O: EpisodeObserver + Default>(
    suite: &str,
    name: &str,
    episodes: &[usize],
) -> Vec<O> {
    let suite = Suite::load(&builtin_dir(), suite).unwrap();
    let task = suite.tasks.iter().position(|t| t.name == name).unwrap();
    let mut runner = TaskRunner::new(&suite, &suite.tasks[task], None, 0).unwrap();
    let mut expert = ScriptedExpert::new();
    episodes
        .iter()
        .map(|&e| {
            let mut observer = O::default();
            let r = runner
                .run_episode(
                    e,
                    episode_seed(7, task, e),
                    suite.file.protocol.max_steps,
                    &mut expert,
                    &mut observer,
                )
                .unwrap();
            assert!(r.success, "{name} episode {e}: {r:?}");
            observer
        })
        .collect()
}

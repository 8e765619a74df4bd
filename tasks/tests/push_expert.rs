//! The plate push's expert does not press down: at the push height its actions ask for no
//! more than a light downward push. Aimed below the reachable pinch height, its descent ended
//! stalled on the table asking for z −0.41, and a policy trained on it pressed there for the
//! whole episode (docs/results-preamble.md). Needs `scripts/setup.sh`.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use ddvla_tasks::eval::{EpisodeObserver, EvalError, TaskRunner, episode_seed};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::{PolicyFrame, Suite, builtin_dir};

/// Each step's end-effector height (m) and z action.
#[derive(Default)]
struct Heights(Vec<(f32, f32)>);

impl EpisodeObserver for Heights {
    fn step(&mut self, _: u32, frame: &PolicyFrame, action: &[f32]) -> Result<(), EvalError> {
        self.0.push((frame.proprio[2], action[2]));
        Ok(())
    }
}

#[test]
fn the_plate_push_does_not_press_down_at_the_bottom() {
    let suite = Suite::load(&builtin_dir(), "libero_style_goal").unwrap();
    let name = "push_the_plate_to_the_front_of_the_stove";
    let task = suite.tasks.iter().position(|t| t.name == name).unwrap();
    let mut runner = TaskRunner::new(&suite, &suite.tasks[task], None, 0).unwrap();
    let mut expert = ScriptedExpert::new();
    for e in [0, 1] {
        let mut heights = Heights::default();
        let r = runner
            .run_episode(
                e,
                episode_seed(7, task, e),
                suite.file.protocol.max_steps,
                &mut expert,
                &mut heights,
            )
            .unwrap();
        assert!(r.success, "episode {e}: {r:?}");
        let bottom_m = heights.0.iter().map(|h| h.0).fold(f32::INFINITY, f32::min);
        let hardest = heights
            .0
            .iter()
            .filter(|(z, _)| *z <= bottom_m + 0.003)
            .map(|h| h.1)
            .fold(f32::INFINITY, f32::min);
        assert!(
            hardest > -0.2,
            "episode {e}: z action {hardest} within 3 mm of the lowest height {bottom_m} m"
        );
    }
}

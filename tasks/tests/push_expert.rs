//! The plate push's expert does not press down: at the push height its actions ask for no
//! more than a light downward push. Aimed below the reachable pinch height, its descent ended
//! stalled on the table asking for z −0.41, and a policy trained on it pressed there for the
//! whole episode (docs/results-preamble.md). Needs `scripts/setup.sh`.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

mod common;

use common::solved_expert_episodes;
use ddvla_tasks::eval::{EpisodeObserver, EvalError};
use ddvla_tasks::suite::PolicyFrame;

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
    let episodes = [0, 1];
    let runs: Vec<Heights> = solved_expert_episodes(
        "libero_style_goal",
        "push_the_plate_to_the_front_of_the_stove",
        &episodes,
    );
    for (e, heights) in episodes.iter().zip(runs) {
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

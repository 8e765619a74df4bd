//! The scripted expert's goals (`EvalPolicy::goal`): each step it reports the target pose
//! its action moves toward, in the proprio position's frame, which `ddvla demos record`
//! writes on `/ddvla/expert_goal` for position-target training.
//!
//! Needs `scripts/setup.sh` (MuJoCo and the Panda assets).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_tasks::eval::{EeGoal, EpisodeObserver, EvalError, TaskRunner, episode_seed};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::{PolicyFrame, Suite, builtin_dir};

/// Each step's proprio position, expert goal and executed action.
#[derive(Default)]
struct Goals(Vec<[f32; 3]>, Vec<EeGoal>, Vec<Vec<f32>>);

impl EpisodeObserver for Goals {
    fn goal(&mut self, step: u32, goal: &EeGoal) -> Result<(), EvalError> {
        assert_eq!(
            step as usize,
            self.1.len(),
            "one goal per step, before the step"
        );
        self.1.push(*goal);
        Ok(())
    }
    fn step(&mut self, _: u32, frame: &PolicyFrame, action: &[f32]) -> Result<(), EvalError> {
        self.0
            .push([frame.proprio[0], frame.proprio[1], frame.proprio[2]]);
        self.2.push(action.to_vec());
        Ok(())
    }
}

#[test]
fn the_expert_reports_the_goal_its_actions_move_toward() {
    let suite = Suite::load(&builtin_dir(), "libero_style_spatial").unwrap();
    let mut runner = TaskRunner::new(&suite, &suite.tasks[0], None, 0).unwrap();
    let mut expert = ScriptedExpert::new();
    let mut seen = Goals::default();
    let r = runner
        .run_episode(0, episode_seed(7, 0, 0), 150, &mut expert, &mut seen)
        .unwrap();
    let Goals(positions, goals, actions) = seen;
    assert_eq!(goals.len(), r.steps as usize);
    // The goal is in the proprio position's frame: the action points toward it wherever it
    // is more than 1 cm away (a few steps lag where the goal jumps: the driver limits how
    // fast an action may change), and it is proportional to the distance, at the expert's
    // 50 units per metre, where the law is neither saturated nor rate-limited.
    let (mut far, mut toward, mut proportional) = (0, 0, 0);
    for ((p, g), a) in positions.iter().zip(&goals).zip(&actions) {
        let d: Vec<f32> = (0..3).map(|i| g.position_m[i] as f32 - p[i]).collect();
        let dist = d.iter().map(|v| v * v).sum::<f32>().sqrt();
        let dot: f32 = (0..3).map(|i| d[i] * a[i]).sum();
        if dist > 0.01 {
            far += 1;
            toward += usize::from(dot > 0.0);
        } else if (0..3).all(|i| (a[i] - 50.0 * d[i]).abs() < 0.02) {
            proportional += 1;
        }
        assert!(g.speed > 0.0 && g.speed <= 1.0, "{g:?}");
    }
    assert!(far > 20 && toward * 10 >= far * 9, "{toward} of {far}");
    assert!(proportional > 10, "{proportional} proportional steps");
}

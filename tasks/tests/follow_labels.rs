//! The DAgger labeller (`ScriptedExpert::labeller`) on articulated parts and pushes follows
//! the state another policy brought about, instead of running its own skill sequence as if
//! its own actions had been executed. Here the plain expert drives; the labeller is asked at
//! the first step (so it plans every skill) and then only once the driver has got somewhere
//! by itself — as when a policy, not the expert, did the work in between.
//!
//! Needs `scripts/setup.sh` (MuJoCo and the Panda assets).
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use ddvla_tasks::eval::{EvalError, EvalPolicy, NoObserver, StepContext, TaskRunner, episode_seed};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::{Suite, Task, builtin_dir};

/// The plain expert drives; `labeller` is asked at step 0 and then every step from the
/// first one at which `join` holds for the driver's status.
struct JoiningLabeller {
    driver: ScriptedExpert,
    labeller: ScriptedExpert,
    join: fn(&str) -> bool,
    step: usize,
    joined: bool,
    /// Each labelled step after joining: (the driver's status, the labeller's status, the
    /// translation gap |label − action| summed over x, y, z).
    labelled: Vec<(String, String, f32)>,
}

impl EvalPolicy for JoiningLabeller {
    fn describe(&self) -> String {
        "expert, labelled from a later step".into()
    }
    fn needs_frames(&self) -> bool {
        false
    }
    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        self.step = 0;
        self.joined = false;
        self.labeller.begin_episode(task, episode, seed)?;
        self.driver.begin_episode(task, episode, seed)
    }
    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        let a = self.driver.act(ctx)?;
        let status = self.driver.status();
        if self.step == 0 {
            self.labeller.act(ctx)?;
        }
        self.step += 1;
        self.joined |= (self.join)(&status);
        if self.joined {
            let l = self.labeller.act(ctx)?;
            let gap = (0..3).map(|i| (l[0][i] - a[0][i]).abs()).sum::<f32>();
            self.labelled.push((status, self.labeller.status(), gap));
        }
        Ok(a)
    }
}

/// Runs episodes 0 and 1 of `task` with the plain expert driving and `labeller` joining when
/// `join` holds; asserts both solved; returns the labelled steps.
fn joined_labels(
    suite: &str,
    task: &str,
    join: fn(&str) -> bool,
    labeller: ScriptedExpert,
) -> Vec<(String, String, f32)> {
    let suite = Suite::load(&builtin_dir(), suite).unwrap();
    let index = suite.tasks.iter().position(|t| t.name == task).unwrap();
    let mut runner = TaskRunner::new(&suite, &suite.tasks[index], None, 0).unwrap();
    let mut policy = JoiningLabeller {
        driver: ScriptedExpert::new(),
        labeller,
        join,
        step: 0,
        joined: false,
        labelled: vec![],
    };
    for e in 0..2 {
        let seed = episode_seed(7, index, e);
        let max_steps = suite.file.protocol.max_steps;
        let r = runner
            .run_episode(e, seed, max_steps, &mut policy, &mut NoObserver)
            .unwrap();
        assert!(r.success, "{task} episode {e}: {r:?}");
    }
    assert!(
        policy.labelled.len() > 20,
        "{} labelled",
        policy.labelled.len()
    );
    policy.labelled
}

/// With the driver past its first skill (`first`: a knob or drawer) and on to a
/// pick-and-place, the plain expert (still at that skill's approach from step 0) goes back to
/// it for its whole sequence; the labeller sees the part at its goal and goes on.
fn assert_not_back_to(suite: &str, task: &str, first: &str) {
    let after_first = |s: &str| s.starts_with("pick_place");
    let first_steps =
        |labels: &[(String, String, f32)]| labels.iter().filter(|l| l.1.starts_with(first)).count();
    let follow = joined_labels(suite, task, after_first, ScriptedExpert::labeller());
    let plain = joined_labels(suite, task, after_first, ScriptedExpert::new());
    assert!(
        first_steps(&plain) > 20,
        "plain: {} {first} steps",
        first_steps(&plain)
    );
    assert_eq!(first_steps(&follow), 0, "labeller: {first} steps");
}

#[test]
fn a_labeller_does_not_go_back_to_a_knob_the_policy_turned() {
    assert_not_back_to(
        "libero_style_long",
        "turn_on_the_stove_and_put_the_moka_pot_on_it",
        "knob",
    );
}

#[test]
fn a_labeller_does_not_go_back_to_a_drawer_the_policy_closed() {
    assert_not_back_to(
        "libero_style_long",
        "close_the_top_drawer_of_the_cabinet_and_put_the_black_bowl_on_top_of_it",
        "drawer",
    );
}

#[test]
fn a_labeller_joining_mid_push_pushes_on() {
    const TASK: &str = "push_the_plate_to_the_front_of_the_stove";
    let pushing = |s: &str| s.ends_with("Work");
    let follow = joined_labels(
        "libero_style_goal",
        TASK,
        pushing,
        ScriptedExpert::labeller(),
    );
    let plain = joined_labels("libero_style_goal", TASK, pushing, ScriptedExpert::new());
    // While the driver pushes: the share of steps labelled as pushing and the mean gap.
    let while_pushing = |labels: &[(String, String, f32)]| {
        let during: Vec<_> = labels.iter().filter(|l| l.0.ends_with("Work")).collect();
        let n = during.len() as f32;
        let work = during.iter().filter(|l| l.1.ends_with("Work")).count() as f32 / n;
        let gap = during.iter().map(|l| l.2).sum::<f32>() / n;
        (work, gap)
    };
    let (work, gap) = while_pushing(&follow);
    let (plain_work, plain_gap) = while_pushing(&plain);
    println!("labeller: pushing {work:.2}, gap {gap:.3}; plain: {plain_work:.2}, {plain_gap:.3}");
    // The plain expert at step 0 was approaching: it labels the push "go up to the point
    // above the plate's back"; the labeller sees the gripper against the plate and pushes.
    assert!(
        plain_work < 0.5,
        "plain expert pushed on {plain_work:.2} of the steps"
    );
    assert!(work > 0.9, "labeller pushed on {work:.2} of the steps");
    assert!(
        gap < 0.5 * plain_gap,
        "labeller gap {gap:.3} vs {plain_gap:.3}"
    );
}

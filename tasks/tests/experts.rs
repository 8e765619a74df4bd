//! The scripted expert on the four LIBERO-style suites, under the evaluation protocol (init
//! state `i` for episode `i`, wait steps, the suite's step limit, first success).
//!
//! - CI subset: 2–3 tasks of each suite × 2 episodes succeed; a seeded episode is
//!   deterministic (the same actions twice).
//! - Full: `cargo test --release -p ddvla-tasks --test experts -- --ignored --nocapture`
//!   runs every task × 20 episodes and asserts ≥ 95 % per task, printing the table.
//!
//! Needs `scripts/setup.sh` (MuJoCo and the Panda assets). Nothing is rendered (the expert
//! does not read camera frames).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use common::solved_expert_episodes;
use ddvla_tasks::eval::{
    EpisodeObserver, EpisodeResult, EvalError, EvalPolicy, FailureKind, NoObserver, StepContext,
    TaskRunner, episode_seed,
};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::{PolicyFrame, Suite, Task, builtin_dir};

const SUITES: [&str; 4] = [
    "libero_style_spatial",
    "libero_style_object",
    "libero_style_goal",
    "libero_style_long",
];

/// Runs `episodes` of task `task` with the expert; returns each one's result.
fn run_task(
    suite: &Suite,
    task: usize,
    episodes: std::ops::Range<usize>,
    policy: &mut dyn EvalPolicy,
) -> Vec<EpisodeResult> {
    let t = &suite.tasks[task];
    let mut runner = TaskRunner::new(suite, t, None, 0).unwrap();
    let max_steps = suite.file.protocol.max_steps;
    episodes
        .map(|e| {
            runner
                .run_episode(
                    e,
                    episode_seed(7, task, e),
                    max_steps,
                    policy,
                    &mut NoObserver,
                )
                .unwrap()
        })
        .collect()
}

/// Records every executed action.
#[derive(Default)]
struct Actions(Vec<Vec<f32>>);

impl EpisodeObserver for Actions {
    fn step(&mut self, _: u32, _: &PolicyFrame, action: &[f32]) -> Result<(), EvalError> {
        self.0.push(action.to_vec());
        Ok(())
    }
}

/// The expert, printing what it does each step (for `trace`).
struct Tracing(ScriptedExpert);

impl EvalPolicy for Tracing {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn needs_frames(&self) -> bool {
        false
    }
    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        self.0.begin_episode(task, episode, seed)
    }
    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        let a = self.0.act(ctx)?;
        let p = &ctx.frame.proprio;
        let q: Vec<String> = (1..=7)
            .map(|i| {
                format!(
                    "{:.2}",
                    ctx.env.joint_qpos(&format!("joint{i}")).unwrap()[0]
                )
            })
            .collect();
        println!(
            "{:3} q [{}] ee [{:.3} {:.3} {:.3}] g {:.2} a [{}] {}",
            ctx.step,
            q.join(" "),
            p[0],
            p[1],
            p[2],
            p[6],
            a[0].iter()
                .map(|v| format!("{v:5.2}"))
                .collect::<Vec<_>>()
                .join(" "),
            self.0.status()
        );
        if let Some(a) = ctx.task.problem.goal.first()
            && let Ok(o) = ctx.env.body_pos(&format!("{}_main", a.args[0]))
        {
            let name = &a.args[0];
            let q = ctx
                .env
                .joint_qpos(&format!("{name}_joint0"))
                .unwrap_or_default();
            println!("    {name} [{:.3} {:.3} {:.3}] q {q:.2?}", o[0], o[1], o[2]);
        }
        let model = ctx.env.model();
        let body = |g: i32| {
            let b = model.geom_bodyid()[g as usize] as usize;
            model
                .id_to_name(mujoco_rs::prelude::MjtObjBase::mjOBJ_BODY, b)
                .unwrap_or("?")
                .to_owned()
        };
        for c in ctx.env.data().contact() {
            let (a, b) = (body(c.geom[0]), body(c.geom[1]));
            if a != "table" && b != "table" || a.contains("pad") || b.contains("pad") {
                print!("    [{a}-{b}]");
            }
        }
        println!();
        Ok(a)
    }
}

#[test]
fn expert_solves_a_subset_of_every_suite() {
    let picks: [(&str, &[usize]); 4] = [
        ("libero_style_spatial", &[0, 4]),
        ("libero_style_object", &[2, 6]),
        ("libero_style_goal", &[0, 5, 7]),
        ("libero_style_long", &[2, 3]),
    ];
    let mut failures = vec![];
    let mut expert = ScriptedExpert::new();
    for (name, tasks) in picks {
        let suite = Suite::load(&builtin_dir(), name).unwrap();
        for &t in tasks {
            for (e, r) in run_task(&suite, t, 0..2, &mut expert).iter().enumerate() {
                if !r.success {
                    failures.push(format!(
                        "{name}/{} episode {e} ({} steps)",
                        suite.tasks[t].name, r.steps
                    ));
                }
                // A solved episode leaves nothing unmet, and a pick-and-place lifted its
                // object on the way.
                let o = r.outcome.as_ref().unwrap();
                assert!(o.unmet.is_empty() || !r.success, "{o:?}");
                if name == "libero_style_object" && r.success {
                    assert_eq!(o.goal_objects.len(), 1, "{o:?}");
                    assert_eq!(o.failure_kind(), FailureKind::GoalObjectLifted, "{o:?}");
                    assert!(o.closest[0].distance_m < 0.1, "{o:?}");
                }
                // The expert's pick-and-place lifts with the object between part-closed
                // fingers (fully closed on nothing is ~0.8), the pinch near the object.
                if matches!(name, "libero_style_spatial" | "libero_style_object") && r.success {
                    let grip = o.goal_lift_grip().unwrap();
                    assert!(grip > 0.05 && grip < 0.7, "grip {grip}: {o:?}");
                    let lift = o.lifted.iter().find(|l| o.goal_objects.contains(&l.object));
                    let offset = lift.and_then(|l| l.ee_offset_at_lift_m).unwrap();
                    let d = offset.iter().map(|x| x * x).sum::<f64>().sqrt();
                    assert!(d < 0.15, "{offset:?}");
                }
            }
        }
    }
    assert!(failures.is_empty(), "failed:\n{}", failures.join("\n"));
}

/// The longest run of consecutive steps in which the end effector (proprio x, y, z) moved
/// less than 0.5 mm and the gripper command stayed the same: a pose held still, which a
/// policy sees as one unchanging observation.
#[derive(Default)]
struct Stillness {
    last: Option<([f32; 3], f32)>,
    run: usize,
    longest: usize,
}

impl EpisodeObserver for Stillness {
    fn step(&mut self, _: u32, frame: &PolicyFrame, action: &[f32]) -> Result<(), EvalError> {
        let pos = [frame.proprio[0], frame.proprio[1], frame.proprio[2]];
        let grip = action[6];
        if let Some((last, last_grip)) = self.last {
            let moved_m = pos
                .iter()
                .zip(last)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                .sqrt();
            #[allow(clippy::float_cmp)] // the gripper command is exactly -1 or 1
            let same_grip = grip == last_grip;
            self.run = if moved_m < 5e-4 && same_grip {
                self.run + 1
            } else {
                0
            };
            self.longest = self.longest.max(self.run);
        }
        self.last = Some((pos, grip));
        Ok(())
    }
}

/// Runs episodes `episodes` of `suite`'s task `name` with the expert: each solved, and none
/// holding the end effector still for more than `max_still` steps.
fn assert_solved_without_still_poses(
    suite: &str,
    name: &str,
    episodes: &[usize],
    max_still: usize,
) {
    let runs: Vec<Stillness> = solved_expert_episodes(suite, name, episodes);
    for (e, still) in episodes.iter().zip(runs) {
        assert!(
            still.longest <= max_still,
            "{name} episode {e}: held still for {} steps",
            still.longest
        );
    }
}

#[test]
fn the_plate_push_holds_no_pose_still() {
    // Its descent ended on a timer when the fingers met the table above the pinch height:
    // ~25 still steps labelled "press down" before the push, in every demonstration, and a
    // policy trained on them stopped there. Now it ends when the end effector stalls.
    assert_solved_without_still_poses(
        "libero_style_goal",
        "push_the_plate_to_the_front_of_the_stove",
        &[0, 1, 2],
        4,
    );
}

#[test]
fn a_carry_stuck_short_of_its_goal_lowers_without_waiting() {
    // Carrying the cream cheese box to the basket, episodes 1 and 5 stopped short of the
    // carry goal and held still for 57 and 59 steps until the carry timer ran out. Now the
    // carry ends after 3 still steps; the lowering from there waits its own 8 before it
    // counts as stalled (and lets go once the object is steady).
    assert_solved_without_still_poses(
        "libero_style_long",
        "put_both_the_alphabet_soup_and_the_cream_cheese_box_in_the_basket",
        &[1, 5],
        12,
    );
}

#[test]
fn a_seeded_episode_is_deterministic() {
    let suite = Suite::load(&builtin_dir(), "libero_style_goal").unwrap();
    let task = &suite.tasks[8];
    let mut runner = TaskRunner::new(&suite, task, None, 0).unwrap();
    let mut runs = vec![];
    for _ in 0..2 {
        let mut expert = ScriptedExpert::new();
        let mut actions = Actions::default();
        let r = runner
            .run_episode(3, episode_seed(7, 8, 3), 120, &mut expert, &mut actions)
            .unwrap();
        assert!(r.steps > 0);
        runs.push(actions.0);
    }
    assert_eq!(runs[0], runs[1]);
    // Smooth: no action component jumps by more than the driver's limit between steps.
    for w in runs[0].windows(2) {
        for i in 0..6 {
            assert!((w[1][i] - w[0][i]).abs() <= 0.25 + 1e-6, "{w:?}");
            assert!(w[1][i].abs() <= 1.0);
        }
    }
}

/// The expert drives; a second expert starts labelling once the first is carrying the object
/// (the state a policy that grasped by itself reaches) and its labels are compared with what
/// the driver does from then on.
struct LateLabeller {
    driver: ScriptedExpert,
    labeller: ScriptedExpert,
    joined: bool,
    /// (gripper sign agrees, |label − action| over x, y, z) for each labelled step.
    compared: Vec<(bool, f32)>,
}

impl EvalPolicy for LateLabeller {
    fn describe(&self) -> String {
        "expert, labelled late".into()
    }
    fn needs_frames(&self) -> bool {
        false
    }
    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        self.joined = false;
        self.labeller.begin_episode(task, episode, seed)?;
        self.driver.begin_episode(task, episode, seed)
    }
    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        let a = self.driver.act(ctx)?;
        self.joined |= self.driver.status().ends_with("Carry");
        if self.joined {
            let l = self.labeller.act(ctx)?;
            let gap = (0..3).map(|i| (l[0][i] - a[0][i]).abs()).sum::<f32>();
            self.compared
                .push(((l[0][6] > 0.0) == (a[0][6] > 0.0), gap));
        }
        Ok(a)
    }
}

/// Share of labelled steps whose gripper sign agrees with the driver's, and the mean
/// translation gap, for a labeller that joins when the driver carries.
fn late_labelling(labeller: ScriptedExpert) -> (f64, f64) {
    let suite = Suite::load(&builtin_dir(), "libero_style_spatial").unwrap();
    let mut policy = LateLabeller {
        driver: ScriptedExpert::new(),
        labeller,
        joined: false,
        compared: vec![],
    };
    for r in run_task(&suite, 0, 0..2, &mut policy) {
        assert!(r.success, "the driving expert solves the task");
    }
    let n = policy.compared.len() as f64;
    assert!(n > 20.0, "the labeller joined for {n} steps");
    let agree = policy.compared.iter().filter(|(g, _)| *g).count() as f64 / n;
    let gap = policy
        .compared
        .iter()
        .map(|(_, d)| f64::from(*d))
        .sum::<f64>()
        / n;
    (agree, gap)
}

#[test]
fn a_labeller_joining_mid_carry_follows_the_state() {
    let (agree, gap) = late_labelling(ScriptedExpert::labeller());
    let (plain_agree, plain_gap) = late_labelling(ScriptedExpert::new());
    println!("labeller: gripper {agree:.2}, gap {gap:.3}; plain: {plain_agree:.2}, {plain_gap:.3}");
    // The plain expert plans from its first step as if it were in control: it approaches an
    // object that is already in the hand and labels the carry "open".
    assert!(plain_agree < 0.6, "plain expert agreed {plain_agree:.2}");
    assert!(agree > 0.9, "labeller agreed {agree:.2} on the gripper");
    assert!(
        gap < 0.5 * plain_gap,
        "labeller gap {gap:.3} vs {plain_gap:.3}"
    );
}

/// One task traced step by step: edit the constants while debugging.
#[test]
#[ignore = "a debugging aid: prints every step of one episode"]
fn trace() {
    const SUITE: &str = "libero_style_goal";
    const TASK: usize = 0;
    const EPISODE: usize = 0;
    let suite = Suite::load(&builtin_dir(), SUITE).unwrap();
    let mut expert = Tracing(ScriptedExpert::new());
    let r = run_task(&suite, TASK, EPISODE..EPISODE + 1, &mut expert);
    println!("{r:?}");
}

/// Every task × `episodes`: prints the per-task table, returns the tasks below 95 %.
fn sweep(suites: &[&str], episodes: usize) -> Vec<String> {
    let mut expert = ScriptedExpert::new();
    let mut low = vec![];
    for name in suites {
        let suite = Suite::load(&builtin_dir(), name).unwrap();
        println!("{name}");
        for t in 0..suite.tasks.len() {
            let r = run_task(&suite, t, 0..episodes, &mut expert);
            let ok = r.iter().filter(|e| e.success).count();
            let mean_steps = r.iter().map(|e| f64::from(e.steps)).sum::<f64>() / r.len() as f64;
            let failed: Vec<usize> = (0..r.len()).filter(|&i| !r[i].success).collect();
            println!(
                "  {t} {:>5.1}% ({ok}/{episodes}) mean {mean_steps:5.1} steps  {}  failed {failed:?}",
                100.0 * ok as f64 / episodes as f64,
                suite.tasks[t].name
            );
            if (ok as f64) < 0.95 * episodes as f64 {
                low.push(format!("{name}/{}: {ok}/{episodes}", suite.tasks[t].name));
            }
        }
    }
    low
}

#[test]
#[ignore = "every task × 20 episodes; run with --release"]
fn expert_reaches_95_percent_on_every_task() {
    let low = sweep(&SUITES, 20);
    assert!(low.is_empty(), "below 95 %:\n{}", low.join("\n"));
}

#[test]
#[ignore = "a debugging aid: every task × 3 episodes"]
fn quick_sweep() {
    sweep(&SUITES, 3);
}

/// The expert drives; every few steps it is also asked for its chunk from the current state
/// on a blind fork. The chunk must be exactly the actions it then executes.
struct ChunkChecker {
    expert: ScriptedExpert,
    shadow: Option<ddvla_sim::Env>,
    /// (step, the chunk rolled out at that step).
    chunks: Vec<(usize, Vec<Vec<f32>>)>,
    executed: Vec<Vec<f32>>,
}

impl EvalPolicy for ChunkChecker {
    fn describe(&self) -> String {
        "expert, chunks checked".into()
    }
    fn needs_frames(&self) -> bool {
        false
    }
    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        self.shadow = None;
        self.expert.begin_episode(task, episode, seed)
    }
    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        if self.executed.len().is_multiple_of(7) {
            if self.shadow.is_none() {
                self.shadow = Some(ctx.env.fork_blind()?);
            }
            let shadow = self.shadow.as_mut().unwrap();
            let chunk = self.expert.chunk_from(ctx, shadow, 8)?;
            self.chunks.push((self.executed.len(), chunk));
        }
        let a = self.expert.act(ctx)?;
        self.executed.push(a[0].clone());
        Ok(a)
    }
}

#[test]
fn the_experts_chunk_from_a_state_is_what_it_then_executes() {
    let suite = Suite::load(&builtin_dir(), "libero_style_spatial").unwrap();
    let mut policy = ChunkChecker {
        expert: ScriptedExpert::new(),
        shadow: None,
        chunks: vec![],
        executed: vec![],
    };
    let runs = run_task(&suite, 1, 0..1, &mut policy);
    assert!(runs[0].success, "the expert solves the task");
    let n = policy.executed.len();
    let mut compared = 0;
    for (t, chunk) in &policy.chunks {
        assert_eq!(chunk.len(), 8);
        for (k, a) in chunk.iter().enumerate().filter(|(k, _)| t + k < n) {
            assert_eq!(
                a,
                &policy.executed[t + k],
                "chunk from step {t}, action {k}"
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "compared {compared} actions");
}

//! Position-target actions (`action_position_target`): training samples are the recorded
//! deltas relabelled as the positions they aimed at, the statistics cover the targets,
//! `ddvla checkpoint position-target` gives a trained checkpoint the setting with those
//! bounds, a run trains from it, and `ddvla eval` executes its targets as deltas.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use ddvla_policy::position_target::PositionTarget;
use ddvla_policy::stats::DatasetStatistics;

mod common;
use common::run::{
    ddvla, eval_one_object_episode, fail, load_twice, ok, quick_train_config, record_random_object,
    train,
};

const T: PositionTarget = PositionTarget {
    proprio_at: 0,
    metres_per_unit: 0.02,
    labels: ddvla_policy::position_target::PositionLabels::Delta,
};

/// Two random-action episodes of object task 0, 16 steps each.
fn record(out: &Path) {
    record_random_object(out, "0", 2, 16);
}

#[test]
fn samples_are_the_targets_of_the_recorded_deltas() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let (plain, mut relabelled) = load_twice(&demos);
    relabelled.set_action_position_target(T).unwrap();
    assert_eq!(relabelled.action_position_target(), Some(T));
    let err = relabelled.set_action_position_target(T).unwrap_err();
    assert!(err.to_string().contains("already"), "{err}");
    for t in [0, 7, 12] {
        let a = plain.sample((1, t), None, 0).unwrap();
        let b = relabelled.sample((1, t), None, 0).unwrap();
        assert_eq!(b.observation, a.observation, "inputs unchanged");
        for k in 0..4 {
            let p = plain
                .sample((1, t + k), None, 0)
                .unwrap()
                .observation
                .proprio;
            let (da, tb) = (&a.actions[k * 7..k * 7 + 7], &b.actions[k * 7..k * 7 + 7]);
            for i in 0..3 {
                let want = p[i] + da[i] * 0.02;
                assert!((tb[i] - want).abs() < 1e-6, "step {t}+{k} value {i}");
            }
            assert_eq!(tb[3..], da[3..], "orientation and gripper unchanged");
        }
    }
    // The targets' bounds lie within the workspace the arm visited, a few cm around it.
    let (q01, q99) = relabelled.position_target_bounds("k").unwrap();
    let p = plain.statistics("k").unwrap().0["k"]
        .proprio
        .clone()
        .unwrap();
    for i in 0..3 {
        assert!(q01[i] < q99[i], "value {i}");
        assert!(
            q01[i] >= p.q01[i] - 0.021 && q99[i] <= p.q99[i] + 0.021,
            "value {i}"
        );
    }
}

#[test]
fn a_checkpoint_given_position_targets_trains_and_evaluates() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let toml = |init: &str, out: &Path| quick_train_config(init, "", &demos, out);
    let base = d.path().join("base");
    ok(&train(
        &d.path().join("base.toml"),
        &toml("preset = \"compact\"", &base),
    ));
    let pt = d.path().join("pt");
    let convert = |out: &Path| {
        ddvla()
            .args(["checkpoint", "position-target"])
            .arg(&base)
            .arg("--demos")
            .arg(&demos)
            .args(["--keep-failures", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    ok(&convert(&pt));
    // Never overwritten; a missing demonstration folder is named; expert-goal labels need
    // recorded goals, which random-action episodes do not have.
    fail(&convert(&pt), &["never overwritten"]);
    refuses_goal_labels_without_goals(&base, &demos, &d.path().join("goal"));
    let o = ddvla()
        .args(["checkpoint", "position-target"])
        .arg(&base)
        .args(["--demos", "/nonexistent/demos", "--out"])
        .arg(d.path().join("none"))
        .output()
        .unwrap();
    fail(&o, &["/nonexistent/demos"]);
    let stats = DatasetStatistics::load(&pt.join("dataset_statistics.json")).unwrap();
    let a = &stats.select(None).unwrap().action;
    assert!(
        (0..3).all(|i| a.q01[i] > -1.0 && a.q99[i] < 1.5 && a.q99[i] > a.q01[i]),
        "position bounds in metres: {:?} {:?}",
        a.q01,
        a.q99
    );
    let tuned = d.path().join("tuned");
    let init = format!("init_checkpoint = \"{}\"", pt.display());
    let o = train(&d.path().join("tuned.toml"), &toml(&init, &tuned));
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("target positions"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["action_position_target"]["metres_per_unit"], 0.02);
    eval_one_object_episode(&tuned, &d.path().join("ev"));
    // `ddvla eval` executes targets as deltas from where the arm is: with bounds a few
    // millimetres around (1.5, -1.2, 0.01) m, in front of, right of and below the arm (under
    // the table top), every executed action points there at full speed (+x, -1 in y, the
    // farthest, and down), where the raw targets' z (+0.01) would point up.
    let far = d.path().join("far");
    ddvla_policy::checkpoint_position_target::set_action_position_target(
        &base,
        T,
        [1.495, -1.205, 0.005],
        [1.505, -1.195, 0.015],
        &far,
    )
    .unwrap();
    let rec = d.path().join("rec");
    ok(&ddvla()
        .args(["eval", "--suite", "libero_style_object", "--tasks", "0"])
        .args(["--episodes-per-task", "1", "--max-steps", "12", "--policy"])
        .arg(&far)
        .arg("--out")
        .arg(d.path().join("far-ev"))
        .arg("--record")
        .arg(&rec)
        .output()
        .unwrap());
    let (executed, _) = load_twice(&rec);
    assert!(!executed.train.is_empty());
    for &(e, t) in &executed.train {
        let a = executed.sample((e, t), None, 0).unwrap().actions;
        assert!(toward_far_target(&a), "step {t}: {:?}", &a[..7]);
    }
    dagger_executes_targets_as_deltas(&far, &d.path().join("dagger"));
}

/// A DAgger recording driven by the far-target checkpoint `far` executes its targets as
/// deltas too, the expert's labels beside them.
fn dagger_executes_targets_as_deltas(far: &Path, dagger: &Path) {
    ok(&ddvla()
        .args([
            "demos",
            "record",
            "--suite",
            "libero_style_object",
            "--tasks",
            "0",
        ])
        .args(["--episodes-per-task", "1", "--max-steps", "12", "--policy"])
        .arg(far)
        .args(["--expert-labels", "--label-chunk", "0", "--out"])
        .arg(dagger)
        .output()
        .unwrap());
    let idx = ddvla::demos::read_index(dagger).unwrap();
    let ep = ddvla::demos::load_episode(dagger, &idx.episodes[0]).unwrap();
    assert_eq!(ep.executed.len(), 12);
    for (t, a) in ep.executed.iter().enumerate() {
        assert!(toward_far_target(a), "step {t}: {a:?}");
    }
}

/// `ddvla checkpoint position-target --labels expert-goal` on demonstrations recorded without
/// the expert's goals: refused by name, nothing written.
fn refuses_goal_labels_without_goals(base: &Path, demos: &Path, out: &Path) {
    let o = ddvla()
        .args(["checkpoint", "position-target"])
        .arg(base)
        .arg("--demos")
        .arg(demos)
        .args(["--keep-failures", "--labels", "expert-goal", "--out"])
        .arg(out)
        .output()
        .unwrap();
    fail(&o, &["no expert goals recorded"]);
    assert!(!out.exists());
}

/// Whether an executed action points at a target far in front of, right of and below the
/// arm at full speed, scaled as the expert's law is: +x, -1 in y (the farthest), down.
fn toward_far_target(a: &[f32]) -> bool {
    a[0] > 0.3 && a[0] < 1.0 && (a[1] + 1.0).abs() < 1e-6 && a[2] < 0.0 && a[2] > -1.0
}

#[test]
fn expert_goal_labels_are_the_goals_the_expert_recorded() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    ok(&ddvla()
        .args(["demos", "record", "--suite", "libero_style_object"])
        .args([
            "--policy",
            "expert",
            "--tasks",
            "0",
            "--episodes-per-task",
            "1",
        ])
        .args(["--max-steps", "20", "--keep-failures", "--out"])
        .arg(&demos)
        .output()
        .unwrap());
    let idx = ddvla::demos::read_index(&demos).unwrap();
    assert!(idx.episodes[0].expert_goals);
    let ep = ddvla::demos::load_episode(&demos, &idx.episodes[0]).unwrap();
    assert_eq!(ep.goals.len(), 20);
    let goal = PositionTarget {
        labels: ddvla_policy::position_target::PositionLabels::ExpertGoal,
        ..T
    };
    let (plain, mut relabelled) = load_twice(&demos);
    relabelled.set_action_position_target(goal).unwrap();
    for t in [0, 9, 15] {
        let a = plain.sample((0, t), None, 0).unwrap();
        let b = relabelled.sample((0, t), None, 0).unwrap();
        for k in 0..4 {
            let (da, tb) = (&a.actions[k * 7..k * 7 + 7], &b.actions[k * 7..k * 7 + 7]);
            assert_eq!(tb[..3], ep.goals[t + k][..3], "step {t}+{k}");
            assert_eq!(tb[3..], da[3..], "orientation and gripper unchanged");
        }
    }
    // The expert's first goal is the hover point above the object, far from where the arm
    // starts: not where a relabelled delta points (2 cm ahead at most).
    let p = &ep.proprio[0];
    let gap: f32 = (0..3).map(|i| (ep.goals[0][i] - p[i]).powi(2)).sum();
    assert!(gap.sqrt() > 0.05, "goal {:?} from {p:?}", ep.goals[0]);
}

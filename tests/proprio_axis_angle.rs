//! A fresh model that reads its orientation in one hemisphere (`[model]
//! proprio_axis_angle_at`): the run's proprio statistics are computed on the canonical
//! values, the checkpoint's config carries the key, and a fine-tune cannot set it (that is
//! `ddvla checkpoint proprio-axis-angle`'s job, which keeps the statistics).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use ddvla_policy::proprio_rotation::canonicalise_proprio;
use ddvla_policy::stats::DatasetStatistics;

mod common;
use common::run::{fail, load_twice, ok, quick_train_config, record_random_object, train};

/// Four random-action episodes of object task 0, 24 steps each: the gripper points down,
/// and the random rotations take its axis-angle vector to both sides of the flip.
fn record(out: &Path) {
    record_random_object(out, "0", 4, 24);
}

/// The proprio q01 and q99 of `stats` under key `k`.
fn proprio_bounds(stats: &DatasetStatistics) -> (Vec<f32>, Vec<f32>) {
    let p = stats.select(Some("k")).unwrap().proprio.clone().unwrap();
    (p.q01, p.q99)
}

#[test]
fn statistics_cover_the_canonical_orientation() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let (plain, mut canonical) = load_twice(&demos);
    canonical.set_proprio_axis_angle(Some(3));
    // The recorded orientation flips sign: without that the test would show nothing.
    let mut raw = Vec::new();
    let mut expected = Vec::new();
    for &(e, t) in &plain.train {
        let p = plain.sample((e, t), None, 0).unwrap().observation.proprio;
        let mut c = p.clone();
        canonicalise_proprio(&mut c, 3);
        raw.push(p);
        expected.push(c);
    }
    assert!(
        raw.iter().any(|p| p[3] < -1.0) && raw.iter().any(|p| p[3] > 1.0),
        "the recorded x components {:?}",
        raw.iter().map(|p| p[3]).collect::<Vec<_>>()
    );
    assert!(expected.iter().all(|p| p[3] >= 0.0));
    // The statistics are those of the canonical values, the other values untouched.
    let actions: Vec<Vec<f32>> = plain
        .train
        .iter()
        .map(|&(e, t)| {
            let s = plain.sample((e, t), None, 0).unwrap();
            s.actions[..7].to_vec()
        })
        .collect();
    let want = ddvla_policy::stats::dataset_statistics(
        &actions.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &expected.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        "k",
    )
    .unwrap();
    let (lo, hi) = proprio_bounds(&canonical.statistics("k").unwrap());
    let (want_lo, want_hi) = proprio_bounds(&want);
    assert_eq!((&lo, &hi), (&want_lo, &want_hi));
    let (raw_lo, raw_hi) = proprio_bounds(&plain.statistics("k").unwrap());
    assert!(raw_lo[3] < -1.0 && lo[3] >= 0.0, "{raw_lo:?} {lo:?}");
    for i in [0, 1, 2, 6, 7] {
        assert_eq!((lo[i], hi[i]), (raw_lo[i], raw_hi[i]), "value {i}");
    }
}

#[test]
fn a_fresh_model_trains_with_it_and_a_fine_tune_cannot_set_it() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let toml = |model: &str, out: &Path| {
        quick_train_config(model, "cameras = [\"agentview\"]\n", &demos, out)
    };
    let run = d.path().join("run");
    let o = train(
        &d.path().join("run.toml"),
        &toml("preset = \"tiny\"\nproprio_axis_angle_at = 3", &run),
    );
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("values 3..6 in one hemisphere"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["proprio_axis_angle_at"], 3);
    let stats = DatasetStatistics::load(&run.join("dataset_statistics.json")).unwrap();
    let p = stats.select(None).unwrap().proprio.clone().unwrap();
    assert!(p.q01[3] >= 0.0, "canonical x lower bound {}", p.q01[3]);
    // A fine-tune from it that sets the key again is refused, naming the command to use.
    let init = format!(
        "init_checkpoint = \"{}\"\nproprio_axis_angle_at = 3",
        run.display()
    );
    let o = train(
        &d.path().join("tuned.toml"),
        &toml(&init, &d.path().join("tuned")),
    );
    fail(&o, &["proprio-axis-angle"]);
    // An index past the robot's values is refused by the model's validation.
    let o = train(
        &d.path().join("bad.toml"),
        &toml(
            "preset = \"tiny\"\nproprio_axis_angle_at = 6",
            &d.path().join("bad"),
        ),
    );
    fail(&o, &["proprio_axis_angle_at"]);
}

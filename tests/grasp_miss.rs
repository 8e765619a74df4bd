//! `ddvla demos record --grasp-miss-m D` (grasp-recovery data): the scripted expert's first
//! grasp of each object aims D metres off its grasp point, the DAgger labeller labels every
//! step, and the episode shows what the expert does from the off-centre grasp it reached.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::{Command, Output};

use ddvla::demos::{Labels, load_episode, read_index};

fn record(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["demos", "record", "--suite", "libero_style_spatial"])
        .args(["--tasks", "0", "--episodes-per-task", "1", "--seed", "5000"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn a_missed_first_grasp_is_recorded_with_the_labellers_answers() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("miss");
    let o = record(&dir, &["--grasp-miss-m", "0.03"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let idx = read_index(&dir).unwrap();
    let ep = &idx.episodes[0];
    assert!(idx.created_by.contains("--grasp-miss-m 0.03"));
    assert_eq!(ep.labels, Labels::Expert);
    assert_eq!(ep.label_chunk, Some(8));
    // The expert goes on from the grasp it reached and still solves the task.
    assert!(ep.success, "{ep:?}");
    let e = load_episode(&dir, ep).unwrap();
    assert_eq!(e.executed.len(), e.actions.len());
    // While it approaches the off-centre point the labeller asks for the centre: the arm
    // actions differ somewhere before the first close.
    let close = e.executed.iter().position(|a| a[6] > 0.0).unwrap();
    assert!(
        e.actions[..close]
            .iter()
            .zip(&e.executed[..close])
            .any(|(label, done)| label[..6] != done[..6]),
        "labels equal the executed approach"
    );
    // This episode's miss lands on the bowl's rim: the fingers close nearly shut on it (the
    // expert's own grasps of this bowl settle at ~0.23, nothing between them at ~0.8).
    let grip = e.proprio[close + 15].last().copied().unwrap();
    assert!(grip > 0.6 && grip < 0.78, "grip {grip}");

    // The plain expert from the same init state grasps wide.
    let plain_dir = d.path().join("plain");
    assert!(record(&plain_dir, &[]).status.success());
    let plain = load_episode(&plain_dir, &read_index(&plain_dir).unwrap().episodes[0]).unwrap();
    let plain_close = plain.actions.iter().position(|a| a[6] > 0.0).unwrap();
    let plain_grip = plain.proprio[plain_close + 15].last().copied().unwrap();
    assert!(plain_grip < 0.4, "plain grip {plain_grip}");
}

#[test]
fn grasp_miss_refuses_what_it_cannot_do() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("none");
    let ckpt = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-spatial");
    let ckpt = ckpt.to_str().unwrap();
    for (args, said) in [
        (&["--grasp-miss-m", "0.5"][..], "outside [0, 0.1]"),
        (&["--grasp-miss-m=-0.01"][..], "outside [0, 0.1]"),
        (
            &["--policy", ckpt, "--grasp-miss-m", "0.03"][..],
            "needs --policy expert",
        ),
        (
            &[
                "--policy",
                ckpt,
                "--expert-labels",
                "--grasp-miss-m",
                "0.03",
            ][..],
            "cannot be used with",
        ),
        (
            &["--action-noise", "0.2", "--grasp-miss-m", "0.03"][..],
            "cannot be used with",
        ),
    ] {
        let o = record(&out, args);
        assert!(!o.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(said), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

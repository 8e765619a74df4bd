//! `ddvla demos record --detour-home-steps N`: after each skill with more to do, the scripted
//! expert takes the arm back toward the episode's start pose for 1..=N steps, the DAgger
//! labeller labels every step with the next skill's answer, and the expert goes on from where
//! the detour ended.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::Output;

use ddvla::demos::{Labels, load_episode, read_index};

mod common;
use common::run::{ddvla, fail, ok};

fn record(out: &Path, extra: &[&str]) -> Output {
    ddvla()
        .args(["demos", "record", "--suite", "libero_style_long"])
        .args(["--tasks", "7", "--episodes-per-task", "1", "--seed", "8000"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .take(3)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f32>()
        .sqrt()
}

/// The step at which the first object is let go.
fn first_release(executed: &[Vec<f32>]) -> usize {
    let close = executed.iter().position(|a| a[6] > 0.0).unwrap();
    close + executed[close..].iter().position(|a| a[6] < 0.0).unwrap()
}

#[test]
fn the_expert_detours_home_after_a_skill_and_still_solves_the_task() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("detour");
    // Detours long enough to reach the start pose every time.
    ok(&record(&dir, &["--detour-home-steps", "1000"]));
    let idx = read_index(&dir).unwrap();
    let ep = &idx.episodes[0];
    assert!(idx.created_by.contains("--detour-home-steps 1000"));
    assert_eq!(ep.labels, Labels::Expert);
    assert_eq!(ep.label_chunk, Some(8));
    assert!(ep.success, "{ep:?}");
    let e = load_episode(&dir, ep).unwrap();
    assert_eq!(e.executed.len(), e.actions.len());
    // After the first moka pot is on the stove the arm comes back to where it started,
    // gripper open, while the labels already answer with the second pot.
    let release = first_release(&e.executed);
    let home = &e.proprio[0];
    let back = release
        + e.proprio[release..]
            .iter()
            .position(|p| distance(p, home) < 0.02)
            .expect("the arm never came back to its start pose");
    assert!(e.executed[release..back].iter().all(|a| a[6] < 0.0));
    let gap = |t: usize| {
        e.actions[t][..3]
            .iter()
            .zip(&e.executed[t][..3])
            .map(|(l, x)| (l - x).abs())
            .fold(0.0f32, f32::max)
    };
    assert!(
        gap(back) > 0.3,
        "label {:?} executed {:?}",
        e.actions[back],
        e.executed[back]
    );

    // The plain expert from the same init state never goes back there.
    let plain_dir = d.path().join("plain");
    ok(&record(&plain_dir, &[]));
    let plain = load_episode(&plain_dir, &read_index(&plain_dir).unwrap().episodes[0]).unwrap();
    let plain_release = first_release(&plain.actions);
    let closest = plain.proprio[plain_release..]
        .iter()
        .map(|p| distance(p, &plain.proprio[0]))
        .fold(f32::INFINITY, f32::min);
    assert!(
        closest > 0.05,
        "the plain expert came {closest} m from its start"
    );
}

#[test]
fn detours_refuse_what_they_cannot_do() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("none");
    let ckpt = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-spatial");
    let ckpt = ckpt.to_str().unwrap();
    for (args, said) in [
        (&["--detour-home-steps", "0"][..], "at least one step"),
        (
            &["--policy", ckpt, "--detour-home-steps", "10"][..],
            "needs --policy expert",
        ),
        (
            &["--grasp-miss-m", "0.03", "--detour-home-steps", "10"][..],
            "cannot be used with",
        ),
        (
            &["--action-noise", "0.2", "--detour-home-steps", "10"][..],
            "cannot be used with",
        ),
    ] {
        fail(&record(&out, args), &[said]);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

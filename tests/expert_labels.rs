//! `ddvla demos record --expert-labels` (DAgger-style data): the shipped checkpoint drives,
//! the scripted expert labels every step from the state the checkpoint reached; the labels
//! are the episode's actions, the executed actions sit beside them, every step carries the
//! expert's own 8-step chunk from that state (`--label-chunk`, rolled out on a copy of the
//! simulator), and `ddvla train`'s loader keeps such episodes even when they failed and
//! trains on those chunks. `--action-noise` (DART-style data): the expert drives with noise
//! on its arm actions and records its clean labels and chunks the same way.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ddvla::demos::{Labels, load_episode, read_index};
use ddvla::train_cli::{DataSection, Dataset};

mod common;
use common::run::ok;

const STEPS: usize = 16;

fn checkpoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-spatial")
}

fn record(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["demos", "record", "--suite", "libero_style_spatial"])
        .args(["--tasks", "9", "--episodes-per-task", "1"])
        .args(["--max-steps", &STEPS.to_string()])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn expert_labelled_rollouts_keep_labels_and_executed_actions() {
    let d = tempfile::tempdir().unwrap();
    let ckpt = checkpoint();
    let ckpt = ckpt.to_str().unwrap();

    // The checkpoint drives (expert share 0). 16 steps cannot finish the task, and the
    // failed episode is kept without --keep-failures: its labels are right anyway.
    let dir = d.path().join("policy");
    ok(&record(&dir, &["--policy", ckpt, "--expert-labels"]));
    let idx = read_index(&dir).unwrap();
    assert_eq!(idx.episodes.len(), 1);
    let ep = &idx.episodes[0];
    assert!(!ep.success);
    assert_eq!(ep.labels, Labels::Expert);
    let e = load_episode(&dir, ep).unwrap();
    assert_eq!((e.actions.len(), e.executed.len()), (STEPS, STEPS));
    // The checkpoint's actions are bin centres, the expert's are not: they differ.
    assert_ne!(e.actions, e.executed);
    assert!(e.actions.iter().flatten().all(|v| v.abs() <= 1.0));
    // Every step has the expert's 8-step chunk from that state, starting with its label.
    assert_eq!(ep.label_chunk, Some(8));
    assert_eq!(e.chunks.len(), STEPS);
    for (t, c) in e.chunks.iter().enumerate() {
        assert_eq!(c.len(), 8 * 7);
        assert_eq!(&c[..7], &e.actions[t][..], "step {t}");
    }

    // The expert drives every chunk (share 1): what it executed is what it labelled, and it
    // is what the plain expert records from the same init state.
    let dir1 = d.path().join("expert-share-1");
    ok(&record(
        &dir1,
        &["--policy", ckpt, "--expert-labels", "--expert-share", "1"],
    ));
    let e1 = load_episode(&dir1, &read_index(&dir1).unwrap().episodes[0]).unwrap();
    assert_eq!(e1.actions, e1.executed);
    // When the expert executes, its chunk from step t is exactly what it then does.
    for t in 0..=STEPS - 8 {
        assert_eq!(e1.chunks[t], e1.executed[t..t + 8].concat(), "step {t}");
    }
    let dir_expert = d.path().join("expert");
    ok(&record(&dir_expert, &["--keep-failures"]));
    let idx_expert = read_index(&dir_expert).unwrap();
    assert_eq!(idx_expert.episodes[0].labels, Labels::Executed);
    let plain = load_episode(&dir_expert, &idx_expert.episodes[0]).unwrap();
    assert_eq!(plain.actions, e1.actions);
    assert!(plain.executed.is_empty());

    // `ddvla train`'s loader keeps the failed expert-labelled episode under
    // `successful_only` (the default) and drops the failed plain one.
    let mut data = DataSection::with_demos(vec![dir.clone(), dir_expert.clone()]);
    data.val_fraction = 0.0;
    let (ds, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    assert_eq!(ds.episode_counts, (1, 0));
    assert_eq!(ds.train.len(), STEPS);
    // Its chunk targets are the expert's chunks, not the labels of the next steps.
    for t in [0, 5, STEPS - 1] {
        let s = ds.sample((0, t), None, 0).unwrap();
        assert_eq!(s.actions, e.chunks[t], "step {t}");
    }
    // A model with a longer chunk than the recorded one is refused.
    let err = Dataset::load(&data, 16, 128, 0).err().unwrap();
    assert!(format!("{err:#}").contains("expert chunks of 8 steps, the model predicts 16"));

    // --label-chunk 0: one-step labels only, as before chunks were labelled.
    let dir0 = d.path().join("no-chunks");
    ok(&record(
        &dir0,
        &["--policy", ckpt, "--expert-labels", "--label-chunk", "0"],
    ));
    let ep0 = &read_index(&dir0).unwrap().episodes[0];
    assert_eq!(ep0.label_chunk, None);
    assert!(load_episode(&dir0, ep0).unwrap().chunks.is_empty());
}

#[test]
fn expert_labels_refuse_what_they_cannot_do() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("none");
    let ckpt = checkpoint();
    let ckpt = ckpt.to_str().unwrap();
    for (args, said) in [
        (&["--expert-labels"][..], "--policy expert needs no labels"),
        (
            &["--policy", ckpt, "--expert-labels", "--expert-share", "1.5"][..],
            "outside [0, 1]",
        ),
        (
            &["--policy", ckpt, "--expert-share", "0.5"][..],
            "--expert-labels",
        ),
    ] {
        let o = record(&out, args);
        assert!(!o.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(said), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

#[test]
fn a_noisy_expert_records_its_clean_labels() {
    let d = tempfile::tempdir().unwrap();
    let noisy = ["--action-noise", "0.3", "--noise-steps", "4"];
    let dir = d.path().join("noisy");
    ok(&record(&dir, &noisy));
    let idx = read_index(&dir).unwrap();
    let ep = &idx.episodes[0];
    assert_eq!(ep.labels, Labels::Expert);
    assert_eq!(ep.label_chunk, Some(8));
    let e = load_episode(&dir, ep).unwrap();
    assert_eq!((e.actions.len(), e.executed.len()), (STEPS, STEPS));
    for (t, (label, executed)) in e.actions.iter().zip(&e.executed).enumerate() {
        // The arm is perturbed, within the action space; the gripper never is.
        assert_ne!(label[..6], executed[..6], "step {t}");
        assert!(executed.iter().all(|v| v.abs() <= 1.0), "step {t}");
        assert_eq!(label[6].to_bits(), executed[6].to_bits(), "step {t}");
        // Each step's chunk is the expert's clean one from that state.
        assert_eq!(&e.chunks[t][..7], &label[..], "step {t}");
    }

    // From the same init state the first label is the plain expert's first action; later
    // ones answer the perturbed states, so they differ.
    let plain_dir = d.path().join("plain");
    ok(&record(&plain_dir, &["--keep-failures"]));
    let plain = load_episode(&plain_dir, &read_index(&plain_dir).unwrap().episodes[0]).unwrap();
    assert_eq!(plain.actions[0], e.actions[0]);
    assert_ne!(plain.actions, e.actions);

    // The noise is drawn from the episode's seed: the same command records the same episode.
    let again = d.path().join("again");
    ok(&record(&again, &noisy));
    let e2 = load_episode(&again, &read_index(&again).unwrap().episodes[0]).unwrap();
    assert_eq!((e2.actions, e2.executed), (e.actions, e.executed));

    // The manifest names the noise, and a resume with other noise is refused: one folder
    // never mixes two noise levels.
    let noise = ep.action_noise.unwrap();
    assert_eq!((noise.sigma, noise.steps), (0.3, 4.0));
    assert!(
        read_index(&plain_dir).unwrap().episodes[0]
            .action_noise
            .is_none()
    );
    let o = record(
        &dir,
        &["--action-noise", "0.2", "--noise-steps", "4", "--resume"],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("was recorded with action noise"), "{err}");
    assert_eq!(read_index(&dir).unwrap(), idx);
}

#[test]
fn action_noise_refuses_what_it_cannot_do() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("none");
    let ckpt = checkpoint();
    let ckpt = ckpt.to_str().unwrap();
    for (args, said) in [
        (&["--action-noise", "1.5"][..], "outside (0, 1]"),
        (&["--action-noise", "0"][..], "outside (0, 1]"),
        (
            &["--action-noise", "0.2", "--noise-steps", "0.5"][..],
            "not a finite number ≥ 1",
        ),
        (
            &["--policy", ckpt, "--action-noise", "0.2"][..],
            "needs --policy expert",
        ),
        (
            &["--policy", ckpt, "--expert-labels", "--action-noise", "0.2"][..],
            "cannot be used with",
        ),
        (&["--noise-steps", "3"][..], "--action-noise"),
        (&["--label-chunk", "4"][..], "--label-chunk needs"),
    ] {
        let o = record(&out, args);
        assert!(!o.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(said), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

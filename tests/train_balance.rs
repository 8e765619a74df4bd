//! `[data]` options that choose and weigh episodes: `balance_tasks` (every task contributes
//! as many training samples per pass, by repeating the steps of the tasks with fewer, without
//! changing the data or its statistics), `task_sources` (a task's episodes from the
//! folders named for it only) and `labelled_from_first_close` (an expert-labelled episode's
//! steps from its first executed close on).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeSet;
use std::path::Path;

use ddvla::train_cli::Dataset;

mod common;
use common::run::{all_of, ok, record_random_object};

#[test]
fn balance_tasks_repeats_the_shorter_tasks_steps() {
    let d = tempfile::tempdir().unwrap();
    let (long, short) = (d.path().join("long"), d.path().join("short"));
    record_random_object(&long, "0", 2, 24);
    record_random_object(&short, "1", 2, 10);
    let mut data = all_of(vec![long, short]);
    let (plain, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    // Episodes 0 and 1 are the long task's (the first folder), 2 and 3 the short one's.
    let long_steps = plain.train.iter().filter(|&&(e, _)| e < 2).count();
    let short_steps = plain.train.len() - long_steps;
    assert!(long_steps > short_steps, "{long_steps} vs {short_steps}");

    data.balance_tasks = true;
    let (balanced, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    assert_eq!(balanced.train.len(), 2 * long_steps);
    // The plain split comes first; the repeats are the short task's steps only.
    assert_eq!(balanced.train[..plain.train.len()], plain.train[..]);
    let repeats = &balanced.train[plain.train.len()..];
    assert_eq!(repeats.len(), long_steps - short_steps);
    assert!(repeats.iter().all(|&(e, _)| e >= 2), "{repeats:?}");
    // Drawn without replacement until the task runs out: no step twice before every once.
    let first_round = repeats.len().min(short_steps);
    let distinct: BTreeSet<_> = repeats[..first_round].iter().collect();
    assert_eq!(distinct.len(), first_round);
    // The statistics are the data's, not the repeats'.
    assert_eq!(
        balanced.statistics("k").unwrap(),
        plain.statistics("k").unwrap()
    );
    // Seeded: the same seed repeats the same draw.
    let (again, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    assert_eq!(again.train, balanced.train);
}

#[test]
fn task_sources_take_a_task_from_its_folders_only() {
    let d = tempfile::tempdir().unwrap();
    let (old, new) = (d.path().join("old"), d.path().join("new"));
    record_random_object(&old, "0,1", 2, 10);
    record_random_object(&new, "1", 2, 10);
    let task1 = ddvla::demos::read_index(&new).unwrap().episodes[0]
        .task
        .clone();
    let mut data = all_of(vec![old.clone(), new.clone()]);
    let (all, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    assert_eq!(all.episode_counts, (6, 0));
    // Task 1 from the new folder only: the old folder's task 0 stays, its task 1 goes.
    data.task_sources.insert(task1.clone(), vec![new.clone()]);
    let (sourced, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    assert_eq!(sourced.episode_counts, (4, 0));
    // From the old folder only: the new folder adds nothing.
    data.task_sources.insert(task1.clone(), vec![old.clone()]);
    let (old_only, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    assert_eq!(old_only.episode_counts, (4, 0));
    // A task its folders do not hold (a misspelt name) is an error that names it.
    data.task_sources.clear();
    data.task_sources.insert("no_such_task".into(), vec![new]);
    let err = format!("{:#}", Dataset::load(&data, 8, 128, 0).err().unwrap());
    assert!(
        err.contains("task_sources") && err.contains("no_such_task"),
        "{err}"
    );
}

#[test]
fn a_task_source_outside_the_demos_is_a_config_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut text =
        std::fs::read_to_string(root.join("launch/train-compact-goal-parallel-3-lowlr-extra.toml"))
            .unwrap();
    text.push_str(
        "\n[data.task_sources]\npush_the_plate_to_the_front_of_the_stove = [\".cache/demos/elsewhere\"]\n",
    );
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("train.toml");
    std::fs::write(&path, text).unwrap();
    let err = format!(
        "{:#}",
        ddvla::train_cli::TrainFile::read(&path).err().unwrap()
    );
    assert!(
        err.contains("task_sources") && err.contains(".cache/demos/elsewhere"),
        "{err}"
    );
}

#[test]
fn labelled_from_first_close_drops_the_labelled_approach_only() {
    let d = tempfile::tempdir().unwrap();
    let (miss, plain) = (d.path().join("miss"), d.path().join("plain"));
    for (out, extra) in [(&miss, &["--grasp-miss-m", "0.03"][..]), (&plain, &[][..])] {
        ok(&common::run::ddvla()
            .args(["demos", "record", "--suite", "libero_style_spatial"])
            .args(["--tasks", "0", "--episodes-per-task", "1", "--seed", "5000"])
            .args(["--max-steps", "60", "--keep-failures"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap());
    }
    let executed = {
        let idx = ddvla::demos::read_index(&miss).unwrap();
        ddvla::demos::load_episode(&miss, &idx.episodes[0])
            .unwrap()
            .executed
    };
    let close = executed.iter().position(|a| a[6] > 0.0).unwrap();
    assert!(close > 5, "closed at step {close}");
    let mut data = all_of(vec![miss, plain]);
    let (whole, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    data.labelled_from_first_close = true;
    let (recovery, _) = Dataset::load(&data, 8, 128, 0).unwrap();
    // Episode 0 (labelled) starts at its first executed close; episode 1 (plain) is whole.
    let steps = |ds: &Dataset, e: usize| -> Vec<usize> {
        ds.train.iter().filter(|s| s.0 == e).map(|s| s.1).collect()
    };
    assert_eq!(steps(&whole, 0), (0..60).collect::<Vec<_>>());
    assert_eq!(steps(&recovery, 0), (close..60).collect::<Vec<_>>());
    assert_eq!(steps(&recovery, 1), steps(&whole, 1));
    assert!(!steps(&whole, 1).is_empty());
}

//! `[data] balance_tasks`: every task contributes as many training samples per pass, by
//! repeating the steps of the tasks with fewer, without changing the data or its statistics.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use ddvla::train_cli::{DataSection, Dataset};

/// Two random-action episodes of one object task, cut at `max_steps`.
fn record(out: &Path, task: &str, max_steps: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["demos", "record", "--suite", "libero_style_object"])
        .args([
            "--policy",
            "random",
            "--tasks",
            task,
            "--episodes-per-task",
            "2",
        ])
        .args(["--max-steps", max_steps, "--keep-failures", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn balance_tasks_repeats_the_shorter_tasks_steps() {
    let d = tempfile::tempdir().unwrap();
    let (long, short) = (d.path().join("long"), d.path().join("short"));
    record(&long, "0", "24");
    record(&short, "1", "10");
    let mut data = DataSection::with_demos(vec![long, short]);
    data.val_fraction = 0.0;
    data.successful_only = false;
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

//! Helpers of the tests that run the `ddvla` binary: run it, check its exit, record
//! random-action demonstrations to train on, and take every recorded episode as data (or
//! load it twice, to compare a setting against the plain samples).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ddvla::train_cli::{DataSection, Dataset};

/// The `ddvla` binary this test crate was built with.
pub fn ddvla() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ddvla"))
}

/// Asserts that `o` exited successfully, showing its stderr otherwise.
pub fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Asserts that `o` failed with every one of `needles` in its stderr.
pub fn fail(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected a failure");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
}

/// Records `episodes` random-action episodes of object task `task`, `max_steps` steps each,
/// into `out`, failures kept (random actions do not finish the task).
pub fn record_random_object(out: &Path, task: &str, episodes: u32, max_steps: u32) {
    ok(&ddvla()
        .args(["demos", "record", "--suite", "libero_style_object"])
        .args(["--policy", "random", "--tasks", task])
        .args(["--episodes-per-task", &episodes.to_string()])
        .args([
            "--max-steps",
            &max_steps.to_string(),
            "--keep-failures",
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap());
}

/// Runs `ddvla eval` on one 8-step episode of object task 0 with the checkpoint `policy`
/// into `out`, asserting it succeeds and writes `results.json`.
pub fn eval_one_object_episode(policy: &Path, out: &Path) {
    ok(&ddvla()
        .args(["eval", "--suite", "libero_style_object", "--tasks", "0"])
        .args(["--episodes-per-task", "1", "--max-steps", "8", "--policy"])
        .arg(policy)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap());
    assert!(out.join("results.json").exists());
}

/// Every episode of `demos` (failures too), nothing held out.
pub fn all_of(demos: Vec<PathBuf>) -> DataSection {
    DataSection {
        val_fraction: 0.0,
        successful_only: false,
        ..DataSection::with_demos(demos)
    }
}

/// Every episode of `demos` loaded twice as training data (8 steps of actions per sample, a
/// 32-sample memory budget, seed 0): one to change with a setting, one to compare it with.
pub fn load_twice(demos: &Path) -> (Dataset, Dataset) {
    let load = || {
        Dataset::load(&all_of(vec![demos.to_path_buf()]), 8, 32, 0)
            .unwrap()
            .0
    };
    (load(), load())
}

/// A two-step training config on every episode of `demos` into `out`: `model` is the
/// `[model]` section's body, `data_extra` lines added to `[data]` (each ending in a newline).
pub fn quick_train_config(model: &str, data_extra: &str, demos: &Path, out: &Path) -> String {
    format!(
        "[model]\n{model}\n[data]\ndemos = [\"{}\"]\n\
         successful_only = false\nval_fraction = 0.0\n{data_extra}[data.augment]\n\
         [train]\nseed = 3\n[train.lr]\npeak_lr = 1e-3\nmin_lr = 1e-3\nwarmup_steps = 0\n\
         total_steps = 100\n[run]\nsteps = 2\nbatch_size = 2\nout = \"{}\"\n\
         save_every = 2\neval_every = 2\n",
        demos.display(),
        out.display()
    )
}

/// Writes `config` to `path` and runs `ddvla train --config path` on it.
pub fn train(path: &Path, config: &str) -> Output {
    std::fs::write(path, config).unwrap();
    ddvla()
        .args(["train", "--config"])
        .arg(path)
        .output()
        .unwrap()
}

//! Helpers shared by the end-to-end tests. Here, those of the launch-config tests
//! (`launch_stages.rs`, `launch_spatial_stages.rs`, `cli.rs`): read a config from `launch/` and
//! compare stages that should differ in named fields only. In [`run`], those of the tests that
//! run the binary on recorded demonstrations.
// Each test crate that includes this module uses some of these helpers only.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

pub mod run;

/// The training config `launch/<name>`, read with the real config type.
pub fn launch_train_config(name: &str) -> ddvla::train_cli::TrainFile {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    ddvla::train_cli::TrainFile::read(&root.join("launch").join(name)).unwrap()
}

/// Removes from `dart`'s demonstrations the two DART folders of `suite` it adds after the
/// ones `base` trains on, checking that those are exactly what it adds.
pub fn take_dart_folders(
    dart: &mut ddvla::train_cli::TrainFile,
    base: &ddvla::train_cli::TrainFile,
    suite: &str,
) {
    let added: Vec<_> = dart.data.demos.drain(base.data.demos.len()..).collect();
    let expected = ["a", "b"].map(|half| {
        std::path::PathBuf::from(format!(".cache/demos/libero_style_{suite}_dart_{half}"))
    });
    assert_eq!(added, expected);
    assert_eq!(dart.data.demos, base.data.demos);
}

/// `next` starts from `before`'s output: its run folder, or that run's final weights committed
/// under `checkpoints/` with the same folder name (a stage handed on across machines whose
/// `.cache` does not survive), which must then be there.
pub fn assert_continues(
    root: &std::path::Path,
    next: &ddvla::train_cli::TrainFile,
    before: &ddvla::train_cli::TrainFile,
) {
    let init = next.model.init_checkpoint.as_deref().unwrap();
    let committed = std::path::Path::new("checkpoints").join(before.run.out.file_name().unwrap());
    if init == committed {
        assert!(root.join(&committed).join("model.safetensors").is_file());
    } else {
        assert_eq!(init, before.run.out);
    }
}

/// `a` and `b` are the same learning rate to the bit (the same TOML literal parses to the same
/// bits, so no tolerance is needed).
pub fn assert_same_lr(a: f64, b: f64) {
    assert_same_value(a, b);
}

/// `a` and `b` are the same config value to the bit (a share, a jitter: the same TOML literal
/// parses to the same bits).
pub fn assert_same_value(a: f64, b: f64) {
    assert_eq!(a.to_bits(), b.to_bits(), "{a} is not {b}");
}

/// `half` is `whole / 2` (learning rates read from TOML; halving a double is exact).
pub fn assert_half(half: f64, whole: f64) {
    assert!(
        (2.0 * half - whole).abs() <= f64::EPSILON * whole,
        "{half} is not {whole} / 2"
    );
}

/// In `cfg`, which must not name `old`, puts `old` back wherever it names `new` (in `demos` and
/// the task sources); returns how many places that was.
pub fn put_back_folder(
    cfg: &mut ddvla::train_cli::TrainFile,
    old: &std::path::Path,
    new: &std::path::Path,
) -> usize {
    let mut replaced = 0;
    let data = &mut cfg.data;
    for folder in data
        .demos
        .iter_mut()
        .chain(data.task_sources.values_mut().flatten())
    {
        assert_ne!(folder, old);
        if folder == new {
            *folder = old.to_path_buf();
            replaced += 1;
        }
    }
    replaced
}

/// Asserts the launch config `low` differs from `base` in a halved peak and final lr and its
/// output folder only; returns that folder.
pub fn assert_half_lr_variant(base: &str, low: &str) -> std::path::PathBuf {
    let base = launch_train_config(base);
    let mut low = launch_train_config(low);
    assert_half(low.train.lr.peak_lr, base.train.lr.peak_lr);
    assert_half(low.train.lr.min_lr, base.train.lr.min_lr);
    low.train.lr = base.train.lr.clone();
    assert_same_but_out(low, &base)
}

/// Gives `variant` `base`'s learning-rate schedule, step count and snapshot interval (after
/// the caller has checked how they differ).
pub fn take_schedule(
    variant: &mut ddvla::train_cli::TrainFile,
    base: &ddvla::train_cli::TrainFile,
) {
    variant.train.lr.clone_from(&base.train.lr);
    variant.run.steps = base.run.steps;
    variant.run.keep_every = base.run.keep_every;
}

/// `variant` equals `base` once it writes to `base`'s output folder; returns the variant's
/// own output folder.
pub fn assert_same_but_out(
    mut variant: ddvla::train_cli::TrainFile,
    base: &ddvla::train_cli::TrainFile,
) -> std::path::PathBuf {
    let out = std::mem::replace(&mut variant.run.out, base.run.out.clone());
    assert_eq!(&variant, base);
    out
}

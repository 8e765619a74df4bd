//! End-to-end: `ddvla checkpoint resize-images` takes the shipped policy to 192 px images;
//! `ddvla eval` and `ddvla demos record` then render at the checkpoint's own size, and a size
//! that differs from the model's is refused with the flag to pass.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ddvla::demos::read_index;
use ddvla_tasks::eval::EvalResults;

mod common;
use common::run::ok;

/// One 3-step episode of the spatial suite's task 2.
const ONE_SHORT_EPISODE: [&str; 8] = [
    "--suite",
    "libero_style_spatial",
    "--tasks",
    "2",
    "--episodes-per-task",
    "1",
    "--max-steps",
    "3",
];

fn ddvla(args: &[&str], paths: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ddvla"));
    cmd.args(args);
    // A path with an empty flag is a positional argument.
    for (flag, path) in paths {
        if !flag.is_empty() {
            cmd.arg(flag);
        }
        cmd.arg(path);
    }
    cmd.output().unwrap()
}

#[test]
fn a_resized_checkpoint_is_evaluated_and_recorded_at_its_size() {
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("checkpoints/compact-libero-spatial-parallel-50");
    let d = tempfile::tempdir().unwrap();
    let resized = d.path().join("192px");
    let o = ddvla(
        &["checkpoint", "resize-images", "--image-size", "192"],
        &[("", &shipped), ("--out", &resized)],
    );
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("192 px (12×12 patches) from 128 px (8×8)"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A size that is not a multiple of the patches, and an existing output, are refused.
    let o = ddvla(
        &["checkpoint", "resize-images", "--image-size", "200"],
        &[("", &shipped), ("--out", &d.path().join("200px"))],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("multiple of the 16 px patches"));
    assert!(!d.path().join("200px").exists());
    let o = ddvla(
        &["checkpoint", "resize-images", "--image-size", "192"],
        &[("", &shipped), ("--out", &resized)],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));

    let eval = [&["eval"], ONE_SHORT_EPISODE.as_slice()].concat();
    let (out, rec) = (d.path().join("eval"), d.path().join("rec"));
    ok(&ddvla(
        &eval,
        &[("--policy", &resized), ("--out", &out), ("--record", &rec)],
    ));
    let results: EvalResults =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results.meta.image_size, 192);
    assert_eq!(read_index(&rec).unwrap().image_size, 192);

    let mut at_128 = eval.clone();
    at_128.extend(["--image-size", "128"]);
    let o = ddvla(
        &at_128,
        &[("--policy", &resized), ("--out", &d.path().join("e128"))],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the model reads 192 px images, the suite renders 128 px"),
        "{err}"
    );

    // The expert records at the size asked for.
    let demos = d.path().join("demos");
    let record = [
        &["demos", "record"],
        ONE_SHORT_EPISODE.as_slice(),
        &["--keep-failures", "--image-size", "192"],
    ]
    .concat();
    ok(&ddvla(&record, &[("--out", &demos)]));
    assert_eq!(read_index(&demos).unwrap().image_size, 192);
}

//! `ddvla checkpoint export`: a run folder's policy copied out loads as the same policy, and
//! what is not a checkpoint, or an existing output, is refused with nothing written.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::Command;

use candle_core::Device;
use ddvla_policy::Policy;

/// `ddvla checkpoint export RUN --out OUT`.
fn export(run: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["checkpoint", "export"])
        .arg(run)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn an_exported_run_is_its_policy_without_the_optimizer_state() {
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-goal-parallel");
    // A run folder: the committed policy plus what `ddvla train` also leaves there.
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    std::fs::create_dir(&run).unwrap();
    for name in ddvla_policy::checkpoint_export::POLICY_FILES {
        std::fs::copy(shipped.join(name), run.join(name)).unwrap();
    }
    std::fs::copy(shipped.join("stage1-train.toml"), run.join("train.toml")).unwrap();
    std::fs::copy(shipped.join("stage1-loss.csv"), run.join("loss.csv")).unwrap();
    std::fs::write(run.join("optimizer.safetensors"), b"adamw moments").unwrap();
    std::fs::write(run.join("trainer_state.json"), b"{}").unwrap();
    let out = d.path().join("exported");
    let o = export(&run, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let expected = [
        "config.json",
        "dataset_statistics.json",
        "loss.csv",
        "model.safetensors",
        "tokenizer.json",
        "train.toml",
    ];
    assert_eq!(names, expected);
    for name in expected {
        assert_eq!(
            std::fs::read(run.join(name)).unwrap(),
            std::fs::read(out.join(name)).unwrap(),
            "{name}"
        );
    }
    let policy = Policy::from_checkpoint(&out, None, &Device::Cpu).unwrap();
    assert!(policy.is_trained());
    // Exporting again over it is refused and leaves it as it was.
    let again = export(&run, &out);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn a_folder_that_is_not_a_checkpoint_is_refused_with_nothing_written() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("loss.csv"), b"step,loss\n").unwrap();
    let out = d.path().join("exported");
    let o = export(&run, &out);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("has no config.json"), "{err}");
    assert!(!out.exists());
    // Weights that do not match the configuration: refused before anything is copied.
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-goal-parallel");
    for name in ddvla_policy::checkpoint_export::POLICY_FILES {
        std::fs::copy(shipped.join(name), run.join(name)).unwrap();
    }
    std::fs::write(run.join("model.safetensors"), b"not safetensors").unwrap();
    let o = export(&run, &out);
    assert!(!o.status.success());
    assert!(!out.exists());
}

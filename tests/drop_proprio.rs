//! A policy without proprioception, end to end: `ddvla checkpoint drop-proprio` copies a
//! trained checkpoint without its proprio input, `ddvla train` fine-tunes the copy (which
//! keeps no proprio projector), `ddvla eval` runs it, and dropping twice is refused with an
//! error that says why. `ddvla checkpoint add-proprio` then gives the fine-tuned copy its
//! proprio back (a zero output layer, which training moves) and the result trains and runs.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use candle_core::Device;

mod common;
use common::run::{
    ddvla, eval_one_object_episode, fail, ok, quick_train_config, record_random_object, train,
};

/// The names of the tensors in `dir`'s weights.
fn tensor_names(dir: &Path) -> Vec<String> {
    candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu)
        .unwrap()
        .into_keys()
        .collect()
}

#[test]
fn a_checkpoint_without_proprio_trains_and_evaluates() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record_random_object(&demos, "0", 2, 16);
    let base = d.path().join("base");
    let config = quick_train_config("preset = \"compact\"", "", &demos, &base);
    ok(&train(&d.path().join("base.toml"), &config));
    let drop = |input: &Path, out: &Path| {
        ddvla()
            .args(["checkpoint", "drop-proprio"])
            .arg(input)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let blind = d.path().join("blind");
    let o = drop(&base, &blind);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("proprio_projector.fc1.weight"),
        "names what it left out: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    fail(
        &drop(&blind, &d.path().join("again")),
        &["reads no proprio"],
    );
    let tuned = d.path().join("tuned");
    let init = format!("init_checkpoint = \"{}\"", blind.display());
    let config = quick_train_config(&init, "", &demos, &tuned);
    ok(&train(&d.path().join("tuned.toml"), &config));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["use_proprio"], false);
    assert!(
        tensor_names(&base)
            .iter()
            .any(|k| k.starts_with("proprio_projector."))
    );
    assert!(
        !tensor_names(&tuned)
            .iter()
            .any(|k| k.starts_with("proprio_projector."))
    );
    eval_one_object_episode(&tuned, &d.path().join("ev"));

    let back = d.path().join("back");
    let add = |input: &Path| {
        ddvla()
            .args(["checkpoint", "add-proprio"])
            .arg(input)
            .arg("--out")
            .arg(&back)
            .output()
            .unwrap()
    };
    fail(&add(&base), &["reads proprio already"]);
    let o = add(&tuned);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("proprio_projector.fc2.weight"));
    let retuned = d.path().join("retuned");
    let init = format!("init_checkpoint = \"{}\"", back.display());
    let config = quick_train_config(&init, "", &demos, &retuned);
    ok(&train(&d.path().join("retuned.toml"), &config));
    let fc2_sum = |dir: &Path| -> f32 {
        let w =
            candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
        let t = &w["proprio_projector.fc2.weight"];
        t.abs().unwrap().sum_all().unwrap().to_scalar().unwrap()
    };
    assert!(fc2_sum(&back) <= 0.0, "starts at zero");
    assert!(fc2_sum(&retuned) > 0.0, "training moved the output layer");
    eval_one_object_episode(&retuned, &d.path().join("ev-back"));
}

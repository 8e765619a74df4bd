//! The vision towers' convolutional branch end to end: a fresh model gets it from `[model]
//! conv_stem_channels`, a trained checkpoint from `ddvla checkpoint add-conv-stem`, and both
//! train (the branch's output leaves zero) and load as policies; a fine-tune cannot set the
//! key and a branch that misses the patch grid is refused, each naming what to do.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use candle_core::Device;

mod common;
use common::run::{ddvla, fail, ok, quick_train_config, record_random_object, train};

const OUT_WEIGHT: &str = "vision_backbone.featurizer.embeddings.conv_stem.out.weight";

/// The channels in `dir`'s `config.json`.
fn channels(dir: &Path) -> serde_json::Value {
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    cfg["vision"]["conv_stem_channels"].clone()
}

/// The largest magnitude of the branch's output weights in `dir`.
fn out_weight_max(dir: &Path) -> f32 {
    let w = ddvla_policy::checkpoint::load_weight_tensors(dir).unwrap();
    w[OUT_WEIGHT]
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[test]
fn fresh_and_converted_models_train_with_the_branch() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record_random_object(&demos, "0", 2, 12);
    let toml = |model: &str, out: &Path| {
        quick_train_config(model, "cameras = [\"agentview\"]\n", &demos, out)
    };
    // A fresh model with the branch: two steps move its output off zero.
    let fresh = d.path().join("fresh");
    ok(&train(
        &d.path().join("fresh.toml"),
        &toml("preset = \"tiny\"\nconv_stem_channels = [4, 6, 8]", &fresh),
    ));
    assert_eq!(channels(&fresh), serde_json::json!([4, 6, 8]));
    assert!(out_weight_max(&fresh) > 0.0);
    ddvla_policy::checkpoint::load_model(&fresh, &Device::Cpu).unwrap();
    // A plain model, given the branch by the CLI (output at zero), then fine-tuned.
    let plain = d.path().join("plain");
    ok(&train(
        &d.path().join("plain.toml"),
        &toml("preset = \"tiny\"", &plain),
    ));
    assert!(channels(&plain).is_null());
    let with = d.path().join("with");
    let o = ddvla()
        .args(["checkpoint", "add-conv-stem"])
        .arg(&plain)
        .args(["--channels", "4,6,8", "--out"])
        .arg(&with)
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(channels(&with), serde_json::json!([4, 6, 8]));
    assert!(out_weight_max(&with).abs() < f32::MIN_POSITIVE);
    let tuned = d.path().join("tuned");
    let init = format!("init_checkpoint = \"{}\"", with.display());
    ok(&train(&d.path().join("tuned.toml"), &toml(&init, &tuned)));
    assert_eq!(channels(&tuned), serde_json::json!([4, 6, 8]));
    assert!(out_weight_max(&tuned) > 0.0);
    // Refused: the key on a fine-tune, a branch that misses the 8-pixel patch grid, and the
    // CLI on a checkpoint that has one.
    let init = format!(
        "init_checkpoint = \"{}\"\nconv_stem_channels = [4, 6, 8]",
        plain.display()
    );
    let o = train(
        &d.path().join("bad.toml"),
        &toml(&init, &d.path().join("bad")),
    );
    fail(&o, &["add-conv-stem"]);
    let o = train(
        &d.path().join("short.toml"),
        &toml(
            "preset = \"tiny\"\nconv_stem_channels = [4, 8]",
            &d.path().join("short"),
        ),
    );
    fail(&o, &["conv_stem_channels"]);
    let o = ddvla()
        .args(["checkpoint", "add-conv-stem"])
        .arg(&with)
        .args(["--channels", "4,6,8", "--out"])
        .arg(d.path().join("twice"))
        .output()
        .unwrap();
    fail(&o, &["already"]);
    assert!(!d.path().join("twice").exists());
}

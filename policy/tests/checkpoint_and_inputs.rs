//! Checkpoint round trip and bad-input handling: every failure is a typed error that names
//! what and where, never a panic.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use common::{observation, tiny_config};
use ddvla_policy::checkpoint::{self, files};
use ddvla_policy::decode::{self, DecoderKind};
use ddvla_policy::model::AttentionMode;
use ddvla_policy::observation::CameraImage;
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::text::byte_level_tokenizer_json;
use ddvla_policy::{Policy, PolicyError};

fn write_checkpoint(dir: &Path) {
    let cfg = tiny_config(AttentionMode::Bidirectional);
    let (_model, varmap) = checkpoint::random_model(cfg.clone(), &Device::Cpu).unwrap();
    checkpoint::save(&varmap, &cfg.file, dir).unwrap();
    std::fs::write(dir.join(files::TOKENIZER), byte_level_tokenizer_json()).unwrap();
    DatasetStatistics::identity(7, 8)
        .save(&dir.join(files::STATISTICS))
        .unwrap();
}

fn rewrite_weights(dir: &Path, edit: impl FnOnce(&mut HashMap<String, Tensor>)) {
    let path = dir.join(files::WEIGHTS);
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    edit(&mut tensors);
    candle_core::safetensors::save(&tensors, &path).unwrap();
}

fn load_error(dir: &Path) -> String {
    match Policy::from_checkpoint(dir, None, &Device::Cpu) {
        Ok(_) => panic!("{} loaded but should not have", dir.display()),
        Err(e) => e.to_string(),
    }
}

const SOME_TENSOR: &str = "language_model.model.layers.1.self_attn.k_proj.weight";

#[test]
fn checkpoint_round_trip_reproduces_the_model() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path());
    let a = Policy::from_checkpoint(dir.path(), None, &Device::Cpu).unwrap();
    let b = Policy::from_checkpoint(dir.path(), Some("untrained"), &Device::Cpu).unwrap();
    assert!(a.is_trained());
    let obs = observation(a.model().config());
    let mut dec = decode::build(DecoderKind::Parallel, 0);
    assert_eq!(
        a.act(&obs, dec.as_mut(), None).unwrap().tokens,
        b.act(&obs, dec.as_mut(), None).unwrap().tokens
    );
    assert!(Policy::from_checkpoint(dir.path(), Some("bridge"), &Device::Cpu).is_err());
}

#[test]
fn missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path());
    rewrite_weights(dir.path(), |t| {
        t.remove(SOME_TENSOR);
    });
    match Policy::from_checkpoint(dir.path(), None, &Device::Cpu) {
        Err(PolicyError::MissingTensor {
            tensor, expected, ..
        }) => {
            assert_eq!(tensor, SOME_TENSOR);
            assert_eq!(expected, vec![32, 64]);
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("loaded a checkpoint with a missing tensor"),
    }
}

#[test]
fn mis_shaped_tensor_names_expected_and_found() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path());
    rewrite_weights(dir.path(), |t| {
        t.insert(
            SOME_TENSOR.to_owned(),
            Tensor::zeros((64, 64), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
    });
    let err = Policy::from_checkpoint(dir.path(), None, &Device::Cpu)
        .err()
        .unwrap();
    assert!(
        matches!(&err, PolicyError::ShapeMismatch { tensor, expected, found, .. }
            if tensor == SOME_TENSOR && expected == &vec![32, 64] && found == &vec![64, 64]),
        "{err}"
    );
    assert!(err.to_string().contains(SOME_TENSOR));
}

#[test]
fn nan_weights_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path());
    rewrite_weights(dir.path(), |t| {
        let mut v = vec![0.0_f32; 32 * 64];
        v[100] = f32::NAN;
        t.insert(
            SOME_TENSOR.to_owned(),
            Tensor::from_vec(v, (32, 64), &Device::Cpu).unwrap(),
        );
    });
    let err = Policy::from_checkpoint(dir.path(), None, &Device::Cpu)
        .err()
        .unwrap();
    assert!(
        matches!(&err, PolicyError::NonFiniteWeights { tensor, .. } if tensor == SOME_TENSOR),
        "{err}"
    );
}

#[test]
fn unknown_config_key_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path());
    let cfg_path = dir.path().join(files::CONFIG);
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        text.replacen("\"logit_shift\"", "\"logit_shfit\"", 1),
    )
    .unwrap();
    let err = load_error(dir.path());
    assert!(
        err.contains("logit_shfit") && err.contains("config.json"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path());
    std::fs::remove_file(dir.path().join(files::STATISTICS)).unwrap();
    let err = load_error(dir.path());
    assert!(err.contains("dataset_statistics.json"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path());
    std::fs::remove_file(dir.path().join(files::TOKENIZER)).unwrap();
    let err = load_error(dir.path());
    assert!(err.contains("tokenizer.json"), "{err}");

    let cfg_err = ddvla_policy::model::Config::new(ddvla_policy::model::ConfigFile {
        text: ddvla_policy::model::config::TextConfig {
            num_key_value_heads: 3,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(cfg_err.contains("text.num_key_value_heads"), "{cfg_err}");
}

#[test]
fn bad_observations_are_errors_not_panics() {
    let policy = common::tiny_policy(AttentionMode::Bidirectional);
    let good = observation(policy.model().config());
    let mut dec = decode::build(DecoderKind::Parallel, 0);
    let mut check = |obs: ddvla_policy::observation::Observation, needle: &str| {
        let err = policy
            .act(&obs, dec.as_mut(), None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    };
    let mut o = good.clone();
    o.images[0] = CameraImage::filled(16, 32, [0, 0, 0]);
    check(o, "camera 0 image");
    let mut o = good.clone();
    o.images[0].rgb.extend([0; 32 * 32]); // RGBA-sized buffer
    check(o, "camera 0 image");
    let mut o = good.clone();
    o.images.push(o.images[0].clone());
    check(o, "2 cameras given");
    let mut o = good.clone();
    o.proprio[3] = f32::NAN;
    check(o, "proprio");
    let mut o = good.clone();
    o.proprio.pop();
    check(o, "proprio");
    let mut o = good.clone();
    o.instruction = "  ".into();
    check(o, "instruction");
    let mut o = good.clone();
    o.instruction = "x".repeat(1000);
    check(o, "at most");
    assert!(policy.act(&good, dec.as_mut(), None).is_ok());
}

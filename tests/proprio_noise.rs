//! Proprio noise (`[data] proprio_noise_std`): augmented training samples carry the recorded
//! proprio plus Gaussian noise of the configured standard deviation per value (the images
//! augmented as without it, the action labels unchanged), validation samples the recorded
//! proprio; a list of the wrong length or with a negative or non-finite value is refused
//! with an error naming the setting, and a run trains with it.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use ddvla_policy::train::augment::AugmentConfig;

mod common;
use common::run::{fail, load_twice, ok, quick_train_config, record_random_object, train};

/// Two random-action episodes of object task 0, 16 steps each.
fn record(out: &Path) {
    record_random_object(out, "0", 2, 16);
}

#[test]
fn augmented_samples_carry_noise_of_the_configured_spread() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let (plain, mut noisy) = load_twice(&demos);
    let dim = plain
        .sample((0, 0), None, 0)
        .unwrap()
        .observation
        .proprio
        .len();
    assert_eq!(dim, 8, "the object suite's proprio");
    // Position 1 cm, orientation 0.05 rad, the grip's two values untouched.
    let std = [0.01, 0.01, 0.01, 0.05, 0.05, 0.05, 0.0, 0.0];
    noisy.set_proprio_noise(&std).unwrap();
    let aug = AugmentConfig::default();
    let t = 5;
    let clean = plain.sample((1, t), None, 0).unwrap();
    let val = noisy.sample((1, t), None, 0).unwrap();
    assert_eq!(
        val.observation.proprio, clean.observation.proprio,
        "unaugmented"
    );
    let draws = 400;
    let mut sum = [0.0f64; 8];
    let mut sum_sq = [0.0f64; 8];
    for seed in 0..draws {
        let a = plain.sample((1, t), Some(&aug), seed).unwrap();
        let b = noisy.sample((1, t), Some(&aug), seed).unwrap();
        assert_eq!(
            b.observation.images, a.observation.images,
            "same image draws"
        );
        assert_eq!(b.actions, a.actions, "labels unchanged");
        for i in 0..8 {
            let e = f64::from(b.observation.proprio[i] - a.observation.proprio[i]);
            sum[i] += e;
            sum_sq[i] += e * e;
        }
    }
    for i in 0..8 {
        let n = draws as f64;
        let mean = sum[i] / n;
        let sd = (sum_sq[i] / n - mean * mean).max(0.0).sqrt();
        let want = f64::from(std[i]);
        if want == 0.0 {
            assert!(sum_sq[i] < 1e-12, "value {i} moved: {}", sum_sq[i]);
        } else {
            // 400 draws: the sample sd is within ~7% (two standard errors) of the true one,
            // the mean within 0.1 sd.
            assert!(
                (sd / want - 1.0).abs() < 0.12,
                "value {i}: sd {sd} against {want}"
            );
            assert!(mean.abs() < 0.15 * want, "value {i}: mean {mean}");
        }
    }
    // One value per recorded proprio value, or none.
    let err = noisy.set_proprio_noise(&[0.01; 3]).unwrap_err().to_string();
    assert!(
        err.contains("proprio_noise_std") && err.contains("3 values") && err.contains("8 proprio"),
        "{err}"
    );
    noisy.set_proprio_noise(&[]).unwrap();
    let b = noisy.sample((1, t), Some(&aug), 7).unwrap();
    let a = plain.sample((1, t), Some(&aug), 7).unwrap();
    assert_eq!(b.observation.proprio, a.observation.proprio, "noise off");
}

#[test]
fn a_run_trains_with_proprio_noise_and_refuses_bad_values() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let out = d.path().join("run");
    let toml = |extra: &str| quick_train_config("preset = \"compact\"", extra, &demos, &out);
    let o = train(
        &d.path().join("neg.toml"),
        &toml("proprio_noise_std = [0.01, 0.01, -0.01, 0, 0, 0, 0, 0]\n"),
    );
    fail(&o, &["proprio_noise_std", "value 2"]);
    let o = train(
        &d.path().join("short.toml"),
        &toml("proprio_noise_std = [0.01, 0.01]\n"),
    );
    fail(&o, &["proprio_noise_std", "2 values", "8 proprio"]);
    let o = train(
        &d.path().join("ok.toml"),
        &toml("proprio_noise_std = [0.01, 0.01, 0.01, 0.03, 0.03, 0.03, 0, 0]\n"),
    );
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Gaussian noise"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let saved = std::fs::read_to_string(out.join("train.toml")).unwrap();
    assert!(saved.contains("proprio_noise_std"), "{saved}");
}

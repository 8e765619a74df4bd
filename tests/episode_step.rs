//! The episode step as a proprio input: training samples carry their step index (scaled by
//! `1 ± episode_step_jitter` when augmented, the images augmented as without it), the
//! statistics cover it, `ddvla checkpoint add-episode-step` gives a trained checkpoint the
//! input, a run trains from it, and `ddvla eval` runs the result (the evaluation loop
//! appends the step; without it the model refuses the observation).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use ddvla_policy::train::augment::AugmentConfig;

mod common;
use common::run::{
    ddvla, eval_one_object_episode, fail, load_twice, ok, quick_train_config, record_random_object,
    train,
};

/// Two random-action episodes of object task 0, 16 steps each.
fn record(out: &Path) {
    record_random_object(out, "0", 2, 16);
}

#[test]
fn samples_carry_the_jittered_step_and_the_statistics_cover_it() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let (plain, mut stepped) = load_twice(&demos);
    stepped.set_episode_step(Some(0.2));
    let aug = AugmentConfig::default();
    let mut scales = Vec::new();
    for t in [0, 5, 15] {
        let a = plain.sample((1, t), None, 0).unwrap();
        let b = stepped.sample((1, t), None, 0).unwrap();
        let robot = a.observation.proprio.len();
        assert_eq!(b.observation.proprio[..robot], a.observation.proprio[..]);
        let step = b.observation.proprio[robot];
        assert!(
            (step - t as f32).abs() < 1e-6,
            "unaugmented: the step {t}, got {step}"
        );
        for seed in 0..8 {
            let a = plain.sample((1, t), Some(&aug), seed).unwrap();
            let b = stepped.sample((1, t), Some(&aug), seed).unwrap();
            assert_eq!(
                b.observation.images, a.observation.images,
                "same image draws"
            );
            let step = b.observation.proprio[robot];
            assert!(
                (t as f32 * 0.8 - 1e-4..=t as f32 * 1.2 + 1e-4).contains(&step),
                "step {t} became {step}"
            );
            if t > 0 {
                scales.push(step / t as f32);
            }
        }
    }
    assert!(
        scales.iter().any(|s| (s - 1.0).abs() > 0.01),
        "the jitter draws factors other than 1: {scales:?}"
    );
    let stats = stepped.statistics("k").unwrap();
    let p = stats.select(Some("k")).unwrap().proprio.clone().unwrap();
    let plain_p = plain.statistics("k").unwrap().0["k"]
        .proprio
        .clone()
        .unwrap();
    assert_eq!(p.q01.len(), plain_p.q01.len() + 1);
    assert_eq!(p.q01[..plain_p.q01.len()], plain_p.q01[..]);
    let (lo, hi) = (*p.q01.last().unwrap(), *p.q99.last().unwrap());
    assert!(
        lo < 1.0 && (14.0..=15.0).contains(&hi),
        "step bounds {lo}..{hi}"
    );
}

#[test]
fn a_checkpoint_given_the_step_trains_and_evaluates() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let toml = |init: &str, out: &Path, jitter: &str| quick_train_config(init, jitter, &demos, out);
    let base = d.path().join("base");
    ok(&train(
        &d.path().join("base.toml"),
        &toml("preset = \"compact\"", &base, ""),
    ));
    let with_step = d.path().join("with-step");
    ok(&ddvla()
        .args(["checkpoint", "add-episode-step"])
        .arg(&base)
        .args(["--max-step", "16", "--out"])
        .arg(&with_step)
        .output()
        .unwrap());
    // A jitter of 1 or more would let the step reach 0 or flip sign: refused.
    let tuned = d.path().join("tuned");
    let init = format!("init_checkpoint = \"{}\"", with_step.display());
    let o = train(
        &d.path().join("bad.toml"),
        &toml(&init, &tuned, "episode_step_jitter = 1.5\n"),
    );
    fail(&o, &["episode_step_jitter"]);
    let o = train(
        &d.path().join("tuned.toml"),
        &toml(&init, &tuned, "episode_step_jitter = 0.2\n"),
    );
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("takes the episode step"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["episode_step_input"], true);
    assert_eq!(cfg["proprio_dim"], 9);
    // The training moved the step's projector column off zero.
    let weights = |dir: &Path| {
        let t = candle_core::safetensors::load(
            dir.join("model.safetensors"),
            &candle_core::Device::Cpu,
        )
        .unwrap();
        t["proprio_projector.fc1.weight"]
            .narrow(1, 8, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert!(weights(&with_step).iter().all(|w| *w == 0.0));
    assert!(weights(&tuned).iter().any(|w| *w != 0.0));
    // The evaluation loop appends the step for it.
    eval_one_object_episode(&tuned, &d.path().join("ev"));
}

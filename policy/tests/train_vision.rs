//! `train_vision`: a step updates the vision towers when they are trained and leaves them
//! bit-identical when they are frozen; the loss still falls on a fixed batch with them
//! trained. And the inference centre crop is saved with the checkpoint but never applied to
//! training inputs (they come already cropped).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::model::{AttentionMode, Config};
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::train::{Batch, LrSchedule, Sample, TrainConfig, Trainer};

fn trainer(cfg: &Config, train_vision: bool) -> Trainer {
    let stats = DatasetStatistics::identity(cfg.file.action.action_dim, cfg.file.proprio_dim);
    let tc = TrainConfig {
        lr: LrSchedule {
            peak_lr: 3e-3,
            min_lr: 3e-4,
            warmup_steps: 1,
            total_steps: 40,
        },
        train_vision,
        ..TrainConfig::default()
    };
    Trainer::new(cfg.clone(), stats, None, tc, &Device::Cpu).unwrap()
}

fn batch(cfg: &Config) -> Batch {
    let a = &cfg.file.action;
    let samples = (0..4)
        .map(|i| {
            let mut obs = common::observation(cfg);
            obs.images[0] = common::frame(cfg.file.vision.image_size, 5 + i as u8);
            let actions = (0..a.chunk_len * a.action_dim)
                .map(|k| 0.8 * (0.41 * (k + 7 * i) as f32).cos())
                .collect();
            Sample {
                observation: obs,
                actions,
                keyposes: Vec::new(),
            }
        })
        .collect();
    Batch { samples }
}

/// The vision variables' values, by name.
fn vision_weights(t: &Trainer) -> Vec<(String, Vec<f32>)> {
    let data = t.varmap().data().lock().unwrap();
    let mut out: Vec<(String, Vec<f32>)> = data
        .iter()
        .filter(|(name, _)| name.starts_with("vision_backbone."))
        .map(|(name, var)| {
            let v = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            (name.clone(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn trained_towers_change_and_frozen_ones_do_not() {
    let cfg = common::tiny_config(AttentionMode::Bidirectional);
    let b = batch(&cfg);
    let mut frozen = trainer(&cfg, false);
    let mut trained = trainer(&cfg, true);
    assert!(trained.trained_variables() > frozen.trained_variables());
    let before = vision_weights(&trained);
    assert!(!before.is_empty());
    frozen.step(&b).unwrap();
    trained.step(&b).unwrap();
    assert_eq!(vision_weights(&frozen), before, "frozen towers moved");
    let after = vision_weights(&trained);
    let moved = before
        .iter()
        .zip(&after)
        .filter(|(x, y)| x.1 != y.1)
        .count();
    assert_eq!(
        moved,
        before.len(),
        "every vision variable should get an update"
    );
}

/// A convolutional branch starts with its output at zero (the model is the one without it)
/// and still trains: the output gets a gradient at once, the strided convolutions from the
/// second step on.
#[test]
fn a_conv_stem_trains_from_its_zero_output() {
    let mut cfg = common::tiny_config(AttentionMode::Bidirectional);
    cfg.file.vision.conv_stem_channels = vec![4, 6, 8];
    let cfg = Config::new(cfg.file).unwrap();
    let b = batch(&cfg);
    let mut t = trainer(&cfg, true);
    let stem = |t: &Trainer| -> Vec<(String, Vec<f32>)> {
        vision_weights(t)
            .into_iter()
            .filter(|(name, _)| name.contains(".conv_stem."))
            .collect()
    };
    let before = stem(&t);
    assert_eq!(before.len(), 2 * 4, "three convolutions and the output");
    let out_weight = |w: &[(String, Vec<f32>)]| {
        w.iter()
            .find(|(name, _)| name.ends_with("conv_stem.out.weight"))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert!(out_weight(&before).iter().all(|v| *v == 0.0));
    let first = t.eval_loss(&b, 1).unwrap();
    t.step(&b).unwrap();
    assert!(out_weight(&stem(&t)).iter().any(|v| *v != 0.0));
    t.step(&b).unwrap();
    let after = stem(&t);
    for ((name, x), (_, y)) in before.iter().zip(&after) {
        assert_ne!(x, y, "{name} did not move");
    }
    for _ in 0..28 {
        t.step(&b).unwrap();
    }
    let last = t.eval_loss(&b, 1).unwrap();
    assert!(last < 0.7 * first, "loss {first} → {last}");
}

#[test]
fn loss_falls_with_trained_towers() {
    let cfg = common::tiny_config(AttentionMode::Bidirectional);
    let b = batch(&cfg);
    let mut t = trainer(&cfg, true);
    let first = t.eval_loss(&b, 1).unwrap();
    for _ in 0..30 {
        t.step(&b).unwrap();
    }
    let last = t.eval_loss(&b, 1).unwrap();
    assert!(last < 0.7 * first, "loss {first} → {last}");
}

#[test]
fn the_inference_centre_crop_is_saved_and_not_applied_in_training() {
    let cfg = common::tiny_config(AttentionMode::Bidirectional);
    let b = batch(&cfg);
    let mut t = trainer(&cfg, true);
    let before = t.eval_loss(&b, 4).unwrap();
    t.set_inference_center_crop(Some(0.9));
    assert_eq!(
        t.eval_loss(&b, 4).unwrap().to_bits(),
        before.to_bits(),
        "training inputs are not re-cropped"
    );
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    let saved = Config::load(&dir.path().join("config.json")).unwrap();
    assert_eq!(saved.file.center_crop_area, Some(0.9));
    let resumed = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(
        resumed.eval_loss(&b, 4).unwrap().to_bits(),
        before.to_bits()
    );
}

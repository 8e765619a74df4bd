//! The keypose loss (`train.keypose`): it trains its head and the model to the targets, it is
//! saved and resumed with the run, the policy checkpoint still loads, and bad targets are
//! clear errors before anything changes.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::model::{AttentionMode, Config};
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::train::keypose::{HEAD_BIAS, HEAD_WEIGHT};
use ddvla_policy::train::{
    Batch, KeyposeConfig, KeyposeInput, KeyposeTarget, LrSchedule, Objective, Sample, TrainConfig,
    Trainer,
};
use ddvla_policy::{Policy, PolicyError, checkpoint};

fn cfg() -> Config {
    common::tiny_config(AttentionMode::Bidirectional)
}

fn train_cfg(keypose: Option<KeyposeConfig>) -> TrainConfig {
    TrainConfig {
        seed: 3,
        objective: Objective::Parallel,
        lr: LrSchedule {
            peak_lr: 3e-3,
            min_lr: 3e-4,
            warmup_steps: 2,
            total_steps: 40,
        },
        keypose,
        ..TrainConfig::default()
    }
}

fn trainer(keypose: Option<KeyposeConfig>) -> Trainer {
    let c = cfg();
    let stats = DatasetStatistics::identity(c.file.action.action_dim, c.file.proprio_dim);
    Trainer::new(c, stats, None, train_cfg(keypose), &Device::Cpu).unwrap()
}

fn one_event() -> KeyposeConfig {
    KeyposeConfig {
        events: 1,
        weight: 1.0,
        ..KeyposeConfig::default()
    }
}

/// One object's position, read from the scene camera's tokens.
fn scene_object() -> KeyposeConfig {
    KeyposeConfig {
        target: KeyposeTarget::Objects,
        objects: 1,
        input: KeyposeInput::SceneTokens,
        ..KeyposeConfig::default()
    }
}

/// Two samples that differ only in their image, with keypose targets that follow it.
fn batch(cfg: &Config) -> Batch {
    let a = &cfg.file.action;
    let actions = vec![0.1; a.chunk_len * a.action_dim];
    let mut other = common::observation(cfg);
    other.images[0] = common::frame(cfg.file.vision.image_size, 9);
    Batch {
        samples: vec![
            Sample {
                observation: common::observation(cfg),
                actions: actions.clone(),
                keyposes: vec![1.0, -0.5, 0.25],
            },
            Sample {
                observation: other,
                actions,
                keyposes: vec![-1.0, 0.5, -0.25],
            },
        ],
    }
}

#[test]
fn training_lowers_the_keypose_loss() {
    let mut t = trainer(Some(one_event()));
    let b = batch(&cfg());
    let first = t.step(&b).unwrap();
    let before = first.keypose_loss.unwrap();
    let mut last = before;
    for _ in 0..25 {
        last = t.step(&b).unwrap().keypose_loss.unwrap();
    }
    assert!(
        last < 0.5 * before,
        "keypose loss {before} -> {last} after 25 steps"
    );
    let eval = t.eval_keypose(&b).unwrap().unwrap();
    assert!(eval.is_finite() && eval < before, "{eval}");
    // Without the loss, nothing of it is computed.
    let mut plain = trainer(None);
    let s = plain.step(&b).unwrap();
    assert_eq!(s.keypose_loss, None);
    assert_eq!(plain.eval_keyposes(&[b], false).unwrap(), None);
}

/// The tiny preset with two cameras (scene, then wrist).
fn two_cameras() -> Config {
    Config::new(ddvla_policy::model::ConfigFile {
        num_images_in_input: 2,
        ..cfg().file
    })
    .unwrap()
}

fn scene_trainer(c: &Config, keypose: Option<KeyposeConfig>) -> Trainer {
    let stats = DatasetStatistics::identity(c.file.action.action_dim, c.file.proprio_dim);
    let tc = TrainConfig {
        train_vision: true,
        ..train_cfg(keypose)
    };
    Trainer::new(c.clone(), stats, None, tc, &Device::Cpu).unwrap()
}

/// [`batch`] with the two samples differing only in camera `camera`'s image.
fn batch_differing_in(c: &Config, camera: usize) -> Batch {
    let mut b = batch(c);
    b.samples[1].observation = common::observation(c);
    b.samples[1].observation.images[camera] = common::frame(c.file.vision.image_size, 9);
    b
}

fn vision_weights(t: &Trainer) -> Vec<(String, Vec<f32>)> {
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    let mut w: Vec<_> = checkpoint::load_weight_tensors(dir.path())
        .unwrap()
        .into_iter()
        .filter(|(name, _)| name.starts_with("vision_backbone"))
        .map(|(name, t)| (name, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

#[test]
fn a_scene_token_head_reads_camera_0_and_trains_the_vision_tower() {
    // It reads the vision tower's features: frozen towers are refused, naming the setting.
    let c = two_cameras();
    let stats = DatasetStatistics::identity(c.file.action.action_dim, c.file.proprio_dim);
    let frozen_cfg = TrainConfig {
        train_vision: false,
        ..train_cfg(Some(scene_object()))
    };
    let frozen = Trainer::new(c.clone(), stats, None, frozen_cfg, &Device::Cpu);
    let err = format!("{}", frozen.err().unwrap());
    assert!(err.contains("train.keypose.input"), "{err}");
    // Its input is one camera's patches × features.
    let t = scene_trainer(&c, Some(scene_object()));
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    let w = checkpoint::load_weight_tensors(dir.path()).unwrap();
    assert_eq!(
        w[HEAD_WEIGHT].dims(),
        [3, c.patches_per_image * c.vision_feature_dim]
    );
    // It reads the scene camera (camera 0) alone: another wrist image leaves its error to
    // the bit, another scene image does not.
    let base = batch_differing_in(&c, 0);
    let mut wrist = base.clone();
    wrist.samples[0].observation.images[1] = common::frame(c.file.vision.image_size, 40);
    let mut scene = base.clone();
    scene.samples[0].observation.images[0] = common::frame(c.file.vision.image_size, 40);
    let err = |b: &Batch| t.eval_keypose(b).unwrap().unwrap().to_bits();
    assert_eq!(err(&wrist), err(&base));
    assert_ne!(err(&scene), err(&base));
    // Its gradient reaches the tower: one step with it moves the vision weights elsewhere
    // than the same step without it (same seed, masks and cross-entropy) by a share of the
    // step size, not by what a different clipping scale leaves in Adam's update.
    let mut with = scene_trainer(&c, Some(scene_object()));
    let mut without = scene_trainer(&c, None);
    let lr = with.step(&base).unwrap().lr;
    without.step(&base).unwrap();
    let apart = vision_weights(&with)
        .iter()
        .zip(vision_weights(&without))
        .flat_map(|((_, a), (_, b))| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .collect::<Vec<_>>()
        })
        .fold(0.0f32, f32::max);
    // (Measured: 2 lr apart with the head's gradient, 0.09 lr with its input detached.)
    assert!(
        apart > 0.5 * lr as f32,
        "vision weights {apart} apart at lr {lr}"
    );
    // It fits targets that follow the scene image.
    let mut t = scene_trainer(&c, Some(scene_object()));
    let before = t.step(&base).unwrap().keypose_loss.unwrap();
    let mut last = before;
    for _ in 0..25 {
        last = t.step(&base).unwrap().keypose_loss.unwrap();
    }
    assert!(
        last < 0.5 * before,
        "keypose loss {before} -> {last} after 25 steps"
    );
}

#[test]
fn a_hand_token_head_reads_camera_1_only() {
    let c = two_cameras();
    let hand = KeyposeConfig {
        input: KeyposeInput::HandTokens,
        ..scene_object()
    };
    let t = scene_trainer(&c, Some(hand.clone()));
    let base = batch_differing_in(&c, 1);
    let mut scene = base.clone();
    scene.samples[0].observation.images[0] = common::frame(c.file.vision.image_size, 40);
    let mut wrist = base.clone();
    wrist.samples[0].observation.images[1] = common::frame(c.file.vision.image_size, 40);
    let err = |b: &Batch| t.eval_keypose(b).unwrap().unwrap().to_bits();
    assert_eq!(
        err(&scene),
        err(&base),
        "another scene image changes nothing"
    );
    assert_ne!(err(&wrist), err(&base));
    // A model with one camera has no hand camera to read: refused, naming the setting.
    let one = cfg();
    let stats = DatasetStatistics::identity(one.file.action.action_dim, one.file.proprio_dim);
    let tc = TrainConfig {
        train_vision: true,
        ..train_cfg(Some(hand))
    };
    let e = Trainer::new(one, stats, None, tc, &Device::Cpu)
        .err()
        .unwrap();
    assert!(format!("{e}").contains("camera 1"), "{e}");
}

#[test]
fn the_head_is_saved_resumed_and_ignored_by_the_policy() {
    let b = batch(&cfg());
    let dir = tempfile::tempdir().unwrap();
    let mut a = trainer(Some(one_event()));
    for _ in 0..3 {
        a.step(&b).unwrap();
    }
    a.save(dir.path()).unwrap();
    let weights = checkpoint::load_weight_tensors(dir.path()).unwrap();
    assert_eq!(weights[HEAD_WEIGHT].dims()[0], 3);
    assert!(weights.contains_key(HEAD_BIAS));
    // The resumed run takes the same next step.
    let mut resumed = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    let (x, y) = (a.step(&b).unwrap(), resumed.step(&b).unwrap());
    assert_eq!(
        x.keypose_loss.map(f32::to_bits),
        y.keypose_loss.map(f32::to_bits)
    );
    assert_eq!(x.loss.to_bits(), y.loss.to_bits());
    // A fine-tune from the checkpoint starts from its head too.
    let tuned =
        Trainer::from_checkpoint(dir.path(), None, train_cfg(Some(one_event())), &Device::Cpu)
            .unwrap();
    let fresh = trainer(Some(one_event()));
    let saved = a_eval(&tuned, &b);
    assert!((saved - a_eval(&fresh, &b)).abs() > 1e-6);
    // The policy loads the checkpoint (the head's tensors are not the model's).
    Policy::from_checkpoint(dir.path(), None, &Device::Cpu).unwrap();
}

fn a_eval(t: &Trainer, b: &Batch) -> f32 {
    t.eval_keypose(b).unwrap().unwrap()
}

#[test]
fn bad_keypose_targets_are_errors_before_any_update() {
    let mut t = trainer(Some(one_event()));
    let mut b = batch(&cfg());
    b.samples[1].keyposes.pop();
    let e = t.step(&b).unwrap_err();
    assert!(
        matches!(&e, PolicyError::BadInput { what, .. } if what.contains("sample 1 keyposes")),
        "{e}"
    );
    b.samples[1].keyposes = vec![0.0, f32::INFINITY, 0.0];
    assert!(t.step(&b).is_err());
    assert_eq!(t.steps(), 0);
    // A bad config is refused.
    let c = cfg();
    let stats = DatasetStatistics::identity(c.file.action.action_dim, c.file.proprio_dim);
    let bad = Some(KeyposeConfig {
        events: 0,
        ..KeyposeConfig::default()
    });
    assert!(Trainer::new(c, stats, None, train_cfg(bad), &Device::Cpu).is_err());
}

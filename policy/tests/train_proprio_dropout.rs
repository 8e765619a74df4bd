//! Proprio dropout (`train.proprio_dropout`): a dropped sample is trained as if the robot
//! state were unknown (its loss cannot depend on the proprio values), validation and
//! inference still read the proprio, and bad settings are clear errors.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::PolicyError;
use ddvla_policy::model::{AttentionMode, Config, ConfigFile, presets};
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::train::{Batch, LrSchedule, Objective, Sample, TrainConfig, Trainer};

fn train_cfg(objective: Objective, proprio_dropout: f64) -> TrainConfig {
    TrainConfig {
        seed: 5,
        objective,
        lr: LrSchedule {
            peak_lr: 1e-3,
            min_lr: 1e-4,
            warmup_steps: 1,
            total_steps: 10,
        },
        proprio_dropout,
        ..TrainConfig::default()
    }
}

fn trainer(cfg: Config, train: TrainConfig) -> Result<Trainer, PolicyError> {
    let stats = DatasetStatistics::identity(cfg.file.action.action_dim, cfg.file.proprio_dim);
    Trainer::new(cfg, stats, None, train, &Device::Cpu)
}

/// Two samples whose proprio is scaled by `scale` (images, instruction and actions fixed).
fn batch(cfg: &Config, scale: f32) -> Batch {
    let a = &cfg.file.action;
    let sample = |k: f32| {
        let mut observation = common::observation(cfg);
        for v in &mut observation.proprio {
            *v = *v * scale + k;
        }
        Sample {
            observation,
            actions: (0..a.chunk_len * a.action_dim)
                .map(|i| ((i % 7) as f32 - 3.0) / 4.0)
                .collect(),
            keyposes: Vec::new(),
        }
    };
    Batch {
        samples: vec![sample(0.0), sample(0.5)],
    }
}

/// The first step's loss on the batch with proprio scaled by `scale`.
fn first_loss(objective: Objective, dropout: f64, scale: f32) -> f32 {
    let cfg = common::tiny_config(AttentionMode::Bidirectional);
    let mut t = trainer(cfg.clone(), train_cfg(objective, dropout)).unwrap();
    t.step(&batch(&cfg, scale)).unwrap().loss
}

#[test]
fn a_dropped_sample_does_not_see_its_proprio() {
    for objective in [Objective::Parallel, Objective::Diffusion] {
        let (a, b) = (
            first_loss(objective, 1.0, 1.0),
            first_loss(objective, 1.0, -3.0),
        );
        // Exactly equal: a hidden key's attention weight is exp(−∞) = 0.
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{objective:?}: every sample dropped, proprio changed: {a} against {b}"
        );
        let (a, b) = (
            first_loss(objective, 0.0, 1.0),
            first_loss(objective, 0.0, -3.0),
        );
        assert!(
            (a - b).abs() > 1e-5,
            "{objective:?}: no dropout, the loss reads the proprio: {a} against {b}"
        );
    }
}

#[test]
fn validation_and_inference_still_read_the_proprio() {
    let cfg = common::tiny_config(AttentionMode::Bidirectional);
    let mut t = trainer(cfg.clone(), train_cfg(Objective::Parallel, 1.0)).unwrap();
    t.step(&batch(&cfg, 1.0)).unwrap();
    let ids = vec![cfg.file.tokens.mask_token_id; cfg.action_tokens];
    let mut other = common::observation(&cfg);
    for v in &mut other.proprio {
        *v = -*v * 3.0;
    }
    let base = t.action_logits(&common::observation(&cfg), &ids).unwrap();
    let moved = t.action_logits(&other, &ids).unwrap();
    assert!(common::max_abs_diff(&base, &moved) > 1e-4);
    // The validation loss scores every sample with its proprio, whatever the dropout.
    let (a, b) = (
        t.eval_loss(&batch(&cfg, 1.0), 0).unwrap(),
        t.eval_loss(&batch(&cfg, -3.0), 0).unwrap(),
    );
    assert!((a - b).abs() > 1e-5, "validation loss {a} against {b}");
}

#[test]
fn bad_settings_are_errors() {
    let cfg = common::tiny_config(AttentionMode::Bidirectional);
    for bad in [-0.1, 1.5, f64::NAN] {
        let err = trainer(cfg.clone(), train_cfg(Objective::Parallel, bad))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("train.proprio_dropout"), "{bad}: {err}");
    }
    let blind = Config::new(ConfigFile {
        use_proprio: false,
        ..presets::tiny()
    })
    .unwrap();
    let err = trainer(blind.clone(), train_cfg(Objective::Parallel, 0.5))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no proprio"), "{err}");
    trainer(blind, train_cfg(Objective::Parallel, 0.0)).unwrap();
}

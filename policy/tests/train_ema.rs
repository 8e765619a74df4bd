//! The weight average of a training run: it is saved as a policy checkpoint of its own,
//! resumes exactly, is evaluated in place, can start on a resumed run, and its files go when
//! it is turned off.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use ddvla_policy::checkpoint;
use ddvla_policy::model::{AttentionMode, Config};
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::train::{Batch, LrSchedule, Sample, TrainConfig, Trainer, files};
use ddvla_policy::{Policy, PolicyError};

fn cfg() -> Config {
    common::tiny_config(AttentionMode::Bidirectional)
}

fn train_cfg(ema_decay: Option<f64>) -> TrainConfig {
    TrainConfig {
        seed: 3,
        lr: LrSchedule {
            peak_lr: 3e-3,
            min_lr: 3e-4,
            warmup_steps: 2,
            total_steps: 40,
        },
        ema_decay,
        ..TrainConfig::default()
    }
}

fn trainer(ema_decay: Option<f64>) -> Trainer {
    let c = cfg();
    let stats = DatasetStatistics::identity(c.file.action.action_dim, c.file.proprio_dim);
    Trainer::new(c, stats, None, train_cfg(ema_decay), &Device::Cpu).unwrap()
}

fn batch(cfg: &Config) -> Batch {
    let a = &cfg.file.action;
    let actions = (0..a.chunk_len * a.action_dim)
        .map(|i| 0.7 * (0.9 * i as f32).sin())
        .collect();
    Batch {
        samples: vec![Sample {
            observation: common::observation(cfg),
            actions,
            keyposes: Vec::new(),
        }],
    }
}

fn average(t: &Trainer) -> HashMap<String, Vec<f32>> {
    t.ema()
        .unwrap()
        .weights()
        .map(|(n, w)| (n.to_owned(), w.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

fn weights_file(path: &std::path::Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

#[test]
fn the_average_is_a_checkpoint_of_its_own_and_resumes_exactly() {
    let c = cfg();
    let b = batch(&c);
    let mut t = trainer(Some(0.9));
    for _ in 0..3 {
        t.step(&b).unwrap();
    }
    assert_eq!(t.ema().unwrap().updates(), 3);
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    assert!(dir.path().join(files::EMA).exists());

    // `ema/` loads as a policy; its trained weights are the average (not the last step's),
    // and the rest are the run's own.
    let ema_dir = dir.path().join(files::EMA_CHECKPOINT);
    assert!(
        Policy::from_checkpoint(&ema_dir, None, &Device::Cpu)
            .unwrap()
            .is_trained()
    );
    let saved = weights_file(&ema_dir.join(checkpoint::files::WEIGHTS));
    let last = weights_file(&dir.path().join(checkpoint::files::WEIGHTS));
    assert_eq!(saved.len(), last.len());
    let avg = average(&t);
    let mut differing = 0;
    let mut names: Vec<&String> = saved.keys().collect();
    names.sort();
    for name in names {
        let w: Vec<f32> = saved[name].flatten_all().unwrap().to_vec1().unwrap();
        let l: Vec<f32> = last[name].flatten_all().unwrap().to_vec1().unwrap();
        if let Some(a) = avg.get(name) {
            assert_eq!(&w, a, "{name}");
            differing += usize::from(w != l);
        } else {
            assert_eq!(w, l, "{name} is not averaged");
        }
    }
    assert!(differing > 0, "the average equals the last weights");

    // Resumed, the average continues exactly as the uninterrupted run's.
    let mut r = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(r.ema().unwrap().updates(), 3);
    for _ in 0..2 {
        assert_eq!(t.step(&b).unwrap(), r.step(&b).unwrap());
    }
    assert_eq!(average(&t), average(&r));

    // Turned off, the next save removes the average's files and a resume has none.
    r.set_ema_decay(None).unwrap();
    r.save(dir.path()).unwrap();
    assert!(!dir.path().join(files::EMA).exists());
    assert!(!ema_dir.exists());
    let again = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert!(again.ema().is_none() && again.config().ema_decay.is_none());
}

#[test]
fn the_average_is_evaluated_in_place_and_the_weights_put_back() {
    let c = cfg();
    let b = batch(&c);
    let mut plain = trainer(None);
    let batches = std::slice::from_ref(&b);
    assert_eq!(plain.eval_losses(batches, true).unwrap(), None);
    let mut t = trainer(Some(0.9));
    let mut twin = trainer(Some(0.9));
    for _ in 0..3 {
        t.step(&b).unwrap();
        twin.step(&b).unwrap();
    }
    let own = t.eval_losses(batches, false).unwrap().unwrap();
    assert_eq!(own.to_bits(), t.eval_loss(&b, 0).unwrap().to_bits());
    let avg = t.eval_losses(batches, true).unwrap().unwrap();
    assert!(avg.is_finite() && (avg - own).abs() > 0.0, "{avg} vs {own}");
    // The weights are back: the next step is the one a trainer that never looked takes.
    assert_eq!(t.eval_loss(&b, 0).unwrap().to_bits(), own.to_bits());
    assert_eq!(t.step(&b).unwrap(), twin.step(&b).unwrap());
    assert_eq!(average(&t), average(&twin));
}

#[test]
fn an_average_started_on_a_resumed_run_starts_at_its_weights() {
    let c = cfg();
    let b = batch(&c);
    let mut t = trainer(None);
    t.step(&b).unwrap();
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    assert!(!dir.path().join(files::EMA).exists());

    let mut r = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert!(r.ema().is_none());
    r.set_ema_decay(Some(0.99)).unwrap();
    let start = average(&r);
    let current: HashMap<String, Vec<f32>> = r
        .ema()
        .unwrap()
        .weights()
        .map(|(n, _)| {
            let v = r.varmap().data().lock().unwrap()[n]
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            (n.to_owned(), v)
        })
        .collect();
    assert_eq!(start, current);
    // Starting the average changes no update.
    assert_eq!(t.step(&b).unwrap(), r.step(&b).unwrap());
    assert_eq!(r.ema().unwrap().updates(), 1);
    r.save(dir.path()).unwrap();
    let resumed = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(resumed.config().ema_decay, Some(0.99));
    assert_eq!(average(&resumed), average(&r));
    // Retuning keeps the average.
    r.set_ema_decay(Some(0.5)).unwrap();
    assert_eq!(average(&r), average(&resumed));
    assert!((r.ema().unwrap().decay() - 0.5).abs() < 1e-12);
}

#[test]
fn bad_decays_and_a_missing_average_are_clear_errors() {
    for bad in [0.0, 1.0, 1.5, f64::NAN] {
        let c = cfg();
        let stats = DatasetStatistics::identity(c.file.action.action_dim, c.file.proprio_dim);
        match Trainer::new(c, stats, None, train_cfg(Some(bad)), &Device::Cpu) {
            Err(e @ PolicyError::Config { .. }) => {
                assert!(e.to_string().contains("ema_decay"), "{e}");
            }
            Err(e) => panic!("{bad}: expected a config error, got {e}"),
            Ok(_) => panic!("{bad}: accepted"),
        }
    }
    let mut t = trainer(Some(0.9));
    assert!(t.set_ema_decay(Some(2.0)).is_err());
    t.step(&batch(&cfg())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join(files::EMA)).unwrap();
    let e = Trainer::resume(dir.path(), &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(files::EMA), "{e}");
}

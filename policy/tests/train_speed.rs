//! Training-step speed work must not change what a step computes: the losses and gradient
//! norms of a few steps on fixed batches are pinned (values recorded before the speed-ups,
//! compared to 1e-4 relative), for each objective on `tiny` and for the diffusion objective
//! on `small`. An ignored test times `small` steps on a batch of 8 (as `ddvla train --bench`):
//! `cargo test --release -p ddvla-policy --test train_speed -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::decode::EmptySlots;
use ddvla_policy::model::{Config, presets};
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::train::{Batch, LrSchedule, Objective, Sample, TrainConfig, Trainer};

fn config(preset: &str) -> Config {
    presets::preset(preset).unwrap()
}

fn trainer(cfg: &Config, objective: Objective, parallel_slots: EmptySlots) -> Trainer {
    let stats = DatasetStatistics::identity(cfg.file.action.action_dim, cfg.file.proprio_dim);
    let tc = TrainConfig {
        seed: 7,
        lr: LrSchedule {
            peak_lr: 3e-3,
            min_lr: 3e-4,
            warmup_steps: 1,
            total_steps: 10,
        },
        objective,
        parallel_slots,
        // The pins were recorded with the towers frozen.
        train_vision: false,
        ..TrainConfig::default()
    };
    Trainer::new(cfg.clone(), stats, None, tc, &Device::Cpu).unwrap()
}

/// `n` samples with different frames, prompts (of different lengths) and chunks.
fn batch(cfg: &Config, n: usize) -> Batch {
    let prompts = [
        "pick up the black bowl",
        "open the top drawer of the cabinet",
    ];
    let a = &cfg.file.action;
    let samples = (0..n)
        .map(|i| {
            let mut obs = common::observation(cfg);
            prompts[i % prompts.len()].clone_into(&mut obs.instruction);
            obs.images[0] = common::frame(cfg.file.vision.image_size, 3 + i as u8);
            let actions = (0..a.chunk_len * a.action_dim)
                .map(|k| 0.9 * (0.37 * (k + 11 * i) as f32).sin())
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

/// `(loss, grad_norm)` of `steps` steps.
fn trajectory(t: &mut Trainer, b: &Batch, steps: usize) -> Vec<(f32, f32)> {
    (0..steps)
        .map(|_| {
            let s = t.step(b).unwrap();
            (s.loss, s.grad_norm)
        })
        .collect()
}

fn assert_close(what: &str, got: &[(f32, f32)], want: &[(f32, f32)]) {
    eprintln!("{what}: {got:?}");
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        for (x, y, name) in [(g.0, w.0, "loss"), (g.1, w.1, "grad norm")] {
            let rel = (x - y).abs() / y.abs().max(1e-12);
            assert!(
                rel < 1e-4,
                "{what} step {i} {name}: {x} vs pinned {y} ({rel:e})"
            );
        }
    }
}

#[test]
fn tiny_losses_are_pinned_for_every_objective() {
    let cfg = config("tiny");
    let b = batch(&cfg, 3);
    let cases = [
        (
            Objective::Diffusion,
            EmptySlots::Mask,
            vec![
                (6.260_568_6, 1.255_001_4),
                (6.006_322_4, 1.240_224_6),
                (5.867_810_2, 1.259_115_1),
            ],
        ),
        (
            Objective::Autoregressive,
            EmptySlots::Mask,
            vec![(6.270_052_4, 1.151_184_7), (5.918_862, 1.148_648)],
        ),
        (
            Objective::Parallel,
            EmptySlots::Zeros,
            vec![(6.238_946_4, 1.379_681_1), (6.071_105, 1.498_676_7)],
        ),
    ];
    for (objective, slots, want) in cases {
        let mut t = trainer(&cfg, objective, slots);
        let got = trajectory(&mut t, &b, want.len());
        assert_close(&format!("tiny {objective:?}"), &got, &want);
    }
}

#[test]
fn small_losses_are_pinned() {
    let cfg = config("small");
    let b = batch(&cfg, 2);
    let mut t = trainer(&cfg, Objective::Diffusion, EmptySlots::Mask);
    let got = trajectory(&mut t, &b, 2);
    assert_close(
        "small diffusion",
        &got,
        &[(6.391_310_7, 5.520_207_4), (5.677_415, 5.046_846)],
    );
}

#[test]
#[ignore = "timing; run in release with --nocapture"]
fn small_step_time() {
    let cfg = config("small");
    let b = batch(&cfg, 8);
    let mut t = trainer(&cfg, Objective::Diffusion, EmptySlots::Mask);
    t.step(&b).unwrap();
    let mut best = (f64::INFINITY, f64::INFINITY);
    for _ in 0..4 {
        let (start, cpu) = (std::time::Instant::now(), cpu_seconds());
        t.step(&b).unwrap();
        let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        eprintln!("small step: {wall:.3} s wall, {cpu:.2} s CPU");
        best = (best.0.min(wall), best.1.min(cpu));
    }
    eprintln!(
        "small: best step {:.3} s = {:.2} samples/s (best CPU {:.2} s)",
        best.0,
        8.0 / best.0,
        best.1
    );
}

/// User + system CPU time of this process (Linux `/proc/self/stat`, 100 Hz ticks); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after = stat.rsplit(") ").next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

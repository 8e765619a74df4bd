//! `ddvla train --bench`: optimiser steps per second of the tiny, compact and small presets on
//! this machine, batch of 8, vision towers trained (the default); small also with them frozen,
//! compact also with a convolutional branch (`vision.conv_stem_channels` 32, 64, 128, 192)
//! (inputs are synthetic: throughput does not depend on their values).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use ddvla_policy::model::presets;
use ddvla_policy::observation::{CameraImage, Observation};
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::train::{Batch, Sample, TrainConfig, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// One preset's measurement.
#[derive(Debug, Serialize)]
pub struct TrainBench {
    /// Preset.
    pub preset: String,
    /// Vision towers trained.
    pub train_vision: bool,
    /// The towers' convolutional branch channels (empty: none).
    pub conv_stem_channels: Vec<usize>,
    /// Samples per step.
    pub batch_size: usize,
    /// Timed steps (after one warm-up step).
    pub steps: usize,
    /// Mean samples per second.
    pub samples_per_s: f64,
    /// Mean seconds per step.
    pub step_s: f64,
    /// Trained variables.
    pub trained_variables: usize,
}

fn batch(preset: &str, n: usize, rng: &mut ChaCha8Rng) -> Result<Batch> {
    let cfg = presets::preset(preset)?;
    let f = &cfg.file;
    let side = f.vision.image_size;
    let samples = (0..n)
        .map(|_| Sample {
            observation: Observation {
                images: (0..f.num_images_in_input)
                    .map(|_| CameraImage {
                        width: side,
                        height: side,
                        rgb: (0..side * side * 3).map(|_| rng.random()).collect(),
                    })
                    .collect(),
                instruction: "pick up the black bowl and place it on the plate".into(),
                proprio: (0..f.proprio_dim)
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect(),
            },
            actions: (0..f.action.chunk_len * f.action.action_dim)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect(),
            keyposes: Vec::new(),
        })
        .collect();
    Ok(Batch { samples })
}

/// Measure and print; write JSON when asked.
pub fn run_bench(json: Option<&Path>) -> Result<()> {
    let mut out = Vec::new();
    let conv: &[usize] = &[32, 64, 128, 192];
    let runs = [
        ("tiny", 10, true, &[][..]),
        ("compact", 5, true, &[][..]),
        ("compact", 5, true, conv),
        ("small", 3, true, &[][..]),
        ("small", 3, false, &[][..]),
    ];
    for (preset, steps, train_vision, conv_stem_channels) in runs {
        let mut file = presets::preset(preset)?.file;
        file.vision.conv_stem_channels = conv_stem_channels.to_vec();
        let cfg = ddvla_policy::model::Config::new(file)?;
        let stats = DatasetStatistics::identity(cfg.file.action.action_dim, cfg.file.proprio_dim);
        let tc = TrainConfig {
            train_vision,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(cfg, stats, None, tc, &Device::Cpu)?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let b = batch(preset, 8, &mut rng)?;
        trainer.step(&b)?;
        let t = Instant::now();
        for _ in 0..steps {
            trainer.step(&b)?;
        }
        let step_s = t.elapsed().as_secs_f64() / steps as f64;
        let r = TrainBench {
            preset: preset.into(),
            train_vision,
            conv_stem_channels: conv_stem_channels.to_vec(),
            batch_size: 8,
            steps,
            samples_per_s: 8.0 / step_s,
            step_s,
            trained_variables: trainer.trained_variables(),
        };
        println!(
            "{preset} (vision {}{}): {:.2} samples/s ({:.2} s per step of 8, {} trained \
             variables)",
            if train_vision { "trained" } else { "frozen" },
            if conv_stem_channels.is_empty() {
                String::new()
            } else {
                format!(", convolutional branch {conv_stem_channels:?}")
            },
            r.samples_per_s,
            r.step_s,
            r.trained_variables
        );
        out.push(r);
    }
    if let Some(p) = json {
        std::fs::write(p, serde_json::to_string_pretty(&out)?)?;
    }
    Ok(())
}

//! Criterion benches of one chunk per decoder on the `small` preset (random weights), plus
//! the CPU decode kernels on a LIBERO-sized logit block. `ddvla bench policy` reports the
//! side-by-side numbers with percentiles; this is for tracking regressions.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use candle_core::Device;
use criterion::{Criterion, criterion_group, criterion_main};
use ddvla_kernels::{CpuKernels, DecodeKernels, SamplingParams};
use ddvla_policy::Policy;
use ddvla_policy::decode::{self, DecoderKind, StartedAt};
use ddvla_policy::model::presets;
use ddvla_policy::observation::{CameraImage, Observation};

fn observation(side: usize, cams: usize, proprio: usize) -> Observation {
    Observation {
        images: (0..cams)
            .map(|c| CameraImage::filled(side, side, [c as u8 * 40, 90, 200]))
            .collect(),
        instruction: "open the top drawer and put the bowl inside".to_owned(),
        proprio: vec![0.0; proprio],
    }
}

fn decoders(c: &mut Criterion) {
    let cfg = presets::preset("small").expect("small preset");
    let obs = observation(
        cfg.file.vision.image_size,
        cfg.file.num_images_in_input,
        cfg.file.proprio_dim,
    );
    let policy = Policy::random(cfg, &Device::Cpu).expect("model");
    let prefix = policy.encode(&obs).expect("encode");
    let mut group = c.benchmark_group("decode_small");
    group.sample_size(10);
    for kind in [
        DecoderKind::Parallel,
        DecoderKind::DiffusionCached,
        DecoderKind::Diffusion,
        DecoderKind::Ar,
    ] {
        let mut dec = decode::build(kind, 0);
        group.bench_function(dec.name(), |b| {
            b.iter(|| {
                black_box(
                    policy
                        .decode(&prefix, dec.as_mut(), None, &StartedAt::now())
                        .expect("decode"),
                )
            });
        });
    }
    group.bench_function("encode", |b| {
        b.iter(|| black_box(policy.encode(&obs).expect("encode")));
    });
    group.finish();
}

fn kernels(c: &mut Criterion) {
    let logits: Vec<f32> = (0..56 * 256)
        .map(|i| ((i * 7919) % 1000) as f32 / 100.0)
        .collect();
    let uniforms = vec![0.5_f32; 56];
    let current = vec![None; 56];
    let params = SamplingParams::default();
    c.bench_function("row_stats_56x256", |b| {
        b.iter(|| {
            black_box(
                CpuKernels
                    .row_stats(&logits, 256, &params, &uniforms, &current)
                    .expect("stats"),
            )
        });
    });
}

criterion_group!(benches, decoders, kernels);
criterion_main!(benches);

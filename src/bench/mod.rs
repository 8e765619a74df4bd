//! `ddvla bench policy`: decoder latency side by side on one model (random weights), and
//! `ddvla bench sim` (see [`sim`]) and `ddvla bench bridge` (see [`bridge`]).

pub mod bridge;
pub mod control_loop;
pub mod sim;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use candle_core::Device;
use ddvla_policy::Policy;
use ddvla_policy::decode::{
    self, CacheMode, DecoderKind, DiffusionConfig, MaskedDiffusion, StartedAt,
};
use ddvla_policy::model::{AttentionMode, Config, SlotInput, presets};
use ddvla_policy::observation::{CameraImage, Observation};
use serde::Serialize;

use crate::latency::LatencySummary;

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct PolicyBenchArgs {
    /// Preset name (`tiny`, `small`, `base`, `openvla-7b`).
    pub preset: String,
    /// Decoders to run, in order.
    pub decoders: Vec<DecoderKind>,
    /// Timed chunks per decoder.
    pub iters: usize,
    /// Untimed chunks per decoder first.
    pub warmup: usize,
    /// Round counts T for the diffusion decoders: one row per decoder and count.
    pub rounds: Vec<usize>,
}

/// One decoder's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct DecoderReport {
    /// Decoder name.
    pub name: String,
    /// Diffusion rounds T (`None` for the AR and parallel decoders).
    pub rounds: Option<usize>,
    /// Backbone forward passes per chunk.
    pub forward_passes: usize,
    /// Observation → chunk (vision + prompt + decoding).
    pub chunk: LatencySummary,
    /// Decoding only (after the prefix is encoded).
    pub decode: LatencySummary,
    /// Whether the decoder's KV cache was approximate.
    pub approximate_cache: bool,
    /// `ar` chunk p50 / this decoder's chunk p50 (how many times faster than AR; the
    /// DD-VLA goal is ≥ 2 for diffusion), when `ar` ran.
    pub speedup_over_ar: Option<f64>,
}

/// Backbone-only forward timings (for the comparison with HF transformers).
#[derive(Debug, Clone, Serialize)]
pub struct BackboneReport {
    /// Tokens in a full pass (prefix + slots + STOP).
    pub full_seq_len: usize,
    /// Full bidirectional pass.
    pub full_pass: LatencySummary,
    /// Tokens recomputed by a cached suffix pass.
    pub suffix_len: usize,
    /// Cached positions the suffix attends to.
    pub suffix_past_len: usize,
    /// Suffix pass with the prefix KV cache.
    pub suffix_pass: LatencySummary,
    /// The backbone's HF `LlamaConfig` fields (feed to `scripts/bench_hf_backbone.py --config`).
    pub hf_config: serde_json::Value,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyBenchReport {
    /// Preset.
    pub preset: String,
    /// Parameters.
    pub parameters: usize,
    /// Always false: benchmarks use random weights.
    pub trained: bool,
    /// candle CPU threads (`RAYON_NUM_THREADS`, else all cores).
    pub threads: usize,
    /// `release` or `debug`.
    pub build_profile: &'static str,
    /// CPU model name.
    pub cpu: String,
    /// Prefix tokens (BOS, image, proprio, prompt).
    pub prefix_len: usize,
    /// Action tokens per chunk.
    pub action_tokens: usize,
    /// Observation encoding (vision, projectors, embeddings).
    pub encode: LatencySummary,
    /// Backbone-only timings.
    pub backbone: BackboneReport,
    /// Per-decoder results.
    pub decoders: Vec<DecoderReport>,
    /// `diffusion-cached` p50 / `diffusion` p50 at the first round count (target ≤ 0.35).
    pub cached_over_uncached: Option<f64>,
    /// `diffusion-cached` p50 / `ar` p50 at the first round count (target < 1).
    pub cached_over_ar: Option<f64>,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A deterministic synthetic observation for `cfg`.
pub fn synthetic_observation(cfg: &Config) -> Observation {
    let side = cfg.file.vision.image_size;
    let images = (0..cfg.file.num_images_in_input)
        .map(|cam| {
            let mut img = CameraImage::filled(side, side, [0, 0, 0]);
            for (i, p) in img.rgb.iter_mut().enumerate() {
                *p = ((i * 31 + cam * 97) % 253) as u8;
            }
            img
        })
        .collect();
    Observation {
        images,
        instruction: "put both the alphabet soup and the tomato sauce in the basket".to_owned(),
        proprio: vec![0.0; cfg.file.proprio_dim],
    }
}

fn time_n(n: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<Duration>> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f()?;
            Ok(t.elapsed())
        })
        .collect()
}

fn hf_config(cfg: &Config) -> serde_json::Value {
    let t = &cfg.file.text;
    serde_json::json!({
        "vocab_size": t.vocab_size, "hidden_size": t.hidden_size,
        "intermediate_size": t.intermediate_size, "num_hidden_layers": t.num_hidden_layers,
        "num_attention_heads": t.num_attention_heads, "num_key_value_heads": t.num_key_value_heads,
        "rms_norm_eps": t.rms_norm_eps, "rope_theta": t.rope_theta,
        "max_position_embeddings": t.max_position_embeddings,
    })
}

fn bench_backbone(
    policy: &Policy,
    obs: &Observation,
    args: &PolicyBenchArgs,
) -> Result<BackboneReport> {
    let model = policy.model();
    let cfg = model.config();
    let prefix = policy.encode(obs)?;
    let ids = vec![cfg.file.tokens.mask_token_id; cfg.action_tokens];
    let mode = AttentionMode::Bidirectional;
    let full = || -> Result<()> {
        model.logits_full(&prefix, SlotInput::Tokens(&ids), mode, None)?;
        Ok(())
    };
    time_n(args.warmup, full)?;
    let full_pass = LatencySummary::from_durations(&time_n(args.iters, full)?);
    let mut cache = model.new_cache();
    model.logits_full(&prefix, SlotInput::Tokens(&ids), mode, Some(&mut cache))?;
    let past = cache.len();
    let mut suffix = || -> Result<()> {
        model.logits_suffix(&prefix, SlotInput::Tokens(&ids), mode, &mut cache)?;
        Ok(())
    };
    time_n(args.warmup, &mut suffix)?;
    let suffix_pass = LatencySummary::from_durations(&time_n(args.iters, &mut suffix)?);
    let stop = usize::from(cfg.file.append_stop_token);
    Ok(BackboneReport {
        full_seq_len: prefix.len + cfg.action_tokens + stop,
        full_pass,
        suffix_len: prefix.len + cfg.action_tokens + stop - past,
        suffix_past_len: past,
        suffix_pass,
        hf_config: hf_config(cfg),
    })
}

/// A decoder of `kind` with default settings, at `rounds` when it is a diffusion decoder.
fn build_decoder(kind: DecoderKind, rounds: Option<usize>) -> Box<dyn decode::Decoder> {
    match (kind, rounds) {
        (DecoderKind::Diffusion | DecoderKind::DiffusionCached, Some(rounds)) => {
            let cache = if kind == DecoderKind::DiffusionCached {
                CacheMode::ApproximatePrefix
            } else {
                CacheMode::default()
            };
            Box::new(MaskedDiffusion::new(DiffusionConfig {
                rounds,
                cache,
                seed: 0,
                ..DiffusionConfig::default()
            }))
        }
        _ => decode::build(kind, 0),
    }
}

/// Time one decoder: whole chunks (observation → actions) and decoding alone.
fn bench_decoder(
    policy: &Policy,
    obs: &Observation,
    prefix: &ddvla_policy::model::Prefix,
    mut dec: Box<dyn decode::Decoder>,
    rounds: Option<usize>,
    args: &PolicyBenchArgs,
) -> Result<DecoderReport> {
    let _span = tracing::info_span!("bench_decoder", decoder = dec.name(), ?rounds).entered();
    tracing::info!("benchmarking");
    for _ in 0..args.warmup {
        policy.act(obs, dec.as_mut(), None)?;
    }
    let mut chunk = Vec::new();
    let mut decode_only = Vec::new();
    let mut passes = 0;
    let mut approximate = false;
    for _ in 0..args.iters {
        let t = Instant::now();
        let out = policy.act(obs, dec.as_mut(), None)?;
        chunk.push(t.elapsed());
        let t = Instant::now();
        let out2 = policy.decode(prefix, dec.as_mut(), None, &StartedAt::now())?;
        decode_only.push(t.elapsed());
        passes = out.trace.forward_passes.max(out2.trace.forward_passes);
        approximate = out.trace.approximate_cache;
    }
    Ok(DecoderReport {
        name: dec.name().to_owned(),
        rounds,
        forward_passes: passes,
        chunk: LatencySummary::from_durations(&chunk),
        decode: LatencySummary::from_durations(&decode_only),
        approximate_cache: approximate,
        speedup_over_ar: None,
    })
}

/// Run the benchmark.
pub fn run_policy_bench(args: &PolicyBenchArgs) -> Result<PolicyBenchReport> {
    let cfg = presets::preset(&args.preset).with_context(|| format!("preset {:?}", args.preset))?;
    let parameters = cfg.parameter_count();
    tracing::info!(preset = %args.preset, parameters, "building a random-weight (untrained) model");
    let obs = synthetic_observation(&cfg);
    let policy = Policy::random(cfg, &Device::Cpu).context("building the model")?;
    let prefix = policy.encode(&obs)?;
    let encode_samples = time_n(args.iters.max(3), || {
        policy.encode(&obs)?;
        Ok(())
    })?;
    let backbone = bench_backbone(&policy, &obs, args)?;
    let mut decoders = Vec::new();
    for &kind in &args.decoders {
        let diffusion = matches!(kind, DecoderKind::Diffusion | DecoderKind::DiffusionCached);
        let rounds: Vec<Option<usize>> = if diffusion {
            args.rounds.iter().map(|&r| Some(r)).collect()
        } else {
            vec![None]
        };
        for rounds in rounds {
            let dec = build_decoder(kind, rounds);
            decoders.push(bench_decoder(&policy, &obs, &prefix, dec, rounds, args)?);
        }
    }
    let ar_p50 = decoders
        .iter()
        .find(|d| d.name == "ar")
        .map(|d| d.chunk.p50_ms);
    for d in &mut decoders {
        d.speedup_over_ar = ar_p50.map(|ar| ar / d.chunk.p50_ms);
    }
    let first_rounds = args.rounds.first().copied();
    let p50 = |name: &str| {
        decoders
            .iter()
            .find(|d| d.name == name && (d.rounds.is_none() || d.rounds == first_rounds))
            .map(|d| d.chunk.p50_ms)
    };
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    Ok(PolicyBenchReport {
        preset: args.preset.clone(),
        parameters,
        trained: policy.is_trained(),
        threads: candle_core::utils::get_num_threads(),
        build_profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        cpu: cpu_model(),
        prefix_len: prefix.len,
        action_tokens: policy.model().config().action_tokens,
        encode: LatencySummary::from_durations(&encode_samples),
        cached_over_uncached: ratio(p50("diffusion-cached"), p50("diffusion")),
        cached_over_ar: ratio(p50("diffusion-cached"), p50("ar")),
        backbone,
        decoders,
    })
}

/// Print a policy benchmark report as a table.
pub fn print_policy_report(r: &PolicyBenchReport) {
    println!(
        "preset {} ({:.1}M params, random weights), {} threads, {} build, {}",
        r.preset,
        r.parameters as f64 / 1e6,
        r.threads,
        r.build_profile,
        r.cpu
    );
    println!(
        "prefix {} tokens + {} action tokens; encode p50 {:.1} ms",
        r.prefix_len, r.action_tokens, r.encode.p50_ms
    );
    println!(
        "backbone: full pass ({} tok) p50 {:.1} ms; cached suffix pass ({} tok over {} cached) p50 {:.1} ms",
        r.backbone.full_seq_len,
        r.backbone.full_pass.p50_ms,
        r.backbone.suffix_len,
        r.backbone.suffix_past_len,
        r.backbone.suffix_pass.p50_ms
    );
    println!(
        "{:<24} {:>7} {:>12} {:>12} {:>12} {:>8}",
        "decoder", "passes", "chunk p50", "chunk p95", "decode p50", "vs ar"
    );
    for d in &r.decoders {
        let name = match d.rounds {
            Some(t) => format!("{} T={t}", d.name),
            None => d.name.clone(),
        };
        let speedup = d
            .speedup_over_ar
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}x"));
        println!(
            "{:<24} {:>7} {:>9.1} ms {:>9.1} ms {:>9.1} ms {:>8}{}",
            name,
            d.forward_passes,
            d.chunk.p50_ms,
            d.chunk.p95_ms,
            d.decode.p50_ms,
            speedup,
            if d.approximate_cache {
                "  (approximate cache)"
            } else {
                ""
            }
        );
    }
    if let Some(x) = r.cached_over_uncached {
        println!("diffusion-cached / diffusion = {x:.3} (target <= 0.35)");
    }
    if let Some(x) = r.cached_over_ar {
        println!("diffusion-cached / ar        = {x:.3} (target < 1)");
    }
}

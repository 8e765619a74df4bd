//! The `ddvla` command line.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ddvla::bench::{PolicyBenchArgs, PolicyBenchReport, run_policy_bench};
use ddvla_policy::decode::DecoderKind;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ddvla: a realtime runtime for Discrete Diffusion VLA robot policies.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// MuJoCo simulation tools.
    #[command(subcommand)]
    Sim(SimCommand),
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Render one camera frame after reset to a PNG file.
    Render {
        /// Scene name.
        #[arg(long, default_value = "tabletop")]
        scene: String,
        /// Camera name (e.g. agentview, handcam_rgb).
        #[arg(long, default_value = "agentview")]
        camera: String,
        /// Square image side in pixels.
        #[arg(long, default_value_t = 128)]
        size: u32,
        /// Reset seed (object placement).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output PNG path.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a scripted motion and report timing.
    Run {
        /// Scene name.
        #[arg(long, default_value = "tabletop")]
        scene: String,
        /// Control steps (20 Hz).
        #[arg(long, default_value_t = 100)]
        steps: usize,
        /// Cameras rendered each step (none: physics and control only).
        #[arg(long, value_delimiter = ',')]
        cameras: Vec<String>,
        /// Image side in pixels.
        #[arg(long, default_value_t = 128)]
        size: u32,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Decoder latency side by side on one random-weight model (ar, parallel, diffusion,
    /// diffusion-cached). Threads: candle uses RAYON_NUM_THREADS, else every core.
    Policy(BenchPolicyArgs),
    /// Physics steps/s, control steps/s and render fps on a Panda tabletop scene.
    Sim {
        /// Scene name.
        #[arg(long, default_value = "tabletop")]
        scene: String,
        /// Control steps timed per round (five rounds, best kept).
        #[arg(long, default_value_t = 400)]
        control_steps: usize,
        /// Observations rendered per configuration.
        #[arg(long, default_value_t = 30)]
        frames: usize,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the control run's initial state and per-substep controls (JSON) for
        /// `scripts/bench_sim_python.py --replay`.
        #[arg(long)]
        ctrl_log: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DecoderArg {
    Ar,
    Parallel,
    Diffusion,
    DiffusionCached,
}

impl From<DecoderArg> for DecoderKind {
    fn from(d: DecoderArg) -> Self {
        match d {
            DecoderArg::Ar => Self::Ar,
            DecoderArg::Parallel => Self::Parallel,
            DecoderArg::Diffusion => Self::Diffusion,
            DecoderArg::DiffusionCached => Self::DiffusionCached,
        }
    }
}

#[derive(Debug, Args)]
struct BenchPolicyArgs {
    /// Model preset: tiny, small, base, openvla-7b.
    #[arg(long, default_value = "base")]
    preset: String,
    /// Decoders to compare.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ar,parallel,diffusion,diffusion-cached"
    )]
    decoders: Vec<DecoderArg>,
    /// Timed chunks per decoder.
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Untimed warm-up chunks per decoder.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn print_report(r: &PolicyBenchReport) {
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
        "{:<18} {:>7} {:>12} {:>12} {:>12}",
        "decoder", "passes", "chunk p50", "chunk p95", "decode p50"
    );
    for d in &r.decoders {
        println!(
            "{:<18} {:>7} {:>9.1} ms {:>9.1} ms {:>9.1} ms{}",
            d.name,
            d.forward_passes,
            d.chunk.p50_ms,
            d.chunk.p95_ms,
            d.decode.p50_ms,
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sim(SimCommand::Render {
            scene,
            camera,
            size,
            seed,
            out,
        }) => ddvla::sim_cli::render(&scene, &camera, size, seed, &out),
        Command::Sim(SimCommand::Run {
            scene,
            steps,
            cameras,
            size,
        }) => ddvla::sim_cli::run(&scene, steps, &cameras, size),
        Command::Bench(BenchCommand::Sim {
            scene,
            control_steps,
            frames,
            json,
            ctrl_log,
        }) => {
            let r = ddvla::bench::sim::run_sim_bench(
                &scene,
                control_steps,
                frames,
                ctrl_log.as_deref(),
            )?;
            println!(
                "{}: {:.0} physics steps/s, {:.1} control steps/s (x{} substeps = {:.2} of raw physics)",
                r.scene,
                r.physics_steps_per_s,
                r.control_steps_per_s,
                r.substeps,
                r.control_over_physics
            );
            for x in &r.render {
                println!(
                    "render {} camera(s) at {}px: {:.1} frames/s",
                    x.cameras, x.size, x.frames_per_s
                );
            }
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&r)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Bench(BenchCommand::Policy(a)) => {
            let args = PolicyBenchArgs {
                preset: a.preset,
                decoders: a.decoders.into_iter().map(Into::into).collect(),
                iters: a.iters.max(1),
                warmup: a.warmup,
            };
            let report = run_policy_bench(&args)?;
            print_report(&report);
            if let Some(path) = a.json {
                let text = serde_json::to_string_pretty(&report)?;
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}

fn main() -> Result<()> {
    ddvla::alloc::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    run(Cli::parse())
}

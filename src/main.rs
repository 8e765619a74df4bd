//! The `ddvla` command line.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ddvla::bench::{PolicyBenchArgs, run_policy_bench};
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
    /// Run the ROS 2 node over zenoh (rmw_zenoh wire format): cameras, instruction, joint
    /// states and e-stop in; commands, chunks and status out.
    Serve {
        /// Launch config (see launch/robot.toml).
        #[arg(long)]
        config: PathBuf,
        /// Stop after this many control ticks (default: until Ctrl-C).
        #[arg(long)]
        max_ticks: Option<u64>,
        /// Close the loop in-process on a MuJoCo scene (`tabletop`) or a suite task
        /// (`SUITE/TASK`, e.g. `libero_style_goal/turn_on_the_stove`; see `ddvla tasks list`).
        #[arg(long)]
        sim: Option<String>,
        /// Scene cameras feeding topics.cameras, in order.
        #[arg(long, value_delimiter = ',', default_value = "agentview,handcam_rgb")]
        sim_cameras: Vec<String>,
        /// Rendered image side (px) in sim mode.
        #[arg(long, default_value_t = 128)]
        sim_size: u32,
        /// The instruction the simulated robot side sends.
        #[arg(
            long,
            default_value = "pick up the red cube and place it in the basket"
        )]
        instruction: String,
        /// Write a live rerun recording of the run here (camera frames, chunks, remasking
        /// traces, latency, jitter, safety; overrides `rerun.rrd`; needs `--features rerun`).
        #[arg(long)]
        rrd: Option<PathBuf>,
        /// Stream the run to a rerun viewer: `HOST:PORT` or `rerun+http://HOST:PORT/proxy`,
        /// default the local viewer (overrides `rerun.connect`; needs `--features rerun`).
        #[arg(long, num_args = 0..=1, default_missing_value = ddvla::serve::config::DEFAULT_VIEWER)]
        connect: Option<String>,
    },
    /// Task files and suites.
    #[command(subcommand)]
    Tasks(ddvla::tasks_cli::TasksCommand),
    /// Evaluate a policy on a suite with LIBERO's protocol (`ddvla eval merge` combines shards).
    Eval(ddvla::eval_cli::EvalCli),
    /// Train a policy on demonstrations (`--bench`: training throughput).
    Train(ddvla::train_cli::TrainArgs),
    /// Checkpoint tools (`average`: the uniform average of several checkpoints' weights;
    /// `export`: a training run's policy copied out to commit or ship).
    #[command(subcommand)]
    Checkpoint(ddvla::checkpoint_cli::CheckpointCommand),
    /// Demonstrations for training.
    #[command(subcommand)]
    Demos(ddvla::demos_cli::DemosCommand),
    /// Serve a policy to robots over zenoh (`[policy] remote = PREFIX` in their config).
    PolicyServer {
        /// Server config (see launch/policy-server.toml).
        #[arg(long)]
        config: PathBuf,
    },
    /// Replay a `ddvla serve` recording through the policy and compare the chunks.
    Replay {
        /// The MCAP recording.
        recording: PathBuf,
        /// The launch config the run used (policy, topics).
        #[arg(long)]
        config: PathBuf,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write a rerun recording (camera frames, chunks, remasking traces) here
        /// (needs a build with `--features rerun`).
        #[arg(long, conflicts_with = "connect")]
        rrd: Option<PathBuf>,
        /// Stream to a running rerun viewer, e.g. rerun+http://127.0.0.1:9876/proxy
        /// (needs a build with `--features rerun`).
        #[arg(long)]
        connect: Option<String>,
    },
    /// Record ROS 2 topics (over zenoh, rmw_zenoh wire format) to a rosbag2 MCAP file.
    Record(RecordArgs),
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

#[derive(Debug, Args)]
struct RecordArgs {
    /// Output MCAP file.
    #[arg(long, short)]
    out: PathBuf,
    /// TOPIC=TYPE to record (repeatable); default: the runtime's topics.
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    duration_s: Option<f64>,
    /// zenoh endpoints to listen on.
    #[arg(long, default_value = "tcp/127.0.0.1:0")]
    listen: Vec<String>,
    /// zenoh endpoints to connect to (a router or peers).
    #[arg(long, default_value = "tcp/127.0.0.1:7447")]
    connect: Vec<String>,
    /// ROS domain (default: ROS_DOMAIN_ID, else 0).
    #[arg(long)]
    domain: Option<u32>,
    /// A zenoh JSON5 config file (TLS, access control) applied first.
    #[arg(long)]
    zenoh_config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Control-loop tick jitter at a fixed rate while a random-weight policy runs on the
    /// inference worker (run with RAYON_NUM_THREADS=1 to leave the other core to the loop).
    Loop {
        /// Model preset (`tiny` decodes faster than a chunk lasts on 2 cores).
        #[arg(long, default_value = "tiny")]
        preset: String,
        /// Decoder on the worker.
        #[arg(long, value_enum, default_value = "diffusion-cached")]
        decoder: DecoderArg,
        /// Control rate (Hz).
        #[arg(long, default_value_t = 50.0)]
        rate_hz: f64,
        /// Duration (s).
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Image latency over zenoh on loopback (224x224 and 640x480 RGB) and MCAP write
    /// throughput.
    Bridge {
        /// Frames per image size.
        #[arg(long, default_value_t = 300)]
        frames: usize,
        /// Publish rate (Hz).
        #[arg(long, default_value_t = 30.0)]
        rate_hz: f64,
        /// A zenoh JSON5 config file for both sessions (e.g. launch/zenoh-lowlatency.json5).
        #[arg(long)]
        zenoh_config: Option<PathBuf>,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
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
    /// Model preset: tiny, compact, small, base, openvla-7b.
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
    /// Round counts T the diffusion decoders run with, each a row (e.g. `12,4,2,1`).
    #[arg(long, value_delimiter = ',', default_value = "12", value_parser = ddvla::eval_cli::at_least_one)]
    rounds: Vec<usize>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn run_record(a: RecordArgs) -> Result<()> {
    let topics = a
        .topics
        .iter()
        .map(|t| ddvla::record_cli::parse_topic(t))
        .collect::<Result<Vec<_>>>()?;
    let zenoh = ddvla_bridge::transport::zenoh::ZenohConfig {
        domain_id: a.domain,
        node_name: "ddvla_record".into(),
        listen: a.listen,
        connect: a.connect,
        config_file: a.zenoh_config,
        ..Default::default()
    };
    let duration = a
        .duration_s
        .map(std::time::Duration::try_from_secs_f64)
        .transpose()
        .context("--duration-s must be a non-negative number of seconds")?;
    ddvla::record_cli::record(&a.out, &topics, &zenoh, duration)
}

fn run_bench_loop(
    preset: &str,
    decoder: DecoderArg,
    rate_hz: f64,
    seconds: f64,
    json: Option<&std::path::Path>,
) -> Result<()> {
    let r = ddvla::bench::control_loop::run_loop_bench(preset, decoder.into(), rate_hz, seconds)?;
    println!(
        "{} ticks at {} Hz ({} build): lateness p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        r.ticks,
        r.rate_hz,
        r.build_profile,
        r.tick_lateness.p50_ms,
        r.tick_lateness.p99_ms,
        r.tick_lateness.max_ms
    );
    println!(
        "{} {:?}: inference p95 {:.0} ms; frame to action p50 {:.0} ms, p99 {:.0} ms; {} chunks, {} holds waiting",
        r.preset,
        r.decoder,
        r.inference_p95_ms,
        r.frame_to_action.p50_ms,
        r.frame_to_action.p99_ms,
        r.loop_counts.chunks,
        r.safety.no_action
    );
    ddvla::commands::write_json(json, &r)
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
        }) => ddvla::commands::run_bench_sim(
            &scene,
            control_steps,
            frames,
            json.as_deref(),
            ctrl_log.as_deref(),
        ),
        Command::Record(a) => run_record(a),
        Command::Tasks(cmd) => ddvla::tasks_cli::run(cmd),
        Command::Eval(cli) => ddvla::eval_cli::run(cli),
        Command::Demos(cmd) => ddvla::demos_cli::run(cmd),
        Command::Train(a) => ddvla::train_cli::run(&a),
        Command::Checkpoint(cmd) => ddvla::checkpoint_cli::run(cmd),
        Command::PolicyServer { config } => ddvla::commands::run_policy_server(&config),
        Command::Replay {
            recording,
            config,
            json,
            rrd,
            connect,
        } => ddvla::commands::run_replay(
            &recording,
            &config,
            json.as_deref(),
            rrd.map(ddvla::replay_cli::RerunTarget::File)
                .or(connect.map(ddvla::replay_cli::RerunTarget::Connect)),
        ),
        Command::Serve {
            config,
            max_ticks,
            sim,
            sim_cameras,
            sim_size,
            instruction,
            rrd,
            connect,
        } => ddvla::commands::run_serve(
            &config,
            &ddvla::commands::ServeOptions {
                max_ticks,
                sim,
                sim_cameras,
                sim_size,
                instruction,
                rrd,
                connect,
            },
        ),
        Command::Bench(BenchCommand::Loop {
            preset,
            decoder,
            rate_hz,
            seconds,
            json,
        }) => run_bench_loop(&preset, decoder, rate_hz, seconds, json.as_deref()),
        Command::Bench(BenchCommand::Bridge {
            frames,
            rate_hz,
            zenoh_config,
            json,
        }) => ddvla::commands::run_bench_bridge(
            frames,
            rate_hz,
            zenoh_config.as_deref(),
            json.as_deref(),
        ),
        Command::Bench(BenchCommand::Policy(a)) => {
            let args = PolicyBenchArgs {
                preset: a.preset,
                decoders: a.decoders.into_iter().map(Into::into).collect(),
                iters: a.iters.max(1),
                warmup: a.warmup,
                rounds: a.rounds,
            };
            let report = run_policy_bench(&args)?;
            ddvla::bench::print_policy_report(&report);
            ddvla::commands::write_json(a.json.as_deref(), &report)
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

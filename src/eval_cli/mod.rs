//! `ddvla eval`: LIBERO's evaluation protocol on a suite for the scripted expert, random
//! actions, or a checkpoint; `ddvla eval merge`: combine shards of one run.

mod decoder_flags;
mod image_size;
mod keypose_error;
mod model_policy;
mod open_loop;
mod open_loop_dims;
mod open_loop_frames;
mod report;
mod token_dump;
mod token_spread;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ddvla_tasks::eval::{
    self, EpisodeObserver, EvalOptions, EvalPolicy, EvalResults, NoObserver, RandomPolicy, Shard,
};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::Suite;
use indicatif::{ProgressBar, ProgressStyle};

pub use decoder_flags::{
    DecoderArg, DecoderFlags, ExecutionFlags, at_least_one, checkpoint_decoder,
};
pub use image_size::{policy_image_size, render_at, render_size};
pub use model_policy::{DecodeSettings, ModelPolicy};
pub use open_loop::{OpenLoopArgs, OpenLoopScores};

/// `ddvla eval`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvalCli {
    /// `merge`.
    #[command(subcommand)]
    pub command: Option<EvalCommand>,
    /// Run options.
    #[command(flatten)]
    pub run: EvalArgs,
}

/// `ddvla eval merge`.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Merge the results of shards (folders or results.json files) into one run.
    Merge {
        /// Shard outputs.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output folder (results.json, results.md).
        #[arg(long)]
        out: PathBuf,
    },
    /// One Markdown table over many runs (policies × suites, chunk latency), with each run's
    /// per-task table.
    Report {
        /// results.json files or folders holding them (searched recursively).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output Markdown file.
        #[arg(long)]
        out: PathBuf,
        /// Text put above the table (a file), e.g. how the runs were made.
        #[arg(long)]
        preamble: Option<PathBuf>,
    },
    /// Decode a checkpoint on recorded demonstration frames (default: the run's validation
    /// episodes) and compare with the expert's chunks: error per action dimension, exact
    /// bins, gripper agreement, next to a mean-action baseline. No simulation.
    OpenLoop(Box<OpenLoopArgs>),
}

/// Options of one evaluation run.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Suite name (`ddvla tasks list`).
    #[arg(long, required = true)]
    pub suite: Option<String>,
    /// `expert`, `random`, `random:<preset>` (untrained model) or a checkpoint folder.
    #[arg(long, required = true)]
    pub policy: Option<String>,
    /// Episodes per task (init states 0..N, or from `--first-episode`).
    #[arg(long, default_value_t = 50)]
    pub episodes_per_task: usize,
    /// The first init state (LIBERO: 0): e.g. `--first-episode 40 --episodes-per-task 10`
    /// uses states 40..49, disjoint from the 0..9 a report uses, to pick a checkpoint on.
    #[arg(long, default_value_t = 0)]
    pub first_episode: usize,
    /// Only these task indices (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<usize>>,
    /// This run's shard `i/N` (0-based) of the (task, episode) list.
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    /// Base seed (LIBERO/OpenVLA: 7).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Override the suite's step limit.
    #[arg(long)]
    pub max_steps: Option<u32>,
    /// Output folder (results.json, results.md).
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// Also write results.json here (benchmarks read its timing fields).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// How a model policy decodes.
    #[command(flatten)]
    pub decode: DecoderFlags,
    /// How a model policy executes its chunks.
    #[command(flatten)]
    pub exec: ExecutionFlags,
    /// Folder holding the suites (default: the built-in ones).
    #[arg(long)]
    pub suites_dir: Option<PathBuf>,
    /// Render every camera every step even when the policy does not read frames (the
    /// expert): the rendering cost in the timing fields.
    #[arg(long)]
    pub render: bool,
    /// Override the suite's image size (px, ≤ 256). Default: a model policy's own size (its
    /// `config.json`), else the suite's.
    #[arg(long)]
    pub image_size: Option<u32>,
    /// Record every episode, failures included, in the demonstrations format under this
    /// folder (one MCAP per episode: cameras, proprio, the executed actions; `index.json`
    /// with each episode's success): to replay or inspect what the policy did. Refused if
    /// the folder holds a recording already. With `--shard I/N` (N > 1) each shard records
    /// into its own `shard-I-of-N` under it.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// A checkpoint folder decoded together with `--policy` as a logit ensemble (repeat for
    /// more): every member reads the observation through its own weights and each action slot
    /// takes the argmax of the members' mean log-probabilities. Parallel decoder only, at
    /// temperature 0; the members must share the action layout and statistics.
    #[arg(long, value_name = "DIR")]
    pub logit_ensemble: Vec<String>,
}

/// Wants every frame, keeps nothing: `--render` timing runs.
struct RenderEveryStep;

impl EpisodeObserver for RenderEveryStep {
    fn wants_frames(&self) -> bool {
        true
    }
}

/// Run `ddvla eval …`.
pub fn run(cli: EvalCli) -> Result<()> {
    match cli.command {
        Some(EvalCommand::Merge { inputs, out }) => merge(&inputs, &out),
        Some(EvalCommand::Report {
            inputs,
            out,
            preamble,
        }) => {
            let runs = report::collect(&inputs)?;
            anyhow::ensure!(!runs.is_empty(), "no results.json under {inputs:?}");
            let mut text = match preamble {
                Some(p) => std::fs::read_to_string(&p)
                    .with_context(|| format!("reading {}", p.display()))?,
                None => String::new(),
            };
            text.push_str(&report::markdown(&runs));
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            println!("{} runs -> {}", runs.len(), out.display());
            Ok(())
        }
        Some(EvalCommand::OpenLoop(args)) => open_loop::run(&args),
        None => run_eval(&cli.run),
    }
}

/// The ddvla build: `git describe` of the source tree when available, else the version.
pub fn ddvla_commit() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    std::process::Command::new("git")
        .args(["-C", dir, "describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(
            || format!("v{}", env!("CARGO_PKG_VERSION")),
            |s| s.trim().to_owned(),
        )
}

/// Build the policy `spec` names (`expert`, `random`, `random:<preset>` or a checkpoint
/// folder; `settings` apply to models).
pub fn make_policy(
    spec: &str,
    settings: DecodeSettings,
    suite: &Suite,
) -> Result<Box<dyn EvalPolicy>> {
    Ok(match spec {
        "expert" => Box::new(ScriptedExpert::new()),
        "random" => Box::new(RandomPolicy::new(suite.file.contract.action_dim)),
        other => Box::new(ModelPolicy::load(other, settings, &suite.file.contract)?),
    })
}

fn write_results(results: &EvalResults, out: &Path, json: Option<&Path>) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let text = serde_json::to_string_pretty(results)?;
    let path = out.join("results.json");
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    let md = out.join("results.md");
    std::fs::write(&md, results.markdown()).with_context(|| format!("writing {}", md.display()))?;
    if let Some(j) = json {
        std::fs::write(j, &text).with_context(|| format!("writing {}", j.display()))?;
    }
    println!("{}", results.markdown());
    println!("wrote {} and {}", path.display(), md.display());
    Ok(())
}

fn run_eval(args: &EvalArgs) -> Result<()> {
    let (Some(suite_name), Some(out)) = (&args.suite, &args.out) else {
        bail!("--suite, --policy and --out are required");
    };
    let dir = crate::tasks_cli::suites_dir(args.suites_dir.clone());
    let spec = args.policy.as_deref().unwrap_or_default();
    let suite = render_at(
        Suite::load(&dir, suite_name)?,
        render_size(args.image_size, spec)?,
    )?;
    let opts = EvalOptions {
        episodes_per_task: args.episodes_per_task,
        first_episode: args.first_episode,
        tasks: args.tasks.clone(),
        shard: Shard::parse(&args.shard)?,
        seed: args.seed,
        max_steps: args.max_steps,
        ddvla_commit: ddvla_commit(),
        init_seed: None,
        skip: std::collections::BTreeSet::new(),
    };
    let total = eval::plan(&suite, &opts)?.len();
    // Before the policy loads, so a refused folder fails at once.
    let mut observer: Box<dyn EpisodeObserver> = if let Some(dir) = &args.record {
        Box::new(rollout_recorder(dir, opts.shard, &suite)?)
    } else if args.render {
        Box::new(RenderEveryStep)
    } else {
        Box::new(NoObserver)
    };
    let mut settings = args.decode.policy_settings(spec, &args.exec)?;
    if !args.logit_ensemble.is_empty() {
        if matches!(spec, "expert" | "random") || spec.starts_with("random:") {
            bail!("--logit-ensemble joins checkpoints, not --policy {spec}");
        }
        settings.logit_ensemble.clone_from(&args.logit_ensemble);
    }
    let mut policy = make_policy(spec, settings, &suite)?;
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} episodes, {msg} (eta {eta})",
        )?
        .progress_chars("=> "),
    );
    let mut done = 0usize;
    let mut ok = 0usize;
    let results = eval::run(
        &suite,
        &opts,
        policy.as_mut(),
        observer.as_mut(),
        &mut |r| {
            done += 1;
            ok += usize::from(r.success);
            bar.set_message(format!(
                "{ok}/{done} succeeded, last {} ep {}",
                r.task, r.episode
            ));
            bar.inc(1);
        },
    )?;
    bar.finish();
    write_results(&results, out, args.json.as_deref())
}

/// `--record DIR`: a recorder of every episode (failures kept) into the empty folder `dir`,
/// or, for one shard of several, into its own `dir/shard-I-of-N` (shards given the same
/// arguments would otherwise each rewrite one `index.json` and lose each other's episodes).
fn rollout_recorder(dir: &Path, shard: Shard, suite: &Suite) -> Result<crate::demos::DemoRecorder> {
    let shard_dir;
    let dir = if shard.count > 1 {
        shard_dir = dir.join(format!("shard-{}-of-{}", shard.index, shard.count));
        &shard_dir
    } else {
        dir
    };
    let index_path = dir.join("index.json");
    if index_path.exists() {
        bail!(
            "--record {}: it holds a recording already ({}); give an empty or new folder",
            dir.display(),
            index_path.display()
        );
    }
    let created_by = std::env::args().collect::<Vec<_>>().join(" ");
    let index = crate::demos::DemoIndex::empty(suite, created_by);
    let mut rec = crate::demos::DemoRecorder::new(dir, index, true);
    rec.start_suite(suite)?;
    Ok(rec)
}

fn merge(inputs: &[PathBuf], out: &Path) -> Result<()> {
    let mut parts = Vec::new();
    for i in inputs {
        let path = if i.is_dir() {
            i.join("results.json")
        } else {
            i.clone()
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let r: EvalResults = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a ddvla results.json", path.display()))?;
        parts.push(r);
    }
    let merged = EvalResults::merge(parts)?;
    write_results(&merged, out, None)
}

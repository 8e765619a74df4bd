//! `ddvla demos record`: demonstrations of the scripted expert (or another policy) on freshly
//! sampled init states, written as one MCAP file per episode plus `index.json`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::demos::{ActionNoise, ExpertLabelled, NoisyExpert, RecordOptions, read_index, record};
use crate::eval_cli::{DecoderFlags, make_policy, render_at, render_size};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::Suite;

/// Steps of the expert chunk labelled per step when `--label-chunk` is not given.
const DEFAULT_LABEL_CHUNK: usize = 8;

/// `ddvla demos` subcommands.
#[derive(Debug, Subcommand)]
pub enum DemosCommand {
    /// Record demonstrations.
    Record(DemosRecordArgs),
}

/// `ddvla demos record`.
#[derive(Debug, Args)]
pub struct DemosRecordArgs {
    /// Suites (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub suite: Vec<String>,
    /// `expert` (default), `random` or a checkpoint.
    #[arg(long, default_value = "expert")]
    pub policy: String,
    /// Episodes per task.
    #[arg(long, default_value_t = 50)]
    pub episodes_per_task: usize,
    /// Only these task indices (comma-separated, every suite).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<usize>>,
    /// Seed of the sampled init states (the committed evaluation states are not used).
    #[arg(long, default_value_t = 1000)]
    pub seed: u64,
    /// Override the suites' step limits (short test datasets).
    #[arg(long)]
    pub max_steps: Option<u32>,
    /// Keep failed episodes (flagged in index.json).
    #[arg(long)]
    pub keep_failures: bool,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Folder holding the suites (default: the built-in ones).
    #[arg(long)]
    pub suites_dir: Option<PathBuf>,
    /// Render the cameras at this side in px (≤ 256) instead of the suites' size, e.g. to
    /// train a checkpoint taken to that size (`ddvla checkpoint resize-images`). Default: a
    /// checkpoint policy's own size, else the suites'.
    #[arg(long)]
    pub image_size: Option<u32>,
    /// How a checkpoint policy decodes (refused with `expert` and `random`).
    #[command(flatten)]
    pub decode: DecoderFlags,
    /// How a checkpoint policy executes its chunks (refused with `expert` and `random`).
    #[command(flatten)]
    pub exec: crate::eval_cli::ExecutionFlags,
    /// Label a policy's rollouts with the scripted expert (DAgger): each step's recorded
    /// action is what the expert would do from the state the policy reached, the executed
    /// one goes to `/ddvla/executed_action`. Failed episodes are kept (their labels are
    /// right too) and `ddvla train` uses them. Not with `--policy expert`.
    #[arg(long)]
    pub expert_labels: bool,
    /// With `--expert-labels`: the probability that the expert, not the policy, executes a
    /// chunk (DAgger's β; 0 = the policy always drives).
    #[arg(long, default_value_t = 0.0, requires = "expert_labels")]
    pub expert_share: f64,
    /// With `--expert-labels` or `--action-noise`: also record, every step, the expert's own
    /// chunk of this many steps from that state (rolled out on a blind copy of the
    /// simulator; `/ddvla/expert_chunk`), which `ddvla train` uses as the step's chunk
    /// target. At least the model's chunk length; 0 records one-step labels only. Default 8.
    #[arg(long)]
    pub label_chunk: Option<usize>,
    /// DART recording (with `--policy expert` only): execute the expert's arm actions plus
    /// noise of this standard deviation (action units, in (0, 1]; the gripper is never
    /// perturbed) and record the expert's clean action and chunk from every state reached,
    /// as `--expert-labels` does. The episodes show how the expert recovers from small
    /// deviations off its path.
    #[arg(long, conflicts_with = "expert_labels")]
    pub action_noise: Option<f64>,
    /// Grasp-recovery recording (with `--policy expert` only): the expert's first grasp of
    /// each object aims this far (m, at most 0.1) off its grasp point, in a horizontal
    /// direction drawn per episode, and the labeller that `--expert-labels` uses labels every
    /// step (its chunks too). After the off-centre close the expert goes on from whatever
    /// the fingers hold (a bowl pinched by its rim is carried; nothing, re-grasped), so the
    /// episodes show the states a policy's imprecise grasps lead to, with the expert's
    /// answers. Failed episodes are kept, as with `--expert-labels`.
    #[arg(long, conflicts_with_all = ["expert_labels", "action_noise"])]
    pub grasp_miss_m: Option<f64>,
    /// Detour recording (with `--policy expert` only): each time the expert finishes a skill
    /// with more to do (an object placed, a drawer shut, the stove turned on), it first takes
    /// the arm back toward the episode's start pose, gripper open, for a number of steps
    /// drawn per detour from 1 to this many (or until it is there), then goes on; the
    /// labeller that `--expert-labels` uses labels every step (its chunks too). The episodes
    /// show the start position with a phase already done: the arm where the episode began,
    /// another answer, told apart by the images (and by the raw axis-angle's sign, which
    /// flips between the start and the later visits). Failed episodes are kept,
    /// as with `--expert-labels`.
    #[arg(long, conflicts_with_all = ["expert_labels", "action_noise", "grasp_miss_m"])]
    pub detour_home_steps: Option<usize>,
    /// With `--action-noise`: the noise's correlation time in control steps (≥ 1).
    #[arg(long, default_value_t = 5.0, requires = "action_noise")]
    pub noise_steps: f64,
    /// Continue the recording in `--out` (an interrupted run): its episodes stay and only
    /// the missing ones are recorded. Run it with the same suites, tasks, episodes, seed and
    /// labels; a different seed or label kind is refused. Without it, an `--out` that holds a
    /// recording is refused.
    #[arg(long)]
    pub resume: bool,
}

/// Run `ddvla demos …`.
pub fn run(cmd: DemosCommand) -> Result<()> {
    let DemosCommand::Record(a) = cmd;
    let dir = crate::tasks_cli::suites_dir(a.suites_dir.clone());
    let mut total = 0;
    for name in &a.suite {
        let tasks = Suite::load(&dir, name)?.tasks.len();
        total += a.tasks.as_ref().map_or(tasks, Vec::len) * a.episodes_per_task;
    }
    let image_size = render_size(a.image_size, &a.policy)?;
    let first = render_at(
        Suite::load(&dir, a.suite.first().map_or("", String::as_str))?,
        image_size,
    )?;
    let settings = a.decode.policy_settings(&a.policy, &a.exec)?;
    let mut policy = make_policy(&a.policy, settings, &first)?;
    let mut labels = None;
    let mut action_noise = None;
    let label_chunk = a.label_chunk.unwrap_or(DEFAULT_LABEL_CHUNK);
    anyhow::ensure!(
        a.label_chunk.is_none()
            || a.expert_labels
            || a.action_noise.is_some()
            || a.grasp_miss_m.is_some()
            || a.detour_home_steps.is_some(),
        "--label-chunk needs --expert-labels, --action-noise, --grasp-miss-m or \
         --detour-home-steps (plain recordings label nothing)"
    );
    if a.expert_labels {
        anyhow::ensure!(
            a.policy != "expert",
            "--expert-labels labels another policy's rollouts; --policy expert needs no labels \
             (--action-noise records a perturbed expert)"
        );
        let labelled = ExpertLabelled::new(policy, a.expert_share, label_chunk)?;
        labels = Some(labelled.labels());
        policy = Box::new(labelled);
    } else if let Some(sigma) = a.action_noise {
        anyhow::ensure!(
            a.policy == "expert",
            "--action-noise perturbs the scripted expert; it needs --policy expert, not {:?}",
            a.policy
        );
        let noise = ActionNoise::new(sigma, a.noise_steps)?;
        action_noise = Some(noise);
        let noisy = NoisyExpert::new(noise, label_chunk);
        labels = Some(noisy.labels());
        policy = Box::new(noisy);
    } else if let Some(driver) = perturbed_expert(&a)? {
        let labelled = ExpertLabelled::new(Box::new(driver), 0.0, label_chunk)?;
        labels = Some(labelled.labels());
        policy = Box::new(labelled);
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} episodes, {msg} (eta {eta})",
    )?);
    let opts = RecordOptions {
        suites: a.suite.clone(),
        suites_dir: dir,
        tasks: a.tasks.clone(),
        episodes_per_task: a.episodes_per_task,
        init_seed: a.seed,
        out: a.out.clone(),
        keep_failures: a.keep_failures,
        max_steps: a.max_steps,
        image_size,
        created_by: std::env::args().collect::<Vec<_>>().join(" "),
        labels,
        action_noise,
        resume: a.resume,
    };
    if a.resume {
        bar.set_position(read_index(&a.out).map_or(0, |i| i.episodes.len() as u64));
    }
    let (mut done, mut ok) = (0usize, 0usize);
    let index = record(&opts, policy.as_mut(), &mut |r| {
        done += 1;
        ok += usize::from(r.success);
        bar.set_message(format!("{ok}/{done} succeeded"));
        bar.inc(1);
    })?;
    bar.finish();
    let steps: u64 = index.episodes.iter().map(|e| u64::from(e.steps)).sum();
    println!(
        "{} episodes kept ({ok}/{done} succeeded), {steps} steps -> {}",
        index.episodes.len(),
        a.out.join("index.json").display()
    );
    Ok(())
}

/// The scripted expert that `--grasp-miss-m` or `--detour-home-steps` asks to drive (the
/// labeller labels its episodes), `None` without either.
fn perturbed_expert(a: &DemosRecordArgs) -> Result<Option<ScriptedExpert>> {
    let (flag, driver) = if let Some(miss_m) = a.grasp_miss_m {
        (
            "--grasp-miss-m perturbs the scripted expert's grasps",
            ScriptedExpert::missing_first_grasps_by(miss_m)?,
        )
    } else if let Some(steps) = a.detour_home_steps {
        (
            "--detour-home-steps makes the scripted expert detour",
            ScriptedExpert::detouring_home(steps)?,
        )
    } else {
        return Ok(None);
    };
    anyhow::ensure!(
        a.policy == "expert",
        "{flag}; it needs --policy expert, not {:?}",
        a.policy
    );
    Ok(Some(driver))
}

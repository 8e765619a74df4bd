//! `ddvla eval open-loop`: a checkpoint's decoded chunks against the expert's chunks on
//! recorded demonstration frames (by default the run's held-out validation episodes). No
//! simulation: it says whether the model imitates the data at all — per-dimension error in
//! action units and in bins, exact-bin rate, gripper agreement — next to a constant
//! mean-action baseline, which a closed-loop success rate alone cannot tell apart.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use candle_core::Device;
use clap::{Args, ValueEnum};
use ddvla_policy::Policy;
use ddvla_policy::decode::StartedAt;
use ddvla_policy::position_target::{POSITION_DIMS, PositionTarget};
use serde::Serialize;

use super::DecoderFlags;
use super::keypose_error::KeyposeError;
use super::model_policy::make_decoder;
use super::open_loop_dims::Accumulator;
pub use super::open_loop_dims::DimScore;
use super::open_loop_frames::FrameLog;
use super::token_dump::TokenDump;
use super::token_spread::{CameraTokenSpread, TokenSpread};
use crate::train_cli::{DataSection, Dataset, TrainFile};

/// Which demonstration episodes are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The run's validation episodes (needs the checkpoint's `train.toml`).
    Val,
    /// The run's training episodes (needs the checkpoint's `train.toml`).
    Train,
    /// Every episode of `--demos`.
    All,
}

/// `ddvla eval open-loop`.
#[derive(Debug, Args)]
pub struct OpenLoopArgs {
    /// Checkpoint folder.
    #[arg(long)]
    pub policy: PathBuf,
    /// Demonstration folders (default: the `[data] demos` of the checkpoint's `train.toml`).
    #[arg(long, value_delimiter = ',')]
    pub demos: Option<Vec<PathBuf>>,
    /// Episodes scored; `val`/`train` use the run's seeded split.
    #[arg(long, value_enum, default_value = "val")]
    pub split: Split,
    /// Frames scored, evenly spaced over the split's steps.
    #[arg(long, default_value_t = 64)]
    pub samples: usize,
    /// How the checkpoint decodes.
    #[command(flatten)]
    pub decode: DecoderFlags,
    /// Give every frame this instruction instead of its own (does the policy listen? A
    /// wrong or empty instruction should score worse than the right one).
    #[arg(long)]
    pub instruction: Option<String>,
    /// Give every frame the camera images of another scored frame (the one half the scored
    /// list away: most often another episode, or another task), its own proprio and
    /// instruction kept (does the policy look? One that takes its state from the images
    /// scores worse; one that follows its proprio alone scores the same). Needs at least two
    /// scored frames.
    #[arg(long)]
    pub swap_images: bool,
    /// Also report, per camera, how far the model's image tokens spread over the scored
    /// frames and how far a flat grey frame's lie, relative to their mean's norm (do the
    /// tokens follow the images at all?).
    #[arg(long)]
    pub token_spread: bool,
    /// Also report the keypose head's error (standardised mean squared error) on the scored
    /// frames, for a checkpoint trained with `[train.keypose]` (see `keypose_error.rs`).
    #[arg(long)]
    pub keypose: bool,
    /// Also write the scene camera's image tokens of every scored frame here (raw f32) and
    /// the frames with their next gripper events' positions to `PATH.csv`, for
    /// `scripts/probe_tokens.py` (not with `--keypose`).
    #[arg(long)]
    pub dump_tokens: Option<PathBuf>,
    /// Also write the scores as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write one CSV row per scored frame here: its episode file and step, the chunk's
    /// error, and the first decoded and expert actions (where the chunks part ways).
    #[arg(long)]
    pub frames: Option<PathBuf>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct OpenLoopScores {
    /// Checkpoint.
    pub policy: String,
    /// Decoder, rounds, remasking.
    pub decoder: String,
    /// The instruction every frame was given instead of its own, if any.
    pub instruction_override: Option<String>,
    /// Whether every frame was given another scored frame's images (`--swap-images`).
    pub images_swapped: bool,
    /// Per camera, the image tokens' spread (`--token-spread`; empty without it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_token_spread: Vec<CameraTokenSpread>,
    /// The keypose head's mean squared error over the frames (`--keypose`; standardised),
    /// and about what that is in metres (root mean square).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keypose_mse: Option<(f64, f64)>,
    /// Scored split.
    pub split: Split,
    /// Frames scored.
    pub samples: usize,
    /// Per action dimension.
    pub dims: Vec<DimScore>,
    /// Fraction of actions whose gripper command (last dimension) has the expert's sign.
    pub gripper_sign_agreement: f64,
}

/// The training run's config of the checkpoint in `policy`: its `train.toml`, or the one in
/// either of the two folders above it (a snapshot's average, `RUN/step-N/ema`, is `RUN`'s).
pub(super) fn run_config_of(policy: &Path) -> Option<PathBuf> {
    policy
        .ancestors()
        .take(3)
        .map(|d| d.join("train.toml"))
        .find(|p| p.exists())
}

/// The demonstrations, split and seed to score, from the flags and the checkpoint's run.
fn dataset_for(args: &OpenLoopArgs, chunk: usize, side: usize) -> Result<Dataset> {
    let found = run_config_of(&args.policy);
    let toml = found
        .clone()
        .unwrap_or_else(|| args.policy.join("train.toml"));
    let run = found.map(|t| TrainFile::read(&t)).transpose()?;
    if args.split != Split::All && run.is_none() {
        bail!(
            "--split {:?} needs {} (the run's split); use --split all with --demos",
            args.split,
            toml.display()
        );
    }
    let (mut data, seed) = if let Some(r) = run {
        (r.data, r.train.seed)
    } else {
        let Some(demos) = args.demos.clone() else {
            bail!(
                "--demos is required: {} has no train.toml",
                args.policy.display()
            );
        };
        // Every episode is scored (`--split all`): nothing held out.
        let data = DataSection {
            val_fraction: 0.0,
            ..DataSection::with_demos(demos)
        };
        (data, 0)
    };
    if let Some(demos) = &args.demos {
        data.demos.clone_from(demos);
        // The folders named here are the data: every task from each of them.
        data.task_sources.clear();
    }
    let (ds, _) = Dataset::load(&data, chunk, side, seed)?;
    Ok(ds)
}

/// The (episode, step) pairs scored: `args.samples` evenly spaced over the split's steps.
fn scored_frames(args: &OpenLoopArgs, ds: &Dataset) -> Result<Vec<(usize, usize)>> {
    let pairs: Vec<(usize, usize)> = match args.split {
        Split::Val => ds.val.clone(),
        Split::Train => ds.train.clone(),
        Split::All => ds.train.iter().chain(&ds.val).copied().collect(),
    };
    ensure!(!pairs.is_empty(), "the {:?} split has no steps", args.split);
    let stride = (pairs.len() / args.samples).max(1);
    let picks: Vec<(usize, usize)> = pairs
        .iter()
        .step_by(stride)
        .take(args.samples)
        .copied()
        .collect();
    ensure!(
        !args.swap_images || picks.len() >= 2,
        "--swap-images needs at least 2 scored frames, the {:?} split gives {}",
        args.split,
        picks.len()
    );
    Ok(picks)
}

/// A chunk of `dim`-value actions with position targets' values divided by the metres per
/// unit (at the recorded pose, a target's error so scaled is the executed delta's error);
/// delta actions (`target` `None`) as they are.
fn in_delta_units(mut chunk: Vec<f32>, dim: usize, target: Option<PositionTarget>) -> Vec<f32> {
    if let Some(t) = target {
        for step in chunk.chunks_mut(dim) {
            for v in step.iter_mut().take(POSITION_DIMS) {
                *v /= t.metres_per_unit;
            }
        }
    }
    chunk
}

/// Score `args.policy` on the demonstrations.
pub fn score(args: &OpenLoopArgs) -> Result<OpenLoopScores> {
    ensure!(args.samples > 0, "--samples must be at least 1");
    let policy = Policy::from_checkpoint(&args.policy, None, &Device::Cpu)
        .with_context(|| format!("loading the checkpoint {}", args.policy.display()))?;
    let file = &policy.model().config().file;
    let mut ds = dataset_for(args, file.action.chunk_len, file.vision.image_size)?;
    // Scored samples are not augmented: the recorded step as it is.
    ds.set_episode_step(file.episode_step_input.then_some(0.0));
    ds.set_skill_prompt(file.skill_prompt.as_ref());
    // A position-target model is scored on relabelled demonstrations, its position errors
    // divided by the metres per unit: for `delta` labels, at the recorded pose, that is the
    // executed delta's error before it is scaled to at most 1, comparable with a delta
    // model's; for `expert_goal` labels it is how far the decoded goal lies from the
    // expert's, in the same units. The `gain` column means little for those values
    // (targets sit far from zero).
    let targets = file.action_position_target;
    if let Some(t) = targets {
        ds.set_action_position_target(t)?;
    }
    let picks = scored_frames(args, &ds)?;
    let settings = args
        .decode
        .settings(&args.policy.display().to_string(), None)?;
    let mut decoder = make_decoder(&settings, 0);
    let tok = policy.action_tokenizer();
    let mut acc = Accumulator::new(tok.action_dim(), tok.chunk_len());
    let mut spread = args.token_spread.then(|| TokenSpread::new(&policy));
    ensure!(
        !(args.keypose && args.dump_tokens.is_some()),
        "--dump-tokens and --keypose give the frames different targets: use one at a time"
    );
    let mut dump = match &args.dump_tokens {
        Some(path) => Some(TokenDump::create(
            path,
            policy.model().config().patches_per_image,
            &mut ds,
        )?),
        None => None,
    };
    let mut keypose = if args.keypose {
        Some(KeyposeError::new(&args.policy, &mut ds)?)
    } else {
        None
    };
    let mut frames = match &args.frames {
        Some(path) => Some(FrameLog::create(path, tok.action_dim(), tok.chunk_len())?),
        None => None,
    };
    for (i, &p) in picks.iter().enumerate() {
        // No crop here: the policy applies the checkpoint's centre crop itself.
        let mut sample = ds.sample(p, None, 0)?;
        if let Some(text) = &args.instruction {
            sample.observation.instruction.clone_from(text);
        }
        if args.swap_images {
            let other = picks[(i + picks.len() / 2) % picks.len()];
            sample.observation.images = ds.sample(other, None, 0)?.observation.images;
        }
        if let Some(k) = keypose.as_mut() {
            k.add(sample.clone())?;
        }
        // One encoding per frame, for the decoder and the token spread alike.
        let what = || format!("decoding frame {i} (episode {}, step {})", p.0, p.1);
        let prefix = policy.encode(&sample.observation).with_context(what)?;
        if let Some(spread) = spread.as_mut() {
            spread.add(&policy, &sample.observation, &prefix)?;
        }
        if let Some(d) = dump.as_mut() {
            d.add(
                &prefix,
                ds.episode_file(p.0).unwrap_or("?"),
                p.1,
                &sample.keyposes,
            )?;
        }
        let out = (policy.decode(&prefix, decoder.as_mut(), None, &StartedAt::now()))
            .with_context(what)?;
        let truth = tok.encode(&sample.actions).with_context(|| {
            format!(
                "the demonstrations' actions do not fit the checkpoint's {}-D action tokenizer",
                tok.action_dim()
            )
        })?;
        let pred = &in_delta_units(out.actions.clone(), tok.action_dim(), targets);
        let label = &in_delta_units(sample.actions.clone(), tok.action_dim(), targets);
        acc.add(pred, label, &out.tokens, &truth);
        if let Some(log) = frames.as_mut() {
            log.add(ds.episode_file(p.0).unwrap_or("?"), p.1, pred, label)?;
        }
    }
    if let Some(log) = frames {
        log.finish()?;
    }
    if let Some(d) = dump {
        d.finish()?;
    }
    Ok(OpenLoopScores {
        policy: args.policy.display().to_string(),
        decoder: settings.describe(),
        instruction_override: args.instruction.clone(),
        images_swapped: args.swap_images,
        image_token_spread: spread.map(|s| s.finish()).unwrap_or_default(),
        keypose_mse: keypose.map(KeyposeError::finish).transpose()?,
        split: args.split,
        samples: picks.len(),
        gripper_sign_agreement: acc.gripper_agree as f64 / acc.actions.max(1) as f64,
        dims: acc.finish(),
    })
}

/// The report as a Markdown table.
pub fn markdown(s: &OpenLoopScores) -> String {
    let mut t = format!(
        "open-loop: {} ({}) on {} {:?}-split frames{}{}\n\n\
         | dim | MAE | MAE (first action) | mean-action baseline MAE | bin error | exact bin | bias | gain |\n\
         |---|---|---|---|---|---|---|---|\n",
        s.policy,
        s.decoder,
        s.samples,
        s.split,
        s.instruction_override
            .as_ref()
            .map_or_else(String::new, |i| format!(", every one instructed {i:?}")),
        if s.images_swapped {
            ", each given another frame's images"
        } else {
            ""
        }
    );
    for (d, x) in s.dims.iter().enumerate() {
        let _ = writeln!(
            t,
            "| {d} | {:.4} | {:.4} | {:.4} | {:.1} | {:.1}% | {:+.4} | {:.2} |",
            x.mae,
            x.mae_first,
            x.baseline_mae,
            x.bin_error,
            100.0 * x.exact_bin,
            x.bias,
            x.gain
        );
    }
    let _ = writeln!(
        t,
        "\ngripper sign agreement: {:.1}%",
        100.0 * s.gripper_sign_agreement
    );
    if let Some((k, rms_m)) = s.keypose_mse {
        let _ = writeln!(
            t,
            "keypose error: {k:.4} (standardised mean squared; about {:.2} cm root mean square)",
            100.0 * rms_m
        );
    }
    for c in &s.image_token_spread {
        let _ = writeln!(
            t,
            "image tokens of camera {}: spread over the frames {:.1}% of their mean's norm, a \
             flat grey frame {:.1}% from it (mean token norm {:.2})",
            c.camera,
            100.0 * c.spread,
            100.0 * c.grey_distance,
            c.mean_token_norm
        );
    }
    t
}

/// Run `ddvla eval open-loop`.
pub fn run(args: &OpenLoopArgs) -> Result<()> {
    let scores = score(args)?;
    print!("{}", markdown(&scores));
    if let Some(path) = &args.json {
        write_json(path, &scores)?;
    }
    Ok(())
}

fn write_json(path: &Path, scores: &OpenLoopScores) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(scores)?)
        .with_context(|| format!("writing {}", path.display()))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_markdown_has_a_row_per_dimension() {
        assert_eq!(
            markdown_row_count(&[DimScore::default(), DimScore::default()]),
            2
        );
    }

    fn markdown_row_count(dims: &[DimScore]) -> usize {
        let scores = OpenLoopScores {
            policy: "p".into(),
            decoder: "Parallel".into(),
            instruction_override: None,
            images_swapped: false,
            image_token_spread: Vec::new(),
            keypose_mse: None,
            split: Split::All,
            samples: 1,
            dims: dims.to_vec(),
            gripper_sign_agreement: 1.0,
        };
        markdown(&scores)
            .lines()
            .filter(|l| l.starts_with("| "))
            .count()
            - 1
    }
}

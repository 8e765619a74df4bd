//! `ddvla checkpoint …`: tools on checkpoint folders.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;

/// Checkpoint subcommands.
#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Average the weights of several checkpoints of one model into a new checkpoint (a
    /// uniform "model soup", e.g. a run's `keep_every` snapshots, or with `--weights` a
    /// weighted one, e.g. WiSE-FT between a fine-tune and its start); the inputs must share
    /// the configuration, tokenizer, statistics and every tensor's name, shape and dtype.
    Average {
        /// Checkpoint folders (at least two).
        #[arg(required = true, num_args = 2..)]
        inputs: Vec<PathBuf>,
        /// One weight per checkpoint, comma-separated, each above 0 (normalised by their sum;
        /// default: all equal). `--weights 2,1`: two thirds of the first, one third of the second.
        #[arg(long, value_delimiter = ',')]
        weights: Option<Vec<f64>>,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Copy a training run's policy (config.json, model.safetensors, tokenizer.json,
    /// dataset_statistics.json, checked to load) and its train.toml and loss.csv into a new
    /// folder to commit or ship, leaving the optimizer and trainer state and snapshots behind.
    Export {
        /// The run folder (`[run] out` of a training config) or a snapshot in it.
        run: PathBuf,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Take a checkpoint to another camera image size, to fine-tune it at that resolution:
    /// the vision tower's position embeddings are resampled bicubically to the new patch
    /// grid (same patch size, so more and finer patches), every other weight is copied and
    /// `config.json`'s `vision.image_size` changes. Record demonstrations and evaluate at
    /// the new size (`--image-size`; a checkpoint policy's own size is the default).
    ResizeImages {
        /// The checkpoint folder.
        input: PathBuf,
        /// The new image side in px (a multiple of the patch size).
        #[arg(long)]
        image_size: usize,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Give a checkpoint the episode step (control steps since the instruction began) as
    /// its last proprio value, to fine-tune it to tell a long task's phases apart: the proprio
    /// projector gets one more input column, zero, so the actions stay the old ones until
    /// the fine-tune; the statistics map steps 0..=`--max-step` to [-1, 1]. Training,
    /// `ddvla eval` and `ddvla serve` append the step for such a model.
    AddEpisodeStep {
        /// The checkpoint folder.
        input: PathBuf,
        /// The step normalised to +1 (e.g. the suite's step limit).
        #[arg(long)]
        max_step: u32,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Give a checkpoint a convolutional branch beside its vision towers' patch embedding
    /// (`config.json` `vision.conv_stem_channels`): one 3×3 stride-2 convolution per entry
    /// (log2 of the patch side of them), then a 1×1 to the tower width added to the patch
    /// tokens, to see shifts of a few pixels that a 16-pixel patch blurs. The 1×1 starts at
    /// zero, so the copy acts as the input until a fine-tune with `train_vision` trains it.
    AddConvStem {
        /// The checkpoint folder.
        input: PathBuf,
        /// Output channels of each strided convolution, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [32, 64, 128, 192])]
        channels: Vec<usize>,
        /// Seed of the new convolutions' initial weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Copy a checkpoint that reads proprio values `--at`..`--at`+3 as an axis-angle
    /// orientation in one hemisphere (`config.json` `proprio_axis_angle_at`): a gripper
    /// pointing down sits where the raw vector flips between +π·n and −π·n, and a model
    /// trained on raw values reads the flip as a task phase. Only the config changes; a
    /// fine-tune adapts the model.
    ProprioAxisAngle {
        /// The checkpoint folder.
        input: PathBuf,
        /// Index of the triple's first value (3 for LIBERO-style proprio: position, axis
        /// angle, gripper).
        #[arg(long)]
        at: usize,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Copy a checkpoint whose instruction names the part of a multi-step task the robot is
    /// in (`config.json` `skill_prompt`): each hold of the gripper of at least
    /// `--min-closed-steps` executed steps followed by `--min-open-steps` open ones is a
    /// finished skill, and after one the instruction reads "…, part 2". Part 1 keeps the
    /// instruction, so the copy acts as the input until a skill is done; a fine-tune teaches
    /// it the later parts (training counts the skills from the recorded actions).
    SkillPrompt {
        /// The checkpoint folder.
        input: PathBuf,
        /// Closed steps that make a hold a skill.
        #[arg(long, default_value_t = 20)]
        min_closed_steps: u32,
        /// Open steps after the hold that finish it.
        #[arg(long, default_value_t = 4)]
        min_open_steps: u32,
        /// The highest part named (later skills keep its prompt).
        #[arg(long, default_value_t = 2)]
        max_part: u32,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Copy a checkpoint without its proprio input (`config.json` `use_proprio` false, the
    /// proprio projector's weights left out), to fine-tune a policy that takes its state from
    /// the cameras: one that reads its pose can follow a demonstrated path by position alone
    /// and mistake one phase of a long task for another where both pass the same poses. It
    /// acts differently from the input until a fine-tune adapts it.
    DropProprio {
        /// The checkpoint folder.
        input: PathBuf,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Copy a checkpoint whose first three action values are where the end effector should
    /// go (`config.json` `action_position_target`), not how far to move: each recorded delta
    /// `a` is relabelled `p + a·m` (p the proprio's position at that step), or with `--labels
    /// expert-goal` replaced by the scripted expert's recorded goal, and evaluation and
    /// serving execute `(target − p_now) / m`, scaled so its largest value is at most 1, from
    /// the position measured at each step. The action statistics' position bounds are
    /// computed from `--demos`' relabelled actions; weights are copied, so the copy needs a
    /// fine-tune on the same labels (`ddvla train` relabels for such a model) before it acts
    /// well.
    PositionTarget(PositionTargetArgs),
    /// Copy a checkpoint that reads no proprio (`drop-proprio`'s output, fine-tuned to take
    /// its state from the cameras) with its proprio input back: `config.json` `use_proprio`
    /// true and a new proprio projector whose output layer is zero, so the pose changes
    /// nothing until a fine-tune teaches the model to read it. The statistics' proprio bounds
    /// (kept by `drop-proprio`) normalise it.
    AddProprio {
        /// The checkpoint folder.
        input: PathBuf,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
        /// Seed of the projector's first layer.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

/// `--labels` of `ddvla checkpoint position-target`
/// ([`ddvla_policy::position_target::PositionLabels`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelsArg {
    /// Recorded deltas relabelled `p + a·m`.
    Delta,
    /// The scripted expert's recorded goals.
    ExpertGoal,
}

/// `ddvla checkpoint position-target`'s arguments.
#[derive(Debug, clap::Args)]
pub struct PositionTargetArgs {
    /// The checkpoint folder.
    pub input: PathBuf,
    /// Demonstration folders to take the targets' bounds from (the fine-tune's).
    #[arg(long, required = true, num_args = 1..)]
    pub demos: Vec<PathBuf>,
    /// Only these suites' episodes (default: every episode).
    #[arg(long, value_delimiter = ',')]
    pub suites: Option<Vec<String>>,
    /// Take failed episodes' actions too (default: successful episodes only, as `ddvla
    /// train`'s `successful_only`).
    #[arg(long)]
    pub keep_failures: bool,
    /// Index of the end-effector position's first value in the proprio (0 for
    /// LIBERO-style proprio: position, axis angle, gripper).
    #[arg(long, default_value_t = 0)]
    pub proprio_at: usize,
    /// Metres per action unit of the executed delta: 0.02 for the suites' expert (5 cm
    /// per unit over its proportional gain of 2.5), which makes a label the skill's goal
    /// wherever the expert is not saturated.
    #[arg(long, default_value_t = 0.02)]
    pub metres_per_unit: f32,
    /// The split seed of the fine-tune (its `[train] seed`): the bounds come from the
    /// episodes it trains on.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// What the targets are trained to be: `delta` (each recorded delta relabelled `p +
    /// a·m`) or `expert-goal` (the goal the scripted expert steered toward at each step,
    /// recorded on `/ddvla/expert_goal` by `ddvla demos record`).
    #[arg(long, value_enum, default_value_t = LabelsArg::Delta)]
    pub labels: LabelsArg,
    /// The new checkpoint folder (refused if it exists).
    #[arg(long)]
    pub out: PathBuf,
}

/// Run a checkpoint subcommand.
pub fn run(cmd: CheckpointCommand) -> Result<()> {
    match cmd {
        CheckpointCommand::Average {
            inputs,
            weights,
            out,
        } => {
            use ddvla_policy::checkpoint_average::{
                average_checkpoints, weighted_average_checkpoints,
            };
            match &weights {
                None => average_checkpoints(&inputs, &out),
                Some(w) => weighted_average_checkpoints(&inputs, w, &out),
            }
            .with_context(|| format!("averaging {} checkpoints", inputs.len()))?;
            let how = weights.map_or_else(
                || "the average".to_owned(),
                |w| format!("the weighted average ({w:?})"),
            );
            println!("{}: {how} of {} checkpoints", out.display(), inputs.len());
            Ok(())
        }
        CheckpointCommand::Export { run, out } => {
            let copied = ddvla_policy::checkpoint_export::export_checkpoint(&run, &out)
                .with_context(|| format!("exporting the policy of {}", run.display()))?;
            println!(
                "{}: {} from {}",
                out.display(),
                copied.join(", "),
                run.display()
            );
            Ok(())
        }
        CheckpointCommand::ResizeImages {
            input,
            image_size,
            out,
        } => {
            let done =
                ddvla_policy::checkpoint_resize::resize_image_inputs(&input, image_size, &out)
                    .with_context(|| {
                        format!("resizing {} to {image_size} px images", input.display())
                    })?;
            println!(
                "{}: {} at {} px ({}×{} patches) from {} px ({}×{}); resampled {}",
                out.display(),
                input.display(),
                done.to_px,
                done.grid.1,
                done.grid.1,
                done.from_px,
                done.grid.0,
                done.grid.0,
                done.tensors.join(", ")
            );
            Ok(())
        }
        CheckpointCommand::AddEpisodeStep {
            input,
            max_step,
            out,
        } => {
            ddvla_policy::checkpoint_episode_step::add_episode_step_input(&input, max_step, &out)
                .with_context(|| format!("adding the episode step to {}", input.display()))?;
            println!(
                "{}: {} taking the episode step (0..={max_step} → [-1, 1]) as its last \
                 proprio value",
                out.display(),
                input.display()
            );
            Ok(())
        }
        CheckpointCommand::AddConvStem {
            input,
            channels,
            seed,
            out,
        } => add_conv_stem(&input, &channels, seed, &out),
        CheckpointCommand::SkillPrompt {
            input,
            min_closed_steps,
            min_open_steps,
            max_part,
            out,
        } => skill_prompt(&input, (min_closed_steps, min_open_steps, max_part), &out),
        CheckpointCommand::ProprioAxisAngle { input, at, out } => {
            proprio_axis_angle(&input, at, &out)
        }
        CheckpointCommand::AddProprio { input, out, seed } => add_proprio(&input, seed, &out),
        CheckpointCommand::DropProprio { input, out } => drop_proprio(&input, &out),
        CheckpointCommand::PositionTarget(args) => position_target(&args),
    }
}

/// `ddvla checkpoint proprio-axis-angle`.
fn proprio_axis_angle(input: &Path, at: usize, out: &Path) -> Result<()> {
    ddvla_policy::checkpoint_axis_angle::set_proprio_axis_angle(input, at, out)
        .with_context(|| format!("setting the axis-angle proprio of {}", input.display()))?;
    println!(
        "{}: {} reading proprio values {at}..{} as a canonical axis angle",
        out.display(),
        input.display(),
        at + 3
    );
    Ok(())
}

/// `ddvla checkpoint position-target`.
fn position_target(args: &PositionTargetArgs) -> Result<()> {
    let data = crate::train_cli::DataSection {
        suites: args.suites.clone(),
        successful_only: !args.keep_failures,
        ..crate::train_cli::DataSection::with_demos(args.demos.clone())
    };
    let data = &data;
    let (input, out) = (args.input.as_path(), args.out.as_path());
    let target = ddvla_policy::position_target::PositionTarget {
        proprio_at: args.proprio_at,
        metres_per_unit: args.metres_per_unit,
        labels: match args.labels {
            LabelsArg::Delta => ddvla_policy::position_target::PositionLabels::Delta,
            LabelsArg::ExpertGoal => ddvla_policy::position_target::PositionLabels::ExpertGoal,
        },
    };
    let cfg =
        ddvla_policy::model::ConfigFile::load(&input.join(ddvla_policy::checkpoint::files::CONFIG))
            .with_context(|| format!("loading the config of {}", input.display()))?;
    // The settings are checked against the model (its own config validation) before any
    // demonstration is read.
    let mut with_target = cfg.clone();
    with_target.action_position_target = Some(target);
    ddvla_policy::model::Config::new(with_target)
        .with_context(|| format!("position targets for {}", input.display()))?;
    let (mut ds, _) = crate::train_cli::Dataset::load(
        data,
        cfg.action.chunk_len,
        cfg.vision.image_size,
        args.seed,
    )?;
    ds.set_action_position_target(target)?;
    let (q01, q99) = ds.position_target_bounds(&data.unnorm_key)?;
    ddvla_policy::checkpoint_position_target::set_action_position_target(
        input, target, q01, q99, out,
    )
    .with_context(|| format!("giving {} position-target actions", input.display()))?;
    println!(
        "{}: {} with action values 0..3 target positions (q01 {q01:?}, q99 {q99:?} m over {} \
         training episodes)",
        out.display(),
        input.display(),
        ds.episode_counts.0
    );
    Ok(())
}

/// `ddvla checkpoint add-proprio`.
fn add_proprio(input: &Path, seed: u64, out: &Path) -> Result<()> {
    let added = ddvla_policy::checkpoint_add_proprio::add_proprio_input(input, seed, out)
        .with_context(|| format!("giving {} its proprio input back", input.display()))?;
    println!(
        "{}: {} reading its proprio again (added, output layer zero: {})",
        out.display(),
        input.display(),
        added.join(", ")
    );
    Ok(())
}

/// `ddvla checkpoint drop-proprio`.
fn drop_proprio(input: &Path, out: &Path) -> Result<()> {
    let dropped = ddvla_policy::checkpoint_drop_proprio::drop_proprio_input(input, out)
        .with_context(|| format!("dropping the proprio input of {}", input.display()))?;
    println!(
        "{}: {} without its proprio input (left out: {})",
        out.display(),
        input.display(),
        dropped.join(", ")
    );
    Ok(())
}

/// `ddvla checkpoint skill-prompt`: `input` copied to `out` with a skill prompt whose hold,
/// release and last part are `(min_closed_steps, min_open_steps, max_part)`, the gripper
/// being the last action value.
fn add_conv_stem(input: &Path, channels: &[usize], seed: u64, out: &Path) -> Result<()> {
    ddvla_policy::checkpoint_conv_stem::add_conv_stem(input, channels, seed, out)
        .with_context(|| format!("adding a convolutional branch to {}", input.display()))?;
    println!(
        "{}: {} with a convolutional branch of {channels:?} channels (output at zero)",
        out.display(),
        input.display()
    );
    Ok(())
}

fn skill_prompt(
    input: &Path,
    (min_closed_steps, min_open_steps, max_part): (u32, u32, u32),
    out: &Path,
) -> Result<()> {
    let file = ddvla_policy::model::ConfigFile::load(&input.join("config.json"))
        .with_context(|| format!("reading {}", input.display()))?;
    let prompt = ddvla_policy::skill_prompt::SkillPromptConfig {
        gripper_index: file.action.action_dim.saturating_sub(1),
        min_closed_steps,
        min_open_steps,
        max_part,
        ..Default::default()
    };
    ddvla_policy::checkpoint_skill_prompt::set_skill_prompt(input, &prompt, out)
        .with_context(|| format!("giving {} a skill prompt", input.display()))?;
    println!(
        "{}: {} with the task's part in its instruction (a hold of {min_closed_steps} \
         steps, then {min_open_steps} open, finishes a skill; parts 1..={max_part})",
        out.display(),
        input.display()
    );
    Ok(())
}

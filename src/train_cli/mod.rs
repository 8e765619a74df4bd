//! `ddvla train --config FILE`: DD-VLA's masked-token objective (or the AR / parallel
//! baselines) on recorded demonstrations, with validation loss, a CSV loss curve, periodic
//! checkpoints and exact resume; `ddvla train --bench` measures training throughput.

mod bench;
mod config;
mod data;
mod logs;

use logs::RunLogs;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use candle_core::Device;
use clap::Args;
use ddvla_policy::model::presets;
use ddvla_policy::train::{KeyposeTarget, Trainer, files};
use indicatif::{ProgressBar, ProgressStyle};

pub use bench::run_bench;
pub use config::{DataSection, TrainFile};
pub use data::{Dataset, KeyposeScale};

/// The run's keypose scale (`[train.keypose]`: the training split's mean and standard
/// deviation of the targets, JSON), written into the run folder.
pub const KEYPOSE_SCALE_FILE: &str = "keypose_scale.json";

/// `ddvla train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training config (see launch/train-small.toml).
    #[arg(long, required_unless_present = "bench")]
    pub config: Option<PathBuf>,
    /// Stop after this many steps in this invocation (the run resumes later).
    #[arg(long)]
    pub max_steps_now: Option<u64>,
    /// Measure training throughput (samples/s) of the tiny and small presets instead.
    #[arg(long)]
    pub bench: bool,
    /// With --bench: write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Run `ddvla train …`.
pub fn run(args: &TrainArgs) -> Result<()> {
    if args.bench {
        return run_bench(args.json.as_deref());
    }
    let path = args.config.as_deref().context("--config is required")?;
    train(&TrainFile::read(path)?, args.max_steps_now)
}

fn trainer_for(cfg: &TrainFile, ds: &Dataset, out: &Path) -> Result<Trainer> {
    if out.join(files::STATE).exists() {
        println!("resuming {}", out.display());
        return Trainer::resume(out, &Device::Cpu)
            .with_context(|| format!("resuming {}", out.display()));
    }
    let key = cfg.data.unnorm_key.clone();
    if let Some(dir) = &cfg.model.init_checkpoint {
        return Trainer::from_checkpoint(dir, None, cfg.train.clone(), &Device::Cpu)
            .with_context(|| format!("loading {}", dir.display()));
    }
    let stats = ds.statistics(&key)?;
    Ok(Trainer::new(
        model_config(cfg)?,
        stats,
        Some(key),
        cfg.train.clone(),
        &Device::Cpu,
    )?)
}

/// The configuration of the model the run trains: the preset's (with `[model]
/// proprio_axis_angle_at` and `conv_stem_channels` applied, validated) or the start
/// checkpoint's.
fn model_config(cfg: &TrainFile) -> Result<ddvla_policy::model::Config> {
    match (&cfg.model.preset, &cfg.model.init_checkpoint) {
        (Some(p), _) => {
            let mut file = presets::preset(p)?.file;
            file.proprio_axis_angle_at = cfg.model.proprio_axis_angle_at;
            file.vision
                .conv_stem_channels
                .clone_from(&cfg.model.conv_stem_channels);
            if let Some(fused) = &mut file.fused_vision {
                fused
                    .conv_stem_channels
                    .clone_from(&cfg.model.conv_stem_channels);
            }
            ddvla_policy::model::Config::new(file).with_context(|| {
                format!(
                    "[model] preset {p} with proprio_axis_angle_at {:?} and \
                     conv_stem_channels {:?}",
                    cfg.model.proprio_axis_angle_at, cfg.model.conv_stem_channels
                )
            })
        }
        (None, Some(dir)) => {
            ddvla_policy::model::Config::load(&dir.join(ddvla_policy::checkpoint::files::CONFIG))
                .with_context(|| format!("loading the config of {}", dir.display()))
        }
        (None, None) => anyhow::bail!("[model] needs preset or init_checkpoint"),
    }
}

/// The run's trainer (resumed, or new from `cfg`), with the settings a resumed run takes from
/// `cfg` applied, and the validation frames of `ds` cropped as the checkpoint's inference.
fn configured_trainer(cfg: &TrainFile, ds: &mut Dataset, out: &Path) -> Result<Trainer> {
    let mut trainer = trainer_for(cfg, ds, out)?;
    // The weight average is the one setting a resumed run takes from the file rather than
    // from its saved state: it changes no update, so it may start (or stop) mid-run.
    if trainer.config().ema_decay != cfg.train.ema_decay {
        println!(
            "weight average: {:?} → {:?} from step {}",
            trainer.config().ema_decay,
            cfg.train.ema_decay,
            trainer.steps()
        );
        trainer.set_ema_decay(cfg.train.ema_decay)?;
    }
    // The checkpoint's inference centre crop matches the training random crop (DD-VLA's
    // 90% area), and validation frames get it too (they are what inference sees).
    let crop = cfg.data.augment.as_ref().and_then(|a| a.crop_area);
    if trainer.model().config().file.center_crop_area != crop {
        println!("inference centre crop of the checkpoint: {crop:?}");
        trainer.set_inference_center_crop(crop);
    }
    ds.set_val_center_crop(crop);
    ensure!(
        trainer.config().keypose == cfg.train.keypose,
        "{}: the run was trained with [train.keypose] {:?}, the config says {:?}",
        out.display(),
        trainer.config().keypose,
        cfg.train.keypose
    );
    ensure!(
        trainer.model().config().file.episode_step_input == ds.has_episode_step(),
        "{}: the trained model's episode_step_input differs from the model the data was \
         prepared for",
        out.display()
    );
    ensure!(
        trainer.model().config().file.action_position_target == ds.action_position_target(),
        "{}: the trained model's action_position_target ({:?}) differs from the labels' \
         ({:?})",
        out.display(),
        trainer.model().config().file.action_position_target,
        ds.action_position_target()
    );
    ensure!(
        trainer.model().config().file.proprio_axis_angle_at == ds.proprio_axis_angle_at(),
        "{}: the trained model's proprio_axis_angle_at ({:?}) differs from the config's \
         ({:?})",
        out.display(),
        trainer.model().config().file.proprio_axis_angle_at,
        ds.proprio_axis_angle_at()
    );
    Ok(trainer)
}

/// The folder of the policy snapshot kept at `step`: `<out>/step-<step, 6 digits>`.
pub fn snapshot_dir(out: &Path, step: u64) -> PathBuf {
    out.join(format!("step-{step:06}"))
}

/// Write the policy snapshot of `step` ([`snapshot_dir`]) whole: into a staging folder
/// first, then renamed over any earlier one (a resumed run that repeats the step writes the
/// same weights again).
fn keep_snapshot(trainer: &Trainer, out: &Path, step: u64) -> Result<()> {
    let dir = snapshot_dir(out, step);
    let staging = dir.with_extension("saving");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing {}", staging.display()))?;
    }
    trainer
        .save_policy(&staging)
        .with_context(|| format!("saving the snapshot {}", staging.display()))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::rename(&staging, &dir).with_context(|| format!("renaming to {}", dir.display()))
}

/// The run's demonstrations, shaped for its model (chunk length, image side, the episode
/// step when the model takes it, statistics on the canonical orientation when it reads one).
fn load_data(cfg: &TrainFile) -> Result<(Dataset, crate::demos::DemoIndex)> {
    let file = model_config(cfg)?.file;
    let (chunk, side) = (file.action.chunk_len, file.vision.image_size);
    let (mut ds, index) = Dataset::load(&cfg.data, chunk, side, cfg.train.seed)?;
    if !cfg.data.proprio_noise_std.is_empty() {
        println!(
            "augmented samples' proprio gets Gaussian noise of std {:?}",
            cfg.data.proprio_noise_std
        );
        ds.set_proprio_noise(&cfg.data.proprio_noise_std)?;
    }
    if file.episode_step_input {
        println!(
            "the model takes the episode step (augmented samples' scaled by 1 ± {})",
            cfg.data.episode_step_jitter
        );
        ds.set_episode_step(Some(cfg.data.episode_step_jitter));
    }
    if let Some(at) = file.proprio_axis_angle_at {
        println!(
            "the model reads proprio values {at}..{} in one hemisphere",
            at + 3
        );
        ds.set_proprio_axis_angle(Some(at));
    }
    if let Some(target) = file.action_position_target {
        ds.set_action_position_target(target)?;
        match target.labels {
            ddvla_policy::position_target::PositionLabels::Delta => println!(
                "action values 0..3 are target positions: the recorded delta times {} m plus \
                 proprio values {}..{}",
                target.metres_per_unit,
                target.proprio_at,
                target.proprio_at + 3
            ),
            ddvla_policy::position_target::PositionLabels::ExpertGoal => println!(
                "action values 0..3 are target positions: the scripted expert's recorded goals"
            ),
        }
    }
    if let Some(prompt) = &file.skill_prompt {
        ds.set_skill_prompt(Some(prompt));
        println!(
            "the instruction names the task's part (\"{}\"); training samples per part: {:?}",
            prompt.suffix,
            ds.skill_part_counts()
        );
    }
    if let Some(k) = &cfg.train.keypose {
        let scale = ds.set_keyposes(k, None)?;
        let path = cfg.run.out.join(KEYPOSE_SCALE_FILE);
        std::fs::create_dir_all(&cfg.run.out)
            .with_context(|| format!("creating {}", cfg.run.out.display()))?;
        std::fs::write(&path, serde_json::to_string_pretty(&scale)?)
            .with_context(|| format!("writing {}", path.display()))?;
        let what = match k.target {
            KeyposeTarget::GripperEvents => {
                format!(
                    "the end-effector positions at the next {} gripper events",
                    k.events
                )
            }
            KeyposeTarget::Objects => {
                format!("the first {} recorded objects' positions", k.objects)
            }
            KeyposeTarget::ObjectsFromPinch => format!(
                "the first {} recorded objects' positions from the end effector",
                k.objects
            ),
        };
        println!(
            "keypose loss (weight {}), the head reading {:?}: {what}, standardised by mean {:?} \
             m and std {:?} m",
            k.weight, k.input, scale.mean_m, scale.std_m
        );
    }
    Ok((ds, index))
}

/// Train as `cfg` says, resuming from `run.out` when it holds a trainer state.
pub fn train(cfg: &TrainFile, max_steps_now: Option<u64>) -> Result<()> {
    let out = &cfg.run.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (mut ds, index) = load_data(cfg)?;
    println!(
        "data: {} train / {} validation episodes ({} / {} steps), cameras {:?} at {} px",
        ds.episode_counts.0,
        ds.episode_counts.1,
        ds.train.len(),
        ds.val.len(),
        index.cameras,
        index.image_size
    );
    if cfg.data.balance_tasks {
        println!("balance_tasks: the train steps include repeats, equal per task");
    }
    let mut trainer = configured_trainer(cfg, &mut ds, out)?;
    std::fs::write(out.join("train.toml"), toml::to_string_pretty(cfg)?)?;
    let val = ds.val_batches(cfg.run.val_batches, cfg.run.batch_size)?;
    let start = trainer.steps();
    let mut logs = RunLogs::open(out, start)?;
    let end = max_steps_now.map_or(cfg.run.steps, |n| (start + n).min(cfg.run.steps));
    let bar = ProgressBar::new(cfg.run.steps);
    bar.set_position(start);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] step {pos}/{len} {msg} (eta {eta})",
    )?);
    let aug = cfg.data.augment.clone();
    while trainer.steps() < end {
        let t0 = Instant::now();
        let step = trainer.steps();
        let batch = ds.train_batch(step, cfg.run.batch_size, aug.as_ref())?;
        let stats = trainer.step(&batch)?;
        let sps = cfg.run.batch_size as f64 / t0.elapsed().as_secs_f64();
        let evaluate =
            cfg.run.eval_every > 0 && stats.step % cfg.run.eval_every == 0 && !val.is_empty();
        let message = logs.record(&mut trainer, &val, &stats, sps, evaluate)?;
        bar.set_message(message);
        bar.set_position(stats.step);
        if cfg.run.keep_every > 0 && stats.step % cfg.run.keep_every == 0 {
            keep_snapshot(&trainer, out, stats.step)?;
        }
        if stats.step % cfg.run.save_every == 0 || stats.step == end {
            logs.flush()?;
            trainer
                .save(out)
                .with_context(|| format!("saving {}", out.display()))?;
        }
    }
    bar.finish();
    println!(
        "step {} of {}: checkpoint in {}",
        trainer.steps(),
        cfg.run.steps,
        out.display()
    );
    if trainer.ema().is_some() {
        println!(
            "weight average: {}",
            out.join(files::EMA_CHECKPOINT).display()
        );
    }
    Ok(())
}

//! `ddvla train --config FILE`: DD-VLA's masked-token objective (or the AR / parallel
//! baselines) on recorded demonstrations, with validation loss, a CSV loss curve, periodic
//! checkpoints and exact resume; `ddvla train --bench` measures training throughput.

mod bench;
mod config;
mod data;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use candle_core::Device;
use clap::Args;
use ddvla_policy::model::presets;
use ddvla_policy::train::{Trainer, files};
use indicatif::{ProgressBar, ProgressStyle};

pub use bench::run_bench;
pub use config::{DataSection, TrainFile};
pub use data::Dataset;

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
/// proprio_axis_angle_at` applied, validated) or the start checkpoint's.
fn model_config(cfg: &TrainFile) -> Result<ddvla_policy::model::Config> {
    match (&cfg.model.preset, &cfg.model.init_checkpoint) {
        (Some(p), _) => {
            let mut file = presets::preset(p)?.file;
            file.proprio_axis_angle_at = cfg.model.proprio_axis_angle_at;
            ddvla_policy::model::Config::new(file).with_context(|| {
                format!(
                    "[model] preset {p} with proprio_axis_angle_at {:?}",
                    cfg.model.proprio_axis_angle_at
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

/// Open a loss log (`loss.csv`, `ema_loss.csv`) for appending, with `header` when new. A run interrupted between
/// checkpoints left rows past the saved step `saved_step`; the resumed run redoes those
/// steps, so their rows are dropped first (the file is rewritten through a temporary file).
fn open_loss_csv(path: &Path, saved_step: u64, header: &str) -> Result<std::fs::File> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let kept: Vec<&str> = text
            .lines()
            .filter(|row| {
                row.split(',')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .is_none_or(|step| step <= saved_step)
            })
            .collect();
        if kept.len() != text.lines().count() {
            println!(
                "{}: dropping {} rows past the saved step {saved_step}",
                path.file_name()
                    .map_or_else(Default::default, |n| n.to_string_lossy()),
                text.lines().count() - kept.len()
            );
            let tmp = path.with_extension("csv.tmp");
            std::fs::write(&tmp, kept.join("\n") + "\n")
                .with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        }
    }
    let new_csv = !path.exists();
    let mut csv = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    if new_csv {
        writeln!(csv, "{header}")?;
    }
    Ok(csv)
}

/// `ema_loss.csv`: the weight average's validation loss, on the same batches and masks as
/// `loss.csv`'s, when the run keeps one (a file of its own, so `loss.csv` keeps its columns
/// across versions). Opened at its first row.
struct AverageLog {
    path: PathBuf,
    saved_step: u64,
    file: Option<std::fs::File>,
}

impl AverageLog {
    fn row(&mut self, step: u64, val_loss: f32) -> Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self
                .file
                .insert(open_loss_csv(&self.path, self.saved_step, "step,val_loss")?),
        };
        writeln!(file, "{step},{val_loss:.5}")?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        Ok(())
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
        trainer.model().config().file.episode_step_input == ds.has_episode_step(),
        "{}: the trained model's episode_step_input differs from the model the data was \
         prepared for",
        out.display()
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
    let mut csv = open_loss_csv(
        &out.join("loss.csv"),
        trainer.steps(),
        "step,loss,val_loss,grad_norm,lr,samples_per_s",
    )?;
    let start = trainer.steps();
    let mut ema_csv = AverageLog {
        path: out.join("ema_loss.csv"),
        saved_step: start,
        file: None,
    };
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
        let (val_loss, ema_val_loss) = if evaluate {
            (
                trainer.eval_losses(&val, false)?,
                trainer.eval_losses(&val, true)?,
            )
        } else {
            (None, None)
        };
        if let Some(v) = ema_val_loss {
            ema_csv.row(stats.step, v)?;
        }
        writeln!(
            csv,
            "{},{:.5},{},{:.4},{:.3e},{sps:.2}",
            stats.step,
            stats.loss,
            val_loss.map_or(String::new(), |v| format!("{v:.5}")),
            stats.grad_norm,
            stats.lr
        )?;
        bar.set_message(format!(
            "loss {:.4}{}{} {sps:.1} samples/s",
            stats.loss,
            val_loss.map_or(String::new(), |v| format!(" val {v:.4}")),
            ema_val_loss.map_or(String::new(), |v| format!(" (average {v:.4})"))
        ));
        bar.set_position(stats.step);
        if cfg.run.keep_every > 0 && stats.step % cfg.run.keep_every == 0 {
            keep_snapshot(&trainer, out, stats.step)?;
        }
        if stats.step % cfg.run.save_every == 0 || stats.step == end {
            csv.flush()?;
            ema_csv.flush()?;
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

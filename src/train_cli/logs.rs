//! The run's logs: `loss.csv` (every step; the validation loss at evaluation steps),
//! `ema_loss.csv` (the weight average's validation loss, when the run keeps one) and
//! `keypose.csv` (the keypose loss, when the run has one). A resumed run drops the rows past
//! its saved step first, so each log reads as one run.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ddvla_policy::train::{Batch, StepStats, Trainer};

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

/// A log of its own beside `loss.csv` (so `loss.csv` keeps its columns across versions),
/// opened at its first row: `ema_loss.csv`, the weight average's validation loss on the same
/// batches and masks as `loss.csv`'s, when the run keeps one; `keypose.csv`, the keypose
/// loss, when the run has one.
struct SideLog {
    path: PathBuf,
    header: &'static str,
    saved_step: u64,
    file: Option<std::fs::File>,
}

impl SideLog {
    fn new(path: PathBuf, header: &'static str, saved_step: u64) -> Self {
        Self {
            path,
            header,
            saved_step,
            file: None,
        }
    }

    /// Append `row` (its first field the step).
    fn row(&mut self, row: &str) -> Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self
                .file
                .insert(open_loss_csv(&self.path, self.saved_step, self.header)?),
        };
        writeln!(file, "{row}")?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        Ok(())
    }
}

/// The three logs of a run.
pub(super) struct RunLogs {
    losses: std::fs::File,
    average: SideLog,
    keypose: SideLog,
}

impl RunLogs {
    /// Open the logs of the run in `out`, saved at step `saved_step`.
    pub(super) fn open(out: &Path, saved_step: u64) -> Result<Self> {
        Ok(Self {
            losses: open_loss_csv(
                &out.join("loss.csv"),
                saved_step,
                "step,loss,val_loss,grad_norm,lr,samples_per_s",
            )?,
            average: SideLog::new(out.join("ema_loss.csv"), "step,val_loss", saved_step),
            keypose: SideLog::new(
                out.join("keypose.csv"),
                "step,loss,val_loss,average_val_loss",
                saved_step,
            ),
        })
    }

    /// Log the step `stats` (`sps` samples per second), with the validation losses on `val`
    /// when `evaluate`; returns the progress bar's message.
    pub(super) fn record(
        &mut self,
        trainer: &mut Trainer,
        val: &[Batch],
        stats: &StepStats,
        sps: f64,
        evaluate: bool,
    ) -> Result<String> {
        let (val_loss, ema_val_loss) = if evaluate {
            (
                trainer.eval_losses(val, false)?,
                trainer.eval_losses(val, true)?,
            )
        } else {
            (None, None)
        };
        if let Some(v) = ema_val_loss {
            self.average.row(&format!("{},{v:.5}", stats.step))?;
        }
        let cell = |v: Option<f32>| v.map_or(String::new(), |v| format!("{v:.5}"));
        if let Some(k) = stats.keypose_loss {
            let (val, average) = if evaluate {
                (
                    trainer.eval_keyposes(val, false)?,
                    trainer.eval_keyposes(val, true)?,
                )
            } else {
                (None, None)
            };
            self.keypose.row(&format!(
                "{},{k:.5},{},{}",
                stats.step,
                cell(val),
                cell(average)
            ))?;
        }
        writeln!(
            self.losses,
            "{},{:.5},{},{:.4},{:.3e},{sps:.2}",
            stats.step,
            stats.loss,
            cell(val_loss),
            stats.grad_norm,
            stats.lr
        )?;
        Ok(format!(
            "loss {:.4}{}{}{} {sps:.1} samples/s",
            stats.loss,
            stats
                .keypose_loss
                .map_or(String::new(), |k| format!(" keypose {k:.3}")),
            val_loss.map_or(String::new(), |v| format!(" val {v:.4}")),
            ema_val_loss.map_or(String::new(), |v| format!(" (average {v:.4})"))
        ))
    }

    /// Flush every log (before a checkpoint is saved).
    pub(super) fn flush(&mut self) -> Result<()> {
        self.losses.flush()?;
        self.average.flush()?;
        self.keypose.flush()
    }
}

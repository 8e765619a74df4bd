//! `ddvla eval open-loop --keypose`: the keypose head's error on the scored frames, for a
//! checkpoint trained with `[train.keypose]` (the run's `train.toml` and `keypose_scale.json`
//! beside it or in a folder above: `RUN/step-N/ema` finds `RUN`'s).
//! With `--swap-images` each frame has another frame's images and its own targets: a head
//! that reads where things are from the images scores worse then, one that answers from the
//! instruction and proprio alone scores the same.

use std::path::Path;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use ddvla_policy::train::augment::crop_resize;
use ddvla_policy::train::{Batch, Sample, Trainer};

use crate::train_cli::{Dataset, KEYPOSE_SCALE_FILE, KeyposeScale, TrainFile};

/// Frames per evaluation pass.
const BATCH: usize = 8;

/// The keypose error over the frames added.
pub struct KeyposeError {
    trainer: Trainer,
    scale: KeyposeScale,
    crop: Option<f32>,
    pending: Vec<Sample>,
    sum: f64,
    frames: usize,
}

impl KeyposeError {
    /// The scorer of the checkpoint in `policy`; gives `ds`'s samples their targets under
    /// the run's scale.
    pub fn new(policy: &Path, ds: &mut Dataset) -> Result<Self> {
        let Some(toml) = super::open_loop::run_config_of(policy) else {
            bail!(
                "--keypose needs the run's train.toml in {} or the two folders above it",
                policy.display()
            );
        };
        let run = TrainFile::read(&toml)?;
        let Some(k) = run.train.keypose.clone() else {
            bail!("--keypose: {} has no [train.keypose]", toml.display());
        };
        let Some(path) = policy
            .ancestors()
            .take(3)
            .map(|d| d.join(KEYPOSE_SCALE_FILE))
            .find(|p| p.exists())
        else {
            bail!(
                "--keypose needs the run's {KEYPOSE_SCALE_FILE} (ddvla train writes it) in {} or \
                 the two folders above it",
                policy.display()
            );
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let scale: KeyposeScale = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a keypose scale", path.display()))?;
        ds.set_keyposes(&k, Some(scale))?;
        let trainer = Trainer::from_checkpoint(policy, None, run.train, &Device::Cpu)
            .with_context(|| format!("loading {} for its keypose head", policy.display()))?;
        let crop = trainer.model().config().file.center_crop_area;
        Ok(Self {
            trainer,
            scale,
            crop,
            pending: Vec::new(),
            sum: 0.0,
            frames: 0,
        })
    }

    /// Add one scored frame (as the policy is given it: uncropped).
    pub fn add(&mut self, mut sample: Sample) -> Result<()> {
        if let Some(area) = self.crop {
            for img in &mut sample.observation.images {
                *img = crop_resize(img, area, [0.5, 0.5]);
            }
        }
        self.pending.push(sample);
        if self.pending.len() == BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = Batch {
            samples: std::mem::take(&mut self.pending),
        };
        let n = batch.samples.len();
        let mse = self
            .trainer
            .eval_keypose(&batch)?
            .context("the checkpoint has no keypose head")?;
        self.sum += f64::from(mse) * n as f64;
        self.frames += n;
        Ok(())
    }

    /// The mean squared error (standardised targets) over the frames added, and about what
    /// it is in metres: the root of it times the scale's mean variance per axis (exact when
    /// the error is the same on every axis in standard units).
    pub fn finish(mut self) -> Result<(f64, f64)> {
        self.flush()?;
        let mse = self.sum / self.frames.max(1) as f64;
        let var_m2 = self
            .scale
            .std_m
            .iter()
            .map(|&s| f64::from(s).powi(2))
            .sum::<f64>()
            / 3.0;
        Ok((mse, (mse * var_m2).sqrt()))
    }
}

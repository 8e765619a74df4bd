//! `ddvla train --config FILE`: the training run's TOML (see `launch/train-small.toml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use ddvla_policy::train::TrainConfig;
use ddvla_policy::train::augment::AugmentConfig;
use serde::{Deserialize, Serialize};

/// `[model]`: what to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Preset of a fresh model (`tiny`, `small`, …) with reproducible random weights.
    #[serde(default)]
    pub preset: Option<String>,
    /// Or fine-tune from this checkpoint.
    #[serde(default)]
    pub init_checkpoint: Option<PathBuf>,
    /// With `preset`: the fresh model reads proprio values `at..at + 3` (an axis-angle
    /// orientation) in one hemisphere (`config.json` `proprio_axis_angle_at`,
    /// `ddvla_policy::proprio_rotation`), and the run's proprio statistics are computed on
    /// those values. A checkpoint gets it with `ddvla checkpoint proprio-axis-angle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proprio_axis_angle_at: Option<usize>,
    /// With `preset`: the fresh model's vision towers get a convolutional branch of these
    /// channels beside the patch embedding (`config.json` `vision.conv_stem_channels`,
    /// `ddvla_policy::model::conv_stem`; one per halving of the patch, e.g. `[32, 64, 128,
    /// 192]` for 16-pixel patches). A checkpoint gets it with `ddvla checkpoint add-conv-stem`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conv_stem_channels: Vec<usize>,
}

/// `[data]`: the demonstrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Demonstration folders (`ddvla demos record` output, each with an `index.json`).
    pub demos: Vec<PathBuf>,
    /// Fraction of episodes held out for validation (split by episode, seeded).
    #[serde(default = "default_val_fraction")]
    pub val_fraction: f64,
    /// Train on successful episodes only (expert-labelled episodes, `ddvla demos record
    /// --expert-labels`, are kept either way: their labels are the expert's).
    #[serde(default = "yes")]
    pub successful_only: bool,
    /// The key of the statistics in `dataset_statistics.json`.
    #[serde(default = "default_key")]
    pub unnorm_key: String,
    /// Cameras fed to the model, by name, in order (default: every camera of the dataset).
    #[serde(default)]
    pub cameras: Option<Vec<String>>,
    /// Train on these suites' episodes only (default: every episode), e.g. to fine-tune a
    /// shared checkpoint on one suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suites: Option<Vec<String>>,
    /// Training augmentation (`None`: off).
    #[serde(default)]
    pub augment: Option<AugmentConfig>,
    /// Weight every task equally instead of every step: each task's training steps are
    /// repeated (a seeded draw of them) up to the step count of the task with the most, so a
    /// task with short episodes gets as many samples per pass as one with long episodes
    /// (Octo's `balance_weights` across datasets, here across tasks). Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub balance_tasks: bool,
    /// Take a task's episodes only from the folders listed for it (task name, e.g.
    /// `push_the_plate_to_the_front_of_the_stove` → folders, each also in `demos`): after
    /// its scripted expert changed, the folders recorded with the new expert replace the
    /// older ones for that task while their other tasks stay. Empty (the default): every
    /// folder's episodes of every task.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_sources: BTreeMap<String, Vec<PathBuf>>,
    /// In expert-labelled episodes (`ddvla demos record --expert-labels`, `--grasp-miss-m`)
    /// train only on the steps from the first executed close of the gripper on: the
    /// labeller's answers to the grasp the driver reached (carry a pinched object on, or grasp
    /// again), not its answers to the approach before it, which for an approach aimed off
    /// the grasp point say "go back up" about states a policy's own descents also reach. A
    /// labelled episode that never closes contributes no steps; plain demonstrations are
    /// not affected. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub labelled_from_first_close: bool,
    /// For a model that takes the episode step (`episode_step_input`): each augmented
    /// sample's step is scaled by a factor drawn uniformly from `1 ± this` (0.2: ±20%), so
    /// the step tells the policy roughly where in the task it is and the images must tell
    /// the rest, as a policy's own rollouts run slower or faster than the demonstrations.
    /// Validation samples keep the recorded step. 0 (the default) keeps it always.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub episode_step_jitter: f32,
    /// Standard deviation, per recorded proprio value and in its unit (metres, radians,
    /// gripper joint position), of the Gaussian noise added to each augmented sample's
    /// proprio; its action labels stay the recorded ones. A policy that learned to read its
    /// phase from a centimetre of pose switches behaviour a centimetre off the demonstrated
    /// path; with the pose blurred this much the images must carry that decision. Validation
    /// samples keep the recorded proprio. Empty (the default): no noise; otherwise one value
    /// per recorded proprio value (the episode step, when the model takes it, is not one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proprio_noise_std: Vec<f32>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

impl DataSection {
    /// The section of a TOML that names only `demos`: every other field at its default.
    pub fn with_demos(demos: Vec<PathBuf>) -> Self {
        Self {
            demos,
            val_fraction: default_val_fraction(),
            successful_only: yes(),
            unnorm_key: default_key(),
            cameras: None,
            suites: None,
            augment: None,
            balance_tasks: false,
            task_sources: BTreeMap::new(),
            labelled_from_first_close: false,
            episode_step_jitter: 0.0,
            proprio_noise_std: Vec::new(),
        }
    }
}

fn default_val_fraction() -> f64 {
    0.1
}

fn yes() -> bool {
    true
}

fn default_key() -> String {
    "ddvla_demos".into()
}

/// `[run]`: length, batches, outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Optimiser steps in total (a resumed run continues up to this).
    pub steps: u64,
    /// Samples per step.
    pub batch_size: usize,
    /// Output folder: the checkpoint, trainer state, `loss.csv`, `train.toml`.
    pub out: PathBuf,
    /// Save every this many steps (and at the end).
    #[serde(default = "default_save_every")]
    pub save_every: u64,
    /// Validation loss every this many steps (0: never).
    #[serde(default = "default_eval_every")]
    pub eval_every: u64,
    /// Batches in the validation loss.
    #[serde(default = "default_val_batches")]
    pub val_batches: usize,
    /// Keep a policy checkpoint of every this many steps in `<out>/step-<N>/` (with its
    /// weight average in `ema/` when the run keeps one), to evaluate and pick from later:
    /// closed-loop success moves between checkpoints far more than validation loss does.
    /// 0 (the default): keep only the latest.
    #[serde(default)]
    pub keep_every: u64,
}

fn default_save_every() -> u64 {
    100
}

fn default_eval_every() -> u64 {
    50
}

fn default_val_batches() -> usize {
    4
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainFile {
    /// What to train.
    pub model: ModelSection,
    /// Data.
    pub data: DataSection,
    /// Optimisation (policy crate's `TrainConfig`: seed, lr, adamw, clipping, objective).
    #[serde(default)]
    pub train: TrainConfig,
    /// Run length and outputs.
    pub run: RunSection,
}

impl TrainFile {
    /// Read and check `path`; relative paths in it are relative to the current directory.
    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let f: Self = toml::from_str(&text)
            .with_context(|| format!("{} is not a training config", path.display()))?;
        f.validate()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(f)
    }

    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.model.preset.is_some() != self.model.init_checkpoint.is_some(),
            "[model] needs exactly one of preset and init_checkpoint"
        );
        ensure!(
            self.model.proprio_axis_angle_at.is_none() || self.model.preset.is_some(),
            "[model] proprio_axis_angle_at is for a fresh model (preset); give a checkpoint \
             the canonical orientation with `ddvla checkpoint proprio-axis-angle`, whose \
             statistics it keeps"
        );
        ensure!(
            self.model.conv_stem_channels.is_empty() || self.model.preset.is_some(),
            "[model] conv_stem_channels is for a fresh model (preset); give a checkpoint the \
             branch with `ddvla checkpoint add-conv-stem`, which keeps its actions"
        );
        ensure!(!self.data.demos.is_empty(), "[data] demos is empty");
        ensure!(
            self.data.suites.as_ref().is_none_or(|s| !s.is_empty()),
            "[data] suites is empty (leave it out to train on every suite)"
        );
        for (task, dirs) in &self.data.task_sources {
            ensure!(
                !dirs.is_empty(),
                "[data] task_sources: no folders for {task}"
            );
            for d in dirs {
                ensure!(
                    self.data.demos.contains(d),
                    "[data] task_sources: {} (for {task}) is not in [data] demos",
                    d.display()
                );
            }
        }
        ensure!(
            (0.0..0.5).contains(&self.data.val_fraction),
            "[data] val_fraction {} not in [0, 0.5)",
            self.data.val_fraction
        );
        ensure!(
            (0.0..1.0).contains(&self.data.episode_step_jitter),
            "[data] episode_step_jitter {} not in [0, 1)",
            self.data.episode_step_jitter
        );
        if let Some((i, v)) = (self.data.proprio_noise_std.iter().enumerate())
            .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
        {
            bail!("[data] proprio_noise_std value {i} is {v}: must be finite and >= 0");
        }
        ensure!(
            self.run.steps > 0 && self.run.batch_size > 0,
            "[run] steps and batch_size must be > 0"
        );
        ensure!(self.run.save_every > 0, "[run] save_every must be > 0");
        self.train.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn with_demos_is_the_section_a_toml_naming_only_demos_gives() {
        let parsed: DataSection = toml::from_str("demos = [\"a\", \"b\"]").unwrap();
        let built = DataSection::with_demos(vec!["a".into(), "b".into()]);
        assert_eq!(built, parsed);
    }

    /// A minimal training config with `model` as its `[model]` section.
    fn config_with_model(model: &str) -> String {
        format!(
            "[model]\n{model}\n[data]\ndemos = [\"d\"]\n[train]\n[train.lr]\n\
             peak_lr = 1e-3\nmin_lr = 1e-4\nwarmup_steps = 0\ntotal_steps = 10\n[run]\n\
             steps = 10\nbatch_size = 2\nout = \"o\"\n"
        )
    }

    #[test]
    fn proprio_axis_angle_at_is_for_a_fresh_model_only() {
        let fresh: TrainFile = toml::from_str(&config_with_model(
            "preset = \"tiny\"\nproprio_axis_angle_at = 3",
        ))
        .unwrap();
        fresh.validate().unwrap();
        assert_eq!(fresh.model.proprio_axis_angle_at, Some(3));
        let fine_tune: TrainFile = toml::from_str(&config_with_model(
            "init_checkpoint = \"c\"\nproprio_axis_angle_at = 3",
        ))
        .unwrap();
        let err = fine_tune.validate().unwrap_err().to_string();
        assert!(err.contains("ddvla checkpoint proprio-axis-angle"), "{err}");
    }

    #[test]
    fn conv_stem_channels_are_for_a_fresh_model_only() {
        let fresh: TrainFile = toml::from_str(&config_with_model(
            "preset = \"tiny\"\nconv_stem_channels = [4, 6, 8]",
        ))
        .unwrap();
        fresh.validate().unwrap();
        assert_eq!(fresh.model.conv_stem_channels, vec![4, 6, 8]);
        let fine_tune: TrainFile = toml::from_str(&config_with_model(
            "init_checkpoint = \"c\"\nconv_stem_channels = [4, 6, 8]",
        ))
        .unwrap();
        let err = fine_tune.validate().unwrap_err().to_string();
        assert!(err.contains("ddvla checkpoint add-conv-stem"), "{err}");
    }
}

//! Training data from `ddvla demos record` folders: episodes held in memory with their frames
//! still JPEG-compressed (memory ≈ the dataset's size on disk), split into train and
//! validation by episode, and turned into samples (observation at step `t`, the action chunk
//! `t..t+H`, the last action repeated past the end — or, in an episode recorded with expert
//! chunk labels, the expert's own chunk from step `t`) in a seeded order that a resumed run
//! continues exactly.

use anyhow::{Context, Result, bail, ensure};
use ddvla_bridge::msg::sensor::CompressedImage;
use ddvla_policy::observation::{CameraImage, Observation};
use ddvla_policy::skill_prompt::SkillPromptConfig;
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::train::augment::{AugmentConfig, augment, crop_resize};
use ddvla_policy::train::{Batch, Sample};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::DataSection;

mod keypose;
mod position_target;
mod skill_prompt;
use crate::demos::{DemoEpisode, DemoIndex, Labels, load_episode_with, read_index};
pub use keypose::KeyposeScale;

/// One episode in memory.
struct Loaded {
    /// The episode file (its demonstration folder joined with its manifest path).
    file: String,
    instruction: String,
    frames: Vec<Vec<CompressedImage>>,
    proprio: Vec<Vec<f32>>,
    actions: Vec<Vec<f32>>,
    /// Per step, the expert's chunk from that state (row-major; empty: none recorded).
    chunks: Vec<Vec<f32>>,
    /// Per step, the executed action of an expert-labelled episode (empty otherwise).
    executed: Vec<Vec<f32>>,
    /// Per step, the recorded movable objects' positions (x, y, z each; empty in a
    /// recording made before `/ddvla/objects`).
    objects: Vec<Vec<f32>>,
    /// Per step, the scripted expert's goal `[x, y, z, yaw, speed]` (empty: none recorded).
    goals: Vec<Vec<f32>>,
}

/// A loaded demonstration dataset.
pub struct Dataset {
    episodes: Vec<Loaded>,
    /// (episode, step) pairs of the training split.
    pub train: Vec<(usize, usize)>,
    /// (episode, step) pairs of the validation split.
    pub val: Vec<(usize, usize)>,
    /// Episodes in each split.
    pub episode_counts: (usize, usize),
    chunk_len: usize,
    seed: u64,
    perm: Option<(u64, Vec<usize>)>,
    /// Dataset camera index of each model input.
    cameras: Vec<usize>,
    /// The model's image side (frames are resized to it after augmentation).
    pub image_side: usize,
    /// Centre crop of the frames of un-augmented samples (validation): the inference view.
    val_center_crop: Option<f32>,
    /// With a model that takes the episode step: the jitter of augmented samples' steps
    /// (`[data] episode_step_jitter`). `None`: the proprio is the recorded one alone.
    episode_step: Option<f32>,
    /// With a model that reads its orientation in one hemisphere: where that axis-angle
    /// vector lies in the proprio (the statistics are computed on the canonical values).
    proprio_axis_angle_at: Option<usize>,
    /// Per recorded proprio value, the standard deviation of the Gaussian noise added to
    /// augmented samples (`[data] proprio_noise_std`; empty: none).
    proprio_noise_std: Vec<f32>,
    /// With a keypose loss: per episode, per step, the standardised targets
    /// ([`Self::set_keyposes`]; empty: none).
    keyposes: Vec<Vec<Vec<f32>>>,
    /// With a model whose instruction names the task's part: the prompt and, per episode,
    /// per step, the skills finished before it ([`Self::set_skill_prompt`]).
    skill_prompt: Option<(SkillPromptConfig, Vec<Vec<u32>>)>,
    /// With a model that predicts position targets: the settings the actions were
    /// relabelled with (`position_target.rs`).
    position_target: Option<ddvla_policy::position_target::PositionTarget>,
}

/// The dataset camera index of each named model input (`None`: every camera, in order);
/// a name the dataset lacks is an error listing the dataset's cameras.
fn camera_indices(names: Option<&[String]>, dataset: &[String]) -> Result<Vec<usize>> {
    match names {
        None => Ok((0..dataset.len()).collect()),
        Some(names) => names
            .iter()
            .map(|n| {
                dataset
                    .iter()
                    .position(|c| c == n)
                    .with_context(|| format!("camera {n:?} is not in the dataset ({dataset:?})"))
            })
            .collect(),
    }
}

/// Bilinear resize to `side × side` (no-op when already that size).
fn resize(img: CameraImage, side: usize) -> Result<CameraImage> {
    if img.width == side && img.height == side {
        return Ok(img);
    }
    let buf = image::RgbImage::from_raw(
        u32::try_from(img.width)?,
        u32::try_from(img.height)?,
        img.rgb,
    )
    .context("frame size")?;
    let s = u32::try_from(side)?;
    let out = image::imageops::resize(&buf, s, s, image::imageops::FilterType::Triangle);
    Ok(CameraImage {
        width: side,
        height: side,
        rgb: out.into_raw(),
    })
}

/// Whether episode `file` goes to validation: a seeded hash below `fraction`.
fn is_val(seed: u64, file: &str, fraction: f64) -> bool {
    let mut h: u64 = seed ^ 0xcbf2_9ce4_8422_2325;
    for b in file.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % 1_000_000) as f64 / 1e6 < fraction
}

/// Whether `data` trains on episode `ep` of folder `dir`: a successful one (or any, when
/// `successful_only` is off; expert labels are right whether or not the rollout reached the
/// goal), of a wanted suite, and from one of its task's own folders if `task_sources` names
/// them.
fn selects(data: &DataSection, dir: &std::path::Path, ep: &DemoEpisode) -> bool {
    (ep.success || ep.labels == Labels::Expert || !data.successful_only)
        && data.suites.as_ref().is_none_or(|s| s.contains(&ep.suite))
        && data
            .task_sources
            .get(&ep.task)
            .is_none_or(|dirs| dirs.iter().any(|d| d == dir))
}

impl Dataset {
    /// Load the episodes `data` selects (its folders; successful ones only and only its
    /// suites when it says so), checking that all datasets agree on cameras, image size and
    /// dimensions, and split them by episode (seeded by `seed`).
    pub fn load(
        data: &DataSection,
        chunk_len: usize,
        image_side: usize,
        seed: u64,
    ) -> Result<(Self, DemoIndex)> {
        let (dirs, successful_only) = (&data.demos, data.successful_only);
        let mut first: Option<DemoIndex> = None;
        let mut episodes = Vec::new();
        // Each loaded episode's task ("suite/task"), for `balance_tasks`.
        let mut tasks: Vec<String> = Vec::new();
        let (mut train, mut val, mut counts) = (Vec::new(), Vec::new(), (0, 0));
        for dir in dirs {
            let idx = read_index(dir)?;
            if let Some(f) = &first {
                ensure!(
                    f.cameras == idx.cameras
                        && f.image_size == idx.image_size
                        && f.action_dim == idx.action_dim
                        && f.proprio_dim == idx.proprio_dim,
                    "{}: cameras/image size/dimensions differ from {}",
                    dir.display(),
                    dirs[0].display()
                );
            }
            for ep in idx.episodes.iter().filter(|e| selects(data, dir, e)) {
                let e = load_episode_with(dir, ep, Some(&idx))
                    .with_context(|| format!("loading the dataset {}", dir.display()))?;
                if let Some(h) = ep.label_chunk {
                    ensure!(
                        h >= chunk_len,
                        "{}: expert chunks of {h} steps, the model predicts {chunk_len}",
                        dir.join(&ep.file).display()
                    );
                }
                let k = episodes.len();
                let first = if data.labelled_from_first_close && ep.labels == Labels::Expert {
                    first_close(&e.executed).unwrap_or(e.actions.len())
                } else {
                    0
                };
                let steps: Vec<(usize, usize)> = (first..e.actions.len()).map(|t| (k, t)).collect();
                if is_val(seed, &ep.file, data.val_fraction) {
                    val.extend(steps);
                    counts.1 += 1;
                } else {
                    train.extend(steps);
                    counts.0 += 1;
                }
                tasks.push(format!("{}/{}", ep.suite, ep.task));
                episodes.push(Loaded {
                    file: dir.join(&ep.file).display().to_string(),
                    instruction: e.instruction,
                    frames: e.frames,
                    proprio: e.proprio,
                    actions: e.actions,
                    chunks: e.chunks,
                    executed: e.executed,
                    objects: e.objects,
                    goals: e.goals,
                });
            }
            first.get_or_insert(idx);
        }
        let Some(index) = first else {
            bail!("no datasets given");
        };
        for (task, sources) in &data.task_sources {
            ensure!(
                tasks
                    .iter()
                    .any(|t| t.rsplit('/').next() == Some(task.as_str())),
                "[data] task_sources: no episodes of {task} in {sources:?}"
            );
        }
        let cameras = camera_indices(data.cameras.as_deref(), &index.cameras)?;
        ensure!(
            !train.is_empty(),
            "no training episodes in {dirs:?} (successful_only = {successful_only}, suites = {:?})",
            data.suites
        );
        if data.balance_tasks {
            balance_tasks(&mut train, &tasks, seed);
        }
        Ok((
            Self {
                episodes,
                train,
                val,
                episode_counts: counts,
                chunk_len,
                seed,
                perm: None,
                cameras,
                image_side,
                val_center_crop: None,
                episode_step: None,
                proprio_axis_angle_at: None,
                proprio_noise_std: Vec::new(),
                keyposes: Vec::new(),
                skill_prompt: None,
                position_target: None,
            },
            index,
        ))
    }

    /// q01/q99 statistics of the training split's actions and proprio (the proprio as the
    /// model reads it: with the episode step and the canonical orientation when set).
    pub fn statistics(&self, key: &str) -> Result<DatasetStatistics> {
        let mut actions: Vec<&[f32]> = Vec::new();
        let mut proprio: Vec<Vec<f32>> = Vec::new();
        // Each training episode once, in order (`balance_tasks` repeats steps, not data).
        let train_episodes: std::collections::BTreeSet<usize> =
            self.train.iter().map(|&(e, _)| e).collect();
        for e in train_episodes {
            actions.extend(self.episodes[e].actions.iter().map(Vec::as_slice));
            proprio.extend(self.episodes[e].proprio.iter().enumerate().map(|(t, p)| {
                let mut p = p.clone();
                if let Some(at) = self.proprio_axis_angle_at {
                    ddvla_policy::proprio_rotation::canonicalise_proprio(&mut p, at);
                }
                if self.episode_step.is_some() {
                    p.push(t as f32);
                }
                p
            }));
        }
        let proprio: Vec<&[f32]> = proprio.iter().map(Vec::as_slice).collect();
        Ok(ddvla_policy::stats::dataset_statistics(
            &actions, &proprio, key,
        )?)
    }

    /// The sample at (episode, step), augmented when `aug` is given (seeded by `aug_seed`).
    pub fn sample(
        &self,
        (e, t): (usize, usize),
        aug: Option<&AugmentConfig>,
        aug_seed: u64,
    ) -> Result<Sample> {
        let ep = &self.episodes[e];
        let mut rng = ChaCha8Rng::seed_from_u64(aug_seed);
        let mut images = Vec::with_capacity(self.cameras.len());
        for f in self.cameras.iter().map(|&c| &ep.frames[t][c]) {
            let rgb = f.to_rgb8().context("decoding a demonstration frame")?;
            let img = CameraImage {
                width: rgb.width as usize,
                height: rgb.height as usize,
                rgb: rgb.data,
            };
            let img = match (aug, self.val_center_crop) {
                (Some(cfg), _) => augment(&img, cfg, &mut rng),
                (None, Some(area)) => crop_resize(&img, area, [0.5, 0.5]),
                (None, None) => img,
            };
            images.push(resize(img, self.image_side)?);
        }
        let (n, dim) = (ep.actions.len(), ep.actions[0].len());
        let actions = if let Some(chunk) = ep.chunks.get(t) {
            chunk
                .get(..self.chunk_len * dim)
                .context("an expert chunk shorter than the model's chunk")?
                .to_vec()
        } else {
            let mut a = Vec::with_capacity(self.chunk_len * dim);
            for k in 0..self.chunk_len {
                a.extend_from_slice(&ep.actions[(t + k).min(n - 1)]);
            }
            a
        };
        let mut proprio = ep.proprio[t].clone();
        if aug.is_some() && !self.proprio_noise_std.is_empty() {
            // Drawn after the images', so turning the noise on leaves their augmentation as
            // it was.
            for (v, &std) in proprio.iter_mut().zip(&self.proprio_noise_std) {
                *v += std * standard_normal(&mut rng);
            }
        }
        if let Some(jitter) = self.episode_step {
            // Drawn after the images', so turning the step on leaves their augmentation as it was.
            let scale = match aug {
                Some(_) if jitter > 0.0 => 1.0 + jitter * rng.random_range(-1.0f32..=1.0),
                _ => 1.0,
            };
            proprio.push(t as f32 * scale);
        }
        let instruction = match &self.skill_prompt {
            Some((prompt, counts)) => {
                let done = counts.get(e).and_then(|c| c.get(t)).copied().unwrap_or(0);
                prompt.instruction(&ep.instruction, done)
            }
            None => ep.instruction.clone(),
        };
        Ok(Sample {
            observation: Observation {
                images,
                instruction,
                proprio,
            },
            actions,
            keyposes: self
                .keyposes
                .get(e)
                .and_then(|steps| steps.get(t))
                .cloned()
                .unwrap_or_default(),
        })
    }

    /// Append the episode step (the sample's step index in its episode) to every sample's
    /// proprio and to the statistics' proprio rows, for a model that takes it; augmented
    /// samples scale it by a factor drawn from `1 ± jitter`.
    pub fn set_episode_step(&mut self, jitter: Option<f32>) {
        self.episode_step = jitter;
    }

    /// Add Gaussian noise of standard deviation `std[i]` to recorded proprio value `i` of
    /// every augmented sample (validation samples keep theirs). An error unless `std` is
    /// empty or has one value per recorded proprio value of every episode.
    pub fn set_proprio_noise(&mut self, std: &[f32]) -> Result<()> {
        if let Some(ep) = (self.episodes.iter())
            .find(|ep| !std.is_empty() && ep.proprio.first().is_some_and(|p| p.len() != std.len()))
        {
            bail!(
                "[data] proprio_noise_std has {} values but {} records {} proprio values",
                std.len(),
                ep.file,
                ep.proprio.first().map_or(0, Vec::len)
            );
        }
        self.proprio_noise_std = std.to_vec();
        Ok(())
    }

    /// Compute the proprio statistics on the canonical orientation of values `at..at + 3`
    /// (`None`: the recorded values), for a model with `proprio_axis_angle_at` (its
    /// observation preparation canonicalises the samples' proprio itself).
    pub fn set_proprio_axis_angle(&mut self, at: Option<usize>) {
        self.proprio_axis_angle_at = at;
    }

    /// Where the canonical orientation lies ([`Self::set_proprio_axis_angle`]).
    pub fn proprio_axis_angle_at(&self) -> Option<usize> {
        self.proprio_axis_angle_at
    }

    /// The file of loaded episode `e` (the first of a sample's (episode, step) pair), as its
    /// folder and manifest give it.
    pub fn episode_file(&self, e: usize) -> Option<&str> {
        self.episodes.get(e).map(|ep| ep.file.as_str())
    }

    /// Whether samples carry the episode step ([`Self::set_episode_step`]).
    pub fn has_episode_step(&self) -> bool {
        self.episode_step.is_some()
    }

    /// Centre-crop `area` of the frames of un-augmented samples (the validation batches),
    /// as inference does with the checkpoint's `center_crop_area`.
    pub fn set_val_center_crop(&mut self, area: Option<f32>) {
        self.val_center_crop = area;
    }

    /// The training batch of optimiser step `step`: samples `step·B … step·B + B − 1` of the
    /// concatenation of seeded per-epoch permutations (so a resumed run sees the same data).
    pub fn train_batch(
        &mut self,
        step: u64,
        batch: usize,
        aug: Option<&AugmentConfig>,
    ) -> Result<Batch> {
        let n = self.train.len() as u64;
        let mut samples = Vec::with_capacity(batch);
        for i in 0..batch as u64 {
            let k = step * batch as u64 + i;
            let (epoch, pos) = (k / n, (k % n) as usize);
            if self.perm.as_ref().is_none_or(|(e, _)| *e != epoch) {
                let mut p: Vec<usize> = (0..self.train.len()).collect();
                p.shuffle(&mut ChaCha8Rng::seed_from_u64(
                    self.seed ^ epoch.wrapping_mul(0x9E37_79B9),
                ));
                self.perm = Some((epoch, p));
            }
            let idx = self.perm.as_ref().map_or(pos, |(_, p)| p[pos]);
            samples.push(self.sample(self.train[idx], aug, self.seed ^ k)?);
        }
        Ok(Batch { samples })
    }

    /// Fixed validation batches (no augmentation): evenly spaced validation steps.
    pub fn val_batches(&self, count: usize, batch: usize) -> Result<Vec<Batch>> {
        if self.val.is_empty() {
            return Ok(Vec::new());
        }
        let total = count * batch;
        let stride = (self.val.len() / total.max(1)).max(1);
        let picks: Vec<(usize, usize)> = self
            .val
            .iter()
            .step_by(stride)
            .take(total)
            .copied()
            .collect();
        picks
            .chunks(batch)
            .map(|c| {
                Ok(Batch {
                    samples: c
                        .iter()
                        .map(|&p| self.sample(p, None, 0))
                        .collect::<Result<_>>()?,
                })
            })
            .collect()
    }
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut impl Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// The first step whose executed action closes the gripper (its last dimension > 0).
fn first_close(executed: &[Vec<f32>]) -> Option<usize> {
    executed.iter().position(|a| keypose::closes(a))
}

/// `[data] balance_tasks`: appends to `train` (the (episode, step) pairs of the training split)
/// repeats of each task's steps, drawn in a seeded order without replacement until a task
/// runs out and then again, until every task has as many as the task with the most.
fn balance_tasks(train: &mut Vec<(usize, usize)>, task_of_episode: &[String], seed: u64) {
    let mut by_task = std::collections::BTreeMap::<&str, Vec<(usize, usize)>>::new();
    for &(e, t) in train.iter() {
        by_task.entry(&task_of_episode[e]).or_default().push((e, t));
    }
    let most = by_task.values().map(Vec::len).max().unwrap_or(0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xBA1A_4CE5);
    for steps in by_task.values() {
        let mut missing = most - steps.len();
        while missing > 0 {
            let mut draw = steps.clone();
            draw.shuffle(&mut rng);
            let take = missing.min(draw.len());
            train.extend_from_slice(&draw[..take]);
            missing -= take;
        }
    }
}

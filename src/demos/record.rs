//! `ddvla demos record`: run a policy (the scripted expert) under the evaluation protocol on
//! freshly sampled init states and write every step to MCAP.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ddvla_bridge::msg::sensor::{CompressedImage, Rgb8};
use ddvla_bridge::msg::std::{
    Float32MultiArray, Header, MultiArrayDimension, MultiArrayLayout, StringMsg, Time,
};
use ddvla_bridge::record::Recorder;
use ddvla_tasks::eval::{
    self, EeGoal, EpisodeObserver, EpisodeResult, EvalError, EvalOptions, EvalPolicy, ObjectAt,
    Shard,
};
use ddvla_tasks::suite::{PolicyFrame, Suite, Task};

use crate::eval_cli::render_at;

use super::{
    ACTION_TOPIC, ActionNoise, DemoEpisode, DemoIndex, EPISODE_TOPIC, EXECUTED_ACTION_TOPIC,
    EXPERT_CHUNK_TOPIC, EXPERT_GOAL_TOPIC, INSTRUCTION_TOPIC, LabelSlot, Labels, OBJECTS_TOPIC,
    PROPRIO_TOPIC, image_topic,
};

/// Options of a recording run.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Suites to record.
    pub suites: Vec<String>,
    /// Where the suites live.
    pub suites_dir: PathBuf,
    /// Only these task indices (every suite).
    pub tasks: Option<Vec<usize>>,
    /// Episodes per task.
    pub episodes_per_task: usize,
    /// Seed of the freshly sampled init states (not the committed evaluation states).
    pub init_seed: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Keep failed episodes (marked `success: false` in the index).
    pub keep_failures: bool,
    /// Override the suites' step limits.
    pub max_steps: Option<u32>,
    /// Render the cameras at this side (px) instead of the suites' image size.
    pub image_size: Option<u32>,
    /// The command line, for the manifest.
    pub created_by: String,
    /// The expert's labels of an [`super::ExpertLabelled`] or [`super::NoisyExpert`] policy
    /// (DAgger or DART recording).
    pub labels: Option<LabelSlot>,
    /// The noise a [`super::NoisyExpert`] executes with, recorded with each episode.
    pub action_noise: Option<ActionNoise>,
    /// Continue the recording already in `out` (same suites, seed and labels): its episodes
    /// stay and only the missing ones are recorded. Without it, an `out` that holds a
    /// recording is refused rather than overwritten.
    pub resume: bool,
}

/// An [`EpisodeObserver`] writing one MCAP file per episode and rewriting `index.json` after
/// every episode, so an interrupted recording keeps the episodes it finished.
pub struct DemoRecorder {
    dir: PathBuf,
    suite: String,
    period_ns: u64,
    keep_failures: bool,
    /// Open episode: recorder, file, file relative to `dir`, instruction.
    current: Option<(Recorder, PathBuf, String, String)>,
    /// Steps of the expert chunks of the open episode (all its steps agree).
    label_chunk: Option<usize>,
    /// The movable objects of the open episode, in the order its object topic lists them.
    objects: Vec<String>,
    /// Steps of the open episode with an expert goal recorded.
    goals: u32,
    /// The expert's labels, when a policy's rollouts are expert-labelled.
    labels: Option<LabelSlot>,
    /// The noise the expert executes with (DART recordings).
    action_noise: Option<ActionNoise>,
    /// The manifest so far.
    pub index: DemoIndex,
}

fn obs_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Observer {
        observer: "demo recorder".into(),
        reason: e.to_string(),
    }
}

/// The row-major layout of a `[rows, cols]` array (each given with its label).
fn array_layout(rows: (&str, usize), cols: (&str, usize)) -> Result<MultiArrayLayout> {
    let (n, m) = (u32::try_from(rows.1)?, u32::try_from(cols.1)?);
    let d = |label: &str, size: u32, stride: u32| MultiArrayDimension {
        label: label.into(),
        size,
        stride,
    };
    Ok(MultiArrayLayout {
        dim: vec![d(rows.0, n, n * m), d(cols.0, m, m)],
        data_offset: 0,
    })
}

fn header(t_ns: u64, frame: &str) -> Header {
    Header {
        stamp: Time::from_ns(t_ns),
        frame_id: frame.to_owned(),
    }
}

impl DemoRecorder {
    /// Record under `dir`, starting from the manifest `index` (cameras, sizes, no episodes).
    pub fn new(dir: &Path, index: DemoIndex, keep_failures: bool) -> Self {
        Self {
            dir: dir.to_owned(),
            suite: String::new(),
            period_ns: 0,
            keep_failures,
            current: None,
            label_chunk: None,
            objects: Vec::new(),
            goals: 0,
            labels: None,
            action_noise: None,
            index,
        }
    }

    /// Record the expert's label of each step (from `slot`, filled by an
    /// [`super::ExpertLabelled`] policy) as its action, and the executed action beside it.
    pub fn label_with(&mut self, slot: LabelSlot) {
        self.labels = Some(slot);
    }

    /// Note in each episode's manifest entry that the expert executed with `noise`.
    pub fn noise_with(&mut self, noise: ActionNoise) {
        self.action_noise = Some(noise);
    }

    /// The next episodes are `suite`'s; its contract must match the manifest's.
    pub fn start_suite(&mut self, suite: &Suite) -> Result<()> {
        let c = &suite.file.contract;
        anyhow::ensure!(
            self.index.cameras == c.cameras && self.index.image_size == c.image_size,
            "suite {} renders {:?} at {} px, earlier suites {:?} at {} px: record them separately",
            suite.name(),
            c.cameras,
            c.image_size,
            self.index.cameras,
            self.index.image_size
        );
        suite.name().clone_into(&mut self.suite);
        self.period_ns = (1e9 / suite.file.protocol.control_hz).round() as u64;
        Ok(())
    }

    /// Write `index.json` (to a temporary file first, so a crash never leaves half a file).
    pub fn write_index(&self) -> Result<(), EvalError> {
        let path = self.dir.join("index.json");
        let tmp = self.dir.join("index.json.tmp");
        std::fs::create_dir_all(&self.dir).map_err(obs_err)?;
        let text = serde_json::to_string_pretty(&self.index).map_err(obs_err)?;
        std::fs::write(&tmp, text).map_err(obs_err)?;
        std::fs::rename(&tmp, &path).map_err(obs_err)
    }
}

impl EpisodeObserver for DemoRecorder {
    fn wants_frames(&self) -> bool {
        true
    }

    fn begin(&mut self, task: &Task, episode: usize, _seed: u64) -> Result<(), EvalError> {
        let rel = format!("{}/{}/episode_{episode:03}.mcap", self.suite, task.name);
        let path = self.dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(obs_err)?;
        }
        let mut rec = Recorder::create(&path).map_err(obs_err)?;
        let msg = StringMsg {
            data: task.instruction.clone(),
        };
        rec.write(INSTRUCTION_TOPIC, &msg, 0, 0).map_err(obs_err)?;
        self.current = Some((rec, path, rel, task.instruction.clone()));
        self.label_chunk = None;
        self.objects.clear();
        self.goals = 0;
        Ok(())
    }

    fn goal(&mut self, step: u32, goal: &EeGoal) -> Result<(), EvalError> {
        let t = u64::from(step) * self.period_ns;
        let Some((rec, _, _, _)) = self.current.as_mut() else {
            return Err(obs_err("goal before begin"));
        };
        if self.goals != step {
            return Err(obs_err(format!(
                "an expert goal for step {step}, after goals for {} steps (the policy must \
                 give one with every action)",
                self.goals
            )));
        }
        let [x, y, z] = goal.position_m;
        let msg = Float32MultiArray {
            data: [x, y, z, goal.yaw_rad, goal.speed]
                .map(|v| v as f32)
                .to_vec(),
            ..Float32MultiArray::default()
        };
        rec.write(EXPERT_GOAL_TOPIC, &msg, t, t).map_err(obs_err)?;
        self.goals += 1;
        Ok(())
    }

    fn wants_objects(&self) -> bool {
        true
    }

    fn objects(&mut self, step: u32, objects: &[ObjectAt]) -> Result<(), EvalError> {
        let t = u64::from(step) * self.period_ns;
        let Some((rec, _, _, _)) = self.current.as_mut() else {
            return Err(obs_err("objects before begin"));
        };
        // A scene without movable objects records none (and its manifest entry names none).
        if objects.is_empty() && self.objects.is_empty() {
            return Ok(());
        }
        if self.objects.is_empty() {
            self.objects = objects.iter().map(|o| o.name.clone()).collect();
        } else if !self.objects.iter().eq(objects.iter().map(|o| &o.name)) {
            return Err(obs_err(format!(
                "step {step}: objects {:?}, earlier steps {:?}",
                objects.iter().map(|o| &o.name).collect::<Vec<_>>(),
                self.objects
            )));
        }
        let msg = Float32MultiArray {
            layout: array_layout(("objects", objects.len()), ("xyz", 3)).map_err(obs_err)?,
            data: objects
                .iter()
                .flat_map(|o| o.position_m.map(|v| v as f32))
                .collect(),
        };
        rec.write(OBJECTS_TOPIC, &msg, t, t).map_err(obs_err)
    }

    fn step(&mut self, step: u32, frame: &PolicyFrame, action: &[f32]) -> Result<(), EvalError> {
        let t = u64::from(step) * self.period_ns;
        let Some((rec, _, _, _)) = self.current.as_mut() else {
            return Err(obs_err("step before begin"));
        };
        self.index.proprio_dim = frame.proprio.len();
        for img in &frame.images {
            let rgb = Rgb8 {
                width: u32::try_from(img.width).map_err(obs_err)?,
                height: u32::try_from(img.height).map_err(obs_err)?,
                data: img.rgb.clone(),
            };
            let msg =
                CompressedImage::from_rgb8(header(t, &img.camera), &rgb, image::ImageFormat::Jpeg)
                    .map_err(obs_err)?;
            rec.write(&image_topic(&img.camera), &msg, t, t)
                .map_err(obs_err)?;
        }
        let arr = |data: &[f32]| Float32MultiArray {
            data: data.to_vec(),
            ..Float32MultiArray::default()
        };
        rec.write(PROPRIO_TOPIC, &arr(&frame.proprio), t, t)
            .map_err(obs_err)?;
        match &self.labels {
            None => rec.write(ACTION_TOPIC, &arr(action), t, t),
            Some(slot) => {
                let label = slot
                    .borrow_mut()
                    .take()
                    .ok_or_else(|| obs_err(format!("no expert label for step {step}")))?;
                if let Some(chunk) = &label.chunk {
                    let steps = chunk.len();
                    if *self.label_chunk.get_or_insert(steps) != steps || steps == 0 {
                        return Err(obs_err(format!(
                            "step {step}: an expert chunk of {steps} steps, earlier ones had {:?}",
                            self.label_chunk
                        )));
                    }
                    let dim = chunk[0].len();
                    let msg = Float32MultiArray {
                        layout: array_layout(("steps", steps), ("action", dim)).map_err(obs_err)?,
                        data: chunk.concat(),
                    };
                    rec.write(EXPERT_CHUNK_TOPIC, &msg, t, t).map_err(obs_err)?;
                }
                rec.write(ACTION_TOPIC, &arr(&label.action), t, t)
                    .and_then(|()| rec.write(EXECUTED_ACTION_TOPIC, &arr(action), t, t))
            }
        }
        .map_err(obs_err)?;
        Ok(())
    }

    fn end(&mut self, r: &EpisodeResult) -> Result<(), EvalError> {
        let expert_goals = self.goals > 0;
        if expert_goals && self.goals != r.steps {
            return Err(obs_err(format!(
                "expert goals for {} of {} steps",
                self.goals, r.steps
            )));
        }
        // A resumed recording keeps one kind of episode: all with goals or none.
        if let Some(first) = self
            .index
            .episodes
            .first()
            .filter(|e| e.expert_goals != expert_goals)
        {
            return Err(obs_err(format!(
                "this episode has expert goals: {expert_goals}; {} in the same recording: {} \
                 (resumed with another policy or build? record into a new --out)",
                first.file, first.expert_goals
            )));
        }
        let Some((mut rec, path, rel, instruction)) = self.current.take() else {
            return Err(obs_err("end before begin"));
        };
        let ep = DemoEpisode {
            file: rel,
            suite: self.suite.clone(),
            task: r.task.clone(),
            task_index: r.task_index,
            episode: r.episode,
            instruction,
            steps: r.steps,
            success: r.success,
            seed: r.seed,
            labels: if self.labels.is_some() {
                Labels::Expert
            } else {
                Labels::Executed
            },
            label_chunk: self.label_chunk,
            action_noise: self.action_noise,
            objects: std::mem::take(&mut self.objects),
            expert_goals,
        };
        let t = u64::from(r.steps) * self.period_ns;
        let json = serde_json::to_string(&ep).map_err(obs_err)?;
        rec.write(EPISODE_TOPIC, &StringMsg { data: json }, t, t)
            .map_err(obs_err)?;
        rec.finish().map_err(obs_err)?;
        // Expert-labelled episodes are kept whatever their outcome: the labels are right.
        if r.success || self.keep_failures || self.labels.is_some() {
            self.index.episodes.push(ep);
            self.write_index()
        } else {
            std::fs::remove_file(&path).map_err(obs_err)
        }
    }
}

/// Record demonstrations of `policy` (usually the scripted expert) on every suite in `opts`;
/// keeps `index.json` current after every episode and returns the manifest. `on_episode` sees
/// each result (progress).
pub fn record(
    opts: &RecordOptions,
    policy: &mut dyn EvalPolicy,
    on_episode: &mut dyn FnMut(&EpisodeResult),
) -> Result<DemoIndex> {
    let first = opts.suites.first().context("no suites given")?;
    let first = render_at(Suite::load(&opts.suites_dir, first)?, opts.image_size)?;
    let mut index = DemoIndex::empty(&first, opts.created_by.clone());
    let done = resume_from(opts, &mut index)?;
    let mut rec = DemoRecorder::new(&opts.out, index, opts.keep_failures);
    if let Some(slot) = &opts.labels {
        rec.label_with(slot.clone());
    }
    if let Some(noise) = opts.action_noise {
        rec.noise_with(noise);
    }
    for name in &opts.suites {
        let suite = render_at(Suite::load(&opts.suites_dir, name)?, opts.image_size)?;
        rec.start_suite(&suite)?;
        let eval_opts = EvalOptions {
            episodes_per_task: opts.episodes_per_task,
            first_episode: 0,
            tasks: opts.tasks.clone(),
            shard: Shard::ALL,
            seed: opts.init_seed,
            max_steps: opts.max_steps,
            ddvla_commit: crate::eval_cli::ddvla_commit(),
            init_seed: Some(opts.init_seed),
            skip: done
                .iter()
                .filter(|(suite, _, _)| suite == name)
                .map(|&(_, t, e)| (t, e))
                .collect(),
        };
        eval::run(&suite, &eval_opts, policy, &mut rec, on_episode)
            .with_context(|| format!("recording {name}"))?;
    }
    rec.write_index()?;
    Ok(rec.index)
}

/// The episodes already in `opts.out` as (suite, task index, episode), after checking that
/// the recording there is this one's (contract, seed, labels); `index` takes them over.
/// Nothing there: none. A recording there without `opts.resume`: an error, so it is never
/// overwritten.
fn resume_from(opts: &RecordOptions, index: &mut DemoIndex) -> Result<Vec<(String, usize, usize)>> {
    let path = opts.out.join("index.json");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let at = path.display();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {at}"))?;
    let old: DemoIndex = serde_json::from_str(&text)
        .with_context(|| format!("{at} is not a ddvla demonstration index"))?;
    anyhow::ensure!(
        opts.resume,
        "{at} already holds a recording ({} episodes): pass --resume to continue it, or choose \
         another --out",
        old.episodes.len()
    );
    anyhow::ensure!(
        old.format == index.format
            && old.cameras == index.cameras
            && old.image_size == index.image_size
            && (old.control_hz - index.control_hz).abs() < 1e-9
            && old.action_dim == index.action_dim,
        "{at}: recorded {:?} at {} px, {} Hz, action_dim {}; this run records {:?} at {} px, \
         {} Hz, action_dim {}: not the same recording",
        old.cameras,
        old.image_size,
        old.control_hz,
        old.action_dim,
        index.cameras,
        index.image_size,
        index.control_hz,
        index.action_dim
    );
    let labels = if opts.labels.is_some() {
        Labels::Expert
    } else {
        Labels::Executed
    };
    let mut done = Vec::with_capacity(old.episodes.len());
    for ep in &old.episodes {
        if !opts.suites.contains(&ep.suite) {
            continue;
        }
        let seed = eval::episode_seed(opts.init_seed, ep.task_index, ep.episode);
        anyhow::ensure!(
            ep.action_noise == opts.action_noise,
            "{at}: {} was recorded with action noise {:?}; this run's is {:?} (another \
             --action-noise or --noise-steps?)",
            ep.file,
            ep.action_noise,
            opts.action_noise
        );
        anyhow::ensure!(
            ep.seed == seed && ep.labels == labels,
            "{at}: {} was recorded with seed {} and {:?} labels; this run's would have seed \
             {seed} and {labels:?} labels (another --seed or --expert-labels?)",
            ep.file,
            ep.seed,
            ep.labels
        );
        done.push((ep.suite.clone(), ep.task_index, ep.episode));
    }
    index.proprio_dim = old.proprio_dim;
    index.episodes = old.episodes;
    if old.ddvla_commit != index.ddvla_commit {
        index.ddvla_commit = format!("{}, resumed with {}", old.ddvla_commit, index.ddvla_commit);
    }
    index.created_by = old.created_by;
    Ok(done)
}

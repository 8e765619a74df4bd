//! `ddvla demos record`: run a policy (the scripted expert) under the evaluation protocol on
//! freshly sampled init states and write every step to MCAP.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ddvla_bridge::msg::sensor::{CompressedImage, Rgb8};
use ddvla_bridge::msg::std::{Float32MultiArray, Header, StringMsg, Time};
use ddvla_bridge::record::Recorder;
use ddvla_tasks::eval::{
    self, EpisodeObserver, EpisodeResult, EvalError, EvalOptions, EvalPolicy, Shard,
};
use ddvla_tasks::suite::{PolicyFrame, Suite, Task};

use super::{
    ACTION_TOPIC, DemoEpisode, DemoIndex, EPISODE_TOPIC, FORMAT, INSTRUCTION_TOPIC, PROPRIO_TOPIC,
    image_topic,
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
    /// The command line, for the manifest.
    pub created_by: String,
}

/// An [`EpisodeObserver`] writing one MCAP file per episode.
pub struct DemoRecorder {
    dir: PathBuf,
    suite: String,
    period_ns: u64,
    keep_failures: bool,
    current: Option<(Recorder, PathBuf, String)>,
    /// Episodes written so far.
    pub episodes: Vec<DemoEpisode>,
}

fn obs_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Observer {
        observer: "demo recorder".into(),
        reason: e.to_string(),
    }
}

fn header(t_ns: u64, frame: &str) -> Header {
    Header {
        stamp: Time::from_ns(t_ns),
        frame_id: frame.to_owned(),
    }
}

impl DemoRecorder {
    /// Record episodes of `suite` under `dir`.
    pub fn new(dir: &Path, suite: &Suite, keep_failures: bool) -> Self {
        Self {
            dir: dir.to_owned(),
            suite: suite.name().to_owned(),
            period_ns: (1e9 / suite.file.protocol.control_hz).round() as u64,
            keep_failures,
            current: None,
            episodes: Vec::new(),
        }
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
        self.current = Some((rec, path, rel));
        Ok(())
    }

    fn step(&mut self, step: u32, frame: &PolicyFrame, action: &[f32]) -> Result<(), EvalError> {
        let t = u64::from(step) * self.period_ns;
        let Some((rec, _, _)) = self.current.as_mut() else {
            return Err(obs_err("step before begin"));
        };
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
        rec.write(ACTION_TOPIC, &arr(action), t, t)
            .map_err(obs_err)?;
        Ok(())
    }

    fn end(&mut self, r: &EpisodeResult) -> Result<(), EvalError> {
        let Some((mut rec, path, rel)) = self.current.take() else {
            return Err(obs_err("end before begin"));
        };
        let ep = DemoEpisode {
            file: rel,
            suite: self.suite.clone(),
            task: r.task.clone(),
            task_index: r.task_index,
            episode: r.episode,
            instruction: String::new(),
            steps: r.steps,
            success: r.success,
            seed: r.seed,
        };
        let t = u64::from(r.steps) * self.period_ns;
        let json = serde_json::to_string(&ep).map_err(obs_err)?;
        rec.write(EPISODE_TOPIC, &StringMsg { data: json }, t, t)
            .map_err(obs_err)?;
        rec.finish().map_err(obs_err)?;
        if r.success || self.keep_failures {
            self.episodes.push(ep);
        } else {
            std::fs::remove_file(&path).map_err(obs_err)?;
        }
        Ok(())
    }
}

/// Record demonstrations of `policy` (usually the scripted expert) on every suite in `opts`;
/// writes `index.json` and returns it. `on_episode` sees each result (progress).
pub fn record(
    opts: &RecordOptions,
    policy: &mut dyn EvalPolicy,
    on_episode: &mut dyn FnMut(&EpisodeResult),
) -> Result<DemoIndex> {
    let mut index: Option<DemoIndex> = None;
    for name in &opts.suites {
        let suite = Suite::load(&opts.suites_dir, name)?;
        let c = &suite.file.contract;
        let mut rec = DemoRecorder::new(&opts.out, &suite, opts.keep_failures);
        let eval_opts = EvalOptions {
            episodes_per_task: opts.episodes_per_task,
            tasks: opts.tasks.clone(),
            shard: Shard::ALL,
            seed: opts.init_seed,
            max_steps: opts.max_steps,
            ddvla_commit: crate::eval_cli::ddvla_commit(),
            init_seed: Some(opts.init_seed),
        };
        eval::run(&suite, &eval_opts, policy, &mut rec, on_episode)
            .with_context(|| format!("recording {name}"))?;
        for ep in &mut rec.episodes {
            ep.instruction
                .clone_from(&suite.tasks[ep.task_index].instruction);
        }
        let idx = index.get_or_insert_with(|| DemoIndex {
            format: FORMAT.into(),
            created_by: opts.created_by.clone(),
            ddvla_commit: crate::eval_cli::ddvla_commit(),
            cameras: c.cameras.clone(),
            image_size: c.image_size,
            control_hz: suite.file.protocol.control_hz,
            action_dim: c.action_dim,
            proprio_dim: 0,
            episodes: Vec::new(),
        });
        anyhow::ensure!(
            idx.cameras == c.cameras && idx.image_size == c.image_size,
            "suite {name} renders {:?} at {} px, earlier suites {:?} at {} px: record them separately",
            c.cameras,
            c.image_size,
            idx.cameras,
            idx.image_size
        );
        idx.episodes.append(&mut rec.episodes);
    }
    let mut idx = index.context("no suites given")?;
    if let Some(first) = idx.episodes.first() {
        let ep = super::load_episode(&opts.out, first)?;
        idx.proprio_dim = ep.proprio.first().map_or(0, Vec::len);
    }
    let path = opts.out.join("index.json");
    std::fs::write(&path, serde_json::to_string_pretty(&idx)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(idx)
}

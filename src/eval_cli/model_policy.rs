//! A ddvla checkpoint (or random weights) as an [`EvalPolicy`]: the suite contract's frame
//! becomes the policy's observation, and every decoded chunk is executed open-loop (LIBERO
//! style) or its first `execute` actions — or, with temporal ensembling (ACT), a chunk is
//! decoded every `execute` steps and each executed action is the weighted mean of every
//! chunk covering that step ([`crate::runtime::schedule`], the serve loop's scheduler).

use std::path::Path;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use ddvla_policy::Policy;
use ddvla_policy::decode::{
    Autoregressive, AutoregressiveConfig, CacheMode, Decoder, DecoderKind, DiffusionConfig,
    MaskedDiffusion, Parallel, ParallelConfig, RemaskConfig,
};
use ddvla_policy::model::{Config, presets};
use ddvla_policy::observation::{CameraImage, Observation};
use ddvla_policy::skill_prompt::{SkillCounter, SkillPromptConfig};
use ddvla_tasks::eval::{EvalError, EvalPolicy, StepContext};
use ddvla_tasks::suite::{Contract, PolicyFrame, Task};

use crate::runtime::gripper_dwell::GripperDwell;
use crate::runtime::schedule::{Chunk, ChunkScheduler, Strategy};

/// Decoding settings of an evaluated model.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeSettings {
    /// Decoder.
    pub kind: DecoderKind,
    /// Diffusion rounds T.
    pub rounds: usize,
    /// Secondary remasking (threshold check, scale 0.5 as in the paper).
    pub remask: bool,
    /// Actions of each chunk executed before the next inference (`None`: the whole chunk).
    pub execute: Option<usize>,
    /// Token sampling temperature (`None`: the decoder's default — diffusion samples at 1 as
    /// DD-VLA's released code does, AR and parallel are argmax; 0 is argmax).
    pub temperature: Option<f32>,
    /// Parallel decoder: each value the mean of the bin centres within this many bins of
    /// the chosen bin, weighted by probability (`None`: the chosen bin's centre).
    pub readout_window: Option<u32>,
    /// Temporal ensembling (ACT) with this weight decay per newer chunk (the oldest weighs
    /// most; ACT uses 0.01): a chunk every `execute` steps (default 1), each action the
    /// weighted mean of the chunks covering its step. `None`: chunks are executed as they are.
    pub ensemble: Option<f32>,
    /// With ensembling: the last this many action values (the gripper) come from the newest
    /// chunk instead of the mean.
    pub ensemble_newest_dims: usize,
    /// Each new gripper command kept for at least this many executed steps
    /// ([`GripperDwell`]); `None`: executed as decoded.
    pub gripper_dwell: Option<usize>,
    /// Checkpoint folders decoded with the policy as a logit ensemble (parallel decoder
    /// only); empty: the policy alone.
    pub logit_ensemble: Vec<String>,
}

impl DecodeSettings {
    /// `Diffusion T=12 remask=false[ temperature=0]`: the decoder and the settings it
    /// reads — rounds and remasking for the diffusion decoders, the temperature override for
    /// every decoder (results tables name runs by it).
    pub fn describe(&self) -> String {
        let temperature = || {
            self.temperature
                .map_or_else(String::new, |t| format!(" temperature={t}"))
        };
        match self.kind {
            DecoderKind::Diffusion | DecoderKind::DiffusionCached => format!(
                "{:?} T={} remask={}{}",
                self.kind,
                self.rounds,
                self.remask,
                temperature()
            ),
            DecoderKind::Ar => format!("Ar{}", temperature()),
            DecoderKind::Parallel => format!(
                "Parallel{}{}",
                temperature(),
                self.readout_window
                    .map_or_else(String::new, |w| format!(" readout-window={w}"))
            ),
        }
    }
}

/// A policy under evaluation.
pub struct ModelPolicy {
    policy: Policy,
    /// The other members of a logit ensemble (`DecodeSettings::logit_ensemble`), loaded.
    members: Vec<Policy>,
    name: String,
    settings: DecodeSettings,
    decoder: Box<dyn Decoder>,
    /// The ensembling scheduler of this episode (made at its first chunk, whose shape it
    /// takes), with ensembling on.
    ensemble: Option<ChunkScheduler>,
    /// The gripper dwell filter of this episode (`settings.gripper_dwell`).
    dwell: Option<GripperDwell>,
    /// With a model whose instruction names the task's part: the skills this episode's
    /// executed actions finished (every returned action is executed before the next call).
    skills: Option<SkillCounter>,
}

impl ModelPolicy {
    /// Load `dir` (a checkpoint) or, when `dir` is `random:<preset>`, random weights.
    pub fn load(spec: &str, settings: DecodeSettings, contract: &Contract) -> Result<Self> {
        let policy = if let Some(preset) = spec.strip_prefix("random:") {
            Policy::random(presets::preset(preset)?, &Device::Cpu)?
        } else {
            Policy::from_checkpoint(Path::new(spec), None, &Device::Cpu)
                .with_context(|| format!("loading the checkpoint {spec}"))?
        };
        let cfg = policy.model().config();
        check_frames(spec, cfg, contract)?;
        let center_crop = cfg.file.center_crop_area;
        if center_crop != contract.center_crop_area {
            tracing::warn!(
                model = ?center_crop,
                suite = ?contract.center_crop_area,
                "the model's centre crop differs from the suite contract; using the model's"
            );
        }
        let execute = match (settings.execute, settings.ensemble) {
            (Some(n), _) => n.to_string(),
            (None, Some(_)) => "1".to_owned(),
            (None, None) => "chunk".to_owned(),
        };
        let ensemble = match (settings.ensemble, settings.ensemble_newest_dims) {
            (None, _) => String::new(),
            (Some(d), 0) => format!(" ensemble={d}"),
            (Some(d), n) => format!(" ensemble={d} newest_dims={n}"),
        };
        let dwell = settings
            .gripper_dwell
            .map_or_else(String::new, |k| format!(" gripper_dwell={k}"));
        let members = load_members(&settings, contract)?;
        let joined: String = settings
            .logit_ensemble
            .iter()
            .flat_map(|m| [" + ", m.as_str()])
            .collect();
        let name = format!(
            "{spec}{joined} {} execute={execute}{ensemble}{dwell}{}",
            settings.describe(),
            if policy.is_trained() {
                ""
            } else {
                " (UNTRAINED)"
            }
        );
        let skills = cfg
            .file
            .skill_prompt
            .as_ref()
            .map(SkillPromptConfig::counter);
        Ok(Self {
            decoder: make_decoder(&settings, 0),
            policy,
            members,
            name,
            dwell: settings
                .gripper_dwell
                .map(|k| GripperDwell::new(k, contract.action_dim.saturating_sub(1))),
            skills,
            settings,
            ensemble: None,
        })
    }

    /// `actions` (to be executed in order) through the gripper dwell filter, if any, and
    /// counted by the skill counter, if any.
    fn dwelled(&mut self, mut actions: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
        if let Some(d) = self.dwell.as_mut() {
            for a in &mut actions {
                d.filter(a);
            }
        }
        if let Some(k) = self.skills.as_mut() {
            for a in &actions {
                k.push(a);
            }
        }
        actions
    }

    /// The instruction the model reads: `instruction` with the task's part named when the
    /// model takes a skill prompt.
    fn prompt(&self, instruction: &str) -> String {
        self.skills
            .as_ref()
            .map_or_else(|| instruction.to_owned(), |k| k.instruction(instruction))
    }

    /// Take the chunk decoded at `step` into the ensemble (weight decay `decay`) and return
    /// the next `take` ensembled actions.
    fn ensembled(
        &mut self,
        decay: f32,
        step: u32,
        actions: Vec<f32>,
        (horizon, dim): (usize, usize),
        take: usize,
    ) -> Result<Vec<Vec<f32>>, EvalError> {
        let strategy = Strategy::TemporalEnsemble {
            decay,
            replan_every: take,
            newest_dims: self.settings.ensemble_newest_dims,
        };
        let scheduler = self
            .ensemble
            .get_or_insert_with(|| ChunkScheduler::new(strategy, horizon, dim));
        let tick = u64::from(step);
        let chunk = Chunk {
            start_tick: tick,
            horizon,
            dim,
            actions,
            rounds_cut: None,
            trace: None,
        };
        scheduler
            .accept(chunk, tick)
            .map_err(|e| EvalError::Policy {
                policy: self.name.clone(),
                reason: e.to_string(),
            })?;
        let mut out = Vec::with_capacity(take);
        for k in 0..take as u64 {
            let mut action = vec![0.0; dim];
            // The newest chunk covers `take ≤ horizon` steps from `tick`, so this holds.
            if !scheduler.next_action(tick + k, &mut action) {
                break;
            }
            out.push(action);
        }
        Ok(out)
    }
}

/// Refuse a model (`spec`, its `cfg`) that cannot read the suite's frames: another camera
/// count or image size than the contract renders.
fn check_frames(spec: &str, cfg: &Config, contract: &Contract) -> Result<()> {
    if cfg.file.num_images_in_input != contract.cameras.len() {
        bail!(
            "{spec}: the model takes {} cameras, the suite renders {} ({:?})",
            cfg.file.num_images_in_input,
            contract.cameras.len(),
            contract.cameras
        );
    }
    let side = cfg.file.vision.image_size;
    if usize::try_from(contract.image_size).ok() != Some(side) {
        bail!(
            "{spec}: the model reads {side} px images, the suite renders {} px; pass \
             --image-size {side} (or leave it out: a model's own size is the default)",
            contract.image_size
        );
    }
    Ok(())
}

/// The other members of a logit ensemble (`settings.logit_ensemble`), loaded and checked:
/// the parallel decoder at temperature 0, and frames each member can read
/// ([`check_frames`]; each crops and normalises them itself).
fn load_members(settings: &DecodeSettings, contract: &Contract) -> Result<Vec<Policy>> {
    if settings.logit_ensemble.is_empty() {
        return Ok(Vec::new());
    }
    if settings.kind != DecoderKind::Parallel
        || settings.temperature.is_some_and(|t| t > 0.0)
        || settings.readout_window.is_some()
    {
        bail!(
            "--logit-ensemble decodes with the parallel decoder at temperature 0 reading bin \
             centres, not {}",
            settings.describe()
        );
    }
    settings
        .logit_ensemble
        .iter()
        .map(|member| {
            let p = Policy::from_checkpoint(Path::new(member), None, &Device::Cpu)
                .with_context(|| format!("loading the logit-ensemble member {member}"))?;
            check_frames(member, p.model().config(), contract)?;
            Ok(p)
        })
        .collect()
}

/// `proprio`, with the episode step `step` appended when `policy`'s model takes it.
pub(crate) fn with_episode_step(policy: &Policy, proprio: &[f32], step: u32) -> Vec<f32> {
    let mut p = proprio.to_vec();
    if policy.model().config().file.episode_step_input {
        p.push(step as f32);
    }
    p
}

/// The decoder `s` names, seeded.
pub(crate) fn make_decoder(s: &DecodeSettings, seed: u64) -> Box<dyn Decoder> {
    match s.kind {
        DecoderKind::Diffusion | DecoderKind::DiffusionCached => {
            Box::new(MaskedDiffusion::new(DiffusionConfig {
                rounds: s.rounds,
                remask: RemaskConfig {
                    threshold_scale: s.remask.then_some(0.5),
                    ..RemaskConfig::default()
                },
                cache: if s.kind == DecoderKind::DiffusionCached {
                    CacheMode::ApproximatePrefix
                } else {
                    CacheMode::None
                },
                seed,
                temperature: s
                    .temperature
                    .unwrap_or(DiffusionConfig::default().temperature),
                ..DiffusionConfig::default()
            }))
        }
        DecoderKind::Ar => Box::new(Autoregressive::new(AutoregressiveConfig {
            seed,
            temperature: s
                .temperature
                .unwrap_or(AutoregressiveConfig::default().temperature),
            ..AutoregressiveConfig::default()
        })),
        DecoderKind::Parallel => Box::new(Parallel::new(ParallelConfig {
            seed,
            temperature: s
                .temperature
                .unwrap_or(ParallelConfig::default().temperature),
            readout_window_bins: s.readout_window,
            ..ParallelConfig::default()
        })),
    }
}

impl EvalPolicy for ModelPolicy {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn begin_episode(&mut self, _: &Task, _: usize, seed: u64) -> Result<(), EvalError> {
        self.decoder = make_decoder(&self.settings, seed);
        self.ensemble = None;
        if let Some(d) = self.dwell.as_mut() {
            d.reset();
        }
        if let Some(k) = self.skills.as_mut() {
            k.reset();
        }
        Ok(())
    }

    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        let obs = Observation {
            images: ctx
                .frame
                .images
                .iter()
                .map(|f| CameraImage {
                    width: f.width,
                    height: f.height,
                    rgb: f.rgb.clone(),
                })
                .collect(),
            instruction: self.prompt(ctx.instruction),
            proprio: with_episode_step(&self.policy, &ctx.frame.proprio, ctx.step),
        };
        let err = |e: ddvla_policy::PolicyError| EvalError::Policy {
            policy: self.name.clone(),
            reason: e.to_string(),
        };
        let out = if self.members.is_empty() {
            self.policy.act(&obs, self.decoder.as_mut(), None)
        } else {
            self.policy.act_logit_ensemble(&self.members, &obs)
        }
        .map_err(err)?;
        let default_take = if self.settings.ensemble.is_some() {
            1
        } else {
            out.chunk_len
        };
        let take = self
            .settings
            .execute
            .unwrap_or(default_take)
            .clamp(1, out.chunk_len);
        if let Some(decay) = self.settings.ensemble {
            let shape = (out.chunk_len, out.action_dim);
            let actions = self.ensembled(decay, ctx.step, out.actions, shape, take)?;
            return Ok(self.dwelled(actions));
        }
        let actions = out
            .actions
            .chunks_exact(out.action_dim)
            .take(take)
            .map(<[f32]>::to_vec)
            .collect();
        Ok(self.dwelled(actions))
    }

    fn to_execute(
        &mut self,
        mut action: Vec<f32>,
        frame: &PolicyFrame,
    ) -> Result<Vec<f32>, EvalError> {
        let Some(target) = self.policy.model().config().file.action_position_target else {
            return Ok(action);
        };
        target
            .delta_at(&mut action, &frame.proprio)
            .map_err(|e| EvalError::Policy {
                policy: self.name.clone(),
                reason: e.to_string(),
            })?;
        Ok(action)
    }
}

#[cfg(test)]
#[path = "model_policy_tests.rs"]
mod tests;

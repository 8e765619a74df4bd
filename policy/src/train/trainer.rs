//! [`Trainer`]: weights, optimiser, schedule and mask RNG; one call per optimiser step of the
//! configured [`super::Objective`].

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ema::WeightEma;
use super::forward::DiffBackbone;
use super::keypose;
use super::loss::batch_terms;
use super::mask::SampleMask;
use super::objective::{Objective, PlanContext, SlotPlan};
use super::optim::{AdamW, clip_grads, grad_norm};
use super::vision::DiffVision;
use super::{Batch, StepStats, TrainConfig};
use crate::action_tokens::ActionTokenizer;
use crate::checkpoint;
use crate::model::{AttentionMode, Config, ModelInputs, VlaModel};
use crate::observation::{Observation, prepare};
use crate::stats::{DatasetStatistics, NormStats};
use crate::text::{PromptTokenizer, byte_level_tokenizer_json};
use crate::{PolicyError, Result};

/// Variables under this prefix are the vision towers (trained only with `train_vision`).
const VISION_PREFIX: &str = "vision_backbone.";

/// Fine-tuning of a [`VlaModel`] held in a [`VarMap`] with one of the [`Objective`]s.
pub struct Trainer {
    pub(super) varmap: VarMap,
    pub(super) model: VlaModel,
    pub(super) net: DiffBackbone,
    /// The differentiable vision twin when the towers are trained.
    pub(super) vision: Option<DiffVision>,
    pub(super) opt: AdamW,
    /// The moving average of the trained variables (`cfg.ema_decay`).
    pub(super) ema: Option<WeightEma>,
    pub(super) cfg: TrainConfig,
    pub(super) step: u64,
    pub(super) rng: ChaCha8Rng,
    pub(super) statistics: DatasetStatistics,
    pub(super) unnorm_key: Option<String>,
    pub(super) actions: ActionTokenizer,
    pub(super) proprio_stats: Option<NormStats>,
    pub(super) prompt: PromptTokenizer,
    pub(super) tokenizer_json: String,
    /// The model config without its inference centre crop (what [`Self::inputs`] uses).
    pub(super) prepare_cfg: Config,
    /// The keypose head's weight and bias (sharing the variables' storage), with a keypose
    /// loss.
    pub(super) keypose_head: Option<(Tensor, Tensor)>,
}

/// A sample turned into model inputs and target token ids.
pub(super) struct Prepared<'a> {
    inputs: ModelInputs,
    targets: Vec<u32>,
    /// The keypose targets (empty without a keypose loss).
    keyposes: &'a [f32],
}

/// The loss of a batch: the cross-entropy and, with a keypose loss, its mean squared error.
pub(super) struct BatchLoss {
    pub ce: Tensor,
    pub keypose: Option<Tensor>,
    pub supervised: usize,
}

impl Trainer {
    /// A trainer over a model with the reproducible random weights of
    /// [`checkpoint::random_model`], the byte-level prompt tokenizer of the small presets and
    /// `statistics` (`unnorm_key` picks the dataset; may be `None` when there is one).
    pub fn new(
        model_cfg: Config,
        statistics: DatasetStatistics,
        unnorm_key: Option<String>,
        cfg: TrainConfig,
        device: &Device,
    ) -> Result<Self> {
        let prompt = PromptTokenizer::byte_level(&model_cfg)?;
        let (model, varmap) = checkpoint::random_model(model_cfg, device)?;
        Self::assemble(
            Weights {
                varmap,
                model,
                file: None,
            },
            statistics,
            unnorm_key,
            (prompt, byte_level_tokenizer_json()),
            cfg,
        )
    }

    /// Fine-tune from a checkpoint directory (`config.json`, `model.safetensors`,
    /// `tokenizer.json`, `dataset_statistics.json`), with fresh optimiser state.
    pub fn from_checkpoint(
        dir: &std::path::Path,
        unnorm_key: Option<String>,
        cfg: TrainConfig,
        device: &Device,
    ) -> Result<Self> {
        let (weights, statistics, prompt) = super::state::load_checkpoint(dir, device)?;
        Self::assemble(weights, statistics, unnorm_key, prompt, cfg)
    }

    pub(super) fn assemble(
        weights: Weights,
        statistics: DatasetStatistics,
        unnorm_key: Option<String>,
        (prompt, tokenizer_json): (PromptTokenizer, String),
        cfg: TrainConfig,
    ) -> Result<Self> {
        cfg.validate()?;
        let Weights {
            varmap,
            model,
            file,
        } = weights;
        let model_cfg = model.config();
        if cfg.proprio_dropout > 0.0 && !model_cfg.file.use_proprio {
            return Err(PolicyError::config(
                "train.proprio_dropout",
                "the model takes no proprio (use_proprio is false): there is nothing to drop",
            ));
        }
        let stats = statistics.select(unnorm_key.as_deref())?;
        let actions = ActionTokenizer::new(model_cfg, &stats.action)?;
        let proprio_stats = match (&stats.proprio, model_cfg.file.use_proprio) {
            (Some(p), true) => {
                p.validate(model_cfg.file.proprio_dim, "proprio")?;
                Some(p.clone())
            }
            _ => None,
        };
        let net = DiffBackbone::new(&varmap, &model_cfg.file.text)?;
        let vision = cfg
            .train_vision
            .then(|| {
                DiffVision::new(
                    &varmap,
                    &model_cfg.file.vision,
                    model_cfg.file.fused_vision.as_ref(),
                )
            })
            .transpose()?;
        // The head joins the variables before the optimiser and the average are built over
        // them; a checkpoint trained with it gives its weights.
        let keypose_head = match &cfg.keypose {
            Some(k) => {
                let width = keypose::input_width(k, model_cfg, vision.is_some())?;
                let head = keypose::head(&varmap, k, width, model.device())?;
                if let Some(file) = &file {
                    keypose::load_head(&varmap, file)?;
                }
                Some(head)
            }
            None => None,
        };
        let mut trainable: Vec<(String, candle_core::Var)> = {
            let data = varmap
                .data()
                .lock()
                .map_err(|_| PolicyError::config("train", "the VarMap lock is poisoned"))?;
            data.iter()
                .filter(|(name, _)| cfg.train_vision || !name.starts_with(VISION_PREFIX))
                .map(|(name, var)| (name.clone(), var.clone()))
                .collect()
        };
        // A fixed order: the gradient-norm sum must not depend on hash order.
        trainable.sort_by(|a, b| a.0.cmp(&b.0));
        let opt = AdamW::new(trainable, cfg.adamw.clone())?;
        let ema = cfg
            .ema_decay
            .map(|d| WeightEma::new(d, opt.vars()))
            .transpose()?;
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut prepare_cfg = model.config().clone();
        prepare_cfg.file.center_crop_area = None;
        Ok(Self {
            varmap,
            model,
            net,
            vision,
            opt,
            ema,
            cfg,
            step: 0,
            rng,
            statistics,
            unnorm_key,
            actions,
            proprio_stats,
            prompt,
            tokenizer_json,
            prepare_cfg,
            keypose_head,
        })
    }

    /// Set the centre crop the saved checkpoint applies at inference (`center_crop_area` in
    /// its config): the crop matching the training augmentation's random crop (DD-VLA: 90%
    /// of the area). Training inputs never get it (see [`Self::inputs`]).
    pub fn set_inference_center_crop(&mut self, area: Option<f32>) {
        self.model.set_center_crop_area(area);
    }

    /// The model (shares its weights with the trainer: updates are visible).
    pub fn model(&self) -> &VlaModel {
        &self.model
    }

    /// The variables.
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The training configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// The action tokenizer targets are encoded with.
    pub fn action_tokenizer(&self) -> &ActionTokenizer {
        &self.actions
    }

    /// The attention mode of the training forward pass (causal for the autoregressive
    /// objective).
    pub fn attention_mode(&self) -> AttentionMode {
        match self.cfg.objective {
            Objective::Autoregressive => AttentionMode::Causal,
            Objective::Diffusion | Objective::Parallel => self
                .cfg
                .attention
                .unwrap_or(self.model.config().file.attention_mode),
        }
    }

    /// The moving average of the trained weights, when `ema_decay` is set.
    pub fn ema(&self) -> Option<&WeightEma> {
        self.ema.as_ref()
    }

    /// Start, retune or stop the weight average of a (resumed) run: `Some(d)` without an
    /// average starts one at the current weights; with one, it changes the decay and keeps
    /// the average; `None` drops it. The training config saved with the next checkpoint
    /// records the change.
    pub fn set_ema_decay(&mut self, decay: Option<f64>) -> Result<()> {
        match (decay, &mut self.ema) {
            (None, _) => self.ema = None,
            (Some(d), Some(ema)) => ema.set_decay(d)?,
            (Some(d), None) => self.ema = Some(WeightEma::new(d, self.opt.vars())?),
        }
        self.cfg.ema_decay = decay;
        Ok(())
    }

    /// The training objective.
    pub fn objective(&self) -> Objective {
        self.cfg.objective
    }

    fn plan_context(&self) -> PlanContext {
        let f = &self.model.config().file;
        PlanContext {
            mask_id: f.tokens.mask_token_id,
            logit_shift: f.logit_shift,
            append_stop: f.append_stop_token,
            mode: self.attention_mode(),
            parallel_slots: self.cfg.parallel_slots,
        }
    }

    /// One plan per sample; the diffusion objective draws its masks from `rng`, and with
    /// `proprio_dropout` > 0 (training steps only: evaluations pass 0) whether the sample
    /// hides its proprio token; nothing else draws.
    pub(super) fn plans(
        &self,
        prepared: &[Prepared<'_>],
        rng: &mut ChaCha8Rng,
        proprio_dropout: f64,
    ) -> Vec<SlotPlan> {
        let ctx = self.plan_context();
        let objective = self.cfg.objective;
        let l = self.model.config().action_tokens;
        prepared
            .iter()
            .map(|p| {
                let mask = objective
                    .draws_masks()
                    .then(|| SampleMask::draw_mixed(l, self.cfg.all_masked_fraction, rng));
                let mut plan = SlotPlan::new(objective, &p.targets, mask.as_ref(), ctx);
                plan.hide_proprio =
                    proprio_dropout > 0.0 && rng.random_range(0.0..1.0) < proprio_dropout;
                plan
            })
            .collect()
    }

    /// Number of trained variables (everything, or everything but the vision towers when
    /// they are frozen).
    pub fn trained_variables(&self) -> usize {
        self.opt.vars().count()
    }

    pub(super) fn prepare_batch<'b>(&self, batch: &'b Batch) -> Result<Vec<Prepared<'b>>> {
        if batch.samples.is_empty() {
            return Err(PolicyError::bad_input("batch", "is empty"));
        }
        let a = &self.model.config().file.action;
        let expected = a.chunk_len * a.action_dim;
        batch
            .samples
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let what = || format!("batch sample {i} actions");
                if s.actions.len() != expected {
                    return Err(PolicyError::bad_input(
                        what(),
                        format!(
                            "{} values, expected chunk_len {} × action_dim {} = {expected}",
                            s.actions.len(),
                            a.chunk_len,
                            a.action_dim
                        ),
                    ));
                }
                if let Some(j) = s.actions.iter().position(|v| !v.is_finite()) {
                    return Err(PolicyError::bad_input(
                        what(),
                        format!(
                            "value {j} (action {}, dim {}) is {}",
                            j / a.action_dim,
                            j % a.action_dim,
                            s.actions[j]
                        ),
                    ));
                }
                if let Some(k) = &self.cfg.keypose {
                    keypose::check_targets(i, &s.keyposes, k.outputs())?;
                }
                Ok(Prepared {
                    inputs: self.inputs(&s.observation)?,
                    targets: self.actions.encode(&s.actions)?,
                    keyposes: &s.keyposes,
                })
            })
            .collect()
    }

    /// The model inputs of a training or validation sample. The config's inference centre
    /// crop is not applied: training frames come already cropped (the random crop of
    /// [`super::augment`]) and validation frames as the caller chose.
    pub(super) fn inputs(&self, obs: &Observation) -> Result<ModelInputs> {
        prepare(
            &self.prepare_cfg,
            obs,
            self.proprio_stats.as_ref(),
            &self.prompt,
            self.model.device(),
        )
    }

    /// Mean cross-entropy (scalar tensor) of `prepared` under one plan per sample, and the
    /// keypose error with a keypose loss.
    pub(super) fn loss(&self, prepared: &[Prepared<'_>], plans: &[SlotPlan]) -> Result<BatchLoss> {
        let samples: Vec<_> = prepared
            .iter()
            .zip(plans)
            .map(|(p, plan)| (&p.inputs, p.targets.as_slice(), plan))
            .collect();
        let terms = batch_terms(
            &self.model,
            &self.net,
            self.vision.as_ref(),
            &samples,
            self.keypose_head
                .as_ref()
                .and(self.cfg.keypose.as_ref())
                .map(|k| k.input),
        )?;
        let labels = terms.labels;
        let target = Tensor::from_slice(&labels, labels.len(), self.model.device())?;
        let ce = candle_nn::loss::cross_entropy(&terms.logits, &target)?;
        let keypose = match (&self.keypose_head, &terms.head_input) {
            (Some((w, b)), Some(head_input)) => {
                let pred = keypose::predict(head_input, w, b)?;
                let targets: Vec<&[f32]> = prepared.iter().map(|p| p.keyposes).collect();
                Some(keypose::mse(&pred, &targets)?)
            }
            _ => None,
        };
        Ok(BatchLoss {
            ce,
            keypose,
            supervised: labels.len(),
        })
    }

    /// One optimiser step on `batch`. Bad input (an empty batch, a chunk of the wrong size,
    /// a non-finite target, an unusable observation) is an error before anything changes; a
    /// non-finite loss or gradient is an error and the weights are not updated.
    pub fn step(&mut self, batch: &Batch) -> Result<StepStats> {
        let _span = tracing::debug_span!("train_step", step = self.step).entered();
        let prepared = self.prepare_batch(batch)?;
        let mut rng = self.rng.clone();
        let plans = self.plans(&prepared, &mut rng, self.cfg.proprio_dropout);
        self.rng = rng;
        let terms = self.loss(&prepared, &plans)?;
        let loss_value = terms.ce.to_scalar::<f32>()?;
        let keypose_loss = terms
            .keypose
            .as_ref()
            .map(Tensor::to_scalar::<f32>)
            .transpose()?;
        if !loss_value.is_finite() || keypose_loss.is_some_and(|v| !v.is_finite()) {
            return Err(PolicyError::NonFiniteOutput { what: "loss" });
        }
        let total = match (&terms.keypose, &self.cfg.keypose) {
            (Some(k), Some(cfg)) => (&terms.ce + (k * cfg.weight)?)?,
            _ => terms.ce.clone(),
        };
        let mut grads = total.backward()?;
        let norm = grad_norm(&grads, self.opt.vars().map(|(_, v)| v))?;
        if !norm.is_finite() {
            return Err(PolicyError::NonFiniteOutput {
                what: "gradient norm",
            });
        }
        if let Some(max) = self.cfg.max_grad_norm {
            clip_grads(&mut grads, self.opt.vars().map(|(_, v)| v), norm, max)?;
        }
        let lr = self.cfg.lr.lr(self.step);
        self.opt.step(&grads, lr)?;
        if let Some(ema) = &mut self.ema {
            ema.update(self.opt.vars())?;
        }
        self.step += 1;
        tracing::debug!(
            step = self.step,
            loss = loss_value,
            grad_norm = norm,
            lr,
            "step"
        );
        Ok(StepStats {
            step: self.step,
            loss: loss_value,
            grad_norm: norm as f32,
            lr,
            supervised: terms.supervised,
            keypose_loss,
        })
    }
}

/// A model and the variables it was built from.
pub(super) struct Weights {
    pub varmap: VarMap,
    pub model: VlaModel,
    /// The weights file they were read from (`None`: fresh random weights).
    pub file: Option<std::path::PathBuf>,
}

//! The Discrete Diffusion VLA model: vision backbone → projector, proprio projector, and a
//! Llama-style backbone whose `lm_head` rows for the action vocabulary score the action slots.
//!
//! Sequence layout (released DD-VLA code, `openvla_utils.get_vla_action`):
//! `[BOS] [image patches × cameras] [proprio] [prompt …] [action slots × L] [STOP]`.
//! With `logit_shift`, slot `j` is read from position `first_slot - 1 + j` (the HF causal-LM
//! shift kept by the released model), so the last prompt token predicts slot 0.

pub mod attention_mask;
pub mod backbone;
pub mod config;
pub mod conv_stem;
pub(crate) mod fused;
pub mod grid_resample;
pub mod presets;
pub mod projector;
mod validate;
pub mod vision;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

pub use config::{AttentionMode, Config, ConfigFile};

use crate::kv_cache::KvCache;
use crate::{PolicyError, Result};
use backbone::Backbone;
use projector::{Projector, ProprioProjector};
use vision::VisionBackbone;

/// Prepared model inputs for one observation.
#[derive(Debug, Clone)]
pub struct ModelInputs {
    /// Normalised pixels per encoder, each `[cameras, 3, H, W]`.
    pub pixels: Vec<Tensor>,
    /// Normalised proprioception `[1, proprio_dim]`, when the model uses it.
    pub proprio: Option<Tensor>,
    /// Prompt token ids (without BOS).
    pub prompt_ids: Vec<u32>,
}

/// The embedded prefix of one observation (computed once, reused by every decoding round).
#[derive(Debug, Clone)]
pub struct Prefix {
    /// `[1, len, hidden]`: BOS, image tokens, proprio token, prompt.
    pub embeds: Tensor,
    /// Number of prefix tokens = absolute position of the first action slot.
    pub len: usize,
}

/// What goes into the action slots of a pass.
#[derive(Debug, Clone, Copy)]
pub enum SlotInput<'a> {
    /// Token ids (`[MASK]` or committed action tokens), one per slot.
    Tokens(&'a [u32]),
    /// Zero embeddings (OpenVLA-OFT's "empty action embeddings").
    Zeros,
}

/// The whole model.
pub struct VlaModel {
    cfg: Config,
    vision: VisionBackbone,
    projector: Projector,
    proprio_projector: Option<ProprioProjector>,
    backbone: Backbone,
    lm_head_actions: Tensor,
    device: Device,
}

impl VlaModel {
    /// Build the module tree from `vb` (names mirror the checkpoint: `vision_backbone.*`,
    /// `projector.*`, `proprio_projector.*`, `language_model.model.*`, `language_model.lm_head`).
    pub fn load(vb: &VarBuilder, cfg: Config) -> Result<Self> {
        let f = &cfg.file;
        let d = f.text.hidden_size;
        let vision =
            VisionBackbone::load(vb.pp("vision_backbone"), &f.vision, f.fused_vision.as_ref())?;
        let projector = Projector::load(
            vb.pp("projector"),
            cfg.projector_type,
            cfg.vision_feature_dim,
            d,
        )?;
        let proprio_projector = f
            .use_proprio
            .then(|| ProprioProjector::load(vb.pp("proprio_projector"), f.proprio_dim, d))
            .transpose()?;
        let lm = vb.pp("language_model");
        let backbone = Backbone::load(lm.pp("model"), &f.text)?;
        let lm_head = lm.pp("lm_head").get_with_hints(
            (f.text.vocab_size, d),
            "weight",
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?;
        // Only the action rows are ever scored: 256 × hidden instead of vocab × hidden.
        let lm_head_actions = lm_head
            .narrow(0, cfg.action_token_begin as usize, f.action.n_bins)?
            .contiguous()?;
        Ok(Self {
            device: vb.device().clone(),
            cfg,
            vision,
            projector,
            proprio_projector,
            backbone,
            lm_head_actions,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Set the inference centre crop (`center_crop_area`): an input-preparation setting
    /// only (the forward pass never reads it), saved with the config.
    pub(crate) fn set_center_crop_area(&mut self, area: Option<f32>) {
        self.cfg.file.center_crop_area = area;
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Fuse the backbone's projections for inference (see [`Backbone::fuse_projections`]).
    pub fn fuse_for_inference(&mut self) -> Result<()> {
        self.backbone.fuse_projections()
    }

    /// The language backbone.
    pub fn backbone(&self) -> &Backbone {
        &self.backbone
    }

    /// A fresh KV cache sized for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.backbone.num_layers())
    }

    /// Run the vision encoder(s), projectors and embeddings: the prefix of the sequence.
    pub fn encode_prefix(&self, inputs: &ModelInputs) -> Result<Prefix> {
        let _span = tracing::trace_span!("encode_prefix").entered();
        let patches = self.vision.forward(&inputs.pixels)?;
        let images = self.projector.forward(&patches)?;
        let proprio = match (&self.proprio_projector, &inputs.proprio) {
            (Some(p), Some(x)) => Some(p.forward(x)?),
            _ => None,
        };
        self.assemble_prefix(inputs, images, proprio)
    }

    /// The prefixes of several observations for training: one batched pass of the vision
    /// encoder(s) and of each projector. The vision features are detached (the towers are
    /// frozen in training: no backward graph is built through them); the projectors and
    /// embeddings stay differentiable. Equal to [`Self::encode_prefix`] per observation up
    /// to float rounding.
    pub fn encode_prefixes(&self, inputs: &[&ModelInputs]) -> Result<Vec<Prefix>> {
        let _span = tracing::trace_span!("encode_prefixes").entered();
        let pixels = Self::batch_pixels(inputs)?;
        let patches = self.vision.forward_batch(&pixels, inputs.len())?.detach();
        self.prefixes_from_patches(inputs, &patches)
    }

    /// The pixels of several observations stacked per encoder: `[batch · cameras, 3, H, W]`
    /// each (observation-major), the input of a batched vision pass.
    pub(crate) fn batch_pixels(inputs: &[&ModelInputs]) -> Result<Vec<Tensor>> {
        let encoders = inputs.first().map_or(0, |i| i.pixels.len());
        (0..encoders)
            .map(|e| {
                let per = inputs
                    .iter()
                    .map(|i| {
                        i.pixels.get(e).ok_or_else(|| {
                            PolicyError::bad_input("pixels", "observations differ in encoders")
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Tensor::cat(&per, 0)?)
            })
            .collect()
    }

    /// The prefixes of several observations from their patch features
    /// `[batch, cameras · N, feature_dim]` (one batched pass of each projector; the
    /// projectors and embeddings are differentiable, and so are `patches` if they were).
    pub(crate) fn prefixes_from_patches(
        &self,
        inputs: &[&ModelInputs],
        patches: &Tensor,
    ) -> Result<Vec<Prefix>> {
        let images = self.projector.forward(patches)?;
        let proprio = match &self.proprio_projector {
            Some(p) if inputs.iter().all(|i| i.proprio.is_some()) => {
                let x: Vec<&Tensor> = inputs.iter().filter_map(|i| i.proprio.as_ref()).collect();
                Some(p.forward(&Tensor::cat(&x, 0)?)?)
            }
            _ => None,
        };
        inputs
            .iter()
            .enumerate()
            .map(|(b, i)| {
                let p = proprio.as_ref().map(|p| p.narrow(0, b, 1)).transpose()?;
                self.assemble_prefix(i, images.narrow(0, b, 1)?, p)
            })
            .collect()
    }

    /// `[BOS] [images] [proprio] [prompt]` from the projected image tokens `[1, N, d]` and
    /// proprio token `[1, 1, d]` of one observation.
    fn assemble_prefix(
        &self,
        inputs: &ModelInputs,
        images: Tensor,
        proprio: Option<Tensor>,
    ) -> Result<Prefix> {
        let tok = &self.cfg.file.tokens;
        let mut parts = vec![self.backbone.embed(&[tok.bos_token_id])?, images];
        match (proprio, self.proprio_projector.is_some()) {
            (Some(p), _) => parts.push(p),
            (None, true) => {
                return Err(PolicyError::bad_input(
                    "proprio",
                    "the model needs proprioception",
                ));
            }
            (None, false) => {}
        }
        if inputs.prompt_ids.is_empty() {
            return Err(PolicyError::bad_input("prompt", "no prompt tokens"));
        }
        parts.push(self.backbone.embed(&inputs.prompt_ids)?);
        let embeds = Tensor::cat(&parts, 1)?;
        let len = embeds.dims()[1];
        Ok(Prefix { embeds, len })
    }

    /// Absolute position of the first token a suffix pass recomputes: the last prompt token
    /// when slots are read with the logit shift, else the first slot.
    pub fn suffix_start(&self, prefix: &Prefix) -> usize {
        if self.cfg.file.logit_shift {
            prefix.len - 1
        } else {
            prefix.len
        }
    }

    fn slot_embeds(&self, slots: SlotInput<'_>) -> Result<Tensor> {
        let f = &self.cfg.file;
        let l = self.cfg.action_tokens;
        let mut parts = Vec::with_capacity(2);
        match slots {
            SlotInput::Tokens(ids) => {
                if ids.len() != l {
                    return Err(PolicyError::bad_input(
                        "action slots",
                        format!("{} ids, expected {l}", ids.len()),
                    ));
                }
                parts.push(self.backbone.embed(ids)?);
            }
            SlotInput::Zeros => {
                parts.push(Tensor::zeros(
                    (1, l, f.text.hidden_size),
                    DType::F32,
                    &self.device,
                )?);
            }
        }
        if f.append_stop_token {
            parts.push(self.backbone.embed(&[f.tokens.stop_token_id])?);
        }
        Ok(Tensor::cat(&parts, 1)?)
    }

    /// Action logits `[L, n_bins]` from hidden states `[1, S, d]` whose first row is absolute
    /// position `pos0`.
    fn slot_logits(&self, hidden: &Tensor, pos0: usize, prefix: &Prefix) -> Result<Tensor> {
        let first = if self.cfg.file.logit_shift {
            prefix.len - 1
        } else {
            prefix.len
        };
        let h = hidden
            .narrow(1, first - pos0, self.cfg.action_tokens)?
            .squeeze(0)?;
        Ok(h.matmul(&self.lm_head_actions.t()?)?)
    }

    /// A full pass over prefix + slots; returns the action logits `[L, n_bins]`. With `cache`,
    /// the pass's keys/values are kept for positions before [`Self::suffix_start`].
    pub fn logits_full(
        &self,
        prefix: &Prefix,
        slots: SlotInput<'_>,
        mode: AttentionMode,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let _span = tracing::trace_span!("logits_full").entered();
        let x = Tensor::cat(&[&prefix.embeds, &self.slot_embeds(slots)?], 1)?;
        let s = x.dims()[1];
        let mask = attention_mask::build(mode, 0, s, s, prefix.len, &self.device)?;
        let keep = self.suffix_start(prefix);
        let hidden = match cache {
            Some(c) => {
                c.clear();
                let h = self.backbone.forward(&x, 0, mask.as_ref(), Some(&mut *c))?;
                c.truncate(keep)?;
                h
            }
            None => self.backbone.forward(&x, 0, mask.as_ref(), None)?,
        };
        self.slot_logits(&hidden, 0, prefix)
    }

    /// A suffix pass reusing `cache` (filled by [`Self::logits_full`]): recomputes only the
    /// tokens from [`Self::suffix_start`] on. Exact under `prefix`/`causal` attention,
    /// approximate (Fast-dLLM style) under `bidirectional`.
    pub fn logits_suffix(
        &self,
        prefix: &Prefix,
        slots: SlotInput<'_>,
        mode: AttentionMode,
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        let _span = tracing::trace_span!("logits_suffix").entered();
        let start = self.suffix_start(prefix);
        if cache.len() != start {
            return Err(PolicyError::bad_input(
                "kv cache",
                format!(
                    "holds {} positions, the suffix starts at {start}",
                    cache.len()
                ),
            ));
        }
        let head = prefix.embeds.narrow(1, start, prefix.len - start)?;
        let x = Tensor::cat(&[&head, &self.slot_embeds(slots)?], 1)?;
        let s = x.dims()[1];
        let mask = attention_mask::build(mode, start, s, start + s, prefix.len, &self.device)?;
        let hidden = self
            .backbone
            .forward(&x, start, mask.as_ref(), Some(&mut *cache));
        // Restore the cache to the prefix whatever happened.
        cache.truncate(start)?;
        self.slot_logits(&hidden?, start, prefix)
    }

    /// Next-token action logits `[n_bins]` for autoregressive decoding (causal attention):
    /// the prefix followed by `generated` action tokens. With `cache`, only positions not yet
    /// cached are computed and then cached.
    pub fn logits_next(
        &self,
        prefix: &Prefix,
        generated: &[u32],
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let _span = tracing::trace_span!("logits_next").entered();
        let total = prefix.len + generated.len();
        let start = cache.as_ref().map_or(0, |c| c.len());
        if start >= total {
            return Err(PolicyError::bad_input(
                "kv cache",
                format!("holds {start} positions, nothing new to run"),
            ));
        }
        let mut parts = Vec::with_capacity(2);
        if start < prefix.len {
            parts.push(prefix.embeds.narrow(1, start, prefix.len - start)?);
        }
        let from = start.saturating_sub(prefix.len);
        if from < generated.len() {
            parts.push(self.backbone.embed(&generated[from..])?);
        }
        let x = Tensor::cat(&parts, 1)?;
        let s = x.dims()[1];
        let mask = attention_mask::build(
            AttentionMode::Causal,
            start,
            s,
            start + s,
            prefix.len,
            &self.device,
        )?;
        let hidden = self.backbone.forward(&x, start, mask.as_ref(), cache)?;
        let last = hidden.narrow(1, s - 1, 1)?.squeeze(0)?;
        Ok(last.matmul(&self.lm_head_actions.t()?)?.squeeze(0)?)
    }
}

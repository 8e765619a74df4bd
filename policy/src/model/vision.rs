//! Vision encoder: a ViT in SigLIP's layout (patch embedding with bias, learned positions,
//! pre-norm blocks), features taken from a configurable layer. Two encoders can be fused by
//! channel concatenation (Prismatic DINOv2 + SigLIP); N cameras give concatenated patch tokens.
//!
//! Checkpoint names mirror HF `SiglipVisionTransformer`: `embeddings.patch_embedding`,
//! `embeddings.position_embedding`, `encoder.layers.{i}.{layer_norm1,self_attn,layer_norm2,mlp}`,
//! `post_layernorm`; with `conv_stem_channels`, the convolutional branch
//! `embeddings.conv_stem` ([`super::conv_stem`]) adds to the patch tokens.

use candle_core::{D, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, LayerNorm, LayerNormConfig, Linear, VarBuilder};

use super::config::{VisionActivation, VisionConfig};
use super::conv_stem::ConvStem;
use crate::Result;

fn layer_norm(d: usize, eps: f64, vb: VarBuilder) -> Result<LayerNorm> {
    let cfg = LayerNormConfig {
        eps,
        ..LayerNormConfig::default()
    };
    Ok(candle_nn::layer_norm(d, cfg, vb)?)
}

struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    num_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn load(vb: VarBuilder, cfg: &VisionConfig) -> Result<Self> {
        let d = cfg.hidden_size;
        Ok(Self {
            q_proj: candle_nn::linear(d, d, vb.pp("q_proj"))?,
            k_proj: candle_nn::linear(d, d, vb.pp("k_proj"))?,
            v_proj: candle_nn::linear(d, d, vb.pp("v_proj"))?,
            out_proj: candle_nn::linear(d, d, vb.pp("out_proj"))?,
            num_heads: cfg.num_attention_heads,
            head_dim: d / cfg.num_attention_heads,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, n, self.num_heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split(self.q_proj.forward(x)?)?;
        let k = split(self.k_proj.forward(x)?)?;
        let v = split(self.v_proj.forward(x)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?)? * scale)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        Ok(self.out_proj.forward(&out)?)
    }
}

struct Mlp {
    fc1: Linear,
    fc2: Linear,
    act: VisionActivation,
}

impl Mlp {
    fn load(vb: VarBuilder, cfg: &VisionConfig) -> Result<Self> {
        Ok(Self {
            fc1: candle_nn::linear(cfg.hidden_size, cfg.intermediate_size, vb.pp("fc1"))?,
            fc2: candle_nn::linear(cfg.intermediate_size, cfg.hidden_size, vb.pp("fc2"))?,
            act: cfg.hidden_act,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.fc1.forward(x)?;
        let h = match self.act {
            VisionActivation::GeluTanh => h.gelu()?,
            VisionActivation::Gelu => h.gelu_erf()?,
        };
        Ok(self.fc2.forward(&h)?)
    }
}

struct EncoderLayer {
    layer_norm1: LayerNorm,
    self_attn: Attention,
    layer_norm2: LayerNorm,
    mlp: Mlp,
}

impl EncoderLayer {
    fn load(vb: VarBuilder, cfg: &VisionConfig) -> Result<Self> {
        Ok(Self {
            layer_norm1: layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("layer_norm1"))?,
            self_attn: Attention::load(vb.pp("self_attn"), cfg)?,
            layer_norm2: layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("layer_norm2"))?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = (x + self.self_attn.forward(&self.layer_norm1.forward(x)?)?)?;
        Ok((&h + self.mlp.forward(&self.layer_norm2.forward(&h)?)?)?)
    }
}

/// One ViT encoder, truncated to its feature layer.
pub struct VisionEncoder {
    patch_embedding: Conv2d,
    conv_stem: Option<ConvStem>,
    position_embedding: Tensor,
    layers: Vec<EncoderLayer>,
    post_layernorm: Option<LayerNorm>,
    span: tracing::Span,
}

impl VisionEncoder {
    /// Load the blocks up to `cfg.feature_layer` from `vb` (later blocks are not read).
    pub fn load(vb: VarBuilder, cfg: &VisionConfig) -> Result<Self> {
        let d = cfg.hidden_size;
        let conv_cfg = Conv2dConfig {
            stride: cfg.patch_size,
            ..Conv2dConfig::default()
        };
        let emb = vb.pp("embeddings");
        let patch_embedding =
            candle_nn::conv2d(3, d, cfg.patch_size, conv_cfg, emb.pp("patch_embedding"))?;
        let n = (cfg.image_size / cfg.patch_size).pow(2);
        let position_embedding = emb.pp("position_embedding").get_with_hints(
            (n, d),
            "weight",
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?;
        let conv_stem = ConvStem::load(emb.pp("conv_stem"), cfg)?;
        let layers = (0..cfg.feature_layer)
            .map(|i| EncoderLayer::load(vb.pp(format!("encoder.layers.{i}")), cfg))
            .collect::<Result<Vec<_>>>()?;
        let post_layernorm = if cfg.use_post_layernorm {
            Some(layer_norm(d, cfg.layer_norm_eps, vb.pp("post_layernorm"))?)
        } else {
            None
        };
        Ok(Self {
            patch_embedding,
            conv_stem,
            position_embedding,
            layers,
            post_layernorm,
            span: tracing::trace_span!("vision_encoder"),
        })
    }

    /// The embedding output `[B, N, hidden]`: patch tokens (plus the convolutional branch's,
    /// when configured) and learned positions.
    fn embed(&self, pixels: &Tensor) -> Result<Tensor> {
        let mut x = self.patch_embedding.forward(pixels)?; // [B, d, gh, gw]
        if let Some(stem) = &self.conv_stem {
            x = (x + stem.forward(pixels)?)?;
        }
        let x = x.flatten_from(2)?.transpose(1, 2)?; // [B, N, d]
        Ok(x.broadcast_add(&self.position_embedding)?)
    }

    /// `pixels` `[B, 3, H, W]` (normalised) → features `[B, N, hidden]`.
    pub fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let _enter = self.span.enter();
        let mut x = self.embed(pixels)?;
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        if let Some(ln) = &self.post_layernorm {
            x = ln.forward(&x)?;
        }
        Ok(x)
    }

    /// Every hidden state up to the feature layer (HF `hidden_states`): index 0 is the
    /// embedding output, index `k` the output of block `k - 1`. Used by the parity tests.
    pub fn hidden_states(&self, pixels: &Tensor) -> Result<Vec<Tensor>> {
        let mut x = self.embed(pixels)?;
        let mut out = vec![x.clone()];
        for layer in &self.layers {
            x = layer.forward(&x)?;
            out.push(x.clone());
        }
        Ok(out)
    }
}

/// The (possibly fused) vision backbone: `featurizer` and optional `fused_featurizer`.
pub struct VisionBackbone {
    featurizer: VisionEncoder,
    fused_featurizer: Option<VisionEncoder>,
}

impl VisionBackbone {
    /// Load `featurizer` (and `fused_featurizer` when configured).
    pub fn load(
        vb: VarBuilder,
        primary: &VisionConfig,
        fused: Option<&VisionConfig>,
    ) -> Result<Self> {
        Ok(Self {
            featurizer: VisionEncoder::load(vb.pp("featurizer"), primary)?,
            fused_featurizer: fused
                .map(|f| VisionEncoder::load(vb.pp("fused_featurizer"), f))
                .transpose()?,
        })
    }

    /// Per-encoder normalised pixels `[cameras, 3, H, W]` → patch features
    /// `[1, cameras · N, feature_dim]` (cameras in order, channel concat across encoders).
    pub fn forward(&self, pixels: &[Tensor]) -> Result<Tensor> {
        self.forward_batch(pixels, 1)
    }

    /// [`Self::forward`] over `batch` observations in one pass: per-encoder pixels
    /// `[batch · cameras, 3, H, W]` (observation-major) → `[batch, cameras · N, feature_dim]`.
    pub fn forward_batch(&self, pixels: &[Tensor], batch: usize) -> Result<Tensor> {
        let first = pixels
            .first()
            .ok_or_else(|| crate::PolicyError::bad_input("pixels", "no encoder input"))?;
        let mut feats = self.featurizer.forward(first)?;
        if let Some(fused) = &self.fused_featurizer {
            let second = pixels.get(1).ok_or_else(|| {
                crate::PolicyError::bad_input("pixels", "fused encoder input missing")
            })?;
            feats = Tensor::cat(&[feats, fused.forward(second)?], D::Minus1)?;
        }
        per_observation(&feats, batch)
    }
}

/// Patch features `[batch · cameras, N, f]` (observation-major) → `[batch, cameras · N, f]`.
pub(crate) fn per_observation(feats: &Tensor, batch: usize) -> Result<Tensor> {
    let (rows, n, f) = feats.dims3()?;
    if batch == 0 || rows % batch != 0 {
        return Err(crate::PolicyError::bad_input(
            "pixels",
            format!("{rows} images do not split into {batch} observations"),
        ));
    }
    Ok(feats.reshape((batch, rows / batch * n, f))?)
}

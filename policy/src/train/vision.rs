//! A differentiable twin of the vision tower(s), so training can update them.
//!
//! The inference [`crate::model::vision::VisionEncoder`] uses candle's fast LayerNorm and
//! softmax, which have no backward pass. This module runs the same computation from the same
//! variables (read by name from the [`VarMap`]): the stride-`p` patch convolution as one
//! matrix product over flattened patches, LayerNorm as the fused RMSNorm of the centred input
//! (`(x − μ) / √(var + ε)` is RMSNorm of `x − μ`), the fused masked softmax, and candle's
//! differentiable GELU. `policy/tests/train_vision.rs` checks that its features match the
//! inference tower to float tolerance and that a training step changes the vision weights.

use candle_core::{D, Tensor};
use candle_nn::VarMap;

use super::conv_stem::DiffConvStem;
use super::forward::var;
use super::ops;
use crate::model::config::{VisionActivation, VisionConfig};
use crate::model::vision::per_observation;
use crate::{PolicyError, Result};

/// Prefix of the vision towers' variables in a checkpoint.
pub(crate) const VISION: &str = "vision_backbone";

fn tensor(varmap: &VarMap, name: &str) -> Result<Tensor> {
    Ok(var(varmap, name)?.as_tensor().clone())
}

/// Weight and bias of a linear layer or a LayerNorm.
struct Affine {
    weight: Tensor,
    bias: Tensor,
}

impl Affine {
    fn load(varmap: &VarMap, prefix: &str) -> Result<Self> {
        Ok(Self {
            weight: tensor(varmap, &format!("{prefix}.weight"))?,
            bias: tensor(varmap, &format!("{prefix}.bias"))?,
        })
    }

    /// `x` `[B, N, in]` · `Wᵀ + b` as one `[B·N, in] × [in, out]` product.
    fn linear(&self, x: &Tensor) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let out = self.weight.dims2()?.0;
        Ok(x.reshape((b * n, d))?
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?
            .reshape((b, n, out))?)
    }

    /// LayerNorm over the last dimension.
    fn layer_norm(&self, x: &Tensor, eps: f32) -> Result<Tensor> {
        let centred = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        Ok(ops::rms_norm(&centred, &self.weight, eps)?.broadcast_add(&self.bias)?)
    }
}

struct Layer {
    norm1: Affine,
    q: Affine,
    k: Affine,
    v: Affine,
    out: Affine,
    norm2: Affine,
    fc1: Affine,
    fc2: Affine,
}

impl Layer {
    fn load(varmap: &VarMap, p: &str) -> Result<Self> {
        let a = |name: &str| Affine::load(varmap, &format!("{p}.{name}"));
        Ok(Self {
            norm1: a("layer_norm1")?,
            q: a("self_attn.q_proj")?,
            k: a("self_attn.k_proj")?,
            v: a("self_attn.v_proj")?,
            out: a("self_attn.out_proj")?,
            norm2: a("layer_norm2")?,
            fc1: a("mlp.fc1")?,
            fc2: a("mlp.fc2")?,
        })
    }
}

/// One encoder, truncated to its feature layer like the inference one.
struct Encoder {
    /// Patch kernel as `[hidden, 3 · p · p]` and its bias.
    patch: Affine,
    conv_stem: Option<DiffConvStem>,
    position: Tensor,
    layers: Vec<Layer>,
    post_norm: Option<Affine>,
    patch_size: usize,
    num_heads: usize,
    eps: f32,
    act: VisionActivation,
}

impl Encoder {
    fn load(varmap: &VarMap, prefix: &str, cfg: &VisionConfig) -> Result<Self> {
        let emb = format!("{prefix}.embeddings");
        let kernel = tensor(varmap, &format!("{emb}.patch_embedding.weight"))?;
        let (d, c, p, _) = kernel.dims4()?;
        let patch = Affine {
            weight: kernel.reshape((d, c * p * p))?,
            bias: tensor(varmap, &format!("{emb}.patch_embedding.bias"))?,
        };
        let layers = (0..cfg.feature_layer)
            .map(|i| Layer::load(varmap, &format!("{prefix}.encoder.layers.{i}")))
            .collect::<Result<Vec<_>>>()?;
        let post_norm = cfg
            .use_post_layernorm
            .then(|| Affine::load(varmap, &format!("{prefix}.post_layernorm")))
            .transpose()?;
        Ok(Self {
            patch,
            conv_stem: DiffConvStem::load(varmap, &emb, cfg)?,
            position: tensor(varmap, &format!("{emb}.position_embedding.weight"))?,
            layers,
            post_norm,
            patch_size: cfg.patch_size,
            num_heads: cfg.num_attention_heads,
            eps: cfg.layer_norm_eps as f32,
            act: cfg.hidden_act,
        })
    }

    /// `pixels` `[B, 3, H, W]` → `[B, N, 3 · p · p]` flattened patches in the kernel's
    /// `(channel, row, column)` order, patches row-major.
    fn patches(&self, pixels: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = pixels.dims4()?;
        let p = self.patch_size;
        if h % p != 0 || w % p != 0 {
            return Err(PolicyError::bad_input(
                "pixels",
                format!("{h}×{w} is not a multiple of the {p}-pixel patch"),
            ));
        }
        let (gh, gw) = (h / p, w / p);
        Ok(pixels
            .reshape((b, c, gh, p, gw, p))?
            .permute((0, 2, 4, 1, 3, 5))?
            .contiguous()?
            .reshape((b, gh * gw, c * p * p))?)
    }

    fn attention(&self, layer: &Layer, x: &Tensor) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let hd = d / self.num_heads;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, n, self.num_heads, hd))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split((layer.q.linear(x)? * (1.0 / (hd as f64).sqrt()))?)?;
        let k = split(layer.k.linear(x)?)?;
        let v = split(layer.v.linear(x)?)?;
        let probs = ops::masked_softmax(&q.matmul(&k.t()?)?, None)?;
        let out = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        layer.out.linear(&out)
    }

    fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let mut x = self.patch.linear(&self.patches(pixels)?)?;
        if let Some(stem) = &self.conv_stem {
            x = (x + stem.forward(pixels)?)?;
        }
        let mut x = x.broadcast_add(&self.position)?;
        for layer in &self.layers {
            let h = (&x + self.attention(layer, &layer.norm1.layer_norm(&x, self.eps)?)?)?;
            let m = layer.fc1.linear(&layer.norm2.layer_norm(&h, self.eps)?)?;
            let m = match self.act {
                VisionActivation::GeluTanh => m.gelu()?,
                VisionActivation::Gelu => m.gelu_erf()?,
            };
            x = (&h + layer.fc2.linear(&m)?)?;
        }
        match &self.post_norm {
            Some(norm) => norm.layer_norm(&x, self.eps),
            None => Ok(x),
        }
    }
}

/// The (possibly fused) vision backbone with autograd-tracked weights.
pub(crate) struct DiffVision {
    featurizer: Encoder,
    fused: Option<Encoder>,
}

impl DiffVision {
    /// Collect the weights of the towers configured by `primary` (and `fused`).
    pub(crate) fn new(
        varmap: &VarMap,
        primary: &VisionConfig,
        fused: Option<&VisionConfig>,
    ) -> Result<Self> {
        Ok(Self {
            featurizer: Encoder::load(varmap, &format!("{VISION}.featurizer"), primary)?,
            fused: fused
                .map(|f| Encoder::load(varmap, &format!("{VISION}.fused_featurizer"), f))
                .transpose()?,
        })
    }

    /// Same contract as [`crate::model::vision::VisionBackbone::forward_batch`]: per-encoder
    /// pixels `[batch · cameras, 3, H, W]` → `[batch, cameras · N, feature_dim]`.
    pub(crate) fn forward_batch(&self, pixels: &[Tensor], batch: usize) -> Result<Tensor> {
        let first = pixels
            .first()
            .ok_or_else(|| PolicyError::bad_input("pixels", "no encoder input"))?;
        let mut feats = self.featurizer.forward(first)?;
        if let Some(fused) = &self.fused {
            let second = pixels
                .get(1)
                .ok_or_else(|| PolicyError::bad_input("pixels", "fused encoder input missing"))?;
            feats = Tensor::cat(&[feats, fused.forward(second)?], D::Minus1)?;
        }
        per_observation(&feats, batch)
    }
}

#[cfg(test)]
#[path = "vision_tests.rs"]
mod tests;

//! A differentiable twin of the backbone forward pass, for training.
//!
//! The inference [`crate::model::backbone::Backbone`] uses candle's fast CPU ops
//! (`rms_norm`, `rope`, `softmax_last_dim`), which are built with `apply_op*_no_bwd`: they
//! silently cut the autograd graph, so a loss computed through them would only train
//! `lm_head`. This module runs the same computation (same weights, read by name from the
//! [`VarMap`], same RoPE tables, the same grouped-query layout and additive masks) with
//! differentiable fused ops ([`super::ops`]: RMSNorm, RoPE, masked softmax). The integration
//! tests check that its action logits match [`VlaModel::logits_full`](crate::model::VlaModel)
//! to float tolerance.
//!
//! The prefix (vision → projector, proprio projector, BOS/prompt embeddings) still comes from
//! [`crate::model::VlaModel::encode_prefix`]: the projectors and embeddings are
//! differentiable there, the vision encoders are not (LayerNorm/softmax fast ops), so the
//! vision towers are frozen in training.

use candle_core::{Tensor, Var};
use candle_nn::VarMap;

use super::ops;
use crate::model::config::TextConfig;
use crate::{PolicyError, Result};

/// Prefix of the language model's tensor names in a checkpoint.
pub(crate) const LM: &str = "language_model";

/// Look up a variable of `varmap` by name.
pub(crate) fn var(varmap: &VarMap, name: &str) -> Result<Var> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| PolicyError::config("train", "the VarMap lock is poisoned"))?;
    data.get(name).cloned().ok_or_else(|| {
        PolicyError::config(
            "train",
            format!("the model has no variable `{name}` (was it loaded through this VarMap?)"),
        )
    })
}

fn tensor(varmap: &VarMap, name: &str) -> Result<Tensor> {
    Ok(var(varmap, name)?.as_tensor().clone())
}

struct LayerWeights {
    input_norm: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    o: Tensor,
    post_norm: Tensor,
    gate: Tensor,
    up: Tensor,
    down: Tensor,
}

/// The backbone and `lm_head` weights as autograd-tracked tensors sharing the variables'
/// storage (optimiser updates are seen without reloading).
pub(crate) struct DiffBackbone {
    embed: Tensor,
    layers: Vec<LayerWeights>,
    norm: Tensor,
    lm_head: Tensor,
    cos: Tensor,
    sin: Tensor,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
    eps: f32,
}

/// `x` `[B, S, in]` · `wᵀ` as one `[B·S, in] × [in, out]` product (one gradient GEMM for
/// `w` instead of one per batch row).
fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (b, s, d) = x.dims3()?;
    let out = w.dims2()?.0;
    Ok(x.reshape((b * s, d))?
        .matmul(&w.t()?)?
        .reshape((b, s, out))?)
}

impl DiffBackbone {
    /// Collect the weights of `cfg`'s backbone from `varmap`.
    pub(crate) fn new(varmap: &VarMap, cfg: &TextConfig) -> Result<Self> {
        let m = format!("{LM}.model");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let p = format!("{m}.layers.{i}");
                Ok(LayerWeights {
                    input_norm: tensor(varmap, &format!("{p}.input_layernorm.weight"))?,
                    q: tensor(varmap, &format!("{p}.self_attn.q_proj.weight"))?,
                    k: tensor(varmap, &format!("{p}.self_attn.k_proj.weight"))?,
                    v: tensor(varmap, &format!("{p}.self_attn.v_proj.weight"))?,
                    o: tensor(varmap, &format!("{p}.self_attn.o_proj.weight"))?,
                    post_norm: tensor(varmap, &format!("{p}.post_attention_layernorm.weight"))?,
                    gate: tensor(varmap, &format!("{p}.mlp.gate_proj.weight"))?,
                    up: tensor(varmap, &format!("{p}.mlp.up_proj.weight"))?,
                    down: tensor(varmap, &format!("{p}.mlp.down_proj.weight"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let head_dim = cfg.hidden_size / cfg.num_attention_heads;
        // The inference backbone's RoPE tables, computed the same way.
        let half = head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| (1.0 / cfg.rope_theta.powf((2 * i) as f64 / head_dim as f64)) as f32)
            .collect();
        let n = cfg.max_position_embeddings;
        let mut angles = Vec::with_capacity(n * half);
        for p in 0..n {
            angles.extend(inv_freq.iter().map(|f| p as f32 * f));
        }
        let embed = tensor(varmap, &format!("{m}.embed_tokens.weight"))?;
        let angles = Tensor::from_vec(angles, (n, half), embed.device())?;
        let eps = cfg.rms_norm_eps as f32;
        Ok(Self {
            layers,
            norm: tensor(varmap, &format!("{m}.norm.weight"))?,
            lm_head: tensor(varmap, &format!("{LM}.lm_head.weight"))?,
            embed,
            cos: angles.cos()?,
            sin: angles.sin()?,
            num_heads: cfg.num_attention_heads,
            num_kv_heads: cfg.num_key_value_heads,
            head_dim,
            eps,
        })
    }

    /// Embed `ids` → `[1, n, hidden]` (differentiable w.r.t. the embedding rows).
    pub(crate) fn embed(&self, ids: &[u32]) -> Result<Tensor> {
        let ids = Tensor::from_slice(ids, ids.len(), self.embed.device())?;
        Ok(self.embed.index_select(&ids, 0)?.unsqueeze(0)?)
    }

    fn attention(&self, w: &LayerWeights, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (b, s, _) = x.dims3()?;
        let hd = self.head_dim;
        let heads = |t: Tensor, n: usize| -> Result<Tensor> {
            Ok(t.reshape((b, s, n, hd))?.transpose(1, 2)?.contiguous()?)
        };
        let q = heads(linear(x, &w.q)?, self.num_heads)?;
        let k = heads(linear(x, &w.k)?, self.num_kv_heads)?;
        let v = heads(linear(x, &w.v)?, self.num_kv_heads)?;
        let cos = self.cos.narrow(0, 0, s)?;
        let sin = self.sin.narrow(0, 0, s)?;
        let q = ops::rope(&q, &cos, &sin)?;
        let k = ops::rope(&k, &cos, &sin)?;
        // Same grouped-query layout as the inference backbone: [B, kv, groups·S, hd].
        let groups = self.num_heads / self.num_kv_heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let q = (q * scale)?.reshape((b, self.num_kv_heads, groups * s, hd))?;
        let scores = q.matmul(&k.t()?)?;
        let out = ops::masked_softmax(&scores, mask)?
            .matmul(&v)?
            .reshape((b, self.num_heads, s, hd))?
            .transpose(1, 2)?
            .reshape((b, s, self.num_heads * hd))?;
        linear(&out, &w.o)
    }

    /// Query heads per key/value head: the row blocks of the attention mask.
    pub(crate) fn groups(&self) -> usize {
        self.num_heads / self.num_kv_heads
    }

    /// Final normed hidden states `[B, S, hidden]` of `x` `[B, S, hidden]` (positions from 0)
    /// under the additive `mask` `[B, 1, groups · S, S]` (grouped-query rows: query head
    /// `h` at position `p` is row `(h mod groups) · S + p`).
    pub(crate) fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let mut h = x.clone();
        for w in &self.layers {
            let n = ops::rms_norm(&h, &w.input_norm, self.eps)?;
            h = (&h + self.attention(w, &n, mask)?)?;
            let n = ops::rms_norm(&h, &w.post_norm, self.eps)?;
            let g = crate::model::fused::swiglu(&linear(&n, &w.gate)?, &linear(&n, &w.up)?)?;
            let m = linear(&g, &w.down)?;
            h = (h + m)?;
        }
        ops::rms_norm(&h, &self.norm, self.eps)
    }

    /// Full-vocabulary logits `[n, vocab]` of hidden rows `h` `[n, hidden]`.
    pub(crate) fn vocab_logits(&self, h: &Tensor) -> Result<Tensor> {
        Ok(h.matmul(&self.lm_head.t()?)?)
    }

    /// Action-vocabulary logits `[n, n_bins]` (rows `begin..begin + n_bins` of `lm_head`).
    pub(crate) fn action_logits(&self, h: &Tensor, begin: u32, n_bins: usize) -> Result<Tensor> {
        let rows = self.lm_head.narrow(0, begin as usize, n_bins)?;
        Ok(h.matmul(&rows.t()?)?)
    }
}

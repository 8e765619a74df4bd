//! Llama-style language backbone: RMSNorm, RoPE (HF `rotate_half` layout), SwiGLU and
//! grouped-query attention with an optional [`KvCache`]. The attention mask is supplied per
//! call, so one set of weights serves the bidirectional, prefix and causal modes.
//!
//! Checkpoint names mirror HF `LlamaModel`: `embed_tokens`, `layers.{i}.{input_layernorm,
//! self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj}`, `norm`.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, Linear, RmsNorm, VarBuilder};

use super::config::TextConfig;
use crate::Result;
use crate::kv_cache::KvCache;

/// Precomputed RoPE tables `[max_positions, head_dim / 2]`.
struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    fn new(cfg: &TextConfig, head_dim: usize, device: &Device) -> Result<Self> {
        let half = head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| (1.0 / cfg.rope_theta.powf((2 * i) as f64 / head_dim as f64)) as f32)
            .collect();
        let n = cfg.max_position_embeddings;
        let mut angles = Vec::with_capacity(n * half);
        for p in 0..n {
            angles.extend(inv_freq.iter().map(|f| p as f32 * f));
        }
        let angles = Tensor::from_vec(angles, (n, half), device)?;
        Ok(Self {
            cos: angles.cos()?,
            sin: angles.sin()?,
        })
    }

    fn apply(&self, x: &Tensor, pos0: usize) -> Result<Tensor> {
        let s = x.dims()[2];
        let cos = self.cos.narrow(0, pos0, s)?;
        let sin = self.sin.narrow(0, pos0, s)?;
        Ok(candle_nn::rotary_emb::rope(x, &cos, &sin)?)
    }
}

/// Q/K/V projections: as in the checkpoint, or concatenated into one matrix for inference
/// (one larger GEMM instead of three; the separate weights are dropped).
enum Qkv {
    Separate {
        q_proj: Linear,
        k_proj: Linear,
        v_proj: Linear,
    },
    Fused {
        qkv: Linear,
        q_dim: usize,
        kv_dim: usize,
    },
}

struct Attention {
    qkv: Qkv,
    o_proj: Linear,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn load(vb: VarBuilder, cfg: &TextConfig) -> Result<Self> {
        let d = cfg.hidden_size;
        let hd = d / cfg.num_attention_heads;
        let kv = cfg.num_key_value_heads * hd;
        Ok(Self {
            qkv: Qkv::Separate {
                q_proj: candle_nn::linear_no_bias(
                    d,
                    cfg.num_attention_heads * hd,
                    vb.pp("q_proj"),
                )?,
                k_proj: candle_nn::linear_no_bias(d, kv, vb.pp("k_proj"))?,
                v_proj: candle_nn::linear_no_bias(d, kv, vb.pp("v_proj"))?,
            },
            o_proj: candle_nn::linear_no_bias(cfg.num_attention_heads * hd, d, vb.pp("o_proj"))?,
            num_heads: cfg.num_attention_heads,
            num_kv_heads: cfg.num_key_value_heads,
            head_dim: hd,
        })
    }

    fn fuse(&mut self) -> Result<()> {
        if let Qkv::Separate {
            q_proj,
            k_proj,
            v_proj,
        } = &self.qkv
        {
            let w = Tensor::cat(&[q_proj.weight(), k_proj.weight(), v_proj.weight()], 0)?;
            self.qkv = Qkv::Fused {
                qkv: Linear::new(w, None),
                q_dim: q_proj.weight().dims()[0],
                kv_dim: k_proj.weight().dims()[0],
            };
        }
        Ok(())
    }

    fn forward(
        &self,
        x: &Tensor,
        rope: &Rope,
        pos0: usize,
        mask: Option<&Tensor>,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Result<Tensor> {
        let (b, s, _) = x.dims3()?;
        let heads = |t: Tensor, n: usize| -> Result<Tensor> {
            Ok(t.reshape((b, s, n, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (q, k, v) = match &self.qkv {
            Qkv::Separate {
                q_proj,
                k_proj,
                v_proj,
            } => (q_proj.forward(x)?, k_proj.forward(x)?, v_proj.forward(x)?),
            Qkv::Fused { qkv, q_dim, kv_dim } => {
                let y = qkv.forward(x)?;
                (
                    y.narrow(2, 0, *q_dim)?,
                    y.narrow(2, *q_dim, *kv_dim)?,
                    y.narrow(2, q_dim + kv_dim, *kv_dim)?,
                )
            }
        };
        let q = heads(q, self.num_heads)?;
        let k = heads(k, self.num_kv_heads)?;
        let v = heads(v, self.num_kv_heads)?;
        let q = rope.apply(&q, pos0)?;
        let k = rope.apply(&k, pos0)?;
        let (k, v) = match cache {
            Some((c, layer)) => c.append(layer, k, v)?,
            None => (k, v),
        };
        // Grouped-query attention without copying K/V: the `groups` query heads sharing a KV
        // head are stacked along the row axis, [B, kv, groups·S, hd] (HF repeat_kv order).
        let groups = self.num_heads / self.num_kv_heads;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let q = (q * scale)?.reshape((b, self.num_kv_heads, groups * s, self.head_dim))?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(m) = mask {
            let m = if groups > 1 {
                m.repeat((groups, 1))?
            } else {
                m.clone()
            };
            scores = scores.broadcast_add(&m)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs
            .matmul(&v)?
            .reshape((b, self.num_heads, s, self.head_dim))?
            .transpose(1, 2)?
            .reshape((b, s, self.num_heads * self.head_dim))?;
        Ok(self.o_proj.forward(&out)?)
    }
}

/// Gate/up projections: as in the checkpoint, or concatenated for inference.
enum GateUp {
    Separate { gate_proj: Linear, up_proj: Linear },
    Fused { gate_up: Linear, inner: usize },
}

struct Mlp {
    gate_up: GateUp,
    down_proj: Linear,
}

impl Mlp {
    fn load(vb: VarBuilder, cfg: &TextConfig) -> Result<Self> {
        let (d, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Self {
            gate_up: GateUp::Separate {
                gate_proj: candle_nn::linear_no_bias(d, i, vb.pp("gate_proj"))?,
                up_proj: candle_nn::linear_no_bias(d, i, vb.pp("up_proj"))?,
            },
            down_proj: candle_nn::linear_no_bias(i, d, vb.pp("down_proj"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = match &self.gate_up {
            GateUp::Separate { gate_proj, up_proj } => {
                super::fused::swiglu(&gate_proj.forward(x)?, &up_proj.forward(x)?)?
            }
            GateUp::Fused { gate_up, inner } => {
                let y = gate_up.forward(x)?;
                super::fused::swiglu(&y.narrow(2, 0, *inner)?, &y.narrow(2, *inner, *inner)?)?
            }
        };
        Ok(self.down_proj.forward(&h)?)
    }

    fn fuse(&mut self) -> Result<()> {
        if let GateUp::Separate { gate_proj, up_proj } = &self.gate_up {
            let w = Tensor::cat(&[gate_proj.weight(), up_proj.weight()], 0)?;
            self.gate_up = GateUp::Fused {
                gate_up: Linear::new(w, None),
                inner: gate_proj.weight().dims()[0],
            };
        }
        Ok(())
    }
}

struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

impl DecoderLayer {
    fn load(vb: VarBuilder, cfg: &TextConfig) -> Result<Self> {
        let d = cfg.hidden_size;
        Ok(Self {
            input_layernorm: candle_nn::rms_norm(d, cfg.rms_norm_eps, vb.pp("input_layernorm"))?,
            self_attn: Attention::load(vb.pp("self_attn"), cfg)?,
            post_attention_layernorm: candle_nn::rms_norm(
                d,
                cfg.rms_norm_eps,
                vb.pp("post_attention_layernorm"),
            )?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
    }
}

/// The Llama-style backbone (`LlamaModel`: embeddings, blocks, final norm; no `lm_head`).
pub struct Backbone {
    embed_tokens: Embedding,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    rope: Rope,
    span: tracing::Span,
}

impl Backbone {
    /// Load from `vb` (names as HF `LlamaModel`).
    pub fn load(vb: VarBuilder, cfg: &TextConfig) -> Result<Self> {
        let head_dim = cfg.hidden_size / cfg.num_attention_heads;
        Ok(Self {
            embed_tokens: candle_nn::embedding(
                cfg.vocab_size,
                cfg.hidden_size,
                vb.pp("embed_tokens"),
            )?,
            layers: (0..cfg.num_hidden_layers)
                .map(|i| DecoderLayer::load(vb.pp(format!("layers.{i}")), cfg))
                .collect::<Result<Vec<_>>>()?,
            norm: candle_nn::rms_norm(cfg.hidden_size, cfg.rms_norm_eps, vb.pp("norm"))?,
            rope: Rope::new(cfg, head_dim, vb.device())?,
            span: tracing::trace_span!("backbone"),
        })
    }

    /// Concatenate Q/K/V and gate/up weights into single matrices (fewer, larger GEMMs).
    /// For inference only: afterwards the backbone no longer reads the separate weights, so
    /// training through a `VarMap` must not call this.
    pub fn fuse_projections(&mut self) -> Result<()> {
        for layer in &mut self.layers {
            layer.self_attn.fuse()?;
            layer.mlp.fuse()?;
        }
        Ok(())
    }

    /// Number of decoder blocks (= layers a [`KvCache`] needs).
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Embed token ids → `[1, n, hidden]`.
    pub fn embed(&self, ids: &[u32]) -> Result<Tensor> {
        let dev = self.embed_tokens.embeddings().device();
        let ids = Tensor::from_slice(ids, ids.len(), dev)?;
        Ok(self.embed_tokens.forward(&ids)?.unsqueeze(0)?)
    }

    /// Embedding rows as a tensor `[vocab, hidden]`.
    pub fn embeddings(&self) -> &Tensor {
        self.embed_tokens.embeddings()
    }

    /// Run the blocks over `x` `[B, S, hidden]` whose first token sits at absolute position
    /// `pos0`. `mask` is additive `[S, cached + S]`; with a `cache`, keys/values of this pass
    /// are appended to it and attention covers the cached positions too. Returns the final
    /// normed hidden states `[B, S, hidden]`.
    pub fn forward(
        &self,
        x: &Tensor,
        pos0: usize,
        mask: Option<&Tensor>,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let _enter = self.span.enter();
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            let c = cache.as_deref_mut().map(|c| (c, i));
            let a = layer.self_attn.forward(
                &layer.input_layernorm.forward(&h)?,
                &self.rope,
                pos0,
                mask,
                c,
            )?;
            h = (h + a)?;
            let m = layer
                .mlp
                .forward(&layer.post_attention_layernorm.forward(&h)?)?;
            h = (h + m)?;
        }
        Ok(self.norm.forward(&h)?.to_dtype(DType::F32)?)
    }
}

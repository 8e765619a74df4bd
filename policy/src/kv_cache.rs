//! Per-layer key/value cache of the backbone.
//!
//! Keys are stored after RoPE, so a cached prefix can be reused by any later pass whose
//! queries start at the cached length. [`KvCache::truncate`] drops the tail (the
//! Fast-dLLM-style prefix cache keeps only the prompt part after a full pass).

use candle_core::Tensor;

use crate::Result;

/// Keys and values per layer, each `[B, kv_heads, len, head_dim]`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    /// An empty cache for `num_layers` layers.
    pub fn new(num_layers: usize) -> Self {
        Self {
            layers: vec![None; num_layers],
        }
    }

    /// Number of cached positions (0 when empty).
    pub fn len(&self) -> usize {
        self.layers
            .first()
            .and_then(|l| l.as_ref())
            .map_or(0, |(k, _)| k.dims().get(2).copied().unwrap_or(0))
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append `k`, `v` for `layer` and return the full keys and values.
    pub(crate) fn append(
        &mut self,
        layer: usize,
        k: Tensor,
        v: Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let slot = &mut self.layers[layer];
        let (k, v) = match slot.take() {
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
            None => (k, v),
        };
        *slot = Some((k.clone(), v.clone()));
        Ok((k, v))
    }

    /// Keep only the first `len` positions.
    pub fn truncate(&mut self, len: usize) -> Result<()> {
        for slot in &mut self.layers {
            if let Some((k, v)) = slot.take()
                && len > 0
            {
                let keep = len.min(k.dims()[2]);
                *slot = Some((
                    k.narrow(2, 0, keep)?.contiguous()?,
                    v.narrow(2, 0, keep)?.contiguous()?,
                ));
            }
        }
        Ok(())
    }

    /// Drop everything.
    pub fn clear(&mut self) {
        for slot in &mut self.layers {
            *slot = None;
        }
    }
}

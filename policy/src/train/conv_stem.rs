//! The differentiable twin of the vision tower's convolutional branch
//! ([`crate::model::conv_stem`]), for training.
//!
//! Each 3×3 stride-2 convolution (padding 1) runs as one matrix product over gathered
//! neighbourhoods, channels last: the zero-padded image is split into 2×2 cells, so output
//! pixel `(i, j)`'s tap `(ky, kx)` is cell `(i + ky / 2, j + kx / 2)`'s element `(ky % 2, kx
//! % 2)`: nine narrowed views stacked in the kernel's `(channel, row, column)` order. Only
//! reshapes, narrows, concatenation and matrix products, all with candle's backward pass.
//! `vision_tests.rs` checks the twin against the inference branch.

use candle_core::Tensor;
use candle_nn::VarMap;

use super::forward::var;
use crate::model::config::{VisionActivation, VisionConfig};
use crate::model::conv_stem::{KERNEL, OUT};
use crate::{PolicyError, Result};

/// A convolution as a matrix `[out, in · k · k]` and its bias `[out]`.
struct Kernel {
    weight: Tensor,
    bias: Tensor,
}

impl Kernel {
    fn load(varmap: &VarMap, prefix: &str) -> Result<Self> {
        let weight = var(varmap, &format!("{prefix}.weight"))?
            .as_tensor()
            .clone();
        let (out, c, kh, kw) = weight.dims4()?;
        Ok(Self {
            weight: weight.reshape((out, c * kh * kw))?,
            bias: var(varmap, &format!("{prefix}.bias"))?.as_tensor().clone(),
        })
    }

    /// `cols` `[B, h, w, in · k · k]` → `[B, h, w, out]`.
    fn apply(&self, cols: &Tensor) -> Result<Tensor> {
        let (b, h, w, k) = cols.dims4()?;
        let out = self.weight.dims2()?.0;
        Ok(cols
            .reshape((b * h * w, k))?
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?
            .reshape((b, h, w, out))?)
    }
}

/// The branch's weights, read by name from the training variables.
pub(crate) struct DiffConvStem {
    convs: Vec<Kernel>,
    out: Kernel,
    act: VisionActivation,
}

impl DiffConvStem {
    /// The branch under `{embeddings}.conv_stem`, `None` when `cfg` has none.
    pub(crate) fn load(
        varmap: &VarMap,
        embeddings: &str,
        cfg: &VisionConfig,
    ) -> Result<Option<Self>> {
        if cfg.conv_stem_channels.is_empty() {
            return Ok(None);
        }
        let p = format!("{embeddings}.conv_stem");
        let convs = (0..cfg.conv_stem_channels.len())
            .map(|i| Kernel::load(varmap, &format!("{p}.{i}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Self {
            convs,
            out: Kernel::load(varmap, &format!("{p}.{OUT}"))?,
            act: cfg.hidden_act,
        }))
    }

    /// `pixels` `[B, 3, H, W]` → `[B, N, hidden]`, the patch grid's tokens row-major.
    pub(crate) fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let mut x = pixels.permute((0, 2, 3, 1))?; // [B, H, W, C]
        for conv in &self.convs {
            let h = conv.apply(&strided_taps(&x)?)?;
            x = match self.act {
                VisionActivation::GeluTanh => h.gelu()?,
                VisionActivation::Gelu => h.gelu_erf()?,
            };
        }
        let y = self.out.apply(&x)?;
        let (b, h, w, d) = y.dims4()?;
        Ok(y.reshape((b, h * w, d))?)
    }
}

/// `x` `[B, H, W, C]` (even `H`, `W`) → `[B, H / 2, W / 2, C · 9]`: each output pixel's 3×3
/// neighbourhood at stride 2 with one pixel of zero padding, in `(channel, row, column)`
/// order.
fn strided_taps(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    if h % 2 != 0 || w % 2 != 0 {
        return Err(PolicyError::bad_input(
            "pixels",
            format!("the convolutional branch halves {h}×{w}, which is not even"),
        ));
    }
    let (oh, ow) = (h / 2, w / 2);
    let cells = x
        .pad_with_zeros(1, 1, 1)?
        .pad_with_zeros(2, 1, 1)?
        .reshape((b, oh + 1, 2, ow + 1, 2, c))?;
    let mut taps = Vec::with_capacity(KERNEL * KERNEL);
    for ky in 0..KERNEL {
        for kx in 0..KERNEL {
            taps.push(
                cells
                    .narrow(1, ky / 2, oh)?
                    .narrow(2, ky % 2, 1)?
                    .narrow(3, kx / 2, ow)?
                    .narrow(4, kx % 2, 1)?
                    .reshape((b, oh, ow, c))?,
            );
        }
    }
    Ok(Tensor::stack(&taps, 4)?.reshape((b, oh, ow, c * KERNEL * KERNEL))?)
}

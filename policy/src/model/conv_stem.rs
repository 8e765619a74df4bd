//! A convolutional branch beside the ViT's patch embedding (`vision.conv_stem_channels`).
//!
//! A 16-pixel patch embedding is one linear map of each patch: an object that moves by a
//! few pixels inside its patch changes that patch's token little, and the scene camera of a
//! 128² view puts a 3 cm displacement at about 3 pixels (docs/results-preamble.md, the long
//! suite's localisation runs). Early convolutions see such shifts (Xiao et al. 2021, "Early
//! Convolutions Help Transformers See Better"): this branch runs `log2(patch_size)` 3×3
//! stride-2 convolutions (padding 1, the vision activation after each), which land on the
//! patch grid, then a 1×1 convolution to the encoder width, and adds the result to the patch
//! embedding's tokens before the positions. `ddvla checkpoint add-conv-stem` gives a trained
//! checkpoint the branch with its 1×1 output at zero, so the copy acts exactly as its input
//! until a fine-tune trains the branch.
//!
//! Weights: `embeddings.conv_stem.{i}.{weight,bias}` (`[channels_i, channels_{i-1}, 3, 3]`,
//! 3 input channels first) and `embeddings.conv_stem.out.{weight,bias}` (`[hidden, last, 1,
//! 1]`). The training twin is `crate::train::conv_stem`.

use candle_core::{Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Init, VarBuilder};

use super::config::{VisionActivation, VisionConfig};
use crate::Result;

/// Name of the branch's output convolution under `conv_stem`.
pub const OUT: &str = "out";

/// Kernel side of the branch's strided convolutions.
pub const KERNEL: usize = 3;

/// The branch: strided convolutions, then the 1×1 output.
pub(crate) struct ConvStem {
    convs: Vec<Conv2d>,
    out: Conv2d,
    act: VisionActivation,
}

impl ConvStem {
    /// Load the branch from `vb` (`embeddings.conv_stem`); `None` when the config has none.
    /// A variable created here (a seeded builder) starts as candle's convolution init, the
    /// output at zero.
    pub(crate) fn load(vb: VarBuilder, cfg: &VisionConfig) -> Result<Option<Self>> {
        if cfg.conv_stem_channels.is_empty() {
            return Ok(None);
        }
        let strided = Conv2dConfig {
            padding: 1,
            stride: 2,
            ..Conv2dConfig::default()
        };
        let mut convs = Vec::with_capacity(cfg.conv_stem_channels.len());
        let mut c_in = 3;
        for (i, &c_out) in cfg.conv_stem_channels.iter().enumerate() {
            convs.push(candle_nn::conv2d(
                c_in,
                c_out,
                KERNEL,
                strided,
                vb.pp(i.to_string()),
            )?);
            c_in = c_out;
        }
        let ov = vb.pp(OUT);
        let weight =
            ov.get_with_hints((cfg.hidden_size, c_in, 1, 1), "weight", Init::Const(0.0))?;
        let bias = ov.get_with_hints(cfg.hidden_size, "bias", Init::Const(0.0))?;
        Ok(Some(Self {
            convs,
            out: Conv2d::new(weight, Some(bias), Conv2dConfig::default()),
            act: cfg.hidden_act,
        }))
    }

    /// `pixels` `[B, 3, H, W]` → `[B, hidden, H / patch, W / patch]`, the patch grid.
    pub(crate) fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let mut x = pixels.clone();
        for conv in &self.convs {
            let h = conv.forward(&x)?;
            x = match self.act {
                VisionActivation::GeluTanh => h.gelu()?,
                VisionActivation::Gelu => h.gelu_erf()?,
            };
        }
        Ok(self.out.forward(&x)?)
    }
}

/// Parameters of the branch `cfg` configures (0 for none).
pub(crate) fn parameter_count(cfg: &VisionConfig) -> usize {
    let mut c_in = 3;
    let mut n = 0;
    for &c in &cfg.conv_stem_channels {
        n += c * c_in * KERNEL * KERNEL + c;
        c_in = c;
    }
    if !cfg.conv_stem_channels.is_empty() {
        n += cfg.hidden_size * c_in + cfg.hidden_size;
    }
    n
}

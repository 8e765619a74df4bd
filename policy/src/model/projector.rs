//! Projectors from vision features and proprioception into the language width
//! (Prismatic `PrismaticProjector`, OpenVLA-OFT `ProprioProjector`; exact-erf GELU as
//! PyTorch's `nn.GELU()`).

use candle_core::{Module, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::config::ProjectorType;
use crate::Result;

/// Vision projector: `gelu-mlp` (fc1, fc2) or `fused-gelu-mlp` (fc1 ×4 width, fc2, fc3).
pub struct Projector {
    fc1: Linear,
    fc2: Linear,
    fc3: Option<Linear>,
}

impl Projector {
    /// Load `fc1`, `fc2` (and `fc3`) for features of width `vision_dim` → `llm_dim`.
    pub fn load(
        vb: VarBuilder,
        kind: ProjectorType,
        vision_dim: usize,
        llm_dim: usize,
    ) -> Result<Self> {
        Ok(match kind {
            ProjectorType::GeluMlp => Self {
                fc1: candle_nn::linear(vision_dim, llm_dim, vb.pp("fc1"))?,
                fc2: candle_nn::linear(llm_dim, llm_dim, vb.pp("fc2"))?,
                fc3: None,
            },
            ProjectorType::FusedGeluMlp => {
                let inner = 4 * vision_dim;
                Self {
                    fc1: candle_nn::linear(vision_dim, inner, vb.pp("fc1"))?,
                    fc2: candle_nn::linear(inner, llm_dim, vb.pp("fc2"))?,
                    fc3: Some(candle_nn::linear(llm_dim, llm_dim, vb.pp("fc3"))?),
                }
            }
        })
    }

    /// `[.., vision_dim]` → `[.., llm_dim]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.fc2.forward(&self.fc1.forward(x)?.gelu_erf()?)?;
        Ok(match &self.fc3 {
            Some(fc3) => fc3.forward(&h.gelu_erf()?)?,
            None => h,
        })
    }
}

/// Proprioception projector: `fc1 → GELU → fc2`, one token.
pub struct ProprioProjector {
    fc1: Linear,
    fc2: Linear,
}

impl ProprioProjector {
    /// Load `fc1`, `fc2` for a `proprio_dim` vector → `llm_dim`.
    pub fn load(vb: VarBuilder, proprio_dim: usize, llm_dim: usize) -> Result<Self> {
        Ok(Self {
            fc1: candle_nn::linear(proprio_dim, llm_dim, vb.pp("fc1"))?,
            fc2: candle_nn::linear(llm_dim, llm_dim, vb.pp("fc2"))?,
        })
    }

    /// `[B, proprio_dim]` (normalised) → `[B, 1, llm_dim]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self
            .fc2
            .forward(&self.fc1.forward(x)?.gelu_erf()?)?
            .unsqueeze(1)?)
    }
}

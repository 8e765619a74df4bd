//! How much a checkpoint's image tokens follow its images (`ddvla eval open-loop
//! --token-spread`): per camera, the spread of the camera's projected image tokens over the
//! scored frames and the distance of a flat grey frame's tokens, both relative to the mean
//! token block's norm. Tokens that barely move between frames, or sit as close to a grey frame
//! as to real ones, carry little of the scene for the backbone to act on.

use anyhow::{Result, ensure};
use candle_core::IndexOp;
use ddvla_policy::Policy;
use ddvla_policy::model::Prefix;
use ddvla_policy::observation::{CameraImage, Observation};
use serde::Serialize;

/// One camera's image tokens over the scored frames.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CameraTokenSpread {
    /// The camera's place in the model's image order (0: the first camera).
    pub camera: usize,
    /// Mean over frames of ‖tokens − mean tokens‖ / ‖mean tokens‖ (Frobenius norms over the
    /// camera's patch tokens).
    pub spread: f64,
    /// ‖grey-frame tokens − mean tokens‖ / ‖mean tokens‖: a frame of uniform mid-grey pixels.
    pub grey_distance: f64,
    /// ‖mean tokens‖ / √patches: the root-mean-square norm of one mean token, the scale the
    /// two shares are of (a spread shrinks as a share when the constant part grows, too).
    pub mean_token_norm: f64,
}

/// Collects each scored frame's image tokens.
pub struct TokenSpread {
    cameras: usize,
    patches: usize,
    /// Per camera, per frame: the camera's tokens flattened.
    tokens: Vec<Vec<Vec<f32>>>,
    grey: Option<Vec<Vec<f32>>>,
}

impl TokenSpread {
    /// For `policy`'s cameras and patch grid.
    pub fn new(policy: &Policy) -> Self {
        let cfg = policy.model().config();
        let cameras = cfg.file.num_images_in_input;
        Self {
            cameras,
            patches: cfg.patches_per_image,
            tokens: vec![Vec::new(); cameras],
            grey: None,
        }
    }

    /// Each camera's image tokens of an encoded observation, flattened (the prefix is BOS,
    /// then the image tokens camera by camera).
    fn image_tokens(&self, prefix: &Prefix) -> Result<Vec<Vec<f32>>> {
        let prefix = prefix.embeds.i(0)?;
        let rows = prefix.dims()[0];
        ensure!(
            rows > self.cameras * self.patches,
            "the prefix has {rows} tokens, fewer than its {} image tokens",
            self.cameras * self.patches
        );
        (0..self.cameras)
            .map(|c| {
                let block = prefix.narrow(0, 1 + c * self.patches, self.patches)?;
                Ok(block.flatten_all()?.to_vec1::<f32>()?)
            })
            .collect()
    }

    /// Add the tokens of one scored frame `obs`, encoded by `policy` as `prefix`; the first
    /// also gives the grey frame its proprio and instruction.
    pub fn add(&mut self, policy: &Policy, obs: &Observation, prefix: &Prefix) -> Result<()> {
        for (c, t) in self.image_tokens(prefix)?.into_iter().enumerate() {
            self.tokens[c].push(t);
        }
        if self.grey.is_none() {
            let grey = Observation {
                images: obs
                    .images
                    .iter()
                    .map(|i| CameraImage {
                        width: i.width,
                        height: i.height,
                        rgb: vec![128; i.rgb.len()],
                    })
                    .collect(),
                ..obs.clone()
            };
            self.grey = Some(self.image_tokens(&policy.encode(&grey)?)?);
        }
        Ok(())
    }

    /// The spread per camera (empty when no frame was added).
    pub fn finish(&self) -> Vec<CameraTokenSpread> {
        let Some(grey) = &self.grey else {
            return Vec::new();
        };
        self.tokens
            .iter()
            .zip(grey)
            .enumerate()
            .map(|(camera, (frames, grey))| {
                let n = frames.len() as f64;
                let mean: Vec<f64> = (0..grey.len())
                    .map(|i| frames.iter().map(|f| f64::from(f[i])).sum::<f64>() / n)
                    .collect();
                let norm = mean
                    .iter()
                    .map(|x| x * x)
                    .sum::<f64>()
                    .sqrt()
                    .max(f64::MIN_POSITIVE);
                let dist = |t: &[f32]| {
                    t.iter()
                        .zip(&mean)
                        .map(|(a, m)| (f64::from(*a) - m).powi(2))
                        .sum::<f64>()
                        .sqrt()
                        / norm
                };
                CameraTokenSpread {
                    camera,
                    mean_token_norm: norm / (self.patches.max(1) as f64).sqrt(),
                    spread: frames.iter().map(|f| dist(f)).sum::<f64>() / n,
                    grey_distance: dist(grey),
                }
            })
            .collect()
    }
}

//! Observations and their preprocessing into model inputs: size checks, optional centre
//! crop (DD-VLA evaluates with a 90%-area centre crop matching its random-crop training
//! augmentation), per-encoder mean/std normalisation, proprio q01/q99 normalisation.

use candle_core::{Device, Tensor};

use crate::model::{Config, ModelInputs};
use crate::stats::NormStats;
use crate::text::PromptTokenizer;
use crate::{PolicyError, Result};

/// One RGB camera frame, row-major HWC `u8`.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width * 3` bytes.
    pub rgb: Vec<u8>,
}

impl CameraImage {
    /// A frame of one colour (tests, benchmarks).
    pub fn filled(width: usize, height: usize, rgb: [u8; 3]) -> Self {
        Self {
            width,
            height,
            rgb: rgb
                .iter()
                .copied()
                .cycle()
                .take(width * height * 3)
                .collect(),
        }
    }

    fn at(&self, x: usize, y: usize, c: usize) -> f32 {
        f32::from(self.rgb[(y * self.width + x) * 3 + c])
    }
}

/// What the policy sees at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// One frame per camera, in the model's camera order (e.g. agentview, wrist).
    pub images: Vec<CameraImage>,
    /// Natural-language instruction.
    pub instruction: String,
    /// Proprioception in robot units (normalised here with the dataset statistics).
    pub proprio: Vec<f32>,
}

/// Bilinear sample of channel `c` at continuous pixel coordinates (half-pixel centres).
fn bilinear(img: &CameraImage, x: f32, y: f32, c: usize) -> f32 {
    let x = (x - 0.5).clamp(0.0, (img.width - 1) as f32);
    let y = (y - 0.5).clamp(0.0, (img.height - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(img.width - 1), (y0 + 1).min(img.height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = img.at(x0, y0, c) * (1.0 - fx) + img.at(x1, y0, c) * fx;
    let bottom = img.at(x0, y1, c) * (1.0 - fx) + img.at(x1, y1, c) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// `[3, side, side]` values in [0, 1], centre-cropped to `area` of the frame when given.
fn to_chw(img: &CameraImage, side: usize, area: Option<f32>) -> Vec<f32> {
    let mut out = vec![0.0_f32; 3 * side * side];
    match area {
        None => {
            for y in 0..side {
                for x in 0..side {
                    for c in 0..3 {
                        out[c * side * side + y * side + x] = img.at(x, y, c) / 255.0;
                    }
                }
            }
        }
        Some(a) => {
            let crop = side as f32 * a.sqrt();
            let off = (side as f32 - crop) / 2.0;
            let scale = crop / side as f32;
            for y in 0..side {
                for x in 0..side {
                    let sx = off + (x as f32 + 0.5) * scale;
                    let sy = off + (y as f32 + 0.5) * scale;
                    for c in 0..3 {
                        out[c * side * side + y * side + x] = bilinear(img, sx, sy, c) / 255.0;
                    }
                }
            }
        }
    }
    out
}

/// Check `obs` against the model and turn it into [`ModelInputs`].
pub fn prepare(
    cfg: &Config,
    obs: &Observation,
    proprio_stats: Option<&NormStats>,
    tokenizer: &PromptTokenizer,
    device: &Device,
) -> Result<ModelInputs> {
    let f = &cfg.file;
    let side = f.vision.image_size;
    if obs.images.len() != f.num_images_in_input {
        return Err(PolicyError::bad_input(
            "images",
            format!(
                "{} cameras given, the model takes {}",
                obs.images.len(),
                f.num_images_in_input
            ),
        ));
    }
    let mut raw = Vec::with_capacity(obs.images.len() * 3 * side * side);
    for (i, img) in obs.images.iter().enumerate() {
        if img.width != side || img.height != side || img.rgb.len() != side * side * 3 {
            return Err(PolicyError::bad_input(
                format!("camera {i} image"),
                format!(
                    "is {}x{} with {} bytes, expected {side}x{side} RGB ({} bytes)",
                    img.width,
                    img.height,
                    img.rgb.len(),
                    side * side * 3
                ),
            ));
        }
        raw.extend(to_chw(img, side, f.center_crop_area));
    }
    let cams = obs.images.len();
    let encoders = std::iter::once(&f.vision).chain(f.fused_vision.as_ref());
    let mut pixels = Vec::new();
    for enc in encoders {
        let plane = side * side;
        let normed: Vec<f32> = raw
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = (i / plane) % 3;
                (v - enc.image_mean[c]) / enc.image_std[c]
            })
            .collect();
        pixels.push(Tensor::from_vec(normed, (cams, 3, side, side), device)?);
    }
    let proprio = if f.use_proprio {
        if obs.proprio.len() != f.proprio_dim {
            return Err(PolicyError::bad_input(
                "proprio",
                format!(
                    "has {} values, the model takes {}",
                    obs.proprio.len(),
                    f.proprio_dim
                ),
            ));
        }
        if let Some(i) = obs.proprio.iter().position(|v| !v.is_finite()) {
            return Err(PolicyError::bad_input(
                "proprio",
                format!("value {i} is {}", obs.proprio[i]),
            ));
        }
        let mut proprio = obs.proprio.clone();
        if let Some(at) = f.proprio_axis_angle_at {
            crate::proprio_rotation::canonicalise_proprio(&mut proprio, at);
        }
        let normed = proprio_stats.map_or_else(|| proprio.clone(), |s| s.normalize(&proprio));
        Some(Tensor::from_vec(normed, (1, f.proprio_dim), device)?)
    } else {
        None
    };
    Ok(ModelInputs {
        pixels,
        proprio,
        prompt_ids: tokenizer.encode(&obs.instruction)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_crop_of_a_uniform_image_is_uniform_and_full_crop_is_identity() {
        let img = CameraImage::filled(8, 8, [255, 0, 51]);
        let v = to_chw(&img, 8, Some(0.9));
        assert!(v[..64].iter().all(|x| (x - 1.0).abs() < 1e-6));
        assert!(v[128..].iter().all(|x| (x - 0.2).abs() < 1e-6));
        let mut ramp = CameraImage::filled(4, 4, [0, 0, 0]);
        for (i, p) in ramp.rgb.iter_mut().enumerate() {
            *p = (i * 5) as u8;
        }
        assert_eq!(to_chw(&ramp, 4, Some(1.0)), to_chw(&ramp, 4, None));
    }
}

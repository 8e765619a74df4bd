//! DD-VLA / OpenVLA(-OFT) training image augmentation on [`CameraImage`] frames.
//!
//! The released training code (OpenVLA-OFT's dlimp `augment_image`, inherited by DD-VLA)
//! applies, per frame and in a FIXED order: a random crop of `scale = 0.9` of the area with
//! aspect ratio 1 resized back to the input size, then colour jitter — brightness (additive
//! `δ ∈ [−0.2, 0.2]`, TensorFlow `random_brightness`), contrast (factor in `[0.8, 1.2]` about
//! each channel's mean, `random_contrast`), saturation (HSV `S × [0.8, 1.2]`,
//! `random_saturation`) and hue (HSV `H + [−0.05, 0.05]` turns, `random_hue`) — clipping to
//! `[0, 1]` after each step. See `../shared/docs/ddvla-algorithm.md` §2.
//!
//! The crop box is continuous (relative coordinates, as TF's `crop_and_resize`) and the
//! resampling is the bilinear, half-pixel-centre sampling of the inference centre crop
//! ([`crate::model::ConfigFile::center_crop_area`] in [`crate::observation::prepare`]), so a
//! train-time crop of the same area placed at the centre equals the inference crop (up to
//! the final rounding to `u8`). Everything is computed in `f32` and rounded once.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::observation::CameraImage;

/// Augmentation settings; the defaults are DD-VLA's (OpenVLA-OFT `image_aug`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentConfig {
    /// Random crop covering this fraction of the area (aspect 1), resized back (`None`: no
    /// crop).
    pub crop_area: Option<f32>,
    /// Where the crop lies: anywhere in the frame (DD-VLA's random crop, the default), or at
    /// the centre, where the inference crop lies. At 128 px a 90% crop moves by up to ±3.3 px,
    /// about what a few centimetres move an object in the scene camera, so the random
    /// placement hides where the objects stand in the frame; the centred one keeps it.
    pub crop_position: CropPosition,
    /// Additive brightness shift drawn from `[−b, b]` (values in `[0, 1]`).
    pub brightness: f32,
    /// Contrast factor drawn from `[1 − c, 1 + c]`.
    pub contrast: f32,
    /// Saturation factor drawn from `[1 − s, 1 + s]`.
    pub saturation: f32,
    /// Hue shift drawn from `[−h, h]` turns.
    pub hue: f32,
}

/// Where [`AugmentConfig::crop_area`]'s crop lies in the frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CropPosition {
    /// Anywhere, uniformly (two draws per frame): DD-VLA / OpenVLA-OFT.
    #[default]
    Random,
    /// At the centre (no draw): every training frame framed as at inference.
    Centre,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            crop_area: Some(0.9),
            crop_position: CropPosition::Random,
            brightness: 0.2,
            contrast: 0.2,
            saturation: 0.2,
            hue: 0.05,
        }
    }
}

impl AugmentConfig {
    /// No augmentation: [`augment`] returns its input.
    pub fn identity() -> Self {
        Self {
            crop_area: None,
            crop_position: CropPosition::Random,
            brightness: 0.0,
            contrast: 0.0,
            saturation: 0.0,
            hue: 0.0,
        }
    }

    /// Check the ranges: crop area in `(0, 1]`, brightness/hue in `[0, 1]`,
    /// contrast/saturation in `[0, 1]` (factors stay non-negative).
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |field: &str, reason: &str| {
            Err(crate::PolicyError::config(
                format!("augment.{field}"),
                reason,
            ))
        };
        if let Some(a) = self.crop_area
            && !(a > 0.0 && a <= 1.0)
        {
            return bad("crop_area", "must be in (0, 1]");
        }
        for (name, v) in [
            ("brightness", self.brightness),
            ("contrast", self.contrast),
            ("saturation", self.saturation),
            ("hue", self.hue),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(name, "must be in [0, 1]");
            }
        }
        Ok(())
    }
}

/// An RGB image as `f32` values in `[0, 1]`, HWC.
struct Frame {
    width: usize,
    height: usize,
    px: Vec<f32>,
}

impl Frame {
    fn from_image(img: &CameraImage) -> Self {
        Self {
            width: img.width,
            height: img.height,
            px: img.rgb.iter().map(|&v| f32::from(v) / 255.0).collect(),
        }
    }

    fn to_image(&self) -> CameraImage {
        CameraImage {
            width: self.width,
            height: self.height,
            rgb: self
                .px
                .iter()
                .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
                .collect(),
        }
    }

    /// Bilinear sample of channel `c` at continuous coordinates (half-pixel centres), as the
    /// inference centre crop samples.
    fn bilinear(&self, x: f32, y: f32, c: usize) -> f32 {
        let at = |x: usize, y: usize| self.px[(y * self.width + x) * 3 + c];
        let x = (x - 0.5).clamp(0.0, (self.width - 1) as f32);
        let y = (y - 0.5).clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn crop_resize(&self, area: f32, offset: [f32; 2]) -> Self {
        let side = area.clamp(0.0, 1.0).sqrt();
        let (w, h) = (self.width as f32, self.height as f32);
        let (cw, ch) = (w * side, h * side);
        let ox = offset[0].clamp(0.0, 1.0) * (w - cw);
        let oy = offset[1].clamp(0.0, 1.0) * (h - ch);
        let mut px = Vec::with_capacity(self.px.len());
        for y in 0..self.height {
            let sy = oy + (y as f32 + 0.5) * side;
            for x in 0..self.width {
                let sx = ox + (x as f32 + 0.5) * side;
                px.extend((0..3).map(|c| self.bilinear(sx, sy, c)));
            }
        }
        Self { px, ..*self }
    }

    fn map_pixels(&mut self, f: impl Fn([f32; 3]) -> [f32; 3]) {
        for p in self.px.chunks_exact_mut(3) {
            let out = f([p[0], p[1], p[2]]);
            for (d, v) in p.iter_mut().zip(out) {
                *d = v.clamp(0.0, 1.0);
            }
        }
    }

    fn channel_means(&self) -> [f32; 3] {
        let mut sum = [0.0_f64; 3];
        for p in self.px.chunks_exact(3) {
            for (s, &v) in sum.iter_mut().zip(p) {
                *s += f64::from(v);
            }
        }
        let n = (self.px.len() / 3).max(1) as f64;
        sum.map(|s| (s / n) as f32)
    }
}

/// RGB in `[0, 1]` → HSV with hue in turns `[0, 1)`.
fn rgb_to_hsv([r, g, b]: [f32; 3]) -> [f32; 3] {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let s = if max > 0.0 { d / max } else { 0.0 };
    let h = if d <= 0.0 {
        0.0
    } else if (max - r).abs() <= f32::EPSILON * max {
        ((g - b) / d).rem_euclid(6.0) / 6.0
    } else if (max - g).abs() <= f32::EPSILON * max {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    [h, s, max]
}

/// HSV (hue in turns) → RGB.
fn hsv_to_rgb([h, s, v]: [f32; 3]) -> [f32; 3] {
    let h6 = h.rem_euclid(1.0) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h6 % 2.0) - 1.0).abs());
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r + m, g + m, b + m]
}

/// Crop `area` of `img` (aspect kept) at `offset` — fractions of the free margin, `[0.5, 0.5]`
/// is the centre — and resize it back to the input size (bilinear, half-pixel centres).
pub fn crop_resize(img: &CameraImage, area: f32, offset: [f32; 2]) -> CameraImage {
    if img.width == 0 || img.height == 0 {
        return img.clone();
    }
    Frame::from_image(img).crop_resize(area, offset).to_image()
}

/// Draw `[−m, m]`, or `0` without a draw when `m` is not positive.
fn symmetric(rng: &mut impl Rng, m: f32) -> f32 {
    if m > 0.0 {
        rng.random_range(-m..=m)
    } else {
        0.0
    }
}

/// Augment one frame (crop, brightness, contrast, saturation, hue, in that order), with the
/// random draws taken from `rng` (deterministic for a seeded RNG). A disabled step (`None`
/// crop, zero jitter) draws nothing. The output has the input's size. Out-of-range settings
/// are clamped; check them with [`AugmentConfig::validate`].
pub fn augment(img: &CameraImage, cfg: &AugmentConfig, rng: &mut impl Rng) -> CameraImage {
    if img.width == 0 || img.height == 0 || img.rgb.len() != img.width * img.height * 3 {
        return img.clone();
    }
    let mut f = Frame::from_image(img);
    if let Some(area) = cfg.crop_area {
        let offset: [f32; 2] = match cfg.crop_position {
            CropPosition::Random => [rng.random(), rng.random()],
            CropPosition::Centre => [0.5, 0.5],
        };
        f = f.crop_resize(area, offset);
    }
    let delta = symmetric(rng, cfg.brightness);
    if cfg.brightness > 0.0 {
        f.map_pixels(|p| p.map(|v| v + delta));
    }
    let factor = 1.0 + symmetric(rng, cfg.contrast);
    if cfg.contrast > 0.0 {
        let mean = f.channel_means();
        f.map_pixels(|p| [0, 1, 2].map(|c| (p[c] - mean[c]) * factor + mean[c]));
    }
    let factor = (1.0 + symmetric(rng, cfg.saturation)).max(0.0);
    if cfg.saturation > 0.0 {
        f.map_pixels(|p| {
            let [h, s, v] = rgb_to_hsv(p);
            hsv_to_rgb([h, (s * factor).clamp(0.0, 1.0), v])
        });
    }
    let shift = symmetric(rng, cfg.hue);
    if cfg.hue > 0.0 {
        f.map_pixels(|p| {
            let [h, s, v] = rgb_to_hsv(p);
            hsv_to_rgb([h + shift, s, v])
        });
    }
    f.to_image()
}

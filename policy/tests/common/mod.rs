//! Shared fixtures for the policy integration tests.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing
#![allow(dead_code)]

use candle_core::Device;
use ddvla_policy::Policy;
use ddvla_policy::model::{AttentionMode, Config, ConfigFile, presets};
use ddvla_policy::observation::{CameraImage, Observation};

pub fn tiny_config(mode: AttentionMode) -> Config {
    Config::new(ConfigFile {
        attention_mode: mode,
        ..presets::tiny()
    })
    .unwrap()
}

pub fn tiny_policy(mode: AttentionMode) -> Policy {
    Policy::random(tiny_config(mode), &Device::Cpu).unwrap()
}

/// A deterministic non-uniform frame.
pub fn frame(side: usize, seed: u8) -> CameraImage {
    let mut img = CameraImage::filled(side, side, [0, 0, 0]);
    for (i, p) in img.rgb.iter_mut().enumerate() {
        *p = ((i * 37 + usize::from(seed) * 11) % 251) as u8;
    }
    img
}

pub fn observation(cfg: &Config) -> Observation {
    let side = cfg.file.vision.image_size;
    Observation {
        images: (0..cfg.file.num_images_in_input)
            .map(|i| frame(side, i as u8))
            .collect(),
        instruction: "Pick up the black bowl and place it on the plate".to_owned(),
        proprio: (0..cfg.file.proprio_dim)
            .map(|i| 0.1 * i as f32 - 0.3)
            .collect(),
    }
}

/// Largest absolute element-wise difference.
pub fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

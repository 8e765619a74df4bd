//! Training image augmentation: sizes, identity, determinism, jitter directions, hue on grey,
//! and agreement of the train-time crop with the inference centre crop.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::model::{AttentionMode, Config, ConfigFile};
use ddvla_policy::observation::{CameraImage, prepare};
use ddvla_policy::text::PromptTokenizer;
use ddvla_policy::train::augment::{AugmentConfig, CropPosition, augment, crop_resize};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A smooth colourful test frame (non-square sizes allowed).
fn scene(width: usize, height: usize) -> CameraImage {
    let mut img = CameraImage::filled(width, height, [0, 0, 0]);
    for y in 0..height {
        for x in 0..width {
            let i = (y * width + x) * 3;
            img.rgb[i] = (40 + 3 * x).min(255) as u8;
            img.rgb[i + 1] = (200 - (2 * y).min(180)) as u8;
            img.rgb[i + 2] = (60 + (x + y) % 120) as u8;
        }
    }
    img
}

fn mean_std(img: &CameraImage) -> (f64, f64) {
    let n = img.rgb.len() as f64;
    let mean = img.rgb.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = img
        .rgb
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

fn only(f: impl FnOnce(&mut AugmentConfig)) -> AugmentConfig {
    let mut c = AugmentConfig::identity();
    f(&mut c);
    c
}

#[test]
fn defaults_are_the_papers() {
    let d = AugmentConfig::default();
    assert_eq!(d.crop_area, Some(0.9));
    assert!((d.brightness - 0.2).abs() < 1e-6 && (d.hue - 0.05).abs() < 1e-6);
    assert!((d.contrast - 0.2).abs() < 1e-6 && (d.saturation - 0.2).abs() < 1e-6);
    d.validate().unwrap();
    let parsed: AugmentConfig = serde_json::from_str(r#"{"hue": 0.0}"#).unwrap();
    assert_eq!(parsed.crop_area, Some(0.9));
    assert!(only(|c| c.crop_area = Some(0.0)).validate().is_err());
    assert!(only(|c| c.contrast = 1.5).validate().is_err());
}

#[test]
fn a_centred_crop_frames_every_sample_as_inference_does() {
    let img = scene(40, 40);
    let centred = only(|c| {
        c.crop_area = Some(0.9);
        c.crop_position = CropPosition::Centre;
    });
    let random = only(|c| c.crop_area = Some(0.9));
    let at_centre = crop_resize(&img, 0.9, [0.5, 0.5]);
    for seed in 0..4 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        assert_eq!(augment(&img, &centred, &mut rng), at_centre, "seed {seed}");
    }
    let moved = (0..4)
        .filter(|&seed| augment(&img, &random, &mut ChaCha8Rng::seed_from_u64(seed)) != at_centre);
    assert_eq!(moved.count(), 4, "the random crop lies elsewhere");
    let parsed: AugmentConfig = serde_json::from_str(r#"{"crop_position": "centre"}"#).unwrap();
    assert_eq!(parsed.crop_position, CropPosition::Centre);
    assert_eq!(AugmentConfig::default().crop_position, CropPosition::Random);
}

#[test]
fn output_has_the_input_size_and_is_deterministic_per_seed() {
    for (w, h) in [(32, 32), (40, 24)] {
        let img = scene(w, h);
        let run = |seed| {
            augment(
                &img,
                &AugmentConfig::default(),
                &mut ChaCha8Rng::seed_from_u64(seed),
            )
        };
        let a = run(1);
        assert_eq!((a.width, a.height, a.rgb.len()), (w, h, w * h * 3));
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        assert_ne!(a, img);
    }
}

#[test]
fn identity_config_returns_the_image() {
    let img = scene(24, 20);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert_eq!(augment(&img, &AugmentConfig::identity(), &mut rng), img);
    // A full-area crop samples the pixel centres exactly.
    assert_eq!(
        augment(&img, &only(|c| c.crop_area = Some(1.0)), &mut rng),
        img
    );
}

#[test]
fn brightness_and_contrast_move_mean_and_std_the_right_way() {
    let img = scene(32, 32);
    let (m0, s0) = mean_std(&img);
    let mut up = 0;
    let mut down = 0;
    for seed in 0..20 {
        // Brightness: the mean moves with the draw's sign, never further than 0.2·255.
        let b = augment(
            &img,
            &only(|c| c.brightness = 0.2),
            &mut ChaCha8Rng::seed_from_u64(seed),
        );
        let (m, _) = mean_std(&b);
        assert!((m - m0).abs() <= 0.2 * 255.0 + 1.0);
        if m > m0 + 1.0 {
            up += 1;
        } else if m < m0 - 1.0 {
            down += 1;
        }
        // Contrast: the std scales with the factor, the mean stays (no clipping here).
        let c = augment(
            &img,
            &only(|c| c.contrast = 0.2),
            &mut ChaCha8Rng::seed_from_u64(seed),
        );
        let (m, s) = mean_std(&c);
        assert!((m - m0).abs() < 1.0, "{m} vs {m0}");
        assert!(
            (0.8 * s0 - 1.0..=1.2 * s0 + 1.0).contains(&s),
            "{s} vs {s0}"
        );
    }
    assert!(up > 3 && down > 3, "{up} brighter, {down} darker");
}

#[test]
fn hue_and_saturation_keep_grey_pixels_grey() {
    let mut img = scene(16, 16);
    for p in img.rgb.chunks_exact_mut(3).step_by(2) {
        let g = p[0];
        p.copy_from_slice(&[g, g, g]);
    }
    for seed in 0..5 {
        let cfg = only(|c| {
            c.hue = 0.05;
            c.saturation = 0.2;
        });
        let out = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(seed));
        for (a, b) in img
            .rgb
            .chunks_exact(3)
            .zip(out.rgb.chunks_exact(3))
            .step_by(2)
        {
            assert_eq!(a, b, "grey pixel changed");
        }
        assert_ne!(out, img, "coloured pixels should change");
    }
    // A hue shift keeps value (max channel) and saturation of coloured pixels.
    let red = CameraImage::filled(4, 4, [200, 40, 40]);
    let out = augment(
        &red,
        &only(|c| c.hue = 0.05),
        &mut ChaCha8Rng::seed_from_u64(1),
    );
    let p = &out.rgb[..3];
    assert_eq!(*p.iter().max().unwrap(), 200);
    assert_eq!(*p.iter().min().unwrap(), 40);
}

/// A constant RNG: every `f32` draw is exactly 0.5 (the crop offset at the centre).
struct Half;

impl rand::RngCore for Half {
    fn next_u32(&mut self) -> u32 {
        0x8000_0000
    }
    fn next_u64(&mut self) -> u64 {
        0x8000_0000_0000_0000
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(0x80);
    }
}

#[test]
fn train_crop_at_the_centre_equals_the_inference_centre_crop() {
    let base = common::tiny_config(AttentionMode::Bidirectional);
    let side = base.file.vision.image_size;
    let with_crop = Config::new(ConfigFile {
        center_crop_area: Some(0.9),
        ..base.file.clone()
    })
    .unwrap();
    let mut obs = common::observation(&base);
    obs.images[0] = common::frame(side, 3);
    let pixels = |cfg: &Config, obs: &ddvla_policy::observation::Observation| {
        let p = prepare(
            cfg,
            obs,
            None,
            &PromptTokenizer::byte_level(cfg).unwrap(),
            &Device::Cpu,
        )
        .unwrap();
        p.pixels[0].flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    let reference = pixels(&with_crop, &obs);
    let crop_only = only(|c| c.crop_area = Some(0.9));
    let mut rng = Half;
    assert!((rand::Rng::random::<f32>(&mut rng) - 0.5).abs() < f32::EPSILON);
    for img in [
        augment(&obs.images[0], &crop_only, &mut Half),
        crop_resize(&obs.images[0], 0.9, [0.5, 0.5]),
    ] {
        let mut augmented = obs.clone();
        augmented.images[0] = img;
        let ours = pixels(&base, &augmented);
        let std = base
            .file
            .vision
            .image_std
            .iter()
            .copied()
            .fold(f32::MAX, f32::min);
        // Only the final rounding to u8 differs: ≤ 0.5/255 before normalisation.
        let tol = 0.5 / 255.0 / std + 1e-5;
        let d = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0_f32, f32::max);
        assert!(d <= tol, "max diff {d} > {tol}");
    }
    // An off-centre crop differs.
    let mut shifted = obs.clone();
    shifted.images[0] = crop_resize(&obs.images[0], 0.9, [0.0, 1.0]);
    let d = pixels(&base, &shifted)
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    assert!(d > 0.05, "{d}");
}

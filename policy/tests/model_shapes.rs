//! Model assembly: fused encoders, several cameras, prefix layout and the analytic
//! parameter count against the real weights.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::checkpoint;
use ddvla_policy::model::config::{ProjectorType, VisionConfig};
use ddvla_policy::model::{Config, ConfigFile, presets};
use ddvla_policy::text::PromptTokenizer;

fn fused_two_camera() -> Config {
    Config::new(ConfigFile {
        num_images_in_input: 2,
        fused_vision: Some(VisionConfig {
            hidden_size: 24,
            intermediate_size: 48,
            num_attention_heads: 3,
            num_hidden_layers: 3,
            feature_layer: 2,
            use_post_layernorm: false,
            ..VisionConfig::default()
        }),
        ..presets::tiny()
    })
    .unwrap()
}

#[test]
fn parameter_count_matches_the_weights() {
    let mut conv_stem = presets::tiny();
    conv_stem.vision.conv_stem_channels = vec![4, 6, 8];
    let conv_stem = Config::new(conv_stem).unwrap();
    for cfg in [
        presets::preset("tiny").unwrap(),
        fused_two_camera(),
        conv_stem,
    ] {
        let expected = cfg.parameter_count();
        let (_model, varmap) = checkpoint::random_model(cfg, &Device::Cpu).unwrap();
        let actual: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
        assert_eq!(actual, expected);
    }
}

#[test]
fn fused_encoders_and_cameras_lay_out_the_prefix() {
    let cfg = fused_two_camera();
    assert_eq!(cfg.projector_type, ProjectorType::FusedGeluMlp);
    assert_eq!(cfg.vision_feature_dim, 32 + 24);
    assert_eq!(cfg.vision_tokens(), 2 * 16 + 1);
    let obs = common::observation(&cfg);
    let prompt = PromptTokenizer::byte_level(&cfg)
        .unwrap()
        .encode(&obs.instruction)
        .unwrap();
    let policy = ddvla_policy::Policy::random(cfg, &Device::Cpu).unwrap();
    let prefix = policy.encode(&obs).unwrap();
    assert_eq!(prefix.len, 1 + 2 * 16 + 1 + prompt.len());
    assert_eq!(prefix.embeds.dims(), &[1, prefix.len, 64]);
    // Swapping the cameras changes the prefix (each camera has its own tokens).
    let mut swapped = obs.clone();
    swapped.images.swap(0, 1);
    let other = policy.encode(&swapped).unwrap();
    assert!(common::max_abs_diff(&prefix.embeds, &other.embeds) > 1e-4);
}

/// A convolutional branch must land on the patch grid: one stride-2 convolution per halving
/// of a power-of-two patch, each with 1..=4096 channels; otherwise a config error names the
/// field.
#[test]
fn conv_stem_channels_are_validated() {
    let with = |patch: usize, image: usize, channels: Vec<usize>| {
        let mut file = presets::tiny();
        file.vision.patch_size = patch;
        file.vision.image_size = image;
        file.vision.conv_stem_channels = channels;
        Config::new(file)
    };
    assert!(with(8, 32, vec![4, 6, 8]).is_ok());
    assert!(with(16, 32, vec![4, 6, 8, 8]).is_ok());
    for (patch, image, channels, says) in [
        (8, 32, vec![4, 8], "do not reach"),
        (8, 32, vec![4, 6, 8, 8], "do not reach"),
        (12, 36, vec![4, 8], "power-of-two"),
        (8, 32, vec![4, 0, 8], "1..=4096"),
    ] {
        let err = with(patch, image, channels.clone())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vision.conv_stem_channels") && err.contains(says),
            "{patch} px, {channels:?}: {err}"
        );
    }
}

//! Named model presets.
//!
//! `tiny`, `compact`, `small` and `base` use the byte-level tokenizer of [`crate::text`] (ids 0–2
//! specials, 3–258 bytes), action tokens 259–514, `[MASK]` 515, pad 516, 520 embedding rows.
//! `openvla-7b` has the Prismatic-7B shapes (DINOv2 ViT-L/14 + SigLIP So400m/14 fused, Llama-2
//! 7B, vocab 32064) from `openvla/openvla-7b`'s `config.json`; it is for random-weight GPU
//! benchmarks only (the DINOv2 branch is approximated by a SigLIP-layout encoder of the same size).

use super::config::{
    ActionConfig, AttentionMode, Config, ConfigFile, ProjectorType, SpecialTokens, TextConfig,
    VisionActivation, VisionConfig,
};
use crate::{PolicyError, Result};

/// Names accepted by [`preset`].
pub const PRESET_NAMES: [&str; 5] = ["tiny", "compact", "small", "base", "openvla-7b"];

/// The preset called `name`.
pub fn preset(name: &str) -> Result<Config> {
    let file = match name {
        "tiny" => tiny(),
        "compact" => compact(),
        "small" => small(),
        "base" => base(),
        "openvla-7b" => openvla_7b(),
        other => {
            return Err(PolicyError::config(
                "preset",
                format!(
                    "unknown preset {other:?}; known: {}",
                    PRESET_NAMES.join(", ")
                ),
            ));
        }
    };
    Config::new(file)
}

fn byte_vocab_file(text: TextConfig, vision: VisionConfig, cameras: usize) -> ConfigFile {
    ConfigFile {
        text,
        vision,
        num_images_in_input: cameras,
        max_prompt_tokens: 160,
        ..ConfigFile::default()
    }
}

/// Unit-test size: 1 camera 32×32, 2+2 layers, width 64.
pub fn tiny() -> ConfigFile {
    ConfigFile {
        max_prompt_tokens: 160,
        ..ConfigFile::default()
    }
}

/// Sized for training from scratch on a 2-core CPU (~5M parameters, vision towers trained
/// too): two 128×128 cameras (64 patches each, as `small`), a 4-layer ViT of width 192, a
/// 4-layer backbone of width 256, and the bare instruction as the prompt (the byte-level
/// prompt is a large share of the sequence; OpenVLA's template adds 57 bytes of constant
/// text).
pub fn compact() -> ConfigFile {
    ConfigFile {
        prompt_template: "{instruction}".to_owned(),
        ..byte_vocab_file(
            TextConfig {
                hidden_size: 256,
                intermediate_size: 768,
                num_hidden_layers: 4,
                num_attention_heads: 4,
                num_key_value_heads: 2,
                max_position_embeddings: 512,
                ..TextConfig::default()
            },
            VisionConfig {
                image_size: 128,
                patch_size: 16,
                hidden_size: 192,
                intermediate_size: 768,
                num_hidden_layers: 4,
                num_attention_heads: 3,
                feature_layer: 4,
                ..VisionConfig::default()
            },
            2,
        )
    }
}

/// CPU-trainable (~15M parameters): two 128×128 cameras, 6-layer ViT, 6-layer backbone.
pub fn small() -> ConfigFile {
    byte_vocab_file(
        TextConfig {
            hidden_size: 384,
            intermediate_size: 1024,
            num_hidden_layers: 6,
            num_attention_heads: 6,
            num_key_value_heads: 2,
            max_position_embeddings: 512,
            ..TextConfig::default()
        },
        VisionConfig {
            image_size: 128,
            patch_size: 16,
            hidden_size: 256,
            intermediate_size: 1024,
            num_hidden_layers: 6,
            num_attention_heads: 4,
            feature_layer: 6,
            ..VisionConfig::default()
        },
        2,
    )
}

/// CPU benchmark size (~100M parameters, weights do not fit in cache): two 224×224 cameras
/// with 14-pixel patches (512 image tokens, as OpenVLA), 12-layer backbone of width 768.
pub fn base() -> ConfigFile {
    byte_vocab_file(
        TextConfig {
            hidden_size: 768,
            intermediate_size: 2304,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_key_value_heads: 4,
            max_position_embeddings: 1024,
            ..TextConfig::default()
        },
        VisionConfig {
            image_size: 224,
            patch_size: 14,
            hidden_size: 384,
            intermediate_size: 1536,
            num_hidden_layers: 12,
            num_attention_heads: 6,
            feature_layer: 11,
            use_post_layernorm: false,
            ..VisionConfig::default()
        },
        2,
    )
}

/// Prismatic-7B / OpenVLA-7B shapes (LIBERO setting: two cameras, proprio, 8×7 chunk).
pub fn openvla_7b() -> ConfigFile {
    ConfigFile {
        model_type: "ddvla".to_owned(),
        text: TextConfig {
            vocab_size: 32064,
            hidden_size: 4096,
            intermediate_size: 11008,
            num_hidden_layers: 32,
            num_attention_heads: 32,
            num_key_value_heads: 32,
            rms_norm_eps: 1e-6,
            rope_theta: 10_000.0,
            max_position_embeddings: 2048,
        },
        // DINOv2 ViT-L/14 (reg4) shapes; features from the second-to-last block.
        vision: VisionConfig {
            image_size: 224,
            patch_size: 14,
            hidden_size: 1024,
            intermediate_size: 4096,
            num_hidden_layers: 24,
            num_attention_heads: 16,
            layer_norm_eps: 1e-6,
            hidden_act: VisionActivation::Gelu,
            feature_layer: 23,
            use_post_layernorm: false,
            image_mean: [0.485, 0.456, 0.406],
            image_std: [0.229, 0.224, 0.225],
            conv_stem_channels: Vec::new(),
        },
        // SigLIP So400m/14 at 224.
        fused_vision: Some(VisionConfig {
            image_size: 224,
            patch_size: 14,
            hidden_size: 1152,
            intermediate_size: 4304,
            num_hidden_layers: 27,
            num_attention_heads: 16,
            layer_norm_eps: 1e-6,
            hidden_act: VisionActivation::GeluTanh,
            feature_layer: 26,
            use_post_layernorm: false,
            image_mean: [0.5; 3],
            image_std: [0.5; 3],
            conv_stem_channels: Vec::new(),
        }),
        num_images_in_input: 2,
        projector_type: Some(ProjectorType::FusedGeluMlp),
        use_proprio: true,
        proprio_dim: 8,
        episode_step_input: false,
        proprio_axis_angle_at: None,
        skill_prompt: None,
        action_position_target: None,
        attention_mode: AttentionMode::Bidirectional,
        logit_shift: true,
        append_stop_token: true,
        max_prompt_tokens: 64,
        prompt_template: "In: What action should the robot take to {instruction}?\nOut:".to_owned(),
        center_crop_area: Some(0.9),
        action: ActionConfig {
            chunk_len: 8,
            action_dim: 7,
            n_bins: 256,
            vocab_end: 32000,
        },
        tokens: SpecialTokens {
            bos_token_id: 1,
            stop_token_id: 2,
            mask_token_id: 32001,
            pad_token_id: 32000,
            prompt_trailing_token_id: Some(29871),
        },
        decoder: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_have_the_documented_sizes() {
        let params = |n: &str| preset(n).unwrap().parameter_count();
        assert!(params("tiny") < 1_000_000);
        let compact = params("compact");
        assert!(
            (3_000_000..=8_000_000).contains(&compact),
            "compact = {compact}"
        );
        let small = params("small");
        assert!(
            (10_000_000..=30_000_000).contains(&small),
            "small = {small}"
        );
        let base = params("base");
        assert!((100_000_000..=150_000_000).contains(&base), "base = {base}");
        let big = params("openvla-7b");
        assert!(
            (7_000_000_000..8_000_000_000).contains(&big),
            "openvla-7b = {big}"
        );
        let c = preset("openvla-7b").unwrap();
        assert_eq!(c.vision_tokens(), 513, "256 patches × 2 cameras + proprio");
        assert_eq!(c.action_token_begin, 31744);
        assert_eq!(c.vision_feature_dim, 2176);
        assert!(preset("huge").is_err());
    }
}

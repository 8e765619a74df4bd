//! Validation of [`ConfigFile`] and the analytic parameter count.

use super::config::{Config, ConfigFile, ProjectorType, VisionConfig};
use crate::{PolicyError, Result};

fn require(ok: bool, field: &str, reason: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(PolicyError::config(field, reason()))
    }
}

fn validate_vision(v: &VisionConfig, name: &str) -> Result<()> {
    for (field, value) in [
        ("image_size", v.image_size),
        ("patch_size", v.patch_size),
        ("hidden_size", v.hidden_size),
        ("intermediate_size", v.intermediate_size),
        ("num_hidden_layers", v.num_hidden_layers),
        ("num_attention_heads", v.num_attention_heads),
    ] {
        require(value > 0, &format!("{name}.{field}"), || {
            "must be > 0".into()
        })?;
    }
    require(
        v.image_size.is_multiple_of(v.patch_size),
        &format!("{name}.image_size"),
        || {
            format!(
                "{} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            )
        },
    )?;
    require(
        v.hidden_size.is_multiple_of(v.num_attention_heads),
        &format!("{name}.hidden_size"),
        || {
            format!(
                "{} is not divisible by num_attention_heads {}",
                v.hidden_size, v.num_attention_heads
            )
        },
    )?;
    require(
        (1..=v.num_hidden_layers).contains(&v.feature_layer),
        &format!("{name}.feature_layer"),
        || format!("{} must be in 1..={}", v.feature_layer, v.num_hidden_layers),
    )?;
    require(
        !v.use_post_layernorm || v.feature_layer == v.num_hidden_layers,
        &format!("{name}.use_post_layernorm"),
        || "only applies when feature_layer is the last layer".into(),
    )?;
    require(
        v.layer_norm_eps > 0.0,
        &format!("{name}.layer_norm_eps"),
        || "must be > 0".into(),
    )?;
    require(
        v.image_std.iter().all(|s| *s > 0.0 && s.is_finite())
            && v.image_mean.iter().all(|m| m.is_finite()),
        &format!("{name}.image_std"),
        || "mean must be finite and std > 0".into(),
    )?;
    validate_conv_stem(v, name)
}

/// The convolutional branch halves the image once per entry, so it lands on the patch grid
/// only with `log2(patch_size)` entries (a power-of-two patch).
fn validate_conv_stem(v: &VisionConfig, name: &str) -> Result<()> {
    let c = &v.conv_stem_channels;
    if c.is_empty() {
        return Ok(());
    }
    let field = format!("{name}.conv_stem_channels");
    require(v.patch_size.is_power_of_two(), &field, || {
        format!(
            "needs a power-of-two patch_size to land on the patch grid, not {}",
            v.patch_size
        )
    })?;
    let halvings = v.patch_size.trailing_zeros() as usize;
    require(c.len() == halvings, &field, || {
        format!(
            "{} stride-2 convolutions do not reach the {}-pixel patch grid: give {halvings}",
            c.len(),
            v.patch_size
        )
    })?;
    require(c.iter().all(|&n| (1..=4096).contains(&n)), &field, || {
        format!("{c:?}: every entry must be in 1..=4096 channels")
    })
}

fn validate_text(f: &ConfigFile) -> Result<()> {
    require(f.model_type == "ddvla", "model_type", || {
        format!("is {:?}, expected \"ddvla\"", f.model_type)
    })?;
    let t = &f.text;
    for (field, value) in [
        ("text.vocab_size", t.vocab_size),
        ("text.hidden_size", t.hidden_size),
        ("text.intermediate_size", t.intermediate_size),
        ("text.num_hidden_layers", t.num_hidden_layers),
        ("text.num_attention_heads", t.num_attention_heads),
        ("text.num_key_value_heads", t.num_key_value_heads),
        ("num_images_in_input", f.num_images_in_input),
        ("max_prompt_tokens", f.max_prompt_tokens),
        ("action.chunk_len", f.action.chunk_len),
        ("action.action_dim", f.action.action_dim),
    ] {
        require(value > 0, field, || "must be > 0".into())?;
    }
    require(
        t.hidden_size.is_multiple_of(t.num_attention_heads),
        "text.hidden_size",
        || {
            format!(
                "{} is not divisible by num_attention_heads {}",
                t.hidden_size, t.num_attention_heads
            )
        },
    )?;
    require(
        (t.hidden_size / t.num_attention_heads).is_multiple_of(2),
        "text.hidden_size",
        || "head_dim must be even for RoPE".into(),
    )?;
    require(
        t.num_attention_heads.is_multiple_of(t.num_key_value_heads),
        "text.num_key_value_heads",
        || {
            format!(
                "{} does not divide num_attention_heads {}",
                t.num_key_value_heads, t.num_attention_heads
            )
        },
    )?;
    require(t.rms_norm_eps > 0.0, "text.rms_norm_eps", || {
        "must be > 0".into()
    })?;
    require(t.rope_theta > 0.0, "text.rope_theta", || {
        "must be > 0".into()
    })?;
    Ok(())
}

/// Check every invariant the model code relies on; the error names the field.
pub(crate) fn validate(f: &ConfigFile) -> Result<()> {
    validate_text(f)?;
    validate_vision(&f.vision, "vision")?;
    if let Some(fv) = &f.fused_vision {
        validate_vision(fv, "fused_vision")?;
        require(
            fv.image_size == f.vision.image_size && fv.patch_size == f.vision.patch_size,
            "fused_vision.patch_size",
            || "fused encoders must share image_size and patch_size (same patch grid)".into(),
        )?;
    }
    if f.projector_type == Some(ProjectorType::FusedGeluMlp) {
        require(f.fused_vision.is_some(), "projector_type", || {
            "fused-gelu-mlp needs fused_vision".into()
        })?;
    }
    require(!f.use_proprio || f.proprio_dim > 0, "proprio_dim", || {
        "must be > 0 when use_proprio".into()
    })?;
    require(
        !f.episode_step_input || (f.use_proprio && f.proprio_dim >= 2),
        "episode_step_input",
        || "needs use_proprio and proprio_dim >= 2 (the robot's values, then the step)".into(),
    )?;
    if let Some(i) = f.proprio_axis_angle_at {
        let robot = f
            .proprio_dim
            .saturating_sub(usize::from(f.episode_step_input));
        require(
            f.use_proprio && i + 3 <= robot,
            "proprio_axis_angle_at",
            || {
                format!(
                    "values {i}..{} must be robot proprio values (there are {robot})",
                    i + 3
                )
            },
        )?;
    }
    if let Some(s) = &f.skill_prompt {
        s.validate(f.action.action_dim)?;
    }
    if let Some(t) = &f.action_position_target {
        let robot = f
            .proprio_dim
            .saturating_sub(usize::from(f.episode_step_input));
        t.validate(robot, f.action.action_dim)?;
    }
    validate_action_and_tokens(f)
}

fn validate_action_and_tokens(f: &ConfigFile) -> Result<()> {
    let t = &f.text;
    let a = &f.action;
    require(a.n_bins >= 3, "action.n_bins", || {
        "needs at least 3 bin edges".into()
    })?;
    require(
        a.vocab_end as usize >= a.n_bins && a.vocab_end as usize <= t.vocab_size,
        "action.vocab_end",
        || {
            format!(
                "{} must be in n_bins..=text.vocab_size ({}..={})",
                a.vocab_end, a.n_bins, t.vocab_size
            )
        },
    )?;
    let begin = a.vocab_end - a.n_bins as u32;
    let tok = &f.tokens;
    for (field, id) in [
        ("tokens.bos_token_id", tok.bos_token_id),
        ("tokens.stop_token_id", tok.stop_token_id),
        ("tokens.mask_token_id", tok.mask_token_id),
        ("tokens.pad_token_id", tok.pad_token_id),
    ] {
        require((id as usize) < t.vocab_size, field, || {
            format!("{id} is outside the vocabulary (size {})", t.vocab_size)
        })?;
        require(!(begin..a.vocab_end).contains(&id), field, || {
            format!(
                "{id} collides with the action tokens {begin}..{}",
                a.vocab_end
            )
        })?;
    }
    require(
        f.prompt_template.contains("{instruction}"),
        "prompt_template",
        || "must contain {instruction}".into(),
    )?;
    if let Some(c) = f.center_crop_area {
        require(c > 0.0 && c <= 1.0, "center_crop_area", || {
            format!("{c} must be in (0, 1]")
        })?;
    }
    let grid = f.vision.image_size / f.vision.patch_size;
    let longest = 1
        + grid * grid * f.num_images_in_input
        + usize::from(f.use_proprio)
        + f.max_prompt_tokens
        + a.chunk_len * a.action_dim
        + 1;
    require(
        longest <= t.max_position_embeddings,
        "text.max_position_embeddings",
        || {
            format!(
                "{} is shorter than the longest sequence ({longest} tokens)",
                t.max_position_embeddings
            )
        },
    )
}

fn vision_params(v: &VisionConfig) -> usize {
    let d = v.hidden_size;
    let n = (v.image_size / v.patch_size).pow(2);
    let patch = 3 * v.patch_size * v.patch_size * d + d + n * d;
    let block = 4 * (d * d + d)
        + 4 * d
        + (d * v.intermediate_size + v.intermediate_size)
        + (v.intermediate_size * d + d);
    patch
        + super::conv_stem::parameter_count(v)
        + v.feature_layer * block
        + if v.use_post_layernorm { 2 * d } else { 0 }
}

pub(crate) fn parameter_count(c: &Config) -> usize {
    let f = &c.file;
    let t = &f.text;
    let d = t.hidden_size;
    let hd = c.head_dim;
    let attn = d * t.num_attention_heads * hd * 2 + 2 * d * t.num_key_value_heads * hd;
    let block = attn + 3 * d * t.intermediate_size + 2 * d;
    let text = 2 * t.vocab_size * d + t.num_hidden_layers * block + d;
    let vision = vision_params(&f.vision) + f.fused_vision.as_ref().map_or(0, vision_params);
    let fd = c.vision_feature_dim;
    let projector = match c.projector_type {
        ProjectorType::GeluMlp => fd * d + d + d * d + d,
        ProjectorType::FusedGeluMlp => fd * 4 * fd + 4 * fd + 4 * fd * d + d + d * d + d,
    };
    let proprio = if f.use_proprio {
        f.proprio_dim * d + d + d * d + d
    } else {
        0
    };
    text + vision + projector + proprio
}

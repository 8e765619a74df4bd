//! Model configuration in three steps (candle style): [`ConfigFile`], a serde mirror of the
//! checkpoint's HF-style `config.json`; [`Config`], the validated runtime configuration with
//! derived sizes; and named presets (see `presets.rs`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::decode::DecoderKind;
use crate::error::io_at;
use crate::{PolicyError, Result};

/// Language backbone (Llama-style) hyper-parameters, HF `LlamaConfig` names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextConfig {
    /// Rows of the embedding matrix and of `lm_head`.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// SwiGLU inner width.
    pub intermediate_size: usize,
    /// Number of decoder blocks.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention when smaller than the query heads).
    pub num_key_value_heads: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f64,
    /// Longest sequence the RoPE tables cover.
    pub max_position_embeddings: usize,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            vocab_size: 520,
            hidden_size: 64,
            intermediate_size: 128,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            max_position_embeddings: 1024,
        }
    }
}

/// Activation of the vision MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VisionActivation {
    /// tanh-approximated GELU (SigLIP's `gelu_pytorch_tanh`).
    #[default]
    #[serde(rename = "gelu_pytorch_tanh")]
    GeluTanh,
    /// Exact (erf) GELU.
    #[serde(rename = "gelu")]
    Gelu,
}

/// One ViT encoder (SigLIP layout: patch embedding, learned positions, pre-norm blocks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisionConfig {
    /// Square input side in pixels.
    pub image_size: usize,
    /// Square patch side in pixels.
    pub patch_size: usize,
    /// Encoder width.
    pub hidden_size: usize,
    /// MLP inner width.
    pub intermediate_size: usize,
    /// Blocks in the checkpoint's encoder.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// MLP activation.
    pub hidden_act: VisionActivation,
    /// Which hidden state is the feature: `k` = output of block `k-1` (HF `hidden_states[k]`);
    /// Prismatic uses the second-to-last block, `num_hidden_layers - 1`.
    pub feature_layer: usize,
    /// Apply `post_layernorm` (only meaningful when `feature_layer == num_hidden_layers`).
    pub use_post_layernorm: bool,
    /// Per-channel mean subtracted from `[0, 1]` pixels.
    pub image_mean: [f32; 3],
    /// Per-channel standard deviation.
    pub image_std: [f32; 3],
    /// Output channels of the convolutional branch beside the patch embedding, one 3×3
    /// stride-2 convolution per entry (`log2(patch_size)` of them, so the branch lands on the
    /// patch grid); empty (the default, not written) for none. See [`super::conv_stem`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conv_stem_channels: Vec<usize>,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            image_size: 32,
            patch_size: 8,
            hidden_size: 32,
            intermediate_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            layer_norm_eps: 1e-6,
            hidden_act: VisionActivation::GeluTanh,
            feature_layer: 2,
            use_post_layernorm: true,
            image_mean: [0.5; 3],
            image_std: [0.5; 3],
            conv_stem_channels: Vec::new(),
        }
    }
}

/// Action chunk layout and binning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionConfig {
    /// Actions per chunk (H).
    pub chunk_len: usize,
    /// Dimensions per action (D).
    pub action_dim: usize,
    /// Bin edges = action vocabulary size (256 in OpenVLA).
    pub n_bins: usize,
    /// One past the last action token id (32000 in OpenVLA): action ids are
    /// `[vocab_end - n_bins, vocab_end)`.
    pub vocab_end: u32,
}

impl Default for ActionConfig {
    fn default() -> Self {
        Self {
            chunk_len: 8,
            action_dim: 7,
            n_bins: 256,
            vocab_end: 515,
        }
    }
}

/// Special token ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpecialTokens {
    /// Beginning of sequence.
    pub bos_token_id: u32,
    /// `</s>`, appended after the action slots (its label is supervised in training).
    pub stop_token_id: u32,
    /// `[MASK]`, the absorbing state of the diffusion.
    pub mask_token_id: u32,
    /// Padding.
    pub pad_token_id: u32,
    /// Token appended to the prompt when the tokenizer did not end with it (29871, `▁`,
    /// for the Llama tokenizer); `None` for tokenizers without that quirk.
    pub prompt_trailing_token_id: Option<u32>,
}

impl Default for SpecialTokens {
    fn default() -> Self {
        Self {
            bos_token_id: 1,
            stop_token_id: 2,
            mask_token_id: 515,
            pad_token_id: 516,
            prompt_trailing_token_id: None,
        }
    }
}

/// Which tokens may attend to which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionMode {
    /// Full attention over the whole sequence (the released DD-VLA model).
    #[default]
    Bidirectional,
    /// Prefix tokens see only the prefix; action slots see everything. The prefix KV is exact
    /// to cache across decoding rounds.
    Prefix,
    /// Lower-triangular (the autoregressive OpenVLA baseline).
    Causal,
}

/// How vision features are projected into the language width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProjectorType {
    /// `fc1 → GELU → fc2` (Prismatic, single encoder).
    GeluMlp,
    /// `fc1 (×4) → GELU → fc2 → GELU → fc3` (Prismatic, fused DINOv2 + SigLIP).
    FusedGeluMlp,
}

/// Serde mirror of `config.json`. Unknown keys are rejected so a typo is an error, not a
/// silently ignored setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each flag is one `config.json` key, independent of the others"
)]
pub struct ConfigFile {
    /// Always `"ddvla"`.
    pub model_type: String,
    /// Language backbone.
    pub text: TextConfig,
    /// First (or only) vision encoder.
    pub vision: VisionConfig,
    /// Optional second encoder fused by channel concatenation (Prismatic DINOv2 + SigLIP).
    pub fused_vision: Option<VisionConfig>,
    /// Cameras per observation; their patch tokens are concatenated in order.
    pub num_images_in_input: usize,
    /// Projector layout; defaults to fused when `fused_vision` is set.
    pub projector_type: Option<ProjectorType>,
    /// Append one proprioception token after the image tokens.
    pub use_proprio: bool,
    /// Proprioception vector length (with the episode step when `episode_step_input`).
    pub proprio_dim: usize,
    /// The last of the `proprio_dim` proprio values is the episode step: control steps since
    /// the episode (its instruction) began, 0 at the first policy step, normalised by the
    /// proprio statistics like the rest. The caller appends it (evaluation from its step
    /// counter, `ddvla serve` from the ticks since the instruction, training from the
    /// demonstration's step index). It tells a multi-stage task's phases apart where the
    /// images barely differ (a drawer just closed, a knob just turned).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub episode_step_input: bool,
    /// Proprio values `i..i + 3` are an axis-angle orientation (LIBERO's end-effector
    /// `quat2axisangle`), given to the model in one hemisphere ([`crate::proprio_rotation`]):
    /// a gripper pointing down is a rotation of about π, where the raw vector flips between
    /// `+π·n` and `−π·n` at a hair's change of pose, and a model trained on the raw values
    /// reads the flip as a task phase. `None`: the values as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proprio_axis_angle_at: Option<usize>,
    /// The instruction names the part of a multi-step task the robot is in, counted from its
    /// executed gripper commands ([`crate::skill_prompt`]); the caller composes it (training
    /// from the recorded actions, `ddvla eval` and `ddvla serve` from what they executed).
    /// `None`: the instruction as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_prompt: Option<crate::skill_prompt::SkillPromptConfig>,
    /// Action values `0..3` are a target position for the end effector (metres, the frame
    /// of the proprio's position), turned into the delta to execute at each step from the
    /// position measured then ([`crate::position_target`]); training relabels the recorded
    /// deltas. `None`: the actions are the deltas themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_position_target: Option<crate::position_target::PositionTarget>,
    /// Attention mode of the diffusion decoder.
    pub attention_mode: AttentionMode,
    /// Read the logits of action slot `j` from position `j - 1` (the released code's HF
    /// causal-LM shift). `false` reads slot `j` from its own position.
    pub logit_shift: bool,
    /// Append the STOP token after the action slots (released code: yes).
    pub append_stop_token: bool,
    /// Longest accepted prompt in tokens (after templating).
    pub max_prompt_tokens: usize,
    /// Prompt template; `{instruction}` is replaced by the lower-cased instruction.
    pub prompt_template: String,
    /// Centre crop keeping this fraction of the image area, resized back (0.9 in DD-VLA,
    /// matching the random-crop augmentation); `None` disables it.
    pub center_crop_area: Option<f32>,
    /// Action chunk layout.
    pub action: ActionConfig,
    /// Special token ids.
    pub tokens: SpecialTokens,
    /// The decoder the weights were trained for, written by `ddvla train` from its objective
    /// (DD-VLA's → `diffusion`, autoregressive → `ar`, parallel → `parallel`); commands that
    /// take `--decoder` default to it. Absent (checkpoints from before it was recorded, random
    /// weights): `diffusion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder: Option<DecoderKind>,
}

impl Default for ConfigFile {
    fn default() -> Self {
        Self {
            model_type: "ddvla".to_owned(),
            text: TextConfig::default(),
            vision: VisionConfig::default(),
            fused_vision: None,
            num_images_in_input: 1,
            projector_type: None,
            use_proprio: true,
            proprio_dim: 8,
            episode_step_input: false,
            proprio_axis_angle_at: None,
            skill_prompt: None,
            action_position_target: None,
            attention_mode: AttentionMode::Bidirectional,
            logit_shift: true,
            append_stop_token: true,
            max_prompt_tokens: 96,
            prompt_template: "In: What action should the robot take to {instruction}?\nOut:"
                .to_owned(),
            center_crop_area: None,
            action: ActionConfig::default(),
            tokens: SpecialTokens::default(),
            decoder: None,
        }
    }
}

impl ConfigFile {
    /// Parse `config.json`; errors name the file, key, line and column.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_at(path))?;
        serde_json::from_str(&text).map_err(|source| PolicyError::Json {
            path: path.to_owned(),
            source,
        })
    }

    /// Write `config.json` (pretty-printed).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|source| PolicyError::Json {
            path: path.to_owned(),
            source,
        })?;
        std::fs::write(path, text).map_err(io_at(path))
    }
}

/// The validated runtime configuration with derived sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from (validated).
    pub file: ConfigFile,
    /// Projector layout after defaulting.
    pub projector_type: ProjectorType,
    /// Per-head width of the backbone.
    pub head_dim: usize,
    /// Patch tokens per camera.
    pub patches_per_image: usize,
    /// Width of the (fused) vision features.
    pub vision_feature_dim: usize,
    /// First action token id (`vocab_end - n_bins`).
    pub action_token_begin: u32,
    /// Action tokens per chunk (`chunk_len * action_dim`).
    pub action_tokens: usize,
}

impl Config {
    /// Validate a [`ConfigFile`].
    pub fn new(file: ConfigFile) -> Result<Self> {
        super::validate::validate(&file)?;
        let t = &file.text;
        let v = &file.vision;
        let projector_type = file
            .projector_type
            .unwrap_or(if file.fused_vision.is_some() {
                ProjectorType::FusedGeluMlp
            } else {
                ProjectorType::GeluMlp
            });
        let grid = v.image_size / v.patch_size;
        Ok(Self {
            projector_type,
            head_dim: t.hidden_size / t.num_attention_heads,
            patches_per_image: grid * grid,
            vision_feature_dim: v.hidden_size
                + file.fused_vision.as_ref().map_or(0, |f| f.hidden_size),
            action_token_begin: file.action.vocab_end - file.action.n_bins as u32,
            action_tokens: file.action.chunk_len * file.action.action_dim,
            file,
        })
    }

    /// Load and validate `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        Self::new(ConfigFile::load(path)?)
    }

    /// Image plus proprio tokens (the "patches" of the released code, 513 for LIBERO).
    pub fn vision_tokens(&self) -> usize {
        self.patches_per_image * self.file.num_images_in_input + usize::from(self.file.use_proprio)
    }

    /// Parameter count implied by the configuration (no weights needed).
    pub fn parameter_count(&self) -> usize {
        super::validate::parameter_count(self)
    }
}

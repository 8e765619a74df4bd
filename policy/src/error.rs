//! The policy crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong building, loading or running a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A configuration value is invalid.
    #[error("config: {field} {reason}")]
    Config {
        /// Dotted path of the offending field, e.g. `text.num_attention_heads`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON file (config, statistics) does not parse.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's message, which names the key, line and column.
        source: serde_json::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A checkpoint tensor is absent.
    #[error("checkpoint {path}: tensor `{tensor}` is missing (expected shape {expected:?})")]
    MissingTensor {
        /// The safetensors file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
        /// Shape the model needs.
        expected: Vec<usize>,
    },
    /// A checkpoint tensor has the wrong shape.
    #[error("checkpoint {path}: tensor `{tensor}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The safetensors file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
        /// Shape the model needs.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A checkpoint tensor holds NaN or infinity.
    #[error("checkpoint {path}: tensor `{tensor}` contains non-finite values")]
    NonFiniteWeights {
        /// The safetensors file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
    },
    /// An input (image, proprioception, instruction) is unusable.
    #[error("input {what}: {reason}")]
    BadInput {
        /// Which input, e.g. `camera 1 image`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The text tokenizer failed or is missing.
    #[error("tokenizer {path}: {reason}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The model produced non-finite values.
    #[error("model output: {what} contains non-finite values")]
    NonFiniteOutput {
        /// Which output.
        what: &'static str,
    },
    /// A decoding op rejected its input.
    #[error(transparent)]
    Kernel(#[from] ddvla_kernels::KernelError),
    /// A tensor op failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, PolicyError>;

impl PolicyError {
    /// A [`PolicyError::Config`] error.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A [`PolicyError::BadInput`] error.
    pub fn bad_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// `map_err(io_at(path))`: an I/O error at `path` as a [`PolicyError::Io`] naming it.
pub fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> PolicyError + '_ {
    move |source| PolicyError::Io {
        path: path.to_owned(),
        source,
    }
}

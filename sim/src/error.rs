//! The sim crate's error type.

use std::path::PathBuf;

/// What can go wrong building or running a simulation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A model file is missing.
    #[error("model file {path} not found{hint}")]
    MissingFile {
        /// The file.
        path: PathBuf,
        /// How to get it (e.g. run scripts/setup.sh), or empty.
        hint: String,
    },
    /// MuJoCo rejected the model.
    #[error("MuJoCo could not load {what}: {message}")]
    Load {
        /// Which model.
        what: String,
        /// MuJoCo's message (names the element and line).
        message: String,
    },
    /// A named body, site, joint, actuator or camera does not exist.
    #[error("{kind} {name:?} not found in the model{known}")]
    UnknownName {
        /// Kind of object.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// Known names of that kind, when useful.
        known: String,
    },
    /// An action is unusable; it never reaches MuJoCo.
    #[error("action: {reason}")]
    BadAction {
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is invalid.
    #[error("sim config {field}: {reason}")]
    Config {
        /// Field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Offscreen rendering is unavailable or failed.
    #[error("rendering: {reason}")]
    Render {
        /// What failed, with the platform detail.
        reason: String,
    },
    /// The physics became unstable (MuJoCo reset the state).
    #[error("physics unstable at t = {time_s:.3} s (MuJoCo warning: bad qacc)")]
    Unstable {
        /// Simulation time.
        time_s: f64,
    },
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, SimError>;

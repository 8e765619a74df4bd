//! Errors loading suites and init states.

use std::path::PathBuf;

use crate::bddl::BddlError;

/// What can go wrong loading a suite.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `suite.toml` is not valid TOML for a suite.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the line and key).
        message: String,
    },
    /// A value in a suite file is unusable.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A BDDL file of the suite does not parse.
    #[error(transparent)]
    Bddl(#[from] BddlError),
    /// No such task.
    #[error("suite {suite} has no task {task:?} (give a name or an index below {count})")]
    UnknownTask {
        /// Suite name.
        suite: String,
        /// What was asked for.
        task: String,
        /// Number of tasks.
        count: usize,
    },
    /// No such suite.
    #[error("no suite {name:?} in {dir} (known: {known})")]
    UnknownSuite {
        /// What was asked for.
        name: String,
        /// Where we looked.
        dir: PathBuf,
        /// The suites there.
        known: String,
    },
    /// An init-state file is inconsistent with its task.
    #[error("{path}: {reason}")]
    InitStates {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

//! Evaluation errors.

use crate::predicates::PredicateError;
use crate::scene::SceneError;
use crate::suite::SuiteError;

/// What can stop an evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A bad option.
    #[error("eval config: {reason}")]
    Config {
        /// Why.
        reason: String,
    },
    /// Loading the suite or its init states.
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// Composing the scene.
    #[error(transparent)]
    Scene(#[from] SceneError),
    /// The goal could not be evaluated.
    #[error(transparent)]
    Predicate(#[from] PredicateError),
    /// The simulator failed.
    #[error(transparent)]
    Sim(#[from] ddvla_sim::SimError),
    /// The policy failed.
    #[error("policy {policy}: {reason}")]
    Policy {
        /// Which policy.
        policy: String,
        /// Why.
        reason: String,
    },
    /// An episode observer (demo recorder, visualiser) failed.
    #[error("{observer}: {reason}")]
    Observer {
        /// Which observer.
        observer: String,
        /// Why.
        reason: String,
    },
    /// An object's position could not be read to follow the episode's outcome.
    #[error("following object {object}: {source}")]
    Outcome {
        /// The BDDL instance.
        object: String,
        /// The scene query's error.
        source: crate::predicates::SceneError,
    },
    /// Shards do not merge.
    #[error("eval merge: {reason}")]
    Merge {
        /// Why.
        reason: String,
    },
}

//! Errors composing task scenes and sampling init states.

use std::path::PathBuf;

use crate::catalog::CatalogError;

/// What can go wrong turning a BDDL problem into a scene.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SceneError {
    /// A region cannot be built.
    #[error("{file}: region {region}: {reason}")]
    Region {
        /// The BDDL file.
        file: PathBuf,
        /// The region key.
        region: String,
        /// Why.
        reason: String,
    },
    /// An `:init` atom or instance cannot be realised.
    #[error("{file}: {what}: {reason}")]
    Init {
        /// The BDDL file.
        file: PathBuf,
        /// The instance or atom.
        what: String,
        /// Why.
        reason: String,
    },
    /// The catalog has no such category.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The simulator rejected the scene or a state.
    #[error(transparent)]
    Sim(#[from] ddvla_sim::SimError),
}

//! Errors of [`super::build`].

/// Why an instance could not be built.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CatalogError {
    /// The category is not one we author.
    #[error("{instance}: unknown category `{category}` (known: {known})")]
    UnknownCategory {
        /// Instance name, e.g. `akita_black_bowl_1`.
        instance: String,
        /// The category asked for.
        category: String,
        /// Every known category, comma-separated.
        known: String,
    },
    /// The instance name cannot be a MuJoCo name prefix.
    #[error(
        "instance name {instance:?} of category `{category}` must be non-empty ASCII letters, digits and `_`"
    )]
    InvalidInstance {
        /// The instance name given.
        instance: String,
        /// Its category.
        category: String,
    },
    /// The position has a NaN or an infinity.
    #[error("{instance}: position {pos_m:?} is not finite")]
    NonFinitePosition {
        /// Instance name.
        instance: String,
        /// The position given (m).
        pos_m: [f64; 3],
    },
}

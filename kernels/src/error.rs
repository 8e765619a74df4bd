//! Errors of the kernel ops.

/// What went wrong in a decoding op.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum KernelError {
    /// Two buffers that must agree in length do not.
    #[error("{op}: {what} has length {found}, expected {expected}")]
    LengthMismatch {
        /// The op that checked.
        op: &'static str,
        /// Which buffer.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A logit or score was NaN or infinite where a finite value is required.
    #[error("{op}: non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        /// The op that checked.
        op: &'static str,
        /// Row of the bad value.
        row: usize,
        /// Column of the bad value.
        col: usize,
        /// The value itself.
        value: f32,
    },
    /// A parameter is out of its valid range.
    #[error("{op}: parameter {name} = {value} is invalid: {reason}")]
    BadParameter {
        /// The op that checked.
        op: &'static str,
        /// Parameter name.
        name: &'static str,
        /// Value given.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
}

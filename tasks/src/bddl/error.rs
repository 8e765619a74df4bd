//! Errors of the BDDL parser. Every variant names the file and, where there is one, the line.

use std::path::PathBuf;

/// Why a BDDL file could not be read or parsed.
///
/// The `Display` form starts with `file:line:` so editors can jump to the spot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BddlError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("{}: cannot read BDDL file: {source}", .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not what the grammar expects at this point.
    #[error("{}:{line}: expected {expected}, found {found}", .file.display())]
    Syntax {
        /// The file (or the name given to [`parse_str`](super::parse_str)).
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the grammar expects here.
        expected: String,
        /// What the text has instead.
        found: String,
    },
    /// A required section is absent.
    #[error(
        "{}:{line}: expected a `({section} …)` section in the `(define …)` starting here, found none",
        .file.display()
    )]
    MissingSection {
        /// The file.
        file: PathBuf,
        /// Line of the `(define`.
        line: usize,
        /// The missing section, e.g. `:goal`.
        section: &'static str,
    },
    /// A section keyword this parser does not know (LIBERO only prints and skips these).
    #[error("{}:{line}: expected one of the sections {expected}, found unknown section `{found}`", .file.display())]
    UnknownSection {
        /// The file.
        file: PathBuf,
        /// Line of the section.
        line: usize,
        /// The known sections.
        expected: &'static str,
        /// The unknown keyword.
        found: String,
    },
    /// A section (or a region attribute) given twice.
    #[error(
        "{}:{line}: expected one `{section}`, found a second one (the first is on line {first_line})",
        .file.display()
    )]
    Duplicate {
        /// The file.
        file: PathBuf,
        /// Line of the second occurrence.
        line: usize,
        /// The repeated keyword.
        section: String,
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A logical connective LIBERO does not evaluate (`or`, `not`, nested `and`, quantifiers).
    #[error(
        "{}:{line}: expected an atom or a conjunction `(and atom …)` in `{section}`, found the connective `{connective}` (LIBERO goals are conjunctions of ground atoms)",
        .file.display()
    )]
    UnsupportedConnective {
        /// The file.
        file: PathBuf,
        /// Line of the connective.
        line: usize,
        /// The section, `:goal` or `:init`.
        section: &'static str,
        /// The connective found.
        connective: String,
    },
}

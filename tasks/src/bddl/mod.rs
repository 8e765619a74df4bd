//! LIBERO's BDDL task files: tokenizer, parser into typed structs, and writer.
//!
//! BDDL is a PDDL-like S-expression format. LIBERO reads it with `bddl==1.0.1`'s
//! `scan_tokens` ([`tokenize`] here) and its own `robosuite_parse_problem`
//! (`libero/libero/envs/bddl_utils.py`, MIT), which this module ports:
//!
//! ```text
//! (define (problem LIBERO_Tabletop_Manipulation)
//!   (:domain robosuite)
//!   (:language Open the top layer of the drawer and put the bowl inside)
//!   (:regions (cabinet_region (:target main_table) (:ranges ((0.02 -0.25 0.04 -0.23)))
//!                             (:yaw_rotation ((3.141592653589793 3.141592653589793))))
//!             (top_region (:target wooden_cabinet_1)))
//!   (:fixtures main_table - table wooden_cabinet_1 - wooden_cabinet)
//!   (:objects akita_black_bowl_1 - akita_black_bowl)
//!   (:obj_of_interest akita_black_bowl_1 wooden_cabinet_1_top_region)
//!   (:init (On akita_black_bowl_1 main_table_akita_black_bowl_region) (On wooden_cabinet_1 main_table_cabinet_region))
//!   (:goal (And (In akita_black_bowl_1 wooden_cabinet_1_top_region))))
//! ```
//!
//! As in LIBERO, `;` starts a comment to the end of the line, everything is lowercased, and the
//! sections may come in any order. [`parse_str`] returns a [`Problem`];
//! [`Problem::to_bddl_string`] writes one back, and
//! `parse_str(&p.to_bddl_string(), &p.file) == Ok(p)` (a [`Problem`] keeps the file name it
//! was parsed under, [`Problem::file`], for error messages).
//!
//! **Accepted:** exactly one `(define …)` holding `(problem NAME)`, `(:domain NAME)`,
//! `(:language word …)`, `(:objects …)`, `(:init atom …)` and `(:goal …)`, plus the optional
//! (empty when absent) `(:regions …)`, `(:fixtures …)` and `(:obj_of_interest name …)`.
//! Instances are `a b - category` with one or more names per category. The goal is a
//! conjunction `(and atom …)` or a single atom. Atoms are flat: `(predicate name …)`.
//!
//! **Rejected**, each with a [`BddlError`] naming file, line, expected and found (LIBERO
//! would crash on, skip or silently mangle these):
//! - unbalanced parentheses, text after the `(define …)`, lists nested deeper than 64;
//! - a missing required section, a repeated section, or an unknown one (LIBERO prints and skips
//!   it; this includes `:requirements` and `:scene_properties`, which no LIBERO file uses);
//! - names left without `- category` (LIBERO files them under a category `object`);
//! - `or`, `not`, a nested `and` or a quantifier in `:goal`/`:init` (LIBERO only unwraps one
//!   top-level `and`), and an empty `(and)` goal (always true in LIBERO);
//! - nested lists as atom arguments or instruction words;
//! - region boxes that are not 4 finite numbers, yaw pairs that are not 2, a region without
//!   `:target`, a repeated region attribute.
//!
//! The value of `:domain` is not checked (LIBERO requires `robosuite`).

mod error;
mod parse;
mod region;
mod sexp;
mod token;
mod types;
mod widen;
mod write;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::BddlError;
pub use token::{Token, TokenKind, tokenize};
pub use types::{Atom, Instance, Predicate, Problem, Region};

/// Parses BDDL text. `file` is only used to name the source in errors.
///
/// ```
/// let p = ddvla_tasks::bddl::parse_str(
///     "(define (problem P) (:domain robosuite) (:language Open it)
///        (:objects) (:init) (:goal (And (Open wooden_cabinet_1))))",
///     "inline.bddl",
/// )?;
/// assert_eq!(p.language, "open it");
/// assert_eq!(p.goal[0].to_string(), "(open wooden_cabinet_1)");
/// # Ok::<(), ddvla_tasks::bddl::BddlError>(())
/// ```
pub fn parse_str(text: &str, file: impl AsRef<Path>) -> Result<Problem, BddlError> {
    let file = file.as_ref();
    let root = sexp::read_one(&tokenize(text), file)?;
    parse::problem(&root, file)
}

/// Reads and parses a BDDL file.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Problem, BddlError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| BddlError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_str(&text, path)
}

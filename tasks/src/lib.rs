//! ddvla-tasks: BDDL parsing, goal predicates, suites, scripted experts and the evaluation protocol.
//!
//! Not written yet: this crate is filled by its own issue (see `issues`). It exists so the
//! workspace has its final shape.

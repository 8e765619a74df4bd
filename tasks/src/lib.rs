//! ddvla-tasks: BDDL parsing, goal predicates, suites, scripted experts and the evaluation
//! protocol for LIBERO-style manipulation tasks.
//!
//! What exists today:
//! - [`bddl`]: a port of LIBERO's BDDL reader (`bddl.parsing.scan_tokens` +
//!   `robosuite_parse_problem`) into typed structs ([`bddl::Problem`]), with line-numbered
//!   errors and a writer whose output parses back to the same value. It is tested against
//!   the 130 BDDL files of the four LIBERO suites plus LIBERO-90 (`scripts/setup.sh` fetches
//!   them into `.cache/libero_bddl/`).
//! - [`predicates`]: LIBERO's goal predicates (`On`, `In`, `Up`, `Open`, `Close`, `TurnOn`,
//!   `TurnOff`) with LIBERO's thresholds and quirks, evaluated on any [`predicates::SceneState`]
//!   (implemented for [`ddvla_sim::Env`]); [`predicates::evaluate_goal`] gives each goal
//!   atom's truth and the conjunction.
//! - [`catalog`]: the object and fixture categories of LIBERO's suites (bowls, cans, bottles,
//!   the wooden cabinet with its drawers, the stove with its knob, …) authored from MuJoCo
//!   primitives and `sim/objects/*.xml`, with LIBERO's body, joint and region names and the
//!   geometric facts scene builders and scripted experts need.
//! - [`expert`]: [`expert::ScriptedExpert`], closed-loop scripted experts (pick-and-place,
//!   drawers, the stove knob, pushing) planned from a task's goal atoms, for demonstrations.
//! - [`suite`]: suites as data (`suites/<name>/suite.toml`, BDDL files, committed init
//!   states) with their protocol and observation/action contract; four LIBERO-style suites
//!   and two SimplerEnv-style ones ship in `suites/`.
//! - [`scene`]: a task's MuJoCo scene composed from its BDDL problem, and the init-state
//!   sampler.
//! - [`eval`]: LIBERO's evaluation protocol (seeded resets, init states, wait steps, first
//!   success or final step), sharding and merging, results and the Markdown table.
//!
//! Reference: Liu et al., "LIBERO: Benchmarking Knowledge Transfer for Lifelong Robot
//! Learning" (arXiv 2306.03310), <https://github.com/Lifelong-Robot-Learning/LIBERO> (MIT).

pub mod bddl;
pub mod catalog;
pub mod eval;
pub mod expert;
pub mod predicates;
pub mod scene;
pub mod suite;

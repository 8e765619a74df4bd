//! LIBERO's goal predicates, evaluated on a simulator state.
//!
//! A port of LIBERO's success check (`BDDLBaseDomain._check_success`: the conjunction of the
//! `:goal` atoms) and of the predicate code behind it (LIBERO, MIT, commit `4f0dd18`,
//! `libero/libero/envs/`: `predicates/base_predicates.py`,
//! `object_states/base_object_states.py`, `objects/site_object.py`,
//! `objects/target_zones.py`, `objects/articulated_objects.py`), as specified in
//! `../shared/docs/libero-protocol.md` §1.3 and §4(c). `p(x)` is the world position of body
//! `x_main`, the instance's root body; region key `k` is site `k`.
//!
//! | atom | holds when | code |
//! |---|---|---|
//! | `(on a b)`, `b` object/fixture | `p(b).z <= p(a).z`, `a` and `b` touch, `‖p(a).xy − p(b).xy‖ < 0.03` | [`on_object`] |
//! | `(on a r)`, `r` a region | `d = R_r·(p(a) − p_r)`: `size.z − 0.005 < d.z < size.z + 0.10`, `\|d.x\| < size.x`, `\|d.y\| < size.y`; and, if `r` belongs to an object or fixture, that parent touches `a` | [`under`] |
//! | `(in a r)` | `h = \|R_r·size\|`: `p_r − h − (0,0,0.01) < p(a) < p_r + h` component-wise (no contact check) | [`in_box`] |
//! | `(up a)` | `p(a).z >= 1.0` (a site's position for a region) | [`up`] |
//! | `(open x)` / `(close x)` | any / all joints of `x` pass the category's open / close threshold | [`ARTICULATIONS`] |
//! | `(turnon x)` / `(turnoff x)` | any / all joints pass `flat_stove`'s `q >= 0.5` / `q < 0.0` | [`ARTICULATIONS`] |
//! | `(true …)`, `(false …)`, `(printjointstate x)` | always / never / always | |
//!
//! Joints: for an instance, every joint in its body subtree (LIBERO's `object.joints`); for a
//! region, the joints declared directly on the body holding the site, judged with the
//! thresholds of the region's parent category (`(open wooden_cabinet_1_top_region)` reads the
//! top drawer's slide). Contacts: any detected contact between a geom in one instance's
//! body subtree and one in the other's (robosuite's `check_contact` over the objects' geoms).
//! Regions whose target is the workspace (a fixture of a [`WORKSPACE_CATEGORIES`] category:
//! the table, floor …) are LIBERO's `TargetZone`s: no parent and no joints.
//!
//! Evaluate on the state exactly as the last physics step left it (no extra `mj_forward`):
//! that is what LIBERO does, and [`ddvla_sim::Env`] answers queries that way.
//!
//! Where LIBERO would raise (an undeclared name, the workspace as an argument, `In` with an
//! object instead of a region, `TurnOn` on a cabinet, `Open` on a free joint, …) this port
//! returns a [`PredicateError`] naming the BDDL file and the atom.
//!
//! ```no_run
//! use ddvla_tasks::{bddl, predicates::Goal};
//!
//! fn solved(env: &ddvla_sim::Env) -> Result<bool, Box<dyn std::error::Error>> {
//!     let path = ".cache/libero_bddl/libero_goal/turn_on_the_stove.bddl";
//!     let goal = Goal::new(&bddl::parse_file(path)?)?; // resolve names once
//!     let status = goal.evaluate(env)?; // after each `env.step(…)`
//!     println!("{status}"); // e.g. "not yet: ✗(turnon flat_stove_1)"
//!     Ok(status.success)
//! }
//! ```

mod articulation;
mod compile;
mod error;
mod geometry;
mod goal;
mod scene;
mod sim_env;

#[cfg(test)]
mod tests;

pub use articulation::{ARTICULATIONS, Articulation, JointPredicate, JointTest, articulation};
pub use compile::WORKSPACE_CATEGORIES;
pub use error::{NotApplicable, PredicateError};
pub use geometry::{
    IN_BOX_FLOOR_SLACK_M, Mat3, NEAR_MAX_XY_DIST_M, ON_OBJECT_MAX_XY_DIST_M, UNDER_ABOVE_TOP_M,
    UNDER_BELOW_TOP_M, UP_MIN_Z_M, in_box, near, on_object, under, up,
};
pub use goal::{AtomStatus, Goal, GoalStatus, evaluate_atom, evaluate_goal};
pub use scene::{JointKind, JointState, SceneError, SceneState, SitePose};

/// Result of goal evaluation.
pub type Result<T, E = PredicateError> = std::result::Result<T, E>;

//! Errors of goal-predicate evaluation. Every variant names the BDDL file and the atom.

use std::path::PathBuf;

use super::scene::SceneError;

/// Why a goal could not be evaluated.
///
/// The `Display` form starts with the BDDL file and the atom, e.g.
/// `libero_goal/x.bddl: (on bowl_1 plate_1): …`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PredicateError {
    /// An atom names something the problem declares neither as an instance (`:objects`,
    /// `:fixtures`) nor as a region key (`:regions`).
    #[error(
        "{}: {atom}: `{name}` is not declared (neither an instance in :objects/:fixtures nor a region key `<target>_<name>` of :regions)",
        .file.display()
    )]
    UnknownName {
        /// The BDDL file.
        file: PathBuf,
        /// The atom, e.g. `(on bowl_1 plate_1)`.
        atom: String,
        /// The undeclared name.
        name: String,
    },
    /// An atom names the workspace fixture (table, floor …), which LIBERO keeps no object
    /// state for (it is skipped when fixtures are loaded).
    #[error(
        "{}: {atom}: `{name}` is the workspace (category `{category}`); LIBERO has no object state for it, name one of its regions instead",
        .file.display()
    )]
    Workspace {
        /// The BDDL file.
        file: PathBuf,
        /// The atom.
        atom: String,
        /// The workspace instance.
        name: String,
        /// Its category.
        category: String,
    },
    /// A declared instance or region has no body, site or joint in the scene.
    #[error(
        "{}: {atom}: `{name}` is not in the scene: no {kind} `{scene_name}`",
        .file.display()
    )]
    MissingInScene {
        /// The BDDL file.
        file: PathBuf,
        /// The atom.
        atom: String,
        /// The BDDL name (instance or region key).
        name: String,
        /// `"body"`, `"site"` or `"joint"`.
        kind: &'static str,
        /// The MuJoCo name looked up (`<instance>_main` for instances, the key for regions).
        scene_name: String,
    },
    /// The predicate has a different number of arguments.
    #[error(
        "{}: {atom}: `{predicate}` takes {expected}, found {found} argument(s)",
        .file.display()
    )]
    Arity {
        /// The BDDL file.
        file: PathBuf,
        /// The atom.
        atom: String,
        /// The predicate name.
        predicate: String,
        /// What it takes, e.g. `"2 arguments"`.
        expected: &'static str,
        /// How many the atom has.
        found: usize,
    },
    /// A predicate LIBERO does not define (its `VALIDATE_PREDICATE_FN_DICT`).
    #[error(
        "{}: {atom}: unknown predicate `{predicate}` (LIBERO defines true, false, in, on, up, printjointstate, open, close, turnon, turnoff)",
        .file.display()
    )]
    UnknownPredicate {
        /// The BDDL file.
        file: PathBuf,
        /// The atom.
        atom: String,
        /// The predicate name.
        predicate: String,
    },
    /// The predicate does not apply to this argument; LIBERO raises an exception here.
    #[error("{}: {atom}: {reason}", .file.display())]
    NotApplicable {
        /// The BDDL file.
        file: PathBuf,
        /// The atom.
        atom: String,
        /// Why.
        reason: NotApplicable,
    },
    /// A scene query failed for another reason than a missing name.
    #[error("{}: {atom}: {source}", .file.display())]
    Scene {
        /// The BDDL file.
        file: PathBuf,
        /// The atom.
        atom: String,
        /// The simulator's error.
        source: SceneError,
    },
}

/// Why a predicate does not apply to an argument (each case raises in LIBERO).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotApplicable {
    /// `On`/`In` read the root-body position of their first argument; a region has none.
    #[error(
        "`{name}` is a region; the first argument of `{predicate}` must be an object or fixture"
    )]
    RegionAsSubject {
        /// The region key.
        name: String,
        /// `on` or `in`.
        predicate: &'static str,
    },
    /// `In(a, b)` with `b` an object: LIBERO calls `b.in_box`, which its objects lack.
    #[error(
        "`{name}` is an object, not a region; LIBERO's `in` needs a containing region (e.g. `{name}_contain_region`)"
    )]
    ContainerIsObject {
        /// The object.
        name: String,
    },
    /// `Open`/`Close` on a workspace zone (its `joints` is `None` in LIBERO).
    #[error("`{name}` is a workspace zone; it has no joints to be `{predicate}`")]
    ZoneJoints {
        /// The region key.
        name: String,
        /// The predicate.
        predicate: &'static str,
    },
    /// `TurnOn`/`TurnOff`/`PrintJointState` on a region (LIBERO's site states lack them).
    #[error("`{name}` is a region; `{predicate}` applies to an instance (e.g. `flat_stove_1`)")]
    RegionNotSwitchable {
        /// The region key.
        name: String,
        /// The predicate.
        predicate: &'static str,
    },
    /// The category defines no threshold for this predicate (see [`super::ARTICULATIONS`]).
    #[error("category `{category}` of `{name}` has no `{predicate}` threshold in LIBERO")]
    NoThreshold {
        /// The instance (or the region's parent instance).
        name: String,
        /// Its category.
        category: String,
        /// The predicate.
        predicate: &'static str,
    },
    /// A free or ball joint has no single value to compare (LIBERO: ambiguous array truth).
    #[error(
        "joint `{joint}` of `{name}` is a free or ball joint; `{predicate}` needs hinge or slide joints"
    )]
    MultiDofJoint {
        /// The instance or region.
        name: String,
        /// The joint.
        joint: String,
        /// The predicate.
        predicate: &'static str,
    },
}

//! [`SceneState`]: the simulator queries LIBERO's goal predicates read, in MuJoCo names.
//!
//! The evaluator maps BDDL names to MuJoCo names with LIBERO's conventions (instance `x` is
//! body `x_main`, region key `k` is site `k`) and asks only these questions, on the state as
//! the last physics step left it (LIBERO evaluates right after `mj_step`, with no extra
//! `mj_forward`; `../shared/docs/libero-protocol.md` §1.3).

use std::error::Error;

/// A site's world pose: MuJoCo `site_xpos` and `site_xmat`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SitePose {
    /// World position (m).
    pub pos: [f64; 3],
    /// Rotation, row-major 3×3 (`site_xmat`): `xmat[3 * i + j]` is row `i`, column `j`.
    pub xmat: [f64; 9],
}

/// The kind of a MuJoCo joint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointKind {
    /// Rotation about an axis (1 qpos value, rad).
    Hinge,
    /// Translation along an axis (1 qpos value, m).
    Slide,
    /// Free rotation (4 qpos values, a quaternion).
    Ball,
    /// 6-DoF free joint (7 qpos values).
    Free,
}

/// One joint and its current position values.
#[derive(Debug, Clone, PartialEq)]
pub struct JointState {
    /// The joint's MuJoCo name (empty if it has none).
    pub name: String,
    /// Hinge, slide, ball or free.
    pub kind: JointKind,
    /// Its `qpos` values: 1 for hinge and slide joints, 4 for ball, 7 for free joints.
    pub qpos: Vec<f64>,
}

impl JointState {
    /// The single position value of a hinge or slide joint; `None` for ball and free joints.
    pub fn scalar(&self) -> Option<f64> {
        match (self.kind, self.qpos.as_slice()) {
            (JointKind::Hinge | JointKind::Slide, [q]) => Some(*q),
            _ => None,
        }
    }
}

/// Why a [`SceneState`] query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SceneError {
    /// No body, site or joint of that name exists in the scene.
    #[error("no {kind} named `{name}` in the scene")]
    NotFound {
        /// `"body"`, `"site"` or `"joint"`.
        kind: &'static str,
        /// The MuJoCo name asked for.
        name: String,
    },
    /// The simulator failed otherwise.
    #[error("simulator query failed: {source}")]
    Backend {
        /// The simulator's error.
        source: Box<dyn Error + Send + Sync>,
    },
}

/// The state queries of LIBERO's goal predicates, in MuJoCo names.
///
/// Implemented for [`ddvla_sim::Env`] (in `sim_env.rs`); tests implement it on hand-built
/// states. Every query reads the current state and never changes it.
pub trait SceneState {
    /// World position of body `body` (`xpos`, m).
    fn body_pos(&self, body: &str) -> Result<[f64; 3], SceneError>;

    /// World pose of site `site` (`site_xpos`, `site_xmat`).
    fn site_pose(&self, site: &str) -> Result<SitePose, SceneError>;

    /// Size of site `site` (`model.site_size`: half extents for a box site, m).
    fn site_size(&self, site: &str) -> Result<[f64; 3], SceneError>;

    /// Every joint in the subtree rooted at body `body` (the body and all its descendants),
    /// in model order: LIBERO's `object.joints` for the instance whose root body is `body`.
    fn subtree_joints(&self, body: &str) -> Result<Vec<JointState>, SceneError>;

    /// The joints declared directly on the body that holds site `site`, in model order:
    /// LIBERO's `SiteObject.joints` (e.g. a drawer's slide joint for `…_top_region`).
    fn site_joints(&self, site: &str) -> Result<Vec<JointState>, SceneError>;

    /// Whether any current contact pairs a geom in the subtree of body `a` with a geom in the
    /// subtree of body `b` (robosuite's `check_contact` on two objects' geoms).
    fn subtree_contact(&self, a: &str, b: &str) -> Result<bool, SceneError>;
}

//! [`SceneState`] for [`ddvla_sim::Env`], on the data exactly as the last physics step left it.
//!
//! Positions, site poses and sizes come from the sim crate's queries (`body_pos`,
//! `site_pose`, `site_size`). Subtree joints, site-body joints and subtree contacts need model
//! tables the sim crate does not wrap (`body_parentid`, `jnt_bodyid`, `site_bodyid`,
//! `geom_bodyid`, the contact list); they are read here, read-only, through the model and data
//! that [`Env::model`] and [`Env::data`] expose for predicates.

use ddvla_sim::{Env, SimError};
use mujoco_rs::prelude::{MjModel, MjtJoint, MjtObjBase};

use super::scene::{JointKind, JointState, SceneError, SceneState, SitePose};

fn from_sim(e: SimError) -> SceneError {
    match e {
        SimError::UnknownName { kind, name, .. } => SceneError::NotFound { kind, name },
        other => SceneError::Backend {
            source: Box::new(other),
        },
    }
}

fn lookup(
    model: &MjModel,
    kind: MjtObjBase,
    kind_name: &'static str,
    name: &str,
) -> Result<usize, SceneError> {
    model
        .name_to_id(kind, name)
        .ok_or_else(|| SceneError::NotFound {
            kind: kind_name,
            name: name.to_owned(),
        })
}

/// Whether body `body` is `root` or one of its descendants.
fn in_subtree(model: &MjModel, mut body: usize, root: usize) -> bool {
    let parents = model.body_parentid();
    loop {
        if body == root {
            return true;
        }
        if body == 0 {
            return false;
        }
        body = parents[body] as usize;
    }
}

/// Joint `j` and its position values.
fn joint_state(env: &Env, j: usize) -> JointState {
    let model = env.model();
    let (kind, width) = match model.jnt_type()[j] {
        MjtJoint::mjJNT_FREE => (JointKind::Free, 7),
        MjtJoint::mjJNT_BALL => (JointKind::Ball, 4),
        MjtJoint::mjJNT_SLIDE => (JointKind::Slide, 1),
        MjtJoint::mjJNT_HINGE => (JointKind::Hinge, 1),
    };
    let adr = model.jnt_qposadr()[j] as usize;
    JointState {
        name: model
            .id_to_name(MjtObjBase::mjOBJ_JOINT, j)
            .unwrap_or_default()
            .to_owned(),
        kind,
        qpos: env.data().qpos()[adr..adr + width].to_vec(),
    }
}

/// Every joint whose body passes `keep`, in model order.
fn joints_where(env: &Env, keep: impl Fn(usize) -> bool) -> Vec<JointState> {
    let model = env.model();
    let bodies = model.jnt_bodyid();
    (0..bodies.len())
        .filter(|&j| keep(bodies[j] as usize))
        .map(|j| joint_state(env, j))
        .collect()
}

impl SceneState for Env {
    fn body_pos(&self, body: &str) -> Result<[f64; 3], SceneError> {
        Env::body_pos(self, body).map_err(from_sim)
    }

    fn site_pose(&self, site: &str) -> Result<SitePose, SceneError> {
        let (pos, xmat) = Env::site_pose(self, site).map_err(from_sim)?;
        Ok(SitePose { pos, xmat })
    }

    fn site_size(&self, site: &str) -> Result<[f64; 3], SceneError> {
        Env::site_size(self, site).map_err(from_sim)
    }

    fn subtree_joints(&self, body: &str) -> Result<Vec<JointState>, SceneError> {
        let root = lookup(self.model(), MjtObjBase::mjOBJ_BODY, "body", body)?;
        Ok(joints_where(self, |b| in_subtree(self.model(), b, root)))
    }

    fn site_joints(&self, site: &str) -> Result<Vec<JointState>, SceneError> {
        let s = lookup(self.model(), MjtObjBase::mjOBJ_SITE, "site", site)?;
        let holder = self.model().site_bodyid()[s] as usize;
        Ok(joints_where(self, |b| b == holder))
    }

    fn subtree_contact(&self, a: &str, b: &str) -> Result<bool, SceneError> {
        let model = self.model();
        let ia = lookup(model, MjtObjBase::mjOBJ_BODY, "body", a)?;
        let ib = lookup(model, MjtObjBase::mjOBJ_BODY, "body", b)?;
        let geom_body = model.geom_bodyid();
        // Every detected contact (`ncon`), as robosuite's `check_contact` iterates them.
        Ok(self.data().contact().iter().any(|c| {
            let (Ok(g1), Ok(g2)) = (usize::try_from(c.geom[0]), usize::try_from(c.geom[1])) else {
                return false; // flex contacts have no geom
            };
            let (b1, b2) = (geom_body[g1] as usize, geom_body[g2] as usize);
            (in_subtree(model, b1, ia) && in_subtree(model, b2, ib))
                || (in_subtree(model, b1, ib) && in_subtree(model, b2, ia))
        }))
    }
}

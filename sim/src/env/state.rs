//! Writing simulator state by joint name: task init states (object poses, drawer and knob
//! positions) are stored per joint so they survive changes to the rest of the model.

use mujoco_rs::prelude::*;

use super::{Env, id};
use crate::error::{Result, SimError};

/// Position width and velocity width of a joint type.
fn widths(t: MjtJoint) -> (usize, usize) {
    match t {
        MjtJoint::mjJNT_FREE => (7, 6),
        MjtJoint::mjJNT_BALL => (4, 3),
        MjtJoint::mjJNT_SLIDE | MjtJoint::mjJNT_HINGE => (1, 1),
    }
}

impl Env {
    /// Set the position of joint `name` (1 value for hinge/slide, 7 for a free joint:
    /// `x y z qw qx qy qz`, the quaternion is normalised) and zero its velocity. Call
    /// [`Env::forward`] after the last write so positions, sites and contacts are current.
    pub fn set_joint_qpos(&mut self, name: &str, values: &[f64]) -> Result<()> {
        let j = id(&self.model, MjtObjBase::mjOBJ_JOINT, "joint", name)?;
        let (nq, nv) = widths(self.model.jnt_type()[j]);
        if values.len() != nq {
            return Err(SimError::Config {
                field: "joint state",
                reason: format!("joint {name:?} takes {nq} values, got {}", values.len()),
            });
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(SimError::Config {
                field: "joint state",
                reason: format!("joint {name:?}: value {bad} is not finite"),
            });
        }
        let mut v = values.to_vec();
        if nq >= 4 {
            let q = &mut v[nq - 4..];
            let norm = q.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-9 {
                return Err(SimError::Config {
                    field: "joint state",
                    reason: format!("joint {name:?}: zero quaternion"),
                });
            }
            for x in q.iter_mut() {
                *x /= norm;
            }
        }
        let qadr = self.model.jnt_qposadr()[j] as usize;
        let dadr = self.model.jnt_dofadr()[j] as usize;
        self.data.qpos_mut()[qadr..qadr + nq].copy_from_slice(&v);
        self.data.qvel_mut()[dadr..dadr + nv].fill(0.0);
        Ok(())
    }

    /// Recompute positions, sites and contacts from the current state (`mj_forward`).
    pub fn forward(&mut self) {
        self.data.forward();
    }

    /// Names of every joint outside the robot's kinematic tree (free joints of objects,
    /// slide/hinge joints of fixtures), in model order: the joints a task init state sets.
    pub fn scene_joint_names(&self) -> Vec<String> {
        let roots = self.model.body_rootid();
        let robot_root = roots[self.model.site_bodyid()[self.ee_site] as usize];
        (0..self.model.njnt() as usize)
            .filter(|&j| roots[self.model.jnt_bodyid()[j] as usize] != robot_root)
            .filter_map(|j| self.model.id_to_name(MjtObjBase::mjOBJ_JOINT, j))
            .map(str::to_owned)
            .collect()
    }
}

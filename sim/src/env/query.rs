//! State queries for task predicates (bodies, sites, joints, contacts) and control logs for
//! replay benchmarks.

use mujoco_rs::prelude::*;

use super::{Env, id};
use crate::error::{Result, SimError};

impl Env {
    fn lookup(&self, kind: MjtObjBase, kind_name: &'static str, name: &str) -> Result<usize> {
        id(&self.model, kind, kind_name, name)
    }

    /// World position of body `name` (m), as the last physics step left it.
    pub fn body_pos(&self, name: &str) -> Result<[f64; 3]> {
        Ok(self.data.xpos()[self.lookup(MjtObjBase::mjOBJ_BODY, "body", name)?])
    }

    /// World position (m) and row-major rotation matrix of site `name`.
    pub fn site_pose(&self, name: &str) -> Result<([f64; 3], [f64; 9])> {
        let i = self.lookup(MjtObjBase::mjOBJ_SITE, "site", name)?;
        Ok((self.data.site_xpos()[i], self.data.site_xmat()[i]))
    }

    /// Half sizes of site `name` (m).
    pub fn site_size(&self, name: &str) -> Result<[f64; 3]> {
        Ok(self.model.site_size()[self.lookup(MjtObjBase::mjOBJ_SITE, "site", name)?])
    }

    /// Position values of joint `name` (1 for hinge/slide, 7 for free joints).
    pub fn joint_qpos(&self, name: &str) -> Result<Vec<f64>> {
        let j = self.lookup(MjtObjBase::mjOBJ_JOINT, "joint", name)?;
        let adr = self.model.jnt_qposadr()[j] as usize;
        let width = match self.model.jnt_type()[j] {
            MjtJoint::mjJNT_FREE => 7,
            MjtJoint::mjJNT_BALL => 4,
            _ => 1,
        };
        Ok(self.data.qpos()[adr..adr + width].to_vec())
    }

    /// Whether any geom of body `a` touches any geom of body `b` (active contacts of the
    /// last physics step, as LIBERO's predicates read them).
    pub fn in_contact(&self, a: &str, b: &str) -> Result<bool> {
        let (ia, ib) = (
            self.lookup(MjtObjBase::mjOBJ_BODY, "body", a)?,
            self.lookup(MjtObjBase::mjOBJ_BODY, "body", b)?,
        );
        let body_of = |g: i32| {
            usize::try_from(g)
                .ok()
                .map(|g| self.model.geom_bodyid()[g] as usize)
        };
        Ok(self.data.contact().iter().any(|c| {
            let (ga, gb) = (body_of(c.geom[0]), body_of(c.geom[1]));
            (ga == Some(ia) && gb == Some(ib)) || (ga == Some(ib) && gb == Some(ia))
        }))
    }

    /// Start recording the actuator controls of every substep (benchmarks, replay).
    pub fn start_ctrl_log(&mut self) {
        self.ctrl_log = Some(Vec::new());
    }

    /// Stop recording and return the controls, one vector of length `nu` per substep.
    pub fn take_ctrl_log(&mut self) -> Vec<Vec<f64>> {
        self.ctrl_log.take().unwrap_or_default()
    }

    /// Positions and velocities (for replaying a recorded trajectory elsewhere).
    pub fn qpos_qvel(&self) -> (Vec<f64>, Vec<f64>) {
        (self.data.qpos().to_vec(), self.data.qvel().to_vec())
    }

    /// Reset with `seed`, then replay recorded controls with plain `mj_step` (no controller,
    /// no rendering); returns the time spent stepping. With the controls recorded from the
    /// same seed, this is the same trajectory, so it measures raw physics on it.
    pub fn replay_raw(&mut self, seed: u64, log: &[Vec<f64>]) -> Result<std::time::Duration> {
        let cams = std::mem::take(&mut self.cameras);
        let reset = self.reset(seed);
        self.cameras = cams;
        reset?;
        let nu = self.data.ctrl().len();
        if let Some(bad) = log.iter().position(|c| c.len() != nu) {
            return Err(SimError::BadAction {
                reason: format!("recorded control {bad} has the wrong length (nu = {nu})"),
            });
        }
        let t = std::time::Instant::now();
        for c in log {
            self.data.ctrl_mut().copy_from_slice(c);
            self.data.step();
        }
        Ok(t.elapsed())
    }
}

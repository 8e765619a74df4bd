//! Blind copies of a running simulation: a "what if" rollout (an expert's action chunk from
//! the state a policy reached) runs on a fork and leaves the original untouched.

use std::sync::Arc;

use super::Env;
use crate::camera::CameraRig;
use crate::error::{Result, SimError};

impl Env {
    /// A copy of this simulation without cameras (nothing is rendered on it): the same model
    /// (shared), a copy of the whole `mjData` (positions, velocities, controls, warm start,
    /// time), the controller's goal and the gripper command. Stepping the fork with the
    /// same actions gives the same states as stepping `self`.
    pub fn fork_blind(&self) -> Result<Env> {
        let cameras = CameraRig::new(
            &self.model,
            &[],
            self.cfg.image_size,
            self.cfg.image_convention,
        )?;
        Ok(Env {
            cfg: self.cfg.clone(),
            robot: self.robot,
            data: self.data.clone(),
            model: Arc::clone(&self.model),
            cameras,
            arm: self.arm.clone(),
            ee_site: self.ee_site,
            gripper_ctrl: self.gripper_ctrl,
            gripper_range: self.gripper_range,
            gripper_qpos: self.gripper_qpos.clone(),
            free_qpos: self.free_qpos.clone(),
            controller: self.controller.clone(),
            ctrl_log: None,
            gripper_cmd: self.gripper_cmd,
            substeps: self.substeps,
        })
    }

    /// Make this simulation (a [`Env::fork_blind`] of `src`, or of the same scene) continue
    /// from `src`'s current state, reusing its buffers. Errors when the two do not share a
    /// model.
    pub fn sync_from(&mut self, src: &Env) -> Result<()> {
        if !Arc::ptr_eq(&self.model, &src.model) {
            return Err(SimError::Config {
                field: "fork",
                reason: "sync_from needs a fork of the same simulation (the models differ)".into(),
            });
        }
        src.data
            .copy_to(&mut self.data)
            .map_err(|e| SimError::Config {
                field: "fork",
                reason: format!("copying mjData: {e}"),
            })?;
        self.controller.clone_from(&src.controller);
        self.gripper_cmd = src.gripper_cmd;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvConfig;

    fn env() -> Env {
        let mut e = Env::new(EnvConfig {
            cameras: vec![],
            ..EnvConfig::default()
        })
        .expect("env");
        e.reset(3).expect("reset");
        e
    }

    fn state(e: &Env) -> (Vec<f64>, Vec<f64>, f64) {
        let (q, v) = e.qpos_qvel();
        (q, v, e.data().time())
    }

    #[test]
    fn a_fork_steps_exactly_like_its_original() {
        let mut a = env();
        for _ in 0..3 {
            a.step_blind(&[0.3, -0.2, 0.1, 0.0, 0.0, 0.1, 1.0])
                .expect("step");
        }
        let mut b = a.fork_blind().expect("fork");
        let actions = [
            [0.5, 0.1, -0.4, 0.05, 0.0, -0.2, 1.0],
            [-0.2, 0.3, 0.0, 0.0, 0.1, 0.0, -1.0],
        ];
        for act in actions.iter().cycle().take(6) {
            a.step_blind(act).expect("step a");
            b.step_blind(act).expect("step b");
        }
        assert_eq!(state(&a), state(&b));
    }

    #[test]
    fn sync_from_rewinds_a_fork_to_the_original_state() {
        let mut a = env();
        let mut b = a.fork_blind().expect("fork");
        for _ in 0..4 {
            b.step_blind(&[1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0])
                .expect("step b");
            a.step_blind(&[-0.5, 0.0, 0.2, 0.0, 0.0, 0.0, -1.0])
                .expect("step a");
        }
        assert_ne!(state(&a), state(&b));
        b.sync_from(&a).expect("sync");
        assert_eq!(state(&a), state(&b));
        let act = [0.2, 0.2, -0.1, 0.0, 0.0, 0.3, 1.0];
        a.step_blind(&act).expect("step a");
        b.step_blind(&act).expect("step b");
        assert_eq!(state(&a), state(&b), "the controller's goal came along too");
    }

    #[test]
    fn sync_from_another_model_is_an_error() {
        let a = env();
        let mut b = env();
        let err = b.sync_from(&a).expect_err("different models");
        assert!(err.to_string().contains("models differ"), "{err}");
    }
}

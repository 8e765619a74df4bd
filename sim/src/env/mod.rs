//! [`Env`]: a MuJoCo scene with a robot (the Panda by default, see [`crate::robot`]), its
//! controller (LIBERO's OSC at 20 Hz over 25 substeps of 2 ms for the Panda; IK to joint
//! targets at 5 Hz / 3 Hz for the SimplerEnv-style arms), offscreen cameras and typed
//! observations.

use std::sync::Arc;

use mujoco_rs::prelude::*;
use nalgebra::{DMatrix, DVector, Matrix3, Vector3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::camera::CameraRig;
use crate::error::{Result, SimError};
use crate::joint_control::{JointPd, dls_targets};
pub use crate::observation::{Observation, Proprio};
use crate::osc::{ArmState, Osc};
use crate::robot::{DeltaReference, GripperConvention, RobotSpec};
use crate::scene;

mod config;
mod control;
mod fork;
mod query;
mod state;

pub use config::{ControlMode, EnvConfig};
use control::{ArmIds, pose_delta};

/// The active arm controller.
#[derive(Debug, Clone)]
enum Controller {
    Osc(Osc),
    Joint(JointPd),
    Ik {
        pd: JointPd,
        goal_pos: Vector3<f64>,
        goal_rot: Matrix3<f64>,
    },
}

/// A running simulation.
pub struct Env {
    cfg: EnvConfig,
    robot: &'static RobotSpec,
    data: MjData<Arc<MjModel>>,
    model: Arc<MjModel>,
    cameras: CameraRig,
    arm: ArmIds,
    ee_site: usize,
    gripper_ctrl: usize,
    gripper_range: (f64, f64),
    gripper_qpos: Vec<usize>,
    free_qpos: Vec<usize>,
    controller: Option<Controller>,
    ctrl_log: Option<Vec<Vec<f64>>>,
    gripper_cmd: f64,
    substeps: usize,
}

fn id(model: &MjModel, kind: MjtObjBase, kind_name: &'static str, name: &str) -> Result<usize> {
    model
        .name_to_id(kind, name)
        .ok_or_else(|| SimError::UnknownName {
            kind: kind_name,
            name: name.to_owned(),
            known: String::new(),
        })
}

impl Env {
    /// Build the scene, its cameras and the controller.
    pub fn new(cfg: EnvConfig) -> Result<Self> {
        if !(cfg.control_hz > 0.0 && cfg.control_hz.is_finite()) {
            return Err(SimError::Config {
                field: "control_hz",
                reason: format!("{} must be > 0", cfg.control_hz),
            });
        }
        let robot = cfg.robot.spec();
        if cfg.init_qpos.len() != robot.joints.len() {
            return Err(SimError::Config {
                field: "init_qpos",
                reason: format!(
                    "{} values for the {} joints of {:?}",
                    cfg.init_qpos.len(),
                    robot.joints.len(),
                    cfg.robot
                ),
            });
        }
        let mut model = match &cfg.scene_mjcf {
            Some(xml) => scene::load_robot_template(&cfg.scene, xml, &cfg.assets_dir, cfg.robot)?,
            None => scene::load_robot(&cfg.scene, &cfg.assets_dir, cfg.robot)?,
        };
        // Fast rendering by default: no shadows, no reflections, no multisampling.
        model.vis_mut().quality.shadowsize = 0;
        model.vis_mut().quality.offsamples = 0;
        for r in model.mat_reflectance_mut() {
            *r = 0.0;
        }
        let model = Arc::new(model);
        let timestep = model.opt().timestep;
        let substeps = (1.0 / (cfg.control_hz * timestep)).round().max(1.0) as usize;
        let arm = ArmIds::lookup(&model, robot)?;
        let gripper_ctrl = id(
            &model,
            MjtObjBase::mjOBJ_ACTUATOR,
            "actuator",
            robot.gripper_actuator,
        )?;
        let gr = model.actuator_ctrlrange()[gripper_ctrl];
        let gripper_qpos = robot
            .gripper_joints
            .iter()
            .map(|n| {
                id(&model, MjtObjBase::mjOBJ_JOINT, "joint", n)
                    .map(|j| model.jnt_qposadr()[j] as usize)
            })
            .collect::<Result<Vec<_>>>()?;
        let free_qpos = (0..model.njnt() as usize)
            .filter(|&j| model.jnt_type()[j] == MjtJoint::mjJNT_FREE)
            .map(|j| model.jnt_qposadr()[j] as usize)
            .collect();
        let ee_site = id(&model, MjtObjBase::mjOBJ_SITE, "site", robot.ee_site)?;
        let cameras = CameraRig::new(&model, &cfg.cameras, cfg.image_size, cfg.image_convention)?
            .with_indicators(&model, &cfg.indicators)?;
        let data = MjData::new(Arc::clone(&model));
        Ok(Self {
            cfg,
            robot,
            data,
            model,
            cameras,
            arm,
            ee_site,
            gripper_ctrl,
            gripper_range: (gr[0], gr[1]),
            gripper_qpos,
            free_qpos,
            controller: None,
            ctrl_log: None,
            gripper_cmd: robot.gripper_open_cmd,
            substeps,
        })
    }

    /// The compiled model.
    pub fn model(&self) -> &MjModel {
        &self.model
    }

    /// The simulation state (for predicates: contacts, site poses, joint values).
    pub fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.data
    }

    /// Physics substeps per control step.
    pub fn substeps(&self) -> usize {
        self.substeps
    }

    /// Reset to the arm's init pose with free objects jittered by a `seed`-determined offset.
    pub fn reset(&mut self, seed: u64) -> Result<Observation> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.data.reset();
        let qpos = self.data.qpos_mut();
        for (adr, q) in self.arm.qpos.iter().zip(&self.cfg.init_qpos) {
            qpos[*adr] = *q;
        }
        if let Some(open) = self.robot.gripper_open_qpos {
            for &adr in &self.gripper_qpos {
                qpos[adr] = open;
            }
        }
        let j = self.cfg.object_jitter_m;
        for &adr in &self.free_qpos {
            if j > 0.0 {
                qpos[adr] += rng.random_range(-j..=j);
                qpos[adr + 1] += rng.random_range(-j..=j);
            }
        }
        self.data.forward();
        let state = self.arm_state()?;
        let limits = self.arm.limits.clone();
        self.controller = Some(match self.cfg.control {
            ControlMode::OscPose => {
                Controller::Osc(Osc::new(self.cfg.gains.clone(), &state, limits))
            }
            ControlMode::JointPosition => {
                Controller::Joint(JointPd::new(state.q.clone(), self.cfg.joint_kp, limits))
            }
            ControlMode::IkPose => Controller::Ik {
                pd: JointPd::new(state.q.clone(), self.cfg.joint_kp, limits),
                goal_pos: state.ee_pos,
                goal_rot: state.ee_rot,
            },
        });
        self.gripper_cmd = self.robot.gripper_open_cmd;
        self.apply_gripper();
        self.observe()
    }

    /// One control step. `OscPose`: LIBERO 7-D action `[dx dy dz dax day daz g]` in [-1, 1]
    /// (clipped; 5 cm / 0.5 rad per unit; `g` = +1 closes, −1 opens). `IkPose`: the same 7
    /// values in the robot's units and reference (the Panda as OSC; the SimplerEnv-style arms
    /// take metres and radians in the base frame, see [`crate::robot`]). `g` follows the
    /// robot's [`GripperConvention`]. `JointPosition`: `[q1 … qn g]`. Wrong length or
    /// non-finite values are errors and never reach MuJoCo.
    pub fn step(&mut self, action: &[f32]) -> Result<Observation> {
        self.step_blind(action)?;
        self.observe()
    }

    /// [`Env::step`] without rendering or reading the observation (evaluation of policies
    /// that do not need a frame every step; call [`Env::observe`] or [`Env::proprio`] when
    /// they do).
    pub fn step_blind(&mut self, action: &[f32]) -> Result<()> {
        let n = self.arm.qpos.len();
        let expected = if self.cfg.control == ControlMode::JointPosition {
            n + 1
        } else {
            7
        };
        if action.len() != expected {
            return Err(SimError::BadAction {
                reason: format!(
                    "{} values, expected {expected} for {:?}",
                    action.len(),
                    self.cfg.control
                ),
            });
        }
        if let Some(i) = action.iter().position(|a| !a.is_finite()) {
            return Err(SimError::BadAction {
                reason: format!("value {i} is {}", action[i]),
            });
        }
        let state = self.arm_state()?;
        let g = action[expected - 1].clamp(-1.0, 1.0);
        let gains = self.cfg.gains.clone();
        let robot = self.robot;
        let controller = self.controller.as_mut().ok_or(SimError::Config {
            field: "env",
            reason: "step before reset".into(),
        })?;
        match controller {
            Controller::Osc(osc) => {
                let a: Vec<f64> = action[..6]
                    .iter()
                    .map(|v| f64::from(v.clamp(-1.0, 1.0)))
                    .collect();
                osc.set_delta_goal(&[a[0], a[1], a[2], a[3], a[4], a[5]], &state);
            }
            Controller::Joint(pd) => {
                pd.target = DVector::from_iterator(n, action[..n].iter().map(|v| f64::from(*v)));
            }
            Controller::Ik {
                goal_pos, goal_rot, ..
            } => {
                let (dp, aa) = pose_delta(&action[..6], robot.delta_units, &gains);
                let (pos, rot) = match robot.delta_reference {
                    DeltaReference::CurrentPose => (state.ee_pos, state.ee_rot),
                    DeltaReference::PreviousGoal => (*goal_pos, *goal_rot),
                };
                *goal_pos = pos + dp;
                if aa.iter().any(|v| *v != 0.0) {
                    *goal_rot = nalgebra::Rotation3::from_scaled_axis(aa).into_inner() * rot;
                }
            }
        }
        self.run_substeps(g)
    }

    /// Set an absolute end-effector goal (world frame) for the controller (experts, tests).
    pub fn set_ee_goal(&mut self, pos: Vector3<f64>, rot: Matrix3<f64>) -> Result<()> {
        match self.controller.as_mut() {
            Some(Controller::Osc(osc)) => osc.set_goal(pos, rot),
            Some(Controller::Ik {
                goal_pos, goal_rot, ..
            }) => {
                *goal_pos = pos;
                *goal_rot = rot;
            }
            Some(Controller::Joint(_)) => {
                return Err(SimError::Config {
                    field: "control",
                    reason: "end-effector goals need OscPose or IkPose".into(),
                });
            }
            None => {
                return Err(SimError::Config {
                    field: "env",
                    reason: "set_ee_goal before reset".into(),
                });
            }
        }
        Ok(())
    }

    /// One control step toward the controller's current goal (no re-targeting); `g` drives
    /// the gripper in the robot's convention (Panda: +1 close, −1 open, 0 keep; WidowX:
    /// absolute, +1 open, −1 closed; Google arm: relative, +1 closes, 0 keeps).
    pub fn hold(&mut self, g: f32) -> Result<Observation> {
        if !g.is_finite() {
            return Err(SimError::BadAction {
                reason: format!("gripper command is {g}"),
            });
        }
        self.run_substeps(g)?;
        self.observe()
    }

    /// Run one control step of substeps; the gripper follows `g` in the robot's convention
    /// (the Panda's command ramps toward the sign of `g`, 0.01 per substep).
    fn run_substeps(&mut self, g: f32) -> Result<()> {
        let grip_dir = if g == 0.0 { 0.0 } else { f64::from(g.signum()) };
        let ramp = match self.robot.gripper {
            GripperConvention::Ramp => 0.01 * grip_dir,
            GripperConvention::Absolute => {
                self.gripper_cmd = f64::from(g).clamp(-1.0, 1.0);
                0.0
            }
            GripperConvention::Relative => {
                self.gripper_cmd = (self.gripper_cmd + 2.0 * f64::from(g)).clamp(-1.0, 1.0);
                0.0
            }
        };
        if matches!(self.controller, Some(Controller::Ik { .. })) {
            let state = self.arm_state()?;
            let damping = self.cfg.ik_damping;
            if let Some(Controller::Ik {
                pd,
                goal_pos,
                goal_rot,
            }) = &mut self.controller
            {
                pd.target = dls_targets(&state, goal_pos, goal_rot, damping);
            }
        }
        for _ in 0..self.substeps {
            self.data.step1();
            let state = self.arm_state()?;
            let tau = match &self.controller {
                Some(Controller::Osc(o)) => o.torques(&state),
                Some(Controller::Joint(pd) | Controller::Ik { pd, .. }) => pd.torques(&state),
                None => DVector::zeros(0),
            };
            self.gripper_cmd = (self.gripper_cmd + ramp).clamp(-1.0, 1.0);
            let ctrl = self.data.ctrl_mut();
            for (c, t) in self.arm.ctrl.iter().zip(tau.iter()) {
                ctrl[*c] = *t;
            }
            self.apply_gripper();
            if let Some(log) = &mut self.ctrl_log {
                log.push(self.data.ctrl().to_vec());
            }
            self.data.step2();
        }
        if self.data.warning()[MjtWarning::mjWARN_BADQACC as usize].number > 0 {
            return Err(SimError::Unstable {
                time_s: self.data.time(),
            });
        }
        Ok(())
    }

    fn apply_gripper(&mut self) {
        let (lo, hi) = self.gripper_range;
        let mid = 0.5 * (lo + hi);
        let half = 0.5 * (hi - lo);
        self.data.ctrl_mut()[self.gripper_ctrl] = mid + half * self.gripper_cmd;
    }

    fn arm_state(&self) -> Result<ArmState> {
        let d = &self.data;
        let nv = self.model.nv() as usize;
        let (jp, jr) = d.jac_site(true, true, self.ee_site);
        let jp = DMatrix::from_row_slice(3, nv, &jp).select_columns(&self.arm.dof);
        let jr = DMatrix::from_row_slice(3, nv, &jr).select_columns(&self.arm.dof);
        let mut m = vec![0.0; nv * nv];
        d.full_m(&mut m).map_err(|e| SimError::Config {
            field: "mass matrix",
            reason: e.to_string(),
        })?;
        let m = DMatrix::from_row_slice(nv, nv, &m)
            .select_rows(&self.arm.dof)
            .select_columns(&self.arm.dof);
        let n = self.arm.dof.len();
        let bias = DVector::from_iterator(n, self.arm.dof.iter().map(|&i| d.qfrc_bias()[i]));
        let q = DVector::from_iterator(n, self.arm.qpos.iter().map(|&i| d.qpos()[i]));
        let qdot = DVector::from_iterator(n, self.arm.dof.iter().map(|&i| d.qvel()[i]));
        let p = d.site_xpos()[self.ee_site];
        let r = d.site_xmat()[self.ee_site];
        Ok(ArmState {
            q,
            qdot,
            ee_pos: Vector3::new(p[0], p[1], p[2]),
            ee_rot: Matrix3::from_row_slice(&r),
            jac_pos: jp,
            jac_rot: jr,
            mass: m,
            bias,
        })
    }

    /// Render the cameras and read the robot state.
    pub fn observe(&mut self) -> Result<Observation> {
        let images = self.cameras.render_all(&mut self.data)?;
        Ok(Observation {
            images,
            proprio: self.proprio()?,
            time_s: self.data.time(),
        })
    }

    /// The robot state without rendering.
    pub fn proprio(&self) -> Result<Proprio> {
        let state = self.arm_state()?;
        let q = nalgebra::UnitQuaternion::from_matrix(&state.ee_rot);
        Ok(Proprio {
            ee_pos: [state.ee_pos.x, state.ee_pos.y, state.ee_pos.z],
            ee_quat_wxyz: [q.w, q.i, q.j, q.k],
            gripper_qpos: self
                .gripper_qpos
                .iter()
                .map(|&i| self.data.qpos()[i])
                .collect(),
            joint_pos: state.q.iter().copied().collect(),
            joint_vel: state.qdot.iter().copied().collect(),
        })
    }
}

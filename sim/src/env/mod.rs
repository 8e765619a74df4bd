//! [`Env`]: a MuJoCo scene with the Panda, the LIBERO-style OSC controller at 20 Hz
//! (25 substeps of 2 ms), offscreen cameras and typed observations.

use std::path::PathBuf;
use std::sync::Arc;

use mujoco_rs::prelude::*;
use nalgebra::{DMatrix, DVector, Matrix3, Vector3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::camera::{CameraRig, ImageConvention};
use crate::error::{Result, SimError};
use crate::joint_control::{JointPd, dls_targets};
pub use crate::observation::{Observation, Proprio};
use crate::osc::{ArmState, Osc, OscGains};
use crate::scene;

mod query;
mod state;

/// LIBERO's Panda reset pose (robosuite `init_qpos`).
pub const LIBERO_INIT_QPOS: [f64; 7] = [
    0.0,
    -0.161,
    0.0,
    -2.4446,
    0.0,
    2.2268,
    std::f64::consts::FRAC_PI_4,
];

/// How actions drive the arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlMode {
    /// LIBERO's OSC_POSE: 7-D `[dx dy dz dax day daz g]` deltas in [-1, 1].
    #[default]
    OscPose,
    /// Joint positions: 8-D `[q1 … q7 g]`, absolute targets in rad (ROS 2 joint trajectories).
    JointPosition,
    /// Same 7-D deltas as OSC_POSE, solved by damped-least-squares IK into joint targets
    /// tracked by the joint PD (SimplerEnv-style arms).
    IkPose,
}

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

/// Environment settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvConfig {
    /// Built-in scene name (or the name of `scene_mjcf`).
    pub scene: String,
    /// A scene template from [`crate::builder::SceneBuilder::to_mjcf`]; overrides the built-in.
    pub scene_mjcf: Option<String>,
    /// Directory with the Panda MJCF (see `scripts/setup.sh`).
    pub assets_dir: PathBuf,
    /// Cameras rendered into each observation, in order.
    pub cameras: Vec<String>,
    /// Square image side in pixels (≤ the scene's offscreen buffer, 256).
    pub image_size: u32,
    /// Row order of returned images.
    pub image_convention: ImageConvention,
    /// Policy (control) rate in Hz; substeps = 1 / (rate · timestep).
    pub control_hz: f64,
    /// Arm reset pose.
    pub init_qpos: [f64; 7],
    /// Uniform jitter of free objects' x/y at reset (m), seeded.
    pub object_jitter_m: f64,
    /// How actions drive the arm.
    pub control: ControlMode,
    /// OSC gains (and the per-step delta scales used by `IkPose` too).
    pub gains: OscGains,
    /// Joint PD stiffness for `JointPosition` and `IkPose` (1/s²).
    pub joint_kp: f64,
    /// Damping λ of the DLS IK step.
    pub ik_damping: f64,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            scene: "tabletop".into(),
            scene_mjcf: None,
            assets_dir: scene::default_assets_dir(),
            cameras: vec!["agentview".into(), "handcam_rgb".into()],
            image_size: 128,
            image_convention: ImageConvention::TopDown,
            control_hz: 20.0,
            init_qpos: LIBERO_INIT_QPOS,
            object_jitter_m: 0.02,
            control: ControlMode::OscPose,
            gains: OscGains::default(),
            joint_kp: 400.0,
            ik_damping: 0.05,
        }
    }
}

struct ArmIds {
    qpos: Vec<usize>,
    dof: Vec<usize>,
    ctrl: Vec<usize>,
    limits: Vec<(f64, f64)>,
}

/// A running simulation.
pub struct Env {
    cfg: EnvConfig,
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
        let mut model = match &cfg.scene_mjcf {
            Some(xml) => scene::load_template(&cfg.scene, xml, &cfg.assets_dir)?,
            None => scene::load(&cfg.scene, &cfg.assets_dir)?,
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
        let mut arm = ArmIds {
            qpos: vec![],
            dof: vec![],
            ctrl: vec![],
            limits: vec![],
        };
        for i in 1..=7 {
            let j = id(
                &model,
                MjtObjBase::mjOBJ_JOINT,
                "joint",
                &format!("joint{i}"),
            )?;
            arm.qpos.push(model.jnt_qposadr()[j] as usize);
            arm.dof.push(model.jnt_dofadr()[j] as usize);
            let a = id(
                &model,
                MjtObjBase::mjOBJ_ACTUATOR,
                "actuator",
                &format!("actuator{i}"),
            )?;
            arm.ctrl.push(a);
            let r = model.actuator_ctrlrange()[a];
            arm.limits.push((r[0], r[1]));
        }
        let gripper_ctrl = id(
            &model,
            MjtObjBase::mjOBJ_ACTUATOR,
            "actuator",
            "fingers_actuator",
        )?;
        let gr = model.actuator_ctrlrange()[gripper_ctrl];
        let gripper_qpos = ["left_driver_joint", "right_driver_joint"]
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
        let ee_site = id(&model, MjtObjBase::mjOBJ_SITE, "site", "pinch")?;
        let cameras = CameraRig::new(&model, &cfg.cameras, cfg.image_size, cfg.image_convention)?;
        let data = MjData::new(Arc::clone(&model));
        Ok(Self {
            cfg,
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
            gripper_cmd: -1.0,
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
        for (adr, q) in self.arm.qpos.iter().zip(self.cfg.init_qpos) {
            qpos[*adr] = q;
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
        self.gripper_cmd = -1.0;
        self.apply_gripper();
        self.observe()
    }

    /// One control step. `OscPose`/`IkPose`: LIBERO 7-D action `[dx dy dz dax day daz g]` in
    /// [-1, 1] (clipped; 5 cm / 0.5 rad per unit; `g` = +1 closes, −1 opens).
    /// `JointPosition`: `[q1 … q7 g]`. Wrong length or non-finite values are errors and never
    /// reach MuJoCo.
    pub fn step(&mut self, action: &[f32]) -> Result<Observation> {
        self.step_blind(action)?;
        self.observe()
    }

    /// [`Env::step`] without rendering or reading the observation (evaluation of policies
    /// that do not need a frame every step; call [`Env::observe`] or [`Env::proprio`] when
    /// they do).
    pub fn step_blind(&mut self, action: &[f32]) -> Result<()> {
        let expected = if self.cfg.control == ControlMode::JointPosition {
            8
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
        let controller = self.controller.as_mut().ok_or(SimError::Config {
            field: "env",
            reason: "step before reset".into(),
        })?;
        let delta = || -> Vec<f64> {
            action[..6]
                .iter()
                .map(|v| f64::from(v.clamp(-1.0, 1.0)))
                .collect()
        };
        match controller {
            Controller::Osc(osc) => {
                let a = delta();
                osc.set_delta_goal(&[a[0], a[1], a[2], a[3], a[4], a[5]], &state);
            }
            Controller::Joint(pd) => {
                pd.target = DVector::from_iterator(7, action[..7].iter().map(|v| f64::from(*v)));
            }
            Controller::Ik {
                goal_pos, goal_rot, ..
            } => {
                let a = delta();
                *goal_pos = state.ee_pos + Vector3::new(a[0], a[1], a[2]) * gains.max_step_pos_m;
                let aa = Vector3::new(a[3], a[4], a[5]) * gains.max_step_rot_rad;
                if aa.iter().any(|v| *v != 0.0) {
                    *goal_rot =
                        nalgebra::Rotation3::from_scaled_axis(aa).into_inner() * state.ee_rot;
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

    /// One control step toward the controller's current goal (no re-targeting), gripper
    /// direction `g` (+1 close, −1 open, 0 keep).
    pub fn hold(&mut self, g: f32) -> Result<Observation> {
        if !g.is_finite() {
            return Err(SimError::BadAction {
                reason: format!("gripper command is {g}"),
            });
        }
        self.run_substeps(g)?;
        self.observe()
    }

    /// Run one control step of substeps; the gripper command ramps toward the sign of `g`
    /// (+1 close, −1 open, 0 keep), 0.01 per substep.
    fn run_substeps(&mut self, g: f32) -> Result<()> {
        let grip_dir = if g == 0.0 { 0.0 } else { f64::from(g.signum()) };
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
            self.gripper_cmd = (self.gripper_cmd + 0.01 * grip_dir).clamp(-1.0, 1.0);
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
        let bias = DVector::from_iterator(7, self.arm.dof.iter().map(|&i| d.qfrc_bias()[i]));
        let q = DVector::from_iterator(7, self.arm.qpos.iter().map(|&i| d.qpos()[i]));
        let qdot = DVector::from_iterator(7, self.arm.dof.iter().map(|&i| d.qvel()[i]));
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
        let mut joint_pos = [0.0; 7];
        let mut joint_vel = [0.0; 7];
        for i in 0..7 {
            joint_pos[i] = state.q[i];
            joint_vel[i] = state.qdot[i];
        }
        Ok(Proprio {
            ee_pos: [state.ee_pos.x, state.ee_pos.y, state.ee_pos.z],
            ee_quat_wxyz: [q.w, q.i, q.j, q.k],
            gripper_qpos: self
                .gripper_qpos
                .iter()
                .map(|&i| self.data.qpos()[i])
                .collect(),
            joint_pos,
            joint_vel,
        })
    }
}

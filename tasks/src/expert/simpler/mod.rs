//! The scripted expert for the SimplerEnv-style suites (`simpler_widowx`, `simpler_google`):
//! one skill from the task's first goal atom, driven through each arm's own action
//! convention (`arm.rs`). [`super::ScriptedExpert`] hands over to it when the scene's robot
//! is not the Panda.
//!
//! - `(On a b)`, `(In a r)`, `(Near a b)`, `(Up a)`: pick-and-place (`pick.rs`): hover above
//!   the catalog grasp point, descend (the pad tips kept 2–3 mm above the table), close,
//!   lift over everything, carry, lower until the object is 6 mm above its spot (`Near`: on
//!   the table 9 cm from the other object, on the side it came from), open, retreat 8 cm and
//!   stay; `Up` lifts the object's origin to 1.06 m and keeps holding it, since the suites
//!   score the final step.
//! - `(Open r)` / `(Close r)` on a drawer region: `drawer.rs` (pull past `open_qpos − 1.2 cm`,
//!   push past `q > 0.004`).
//!
//! Same state, same action (the WidowX adapter's goal is part of the state it keeps).

mod arm;
mod drawer;
mod pick;

use ddvla_sim::Env;
use nalgebra::{Matrix3, UnitQuaternion, Vector3};

use crate::bddl::{Predicate, Problem};
use crate::catalog::{CatalogObject, PartKind};
use crate::eval::{EvalError, StepContext};
use crate::scene::TaskScene;

pub(crate) use arm::ArmSpec;
use arm::{Adapter, Pose, Target};
use drawer::Drawer;
use pick::{PickPlace, Place};

/// `(Up a)` lifts the origin here (LIBERO's `Up` is z ≥ 1.0 m).
const LIFT_Z_M: f64 = 1.06;
/// Pull a drawer this far past its open value (m).
const OPEN_EXTRA_M: f64 = 0.012;
/// Push a drawer until its joint passes this (LIBERO's `Close` is `q > 0`).
const CLOSED_Q: f64 = 0.004;

/// An error of the expert.
fn fail(reason: String) -> EvalError {
    EvalError::Policy {
        policy: "expert".into(),
        reason,
    }
}

/// What one step of the expert sees.
pub(crate) struct Scene<'a> {
    env: &'a Env,
    scene: &'a TaskScene,
    problem: &'a Problem,
    spec: &'static ArmSpec,
    pose: Pose,
    table_z: f64,
}

impl<'a> Scene<'a> {
    fn new(ctx: &StepContext<'a>, spec: &'static ArmSpec) -> Result<Self, EvalError> {
        Ok(Self {
            env: ctx.env,
            scene: ctx.scene,
            problem: &ctx.task.problem,
            spec,
            pose: Pose::read(ctx.env, spec)?,
            table_z: ctx.scene.table_top_z,
        })
    }

    fn catalog(&self, inst: &str) -> Result<&'a CatalogObject, EvalError> {
        self.scene
            .instances
            .get(inst)
            .ok_or_else(|| fail(format!("no instance {inst} in the scene")))
    }

    fn pos(&self, inst: &str) -> Result<Vector3<f64>, EvalError> {
        Ok(Vector3::from(self.env.body_pos(&format!("{inst}_main"))?))
    }

    fn rot(&self, inst: &str) -> Result<UnitQuaternion<f64>, EvalError> {
        if !self.catalog(inst)?.object.free {
            return Ok(UnitQuaternion::identity());
        }
        let q = self.env.joint_qpos(&format!("{inst}_joint0"))?;
        Ok(UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(
            q[3], q[4], q[5], q[6],
        )))
    }

    /// A site's centre and half sizes.
    fn site(&self, name: &str) -> Result<(Vector3<f64>, Vector3<f64>), EvalError> {
        let (p, _) = self.env.site_pose(name)?;
        Ok((Vector3::from(p), Vector3::from(self.env.site_size(name)?)))
    }

    /// Highest point of `inst` (m, world), walls and cases included.
    fn top_z(&self, inst: &str) -> Result<f64, EvalError> {
        let o = self.catalog(inst)?;
        let height = match self.problem.category_of(inst).unwrap_or("") {
            "basket" => 0.085,
            "wooden_cabinet" => 0.26,
            _ => o
                .grasp
                .map_or(o.bottom_offset_m + o.top_offset_m, |g| g.height_m),
        };
        Ok(self.pos(inst)?.z - o.bottom_offset_m + height)
    }

    /// The tool's yaw now ([`ArmSpec::down`]'s convention).
    fn yaw_now(&self) -> f64 {
        let r: Matrix3<f64> = self.pose.rot;
        r[(1, 1)].atan2(r[(0, 1)]) - std::f64::consts::FRAC_PI_2
    }
}

/// The one skill of a task.
#[derive(Debug, Clone)]
enum Skill {
    Pick(PickPlace),
    Drawer(Drawer),
    /// Nothing the expert knows how to do: hold still, open.
    Idle,
}

/// The expert for the SimplerEnv-style arms.
#[derive(Debug, Clone, Default)]
pub(crate) struct SimplerExpert {
    skill: Option<Skill>,
    adapter: Adapter,
}

/// The skill for the task's first goal atom.
fn plan(s: &Scene<'_>) -> Skill {
    let Some(atom) = s.problem.goal.first() else {
        return Skill::Idle;
    };
    let arg = |i: usize| atom.args.get(i).cloned().unwrap_or_default();
    let is_region = s.problem.region(&arg(1)).is_some();
    let place = match &atom.predicate {
        Predicate::On if is_region => Place::OnSite(arg(1)),
        Predicate::On => Place::OnObject(arg(1)),
        Predicate::In => Place::InSite(arg(1)),
        Predicate::Up => Place::Lift(LIFT_Z_M),
        Predicate::Other(name) if name == "near" => Place::Near(arg(1)),
        Predicate::Open | Predicate::Close => {
            let open = atom.predicate == Predicate::Open;
            let region = arg(0);
            let part = s.scene.instances.values().find_map(|o| {
                o.parts.iter().find(|p| {
                    p.kind == PartKind::Drawer && p.region.as_deref() == Some(region.as_str())
                })
            });
            return part.map_or(Skill::Idle, |p| {
                let goal = if open {
                    p.open_qpos - OPEN_EXTRA_M
                } else {
                    CLOSED_Q
                };
                Skill::Drawer(Drawer::new(&p.joint, &p.handle_site, open, goal))
            });
        }
        _ => return Skill::Idle,
    };
    Skill::Pick(PickPlace::new(&arg(0), place))
}

impl SimplerExpert {
    /// One action for `spec`'s arm, in the arm's own convention.
    pub fn act(
        &mut self,
        ctx: &StepContext<'_>,
        spec: &'static ArmSpec,
    ) -> Result<Vec<f32>, EvalError> {
        let s = Scene::new(ctx, spec)?;
        let skill = self.skill.get_or_insert_with(|| plan(&s));
        let target = match skill {
            Skill::Pick(p) => p.step(&s)?,
            Skill::Drawer(d) => d.step(&s)?,
            Skill::Idle => Target::new(s.pose.pos, s.yaw_now(), false),
        };
        Ok(self.adapter.action(spec, &s.pose, &target))
    }
}

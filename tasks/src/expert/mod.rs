//! Scripted experts for the LIBERO-style suites: closed-loop state machines on privileged
//! simulator state that produce smooth, deterministic 7-D actions for demonstrations.
//!
//! [`ScriptedExpert`] reads the task's `:goal` atoms at the first step of an episode and
//! plans skills (`plan.rs`): drawers are opened before something goes into them and closed
//! after, the knob is turned before pots go on the stove, objects sharing a region get
//! separate spots. Each step it reads the state again and asks the current skill for a target
//! pose; `motion.rs` turns the target into `[dx dy dz dax day daz g]` (5 cm / 0.5 rad per
//! unit, `g` = +1 closes): a proportional law (gain 2.5, saturated at the skill's speed) whose
//! change per step is limited to 0.25, the gripper pointing down and turned about world z
//! only. When the plan is done and the goal does not hold yet, the failed atoms are planned
//! again (up to three times).
//!
//! Skills and their parameters:
//! - pick-and-place (`pick_place.rs`): hover 6 cm above the catalog grasp point
//!   ([`crate::catalog::Grasp`], fingers along `close_axis_body` turned by the object's yaw;
//!   round objects are gripped across the direction of their nearest neighbour), descend to
//!   6 mm, close until the finger joint stops (fully closed = missed: re-grasp), carry at a
//!   height that clears every instance near the path (catalog heights, open drawers, what the
//!   gripper holds hanging below it; it climbs first, drifting 1 cm a step toward the goal,
//!   2.5 cm when empty), lower until the object's origin is 8 mm above its resting pose at the
//!   target (a region's surface, the near side of a fixture top, a region's floor, in front
//!   of the cabinet face in a drawer, the top of another object), wait until it stops
//!   swinging, open, retreat 8 cm up. Objects sharing a region stand 9 cm apart along its
//!   longer side, narrow side along the row. A drop in the hand (2.5 cm) re-grasps; four
//!   misses end the skill.
//! - drawer (`articulate.rs`): the closed fingers come down (from 6 cm above) 24 mm behind
//!   the handle bar and pull along −x until `q ≤ open_qpos − 1.2 cm`, or 22 mm in front of
//!   it and push along +x until `q > 0.004` (LIBERO's `Close` is `q > 0`); back off, lift.
//! - knob: closed fingertips 2.2 cm behind the lever at 3.3 cm from the hinge, then a target
//!   0.45 rad ahead of the lever around the hinge until `q ≥ 0.68` (on at 0.5); lift.
//! - push: closed fingers 9 mm above the table, 2.5 cm behind the object on the line to the
//!   region centre, pushing at speed 0.35 until 1.2 cm from the centre; off the line by more
//!   than 2.5 cm: lift and go round again.
//!
//! The expert is deterministic: the same state gives the same action.
//!
//! [`ScriptedExpert::labeller`] labels states another policy reached (DAgger): its
//! pick-and-place phase is brought in line with the state every step and it has no
//! timeouts that act wherever the arm is.
//!
//! [`ScriptedExpert::detouring_home`] drives recordings in which the arm goes back toward its
//! start pose between skills (`detour.rs`), for a labeller to label.
//!
//! Scenes with a SimplerEnv-style arm (WidowX-like, Google-like) are handed to `simpler/`,
//! which drives those arms in their own action conventions.

mod articulate;
mod chunk;
mod detour;
mod motion;
mod pick_place;
mod plan;
mod simpler;
mod world;

use std::collections::VecDeque;

use nalgebra::{Vector2, Vector3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::bddl::Atom;
use crate::eval::{EeGoal, EvalError, EvalPolicy, StepContext};
use crate::predicates::evaluate_atom;
use crate::suite::Task;

use detour::Detour;
use motion::{Driver, Target};
use plan::{Skill, plan};
use world::World;

/// How many times the failed atoms are planned again after the plan ran out.
const MAX_REPLANS: u32 = 3;

/// The scripted expert policy (`describe()` = `expert`).
#[derive(Debug, Clone, Default)]
pub struct ScriptedExpert {
    skills: VecDeque<Skill>,
    started: bool,
    replans: u32,
    driver: Driver,
    simpler: simpler::SimplerExpert,
    /// Labelling another policy's rollouts ([`ScriptedExpert::labeller`]).
    follow: bool,
    /// How far off the grasp point the first attempts aim ([`ScriptedExpert::missing_first_grasps_by`]; m).
    first_miss_m: f64,
    /// This episode's direction of that miss (world frame, rad), drawn from its seed.
    first_miss_dir_rad: f64,
    /// Detours home between skills ([`ScriptedExpert::detouring_home`]).
    detour: Option<Detour>,
    /// The target the last action moved toward ([`EvalPolicy::goal`]).
    last_target: Option<Target>,
}

impl ScriptedExpert {
    /// An expert for any task of the LIBERO-style suites (it plans from the goal at the first
    /// step of each episode).
    pub fn new() -> Self {
        Self::default()
    }

    /// An expert that labels states another policy reached (DAgger): each skill's phase
    /// follows the state each step (an object the policy grasped is carried, not approached
    /// again; a knob, drawer or plate the policy already moved to its goal is not approached;
    /// a gripper the policy brought down at the right spot, or against the plate's back, goes
    /// on from there instead of first going back up to the approach pose), no timeout closes
    /// or opens the gripper or starts a descent wherever the arm happens to be, and it never
    /// gives up (misses and replans are unlimited). Driving on its own it behaves like
    /// [`ScriptedExpert::new`] up to those timeouts.
    pub fn labeller() -> Self {
        Self {
            follow: true,
            ..Self::default()
        }
    }

    /// An expert whose first plan's pick-and-place skills aim their first attempt
    /// `distance_m` off the object's grasp point, in a horizontal direction drawn from the
    /// episode's seed, then go on as the expert does (see `PickPlace::missing_first_grasp_by`).
    /// Driving [`ScriptedExpert::labeller`]-labelled recordings it shows the recoveries from
    /// an off-centre grasp that plain demonstrations never do. Refused for a `distance_m`
    /// outside [0, 0.1].
    pub fn missing_first_grasps_by(distance_m: f64) -> Result<Self, EvalError> {
        if !(0.0..=0.1).contains(&distance_m) {
            return Err(EvalError::Policy {
                policy: "expert".into(),
                reason: format!("grasp miss {distance_m} m is outside [0, 0.1] m"),
            });
        }
        Ok(Self {
            first_miss_m: distance_m,
            ..Self::default()
        })
    }

    /// An expert that, each time a skill ends with more to do, first takes the arm back
    /// toward the episode's start pose (gripper open) for a number of steps drawn from
    /// `1..=max_steps` per detour (from the episode's seed), then goes on (see `detour.rs`).
    /// Driving [`ScriptedExpert::labeller`]-labelled recordings it shows the start pose with
    /// a phase already done, which the images tell apart from the episode's start.
    /// Refused for `max_steps` 0.
    pub fn detouring_home(max_steps: usize) -> Result<Self, EvalError> {
        if max_steps == 0 {
            return Err(EvalError::Policy {
                policy: "expert".into(),
                reason: "a detour home needs at least one step".into(),
            });
        }
        Ok(Self {
            detour: Some(Detour::new(max_steps, 0)),
            ..Self::default()
        })
    }

    /// The first plan's grasp miss (world xy, m).
    fn first_miss(&self) -> Vector2<f64> {
        let (s, c) = self.first_miss_dir_rad.sin_cos();
        Vector2::new(c, s) * self.first_miss_m
    }

    fn plan(&self, w: &World<'_>) -> Result<VecDeque<Skill>, EvalError> {
        let skills = plan(w, &Self::open_atoms(w)?)?;
        Ok(if self.follow {
            skills.into_iter().map(Skill::follow).collect()
        } else {
            skills.into()
        })
    }

    /// What the expert is doing now, for logs (`pick_place bowl_1 (0 tries): Carry`).
    pub fn status(&self) -> String {
        self.skills
            .front()
            .map_or_else(|| "idle".to_owned(), Skill::label)
    }

    /// The goal atoms that do not hold now.
    fn open_atoms(w: &World<'_>) -> Result<Vec<Atom>, EvalError> {
        let mut out = vec![];
        for a in &w.problem.goal {
            if !evaluate_atom(w.problem, a, w.env)? {
                out.push(a.clone());
            }
        }
        Ok(out)
    }

    fn next_target(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        if !self.started {
            self.started = true;
            let miss = self.first_miss();
            self.skills = self
                .plan(w)?
                .into_iter()
                .map(|s| s.missing_first_grasp_by(miss))
                .collect();
        }
        // Following, replans are unlimited but one per step (a plan whose skills all end at
        // once is not redone in a loop).
        let mut replanned_now = false;
        loop {
            if let Some(skill) = self.skills.front_mut() {
                if let Some(t) = skill.step(w)? {
                    return Ok(Some(t));
                }
                self.skills.pop_front();
                if let Some(d) = self.detour.as_mut().filter(|_| !self.skills.is_empty()) {
                    d.start();
                    if let Some(t) = d.target(&w.ee) {
                        return Ok(Some(t));
                    }
                }
            } else if self.replans < MAX_REPLANS || (self.follow && !replanned_now) {
                replanned_now = true;
                self.replans += 1;
                self.skills = self.plan(w)?;
                if self.skills.is_empty() {
                    return Ok(None);
                }
            } else {
                return Ok(None);
            }
        }
    }
}

impl EvalPolicy for ScriptedExpert {
    fn describe(&self) -> String {
        if self.first_miss_m > 0.0 {
            format!("expert missing its first grasps by {} m", self.first_miss_m)
        } else if let Some(d) = &self.detour {
            format!("expert detouring home up to {} steps", d.max_steps())
        } else {
            "expert".into()
        }
    }

    fn needs_frames(&self) -> bool {
        false
    }

    fn begin_episode(&mut self, _task: &Task, _episode: usize, seed: u64) -> Result<(), EvalError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        *self = Self {
            follow: self.follow,
            first_miss_m: self.first_miss_m,
            first_miss_dir_rad: rng.random_range(0.0..std::f64::consts::TAU),
            detour: self
                .detour
                .as_ref()
                .map(|d| Detour::new(d.max_steps(), rng.random())),
            ..Self::default()
        };
        Ok(())
    }

    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        self.last_target = None;
        if let Some(spec) = simpler::ArmSpec::of(ctx.scene.builder.robot) {
            return Ok(vec![self.simpler.act(ctx, spec)?]);
        }
        let w = World::new(ctx)?;
        let detour = self.detour.as_mut().and_then(|d| {
            d.observe(&w.ee);
            d.target(&w.ee)
        });
        let target = match detour {
            Some(t) => Some(t),
            None => self.next_target(&w)?,
        };
        let target = target.unwrap_or_else(|| {
            // Nothing left to do: hold still above where the gripper is, open.
            Target::new(w.ee.pos + Vector3::zeros(), w.ee.yaw(), -1.0)
        });
        self.last_target = Some(target);
        Ok(vec![self.driver.action(&w.ee, &target)])
    }

    /// The target pose the last action moved toward (the pinch point, world frame), at its
    /// skill's speed; `None` on the SimplerEnv-style arms, which `simpler/` drives in their
    /// own conventions.
    fn goal(&self) -> Option<EeGoal> {
        self.last_target.map(|t| EeGoal {
            position_m: [t.pos.x, t.pos.y, t.pos.z],
            yaw_rad: t.yaw,
            speed: t.speed,
        })
    }
}

//! Why an episode ended as it did: the goal atoms left unmet at its last step, the movable
//! objects the robot lifted on the way, and how close the end effector came to each object
//! the goal names (and how far that object ended from rest). A failed pick-and-place either
//! never lifted anything (the approach says whether it got there), lifted the object the goal
//! names (and dropped or misplaced it), or lifted another object (it misread the
//! instruction); [`super::FailureModes`] counts those per task for the report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::EvalError;
use crate::bddl::Problem;
use crate::predicates::{GoalStatus, SceneState};

/// A goal atom that held at some step of an episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomMet {
    /// The atom as written in the BDDL file.
    pub atom: String,
    /// The first step after which it held (1: after the first action).
    pub first_step: u32,
}

/// A rise above an object's resting height (m) that counts as lifted: a grasp carries an
/// object well above this, while pushing or tipping one moves its body origin by less.
pub const LIFT_THRESHOLD_M: f64 = 0.03;

/// How far from open the gripper must be at the last step, as a share of how far from open
/// it was when it lifted the object, to count as closed on it: any robot's units (the
/// LIBERO-style gripper reads 0 open and 0.2–0.3 on a can; a prismatic one may close
/// toward smaller readings).
pub const GRIP_CLOSED_SHARE: f64 = 0.5;

/// How far the end effector may be from a lifted object's body origin (m) at the last step
/// for a closed gripper to count as still holding it: grasps take objects within ~5 cm of
/// their origin.
pub const HOLD_REACH_M: f64 = 0.08;

/// One lifted object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lift {
    /// The BDDL instance name (`milk_1`).
    pub object: String,
    /// Its highest rise above where it rested when the policy started (m).
    pub rise_m: f64,
    /// Its rise at the last step (m): near 0, put down (or dropped) at its old height;
    /// above [`LIFT_THRESHOLD_M`], carried, or resting on something higher (a stove, a
    /// basket's floor). (`None` in results written before it was recorded.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_rise_m: Option<f64>,
    /// The gripper's opening at the last step (see [`grip_of`]). (`None` in results written
    /// before it was recorded, and for a robot without a gripper.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_grip: Option<f64>,
    /// The gripper's opening when the policy started (open, after the wait steps). (`None`
    /// in results written before it was recorded, and for a robot without a gripper.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_grip: Option<f64>,
    /// Where the end effector was at the last step, from the object's body origin (world
    /// axes, m). (`None` in results written before it was recorded.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ee_offset_m: Option<[f64; 3]>,
    /// How the gripper held it: the gripper's mean joint position (the robot's own units; for
    /// the LIBERO-style gripper 0 is open and ~0.8 closed on nothing) at the step the object
    /// first rose past [`LIFT_THRESHOLD_M`]. A grasp unlike the successful episodes' (a thin
    /// rim pinched between nearly closed fingers instead of a wide grip) shows here.
    /// (`None` in results written before it was recorded.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grip_at_lift: Option<f64>,
    /// Where the end effector was then, from the object's body origin (world axes, m): where
    /// on the object the grasp took it. (`None` in results written before it was recorded.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ee_offset_at_lift_m: Option<[f64; 3]>,
}

impl Lift {
    /// Still held at the last step (the step limit came first): the gripper at least
    /// [`GRIP_CLOSED_SHARE`] as far from open as when it lifted the object, within
    /// [`HOLD_REACH_M`] of it. Where those readings were not recorded (older results, a
    /// robot without a gripper): still above the lift threshold, which also counts an
    /// object set down on a raised surface.
    pub fn held_at_end(&self) -> bool {
        match (
            self.open_grip,
            self.grip_at_lift,
            self.end_grip,
            self.end_ee_offset_m,
        ) {
            (Some(open), Some(lift), Some(end), Some(offset)) => {
                let reach = offset.iter().map(|x| x * x).sum::<f64>().sqrt();
                (end - open).abs() >= GRIP_CLOSED_SHARE * (lift - open).abs()
                    && (lift - open).abs() > 0.0
                    && reach < HOLD_REACH_M
            }
            _ => self.end_rise_m.is_some_and(|r| r > LIFT_THRESHOLD_M),
        }
    }
}

/// What an episode did with the scene: the evidence for why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EpisodeOutcome {
    /// The goal atoms that did not hold at the last step, as written in the BDDL file (empty
    /// on success).
    pub unmet: Vec<String>,
    /// The movable objects (`:objects`) the goal is about: each goal atom's first argument
    /// when it is one (`milk_1` in `(in milk_1 basket_1_contain_region)`); empty for goals on
    /// fixtures only (open a drawer, turn on a stove).
    pub goal_objects: Vec<String>,
    /// The movable objects raised more than [`LIFT_THRESHOLD_M`] at some step, in file order.
    pub lifted: Vec<Lift>,
    /// The end effector's closest approach to each goal object over the episode, in
    /// `goal_objects` order: whether a failed grasp ever got there. (An object whose position
    /// was never finite is left out.)
    #[serde(default)]
    pub closest: Vec<Approach>,
    /// The goal atoms that held after some step, in the order they first did: how far a
    /// multi-stage goal got (the first of two objects in the basket) and, with `unmet`,
    /// which were met and then undone. (`None` in results written before it was recorded.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<Vec<AtomMet>>,
}

/// The end effector's closest approach to one goal object, and where the object ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approach {
    /// The BDDL instance name.
    pub object: String,
    /// The smallest distance from the end effector to the object's body origin (m).
    pub distance_m: f64,
    /// Where the end effector was then, from the object's body origin (world axes, m): a
    /// grasp that stopped short above the object has a positive z here.
    pub ee_offset_m: [f64; 3],
    /// How far the object ended from where it rested, horizontally (m): whether a push
    /// moved it at all.
    /// (`None` in results written before it was recorded.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_m: Option<f64>,
    /// Where the object ended, from the movable object its goal atom puts it on or in (the
    /// bowl of `(on cream_cheese_1 akita_black_bowl_1)`, the basket of `(in milk_1
    /// basket_1_contain_region)`; world axes, m): which way a misplaced object missed.
    /// `None` when the target is a fixture or a region of one, and in results written before
    /// it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_from_target_m: Option<[f64; 3]>,
}

/// How an episode's failure looks from its [`EpisodeOutcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// An object the goal names was lifted (then dropped, misplaced, or too late).
    GoalObjectLifted,
    /// Only objects the goal does not name were lifted: the wrong object.
    OtherObjectLifted,
    /// Nothing was lifted: no grasp, or a goal on fixtures only.
    NothingLifted,
}

impl EpisodeOutcome {
    /// The grip the first goal object that was lifted was lifted with, if recorded.
    pub fn goal_lift_grip(&self) -> Option<f64> {
        self.lifted
            .iter()
            .find(|l| self.goal_objects.contains(&l.object))
            .and_then(|l| l.grip_at_lift)
    }

    /// How many goal atoms held after some step, of how many the goal has, and how many of
    /// those no longer held at the last step; `None` in results written before it was
    /// recorded.
    pub fn progress(&self) -> Option<(usize, usize, usize)> {
        let met = self.met.as_ref()?;
        let undone = met.iter().filter(|m| self.unmet.contains(&m.atom)).count();
        let never = self.unmet.len().saturating_sub(undone);
        Some((met.len(), met.len() + never, undone))
    }

    /// The kind of failure this outcome shows.
    pub fn failure_kind(&self) -> FailureKind {
        if self
            .lifted
            .iter()
            .any(|l| self.goal_objects.contains(&l.object))
        {
            FailureKind::GoalObjectLifted
        } else if self.lifted.is_empty() {
            FailureKind::NothingLifted
        } else {
            FailureKind::OtherObjectLifted
        }
    }
}

/// A movable object's position at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectAt {
    /// BDDL instance.
    pub name: String,
    /// Position of its `<name>_main` body (world frame, m).
    pub position_m: [f64; 3],
}

/// One movable object followed through an episode.
#[derive(Debug, Clone)]
struct Tracked {
    /// BDDL instance.
    name: String,
    /// MuJoCo body (`<name>_main`).
    body: String,
    /// Where it rested when the policy started (world, m).
    rest: [f64; 3],
    /// Where it is now (world, m).
    now: [f64; 3],
    /// Its highest z so far (m).
    top_z: f64,
    /// For a goal object: the end effector's closest distance so far (m) and its offset
    /// from the object then.
    closest: Option<(f64, [f64; 3])>,
    /// For a goal object: the movable object its goal atom puts it on or in, if any.
    target: Option<String>,
    /// The gripper's opening and the end effector's offset from the object at the step it
    /// first rose past [`LIFT_THRESHOLD_M`].
    first_lift: Option<(f64, [f64; 3])>,
    /// The gripper's opening and the end effector's offset from the object at the latest
    /// step.
    latest: (f64, [f64; 3]),
    /// The gripper's opening when tracking started.
    open_grip: f64,
}

/// Follows the movable objects through an episode.
#[derive(Debug, Clone)]
pub struct OutcomeTracker {
    goal_objects: Vec<String>,
    /// Every `:objects` instance, in file order.
    objects: Vec<Tracked>,
    /// For each goal atom (file order), the first step after which it held, if any: indices,
    /// not names, so noting a step formats nothing (the names come from the last status).
    first_held: Vec<Option<u32>>,
    /// The step of the latest goal status noted.
    last_step: u32,
}

impl OutcomeTracker {
    /// Start following `problem`'s movable objects from the state they rest in now, with
    /// the end effector at `ee_pos` (world frame, m) and the gripper at `grip` (see
    /// [`grip_of`]).
    pub fn start(
        problem: &Problem,
        scene: &dyn SceneState,
        ee_pos: [f64; 3],
        grip: f64,
    ) -> Result<Self, EvalError> {
        let mut goal_objects: Vec<String> = Vec::new();
        let mut targets: BTreeMap<String, String> = BTreeMap::new();
        for atom in &problem.goal {
            if let Some(first) = atom.args.first()
                && problem.objects.iter().any(|o| &o.name == first)
                && !goal_objects.contains(first)
            {
                goal_objects.push(first.clone());
                if let Some(target) = atom.args.get(1).and_then(|a| target_object(problem, a)) {
                    targets.insert(first.clone(), target);
                }
            }
        }
        let objects = problem
            .objects
            .iter()
            .map(|o| {
                let body = format!("{}_main", o.name);
                let rest = position(scene, &o.name, &body)?;
                Ok(Tracked {
                    closest: goal_objects
                        .contains(&o.name)
                        .then_some((f64::INFINITY, [f64::NAN; 3])),
                    target: targets.get(&o.name).cloned(),
                    name: o.name.clone(),
                    body,
                    rest,
                    now: rest,
                    top_z: rest[2],
                    first_lift: None,
                    latest: (grip, [f64::NAN; 3]),
                    open_grip: grip,
                })
            })
            .collect::<Result<Vec<_>, EvalError>>()?;
        let mut tracker = Self {
            goal_objects,
            objects,
            first_held: Vec::new(),
            last_step: 0,
        };
        tracker.observe(scene, ee_pos, grip)?;
        Ok(tracker)
    }

    /// Read the objects' positions and the end effector's distance to the goal objects after
    /// a physics step (`ee_pos`: world frame, m; `grip`: see [`grip_of`]).
    pub fn observe(
        &mut self,
        scene: &dyn SceneState,
        ee_pos: [f64; 3],
        grip: f64,
    ) -> Result<(), EvalError> {
        for o in &mut self.objects {
            let p = position(scene, &o.name, &o.body)?;
            o.now = p;
            o.top_z = o.top_z.max(p[2]);
            let offset = [ee_pos[0] - p[0], ee_pos[1] - p[1], ee_pos[2] - p[2]];
            o.latest = (grip, offset);
            if o.first_lift.is_none() && p[2] - o.rest[2] > LIFT_THRESHOLD_M {
                o.first_lift = Some((grip, offset));
            }
            if let Some(closest) = &mut o.closest {
                let d = offset.iter().map(|x| x * x).sum::<f64>().sqrt();
                if d < closest.0 {
                    *closest = (d, offset);
                }
            }
        }
        Ok(())
    }

    /// Every movable object's position now (world frame, m): the goal objects first, in
    /// goal order, then the others in file order. What a demonstration records beside each
    /// frame (the positions when the frame was rendered) for a localisation loss.
    pub fn object_positions(&self) -> Vec<ObjectAt> {
        let goal = self
            .goal_objects
            .iter()
            .filter_map(|g| self.objects.iter().find(|o| &o.name == g));
        let rest = self
            .objects
            .iter()
            .filter(|o| !self.goal_objects.contains(&o.name));
        goal.chain(rest)
            .map(|o| ObjectAt {
                name: o.name.clone(),
                position_m: o.now,
            })
            .collect()
    }

    /// Note which goal atoms hold after step `step` (`status`, evaluated then).
    pub fn observe_goal(&mut self, status: &GoalStatus, step: u32) {
        self.last_step = step;
        if self.first_held.len() < status.atoms.len() {
            self.first_held.resize(status.atoms.len(), None);
        }
        for (first, a) in self.first_held.iter_mut().zip(&status.atoms) {
            if a.holds && first.is_none() {
                *first = Some(step);
            }
        }
    }

    /// The outcome, given the goal's status at the last step (noted as met there if
    /// [`Self::observe_goal`] was not given it).
    pub fn finish(mut self, last: &GoalStatus) -> EpisodeOutcome {
        self.observe_goal(last, self.last_step);
        // In the order first met; atoms met at the same step keep their file order.
        let mut met: Vec<AtomMet> = self
            .first_held
            .iter()
            .zip(&last.atoms)
            .filter_map(|(first, a)| {
                first.map(|first_step| AtomMet {
                    atom: a.atom.to_string(),
                    first_step,
                })
            })
            .collect();
        met.sort_by_key(|m| m.first_step);
        let closest = self
            .goal_objects
            .iter()
            .filter_map(|g| self.objects.iter().find(|o| &o.name == g))
            .filter_map(|o| {
                let (distance_m, ee_offset_m) = o.closest?;
                let moved_m = (o.now[0] - o.rest[0]).hypot(o.now[1] - o.rest[1]);
                let end_from_target_m = o
                    .target
                    .as_ref()
                    .and_then(|t| self.objects.iter().find(|x| &x.name == t))
                    .map(|t| std::array::from_fn(|i| o.now[i] - t.now[i]))
                    .filter(|d: &[f64; 3]| d.iter().all(|x| x.is_finite()));
                (distance_m.is_finite() && moved_m.is_finite()).then(|| Approach {
                    object: o.name.clone(),
                    distance_m,
                    ee_offset_m,
                    moved_m: Some(moved_m),
                    end_from_target_m,
                })
            })
            .collect();
        EpisodeOutcome {
            unmet: last
                .atoms
                .iter()
                .filter(|a| !a.holds)
                .map(|a| a.atom.to_string())
                .collect(),
            goal_objects: self.goal_objects,
            lifted: self
                .objects
                .into_iter()
                .filter(|o| o.top_z - o.rest[2] > LIFT_THRESHOLD_M)
                .map(|o| Lift {
                    rise_m: o.top_z - o.rest[2],
                    end_rise_m: Some(o.now[2] - o.rest[2]),
                    end_grip: Some(o.latest.0).filter(|g| g.is_finite()),
                    open_grip: Some(o.open_grip).filter(|g| g.is_finite()),
                    end_ee_offset_m: Some(o.latest.1).filter(|d| d.iter().all(|x| x.is_finite())),
                    grip_at_lift: o.first_lift.map(|(g, _)| g).filter(|g| g.is_finite()),
                    ee_offset_at_lift_m: o
                        .first_lift
                        .map(|(_, d)| d)
                        .filter(|d| d.iter().all(|x| x.is_finite())),
                    object: o.name,
                })
                .collect(),
            closest,
            met: Some(met),
        }
    }
}

/// The movable object a goal atom's second argument names: the object itself
/// (`akita_black_bowl_1`) or one of its regions (`basket_1_contain_region`).
fn target_object(problem: &Problem, arg: &str) -> Option<String> {
    problem
        .objects
        .iter()
        .find(|o| {
            arg == o.name
                || arg
                    .strip_prefix(o.name.as_str())
                    .is_some_and(|rest| rest.starts_with('_'))
        })
        .map(|o| o.name.clone())
}

/// The gripper's opening as the outcome records it: the mean of its joint positions
/// (`Proprio::gripper_qpos`, the robot's own units), NaN for a robot without one.
pub fn grip_of(gripper_qpos: &[f64]) -> f64 {
    if gripper_qpos.is_empty() {
        f64::NAN
    } else {
        gripper_qpos.iter().sum::<f64>() / gripper_qpos.len() as f64
    }
}

/// Body `body`'s world position (m). A NaN (never expected: the simulator stops on
/// instability) counts as no rise and no approach: `f64::max`/`min` ignore it, and a NaN rest
/// height compares false.
fn position(scene: &dyn SceneState, object: &str, body: &str) -> Result<[f64; 3], EvalError> {
    scene.body_pos(body).map_err(|source| EvalError::Outcome {
        object: object.to_owned(),
        source,
    })
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;

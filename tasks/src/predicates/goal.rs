//! [`Goal`]: a problem's `:goal` resolved once, then evaluated on scene states.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::bddl::{Atom, Problem};

use super::articulation::{JointPredicate, articulation};
use super::compile::{Check, JointSource, Ref, Resolver};
use super::error::{NotApplicable, PredicateError};
use super::geometry::{in_box, near, on_object, under, up};
use super::scene::{JointState, SceneError, SceneState};

/// One goal atom and whether it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomStatus {
    /// The atom, as in the problem.
    pub atom: Atom,
    /// Whether it holds in the evaluated state.
    pub holds: bool,
}

/// The truth of every goal atom and of their conjunction (LIBERO's `_check_success`).
#[derive(Debug, Clone, PartialEq)]
pub struct GoalStatus {
    /// Each atom of `:goal`, in file order.
    pub atoms: Vec<AtomStatus>,
    /// All atoms hold: the task is solved.
    pub success: bool,
}

impl fmt::Display for GoalStatus {
    /// `success` or `not yet`, then each atom with `✓`/`✗`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.success { "success:" } else { "not yet:" })?;
        for a in &self.atoms {
            write!(f, " {}{}", if a.holds { "✓" } else { "✗" }, a.atom)?;
        }
        Ok(())
    }
}

/// A resolved atom.
#[derive(Debug, Clone, PartialEq)]
struct Compiled {
    atom: Atom,
    check: Check,
}

/// A problem's goal with every name resolved, ready to be evaluated each step.
///
/// [`Goal::new`] reports names the problem does not declare, wrong arities, unknown
/// predicates and predicates that cannot apply; [`Goal::evaluate`] reports names missing
/// from the scene. Both name the BDDL file and the atom.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    file: PathBuf,
    atoms: Vec<Compiled>,
}

impl Goal {
    /// Resolves the `:goal` atoms of `problem`.
    pub fn new(problem: &Problem) -> Result<Self, PredicateError> {
        let atoms = problem
            .goal
            .iter()
            .map(|atom| {
                let check = Resolver { problem, atom }.check()?;
                Ok(Compiled {
                    atom: atom.clone(),
                    check,
                })
            })
            .collect::<Result<_, PredicateError>>()?;
        Ok(Self {
            file: problem.file.clone(),
            atoms,
        })
    }

    /// The BDDL file the goal comes from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Evaluates every atom on `scene` (all of them, as LIBERO does) and their conjunction.
    pub fn evaluate(&self, scene: &dyn SceneState) -> Result<GoalStatus, PredicateError> {
        let atoms = self
            .atoms
            .iter()
            .map(|c| {
                Ok(AtomStatus {
                    atom: c.atom.clone(),
                    holds: self.holds(c, scene)?,
                })
            })
            .collect::<Result<Vec<_>, PredicateError>>()?;
        Ok(GoalStatus {
            success: atoms.iter().all(|a| a.holds),
            atoms,
        })
    }

    fn holds(&self, c: &Compiled, scene: &dyn SceneState) -> Result<bool, PredicateError> {
        let cx = Cx {
            file: &self.file,
            atom: &c.atom,
        };
        match &c.check {
            Check::Const(value) => Ok(*value),
            Check::OnObject { a, b } => {
                let pa = cx.query(a, scene.body_pos(&a.scene))?;
                let pb = cx.query(b, scene.body_pos(&b.scene))?;
                // `b.check_contact(a)`: any contact between the two objects' geoms.
                let touching = cx.query2(b, a, scene.subtree_contact(&b.scene, &a.scene))?;
                Ok(on_object(pa, pb, touching))
            }
            Check::OnSite { a, site, parent } => {
                let pa = cx.query(a, scene.body_pos(&a.scene))?;
                let pose = cx.query(site, scene.site_pose(&site.scene))?;
                let size = cx.query(site, scene.site_size(&site.scene))?;
                let above = under(pose.pos, &pose.xmat, size, pa);
                match parent {
                    None => Ok(above),
                    Some(p) => {
                        let touching =
                            cx.query2(p, a, scene.subtree_contact(&p.scene, &a.scene))?;
                        Ok(above && touching)
                    }
                }
            }
            Check::InSite { a, site } => {
                let pa = cx.query(a, scene.body_pos(&a.scene))?;
                let pose = cx.query(site, scene.site_pose(&site.scene))?;
                let size = cx.query(site, scene.site_size(&site.scene))?;
                Ok(in_box(pose.pos, &pose.xmat, size, pa))
            }
            Check::UpBody(r) => Ok(up(cx.query(r, scene.body_pos(&r.scene))?)),
            Check::Near { a, b } => {
                let pa = cx.query(a, scene.body_pos(&a.scene))?;
                let pb = cx.query(b, scene.body_pos(&b.scene))?;
                Ok(near(pa, pb))
            }
            Check::UpSite(r) => Ok(up(cx.query(r, scene.site_pose(&r.scene))?.pos)),
            Check::Joints {
                predicate,
                source,
                owner,
            } => {
                let (r, joints) = match source {
                    JointSource::Subtree(r) => (r, scene.subtree_joints(&r.scene)),
                    JointSource::Site(r) => (r, scene.site_joints(&r.scene)),
                };
                let joints = cx.query(r, joints)?;
                cx.judge(*predicate, &r.bddl, &owner.name, &owner.category, &joints)
            }
        }
    }
}

/// Error context of one atom.
struct Cx<'a> {
    file: &'a Path,
    atom: &'a Atom,
}

impl Cx<'_> {
    fn scene_error(&self, refs: &[&Ref], e: SceneError) -> PredicateError {
        match e {
            SceneError::NotFound { kind, name } => {
                let bddl = refs
                    .iter()
                    .find(|r| r.scene == name)
                    .map_or_else(|| name.clone(), |r| r.bddl.clone());
                PredicateError::MissingInScene {
                    file: self.file.to_path_buf(),
                    atom: self.atom.to_string(),
                    name: bddl,
                    kind,
                    scene_name: name,
                }
            }
            source => PredicateError::Scene {
                file: self.file.to_path_buf(),
                atom: self.atom.to_string(),
                source,
            },
        }
    }

    fn query<T>(&self, r: &Ref, result: Result<T, SceneError>) -> Result<T, PredicateError> {
        result.map_err(|e| self.scene_error(&[r], e))
    }

    fn query2<T>(
        &self,
        a: &Ref,
        b: &Ref,
        result: Result<T, SceneError>,
    ) -> Result<T, PredicateError> {
        result.map_err(|e| self.scene_error(&[a, b], e))
    }

    fn not_applicable(&self, reason: NotApplicable) -> PredicateError {
        PredicateError::NotApplicable {
            file: self.file.to_path_buf(),
            atom: self.atom.to_string(),
            reason,
        }
    }

    /// LIBERO's `is_open`/`is_close`/`turn_on`/`turn_off` loops: `Open`/`TurnOn` return true
    /// at the first joint that passes, `Close`/`TurnOff` return false at the first that fails;
    /// a joint is only judged (and a missing threshold only an error) when the loop reaches it.
    fn judge(
        &self,
        predicate: JointPredicate,
        name: &str,
        owner: &str,
        category: &str,
        joints: &[JointState],
    ) -> Result<bool, PredicateError> {
        let any = predicate.any();
        for joint in joints {
            let Some(test) = articulation(category).and_then(|a| a.test(predicate)) else {
                return Err(self.not_applicable(NotApplicable::NoThreshold {
                    name: owner.to_owned(),
                    category: category.to_owned(),
                    predicate: predicate.name(),
                }));
            };
            let Some(q) = joint.scalar() else {
                return Err(self.not_applicable(NotApplicable::MultiDofJoint {
                    name: name.to_owned(),
                    joint: joint.name.clone(),
                    predicate: predicate.name(),
                }));
            };
            if test.holds(q) == any {
                return Ok(any);
            }
        }
        Ok(!any)
    }
}

/// Evaluates the goal of `problem` on `scene`: each atom's truth and the conjunction.
///
/// Equivalent to `Goal::new(problem)?.evaluate(scene)`; keep a [`Goal`] to evaluate every
/// step without resolving names again.
pub fn evaluate_goal(
    problem: &Problem,
    scene: &dyn SceneState,
) -> Result<GoalStatus, PredicateError> {
    Goal::new(problem)?.evaluate(scene)
}

/// Evaluates one atom (of `:goal`, `:init` or made up) against the names of `problem`.
pub fn evaluate_atom(
    problem: &Problem,
    atom: &Atom,
    scene: &dyn SceneState,
) -> Result<bool, PredicateError> {
    let goal = Goal {
        file: problem.file.clone(),
        atoms: vec![Compiled {
            atom: atom.clone(),
            check: Resolver { problem, atom }.check()?,
        }],
    };
    let c = &goal.atoms[0];
    goal.holds(c, scene)
}

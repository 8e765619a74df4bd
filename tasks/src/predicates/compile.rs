//! Name resolution: a BDDL atom becomes a [`Check`] on MuJoCo names, with LIBERO's naming
//! (instance `x` → body `x_main`; region key `k` → site `k`) and its dispatch rules
//! (`predicates/base_predicates.py`, `object_states/base_object_states.py`).

use std::path::Path;

use crate::bddl::{Atom, Instance, Predicate, Problem};

use super::articulation::JointPredicate;
use super::error::{NotApplicable, PredicateError};

/// Categories of the workspace fixtures (table, floor …). LIBERO's problem classes skip them
/// when loading fixtures (`_load_fixtures_in_arena` in `envs/problems/*.py`), so they have no
/// object state; regions on them are table zones (`TargetZone`) with no parent object.
pub const WORKSPACE_CATEGORIES: [&str; 6] = [
    "table",
    "kitchen_table",
    "living_room_table",
    "study_table",
    "floor",
    "coffee_table",
];

/// A BDDL name and the MuJoCo name it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ref {
    /// Instance name or region key.
    pub(crate) bddl: String,
    /// Body `<instance>_main` or site `<region key>`.
    pub(crate) scene: String,
}

/// Where a joint predicate reads its joints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JointSource {
    /// All joints of an instance: the subtree of its root body.
    Subtree(Ref),
    /// The joints on the body holding a region site.
    Site(Ref),
}

/// One atom, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// `true`, `false`, `printjointstate`.
    Const(bool),
    /// `On(a, b)`, `b` an object or fixture.
    OnObject { a: Ref, b: Ref },
    /// `On(a, region)`; `parent` is the region's object (`None` for a workspace zone).
    OnSite {
        a: Ref,
        site: Ref,
        parent: Option<Ref>,
    },
    /// `In(a, region)`.
    InSite { a: Ref, site: Ref },
    /// `Up(instance)`.
    UpBody(Ref),
    /// `Up(region)`.
    UpSite(Ref),
    /// `Near(a, b)` (ddvla's extension for SimplerEnv's "move near"): x/y distance below
    /// [`super::geometry::NEAR_MAX_XY_DIST_M`].
    Near { a: Ref, b: Ref },
    /// `Open`/`Close`/`TurnOn`/`TurnOff`, judged with the thresholds of `owner`'s category.
    Joints {
        predicate: JointPredicate,
        source: JointSource,
        owner: Instance,
    },
}

/// What a BDDL name denotes.
enum Target<'p> {
    /// An object or fixture.
    Instance(&'p Instance),
    /// A region on the workspace.
    Zone(String),
    /// A region site inside an object or fixture.
    SiteOf(String, &'p Instance),
}

fn body(i: &Instance) -> Ref {
    Ref {
        bddl: i.name.clone(),
        scene: format!("{}_main", i.name),
    }
}

fn site(key: &str) -> Ref {
    Ref {
        bddl: key.to_owned(),
        scene: key.to_owned(),
    }
}

/// Resolves one atom of a problem.
pub(crate) struct Resolver<'p> {
    /// The problem declaring the names.
    pub(crate) problem: &'p Problem,
    /// The atom.
    pub(crate) atom: &'p Atom,
}

impl<'p> Resolver<'p> {
    fn file(&self) -> &Path {
        &self.problem.file
    }

    fn not_applicable(&self, reason: NotApplicable) -> PredicateError {
        PredicateError::NotApplicable {
            file: self.file().to_path_buf(),
            atom: self.atom.to_string(),
            reason,
        }
    }

    fn arity(&self, expected: &'static str) -> PredicateError {
        PredicateError::Arity {
            file: self.file().to_path_buf(),
            atom: self.atom.to_string(),
            predicate: self.atom.predicate.name().to_owned(),
            expected,
            found: self.atom.args.len(),
        }
    }

    fn unknown(&self, name: &str) -> PredicateError {
        PredicateError::UnknownName {
            file: self.file().to_path_buf(),
            atom: self.atom.to_string(),
            name: name.to_owned(),
        }
    }

    fn instance(&self, name: &str) -> Option<&'p Instance> {
        self.problem.instances().find(|i| i.name == name)
    }

    fn target(&self, name: &str) -> Result<Target<'p>, PredicateError> {
        if let Some(i) = self.instance(name) {
            if WORKSPACE_CATEGORIES.contains(&i.category.as_str()) {
                return Err(PredicateError::Workspace {
                    file: self.file().to_path_buf(),
                    atom: self.atom.to_string(),
                    name: name.to_owned(),
                    category: i.category.clone(),
                });
            }
            return Ok(Target::Instance(i));
        }
        let Some(region) = self.problem.region(name) else {
            return Err(self.unknown(name));
        };
        match self.instance(&region.target) {
            Some(t) if WORKSPACE_CATEGORIES.contains(&t.category.as_str()) => {
                Ok(Target::Zone(name.to_owned()))
            }
            Some(t) => Ok(Target::SiteOf(name.to_owned(), t)),
            None => Err(self.unknown(&region.target)),
        }
    }

    /// The first argument of `On`/`In`: an object or fixture.
    fn subject(&self, predicate: &'static str) -> Result<Ref, PredicateError> {
        match self.target(&self.atom.args[0])? {
            Target::Instance(i) => Ok(body(i)),
            Target::Zone(key) | Target::SiteOf(key, _) => {
                Err(self.not_applicable(NotApplicable::RegionAsSubject {
                    name: key,
                    predicate,
                }))
            }
        }
    }

    fn expect_args(&self, n: usize, expected: &'static str) -> Result<(), PredicateError> {
        if self.atom.args.len() == n {
            Ok(())
        } else {
            Err(self.arity(expected))
        }
    }

    /// The atom as a [`Check`].
    pub(crate) fn check(&self) -> Result<Check, PredicateError> {
        match &self.atom.predicate {
            Predicate::On => self.on(),
            Predicate::In => self.in_(),
            Predicate::Up => {
                self.expect_args(1, "1 argument")?;
                Ok(match self.target(&self.atom.args[0])? {
                    Target::Instance(i) => Check::UpBody(body(i)),
                    Target::Zone(key) | Target::SiteOf(key, _) => Check::UpSite(site(&key)),
                })
            }
            Predicate::Open => self.joints(JointPredicate::Open),
            Predicate::Close => self.joints(JointPredicate::Close),
            Predicate::TurnOn => self.joints(JointPredicate::TurnOn),
            Predicate::TurnOff => self.joints(JointPredicate::TurnOff),
            Predicate::Other(name) => match name.as_str() {
                // `TruePredicateFn`/`FalsePredicateFn`; LIBERO's `_eval_predicate` handles
                // atoms of 1 or 2 arguments and still looks every name up.
                "true" | "false" => {
                    if !(1..=2).contains(&self.atom.args.len()) {
                        return Err(self.arity("1 or 2 arguments"));
                    }
                    for arg in &self.atom.args {
                        self.target(arg)?;
                    }
                    Ok(Check::Const(name == "true"))
                }
                // ddvla's extension (not in LIBERO): SimplerEnv's "move X near Y".
                "near" => {
                    self.expect_args(2, "2 arguments")?;
                    let a = self.subject("near")?;
                    match self.target(&self.atom.args[1])? {
                        Target::Instance(b) => Ok(Check::Near { a, b: body(b) }),
                        Target::Zone(key) | Target::SiteOf(key, _) => {
                            Err(self.not_applicable(NotApplicable::RegionAsSubject {
                                name: key,
                                predicate: "near",
                            }))
                        }
                    }
                }
                // `PrintJointState` prints the joints and returns True.
                "printjointstate" => {
                    self.expect_args(1, "1 argument")?;
                    match self.target(&self.atom.args[0])? {
                        Target::Instance(_) => Ok(Check::Const(true)),
                        Target::Zone(key) | Target::SiteOf(key, _) => {
                            Err(self.not_applicable(NotApplicable::RegionNotSwitchable {
                                name: key,
                                predicate: "printjointstate",
                            }))
                        }
                    }
                }
                _ => Err(PredicateError::UnknownPredicate {
                    file: self.file().to_path_buf(),
                    atom: self.atom.to_string(),
                    predicate: name.clone(),
                }),
            },
        }
    }

    /// `On(a, b)` = `b.check_ontop(a)`.
    fn on(&self) -> Result<Check, PredicateError> {
        self.expect_args(2, "2 arguments")?;
        let a = self.subject("on")?;
        Ok(match self.target(&self.atom.args[1])? {
            Target::Instance(b) => Check::OnObject { a, b: body(b) },
            Target::Zone(key) => Check::OnSite {
                a,
                site: site(&key),
                parent: None,
            },
            Target::SiteOf(key, parent) => Check::OnSite {
                a,
                site: site(&key),
                parent: Some(body(parent)),
            },
        })
    }

    /// `In(a, b)` = `b.check_contact(a) and b.check_contain(a)`; for a site the contact check
    /// is always true.
    fn in_(&self) -> Result<Check, PredicateError> {
        self.expect_args(2, "2 arguments")?;
        let a = self.subject("in")?;
        match self.target(&self.atom.args[1])? {
            Target::Instance(b) => Err(self.not_applicable(NotApplicable::ContainerIsObject {
                name: b.name.clone(),
            })),
            Target::Zone(key) | Target::SiteOf(key, _) => Ok(Check::InSite {
                a,
                site: site(&key),
            }),
        }
    }

    /// `Open`/`Close` on an instance or an object's region; `TurnOn`/`TurnOff` on an
    /// instance.
    fn joints(&self, predicate: JointPredicate) -> Result<Check, PredicateError> {
        self.expect_args(1, "1 argument")?;
        let name = predicate.name();
        let switch = matches!(predicate, JointPredicate::TurnOn | JointPredicate::TurnOff);
        match self.target(&self.atom.args[0])? {
            Target::Instance(i) => Ok(Check::Joints {
                predicate,
                source: JointSource::Subtree(body(i)),
                owner: i.clone(),
            }),
            Target::Zone(key) | Target::SiteOf(key, _) if switch => {
                Err(self.not_applicable(NotApplicable::RegionNotSwitchable {
                    name: key,
                    predicate: name,
                }))
            }
            Target::Zone(key) => Err(self.not_applicable(NotApplicable::ZoneJoints {
                name: key,
                predicate: name,
            })),
            Target::SiteOf(key, parent) => Ok(Check::Joints {
                predicate,
                source: JointSource::Site(site(&key)),
                owner: parent.clone(),
            }),
        }
    }
}

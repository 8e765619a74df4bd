//! From goal atoms to an ordered list of skills.
//!
//! Order: open drawers (named by `Open`, or needed by an `In` into a closed drawer), turn
//! knobs, close drawers nothing is put into, then the pick-and-place and push skills in goal
//! order, then close drawers something was put into. Atoms that already hold are skipped.

use super::articulate::{Drawer, Knob, Push};
use super::motion::Target;
use super::pick_place::{PickPlace, PlaceAt};
use super::world::{World, fail};
use crate::bddl::{Atom, Predicate};
use crate::catalog::PartKind;
use crate::eval::EvalError;

/// Pull a drawer this far past its open value (m).
const OPEN_EXTRA_M: f64 = 0.012;
/// Push a drawer until its joint passes this (LIBERO's `Close` is `q > 0`).
const CLOSED_Q: f64 = 0.004;
/// Turn the knob this far past LIBERO's `TurnOn` threshold 0.5 (rad).
const KNOB_ON_Q: f64 = 0.68;

/// One skill of a plan.
#[derive(Debug, Clone)]
pub(crate) enum Skill {
    /// Pick an object up and put it somewhere.
    PickPlace(PickPlace),
    /// Open or close a drawer.
    Drawer(Drawer),
    /// Turn the stove on.
    Knob(Knob),
    /// Push a flat object into a table region.
    Push(Push),
}

impl Skill {
    /// The next target, or `None` when the skill is done.
    pub fn step(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        match self {
            Self::PickPlace(s) => s.step(w),
            Self::Drawer(s) => s.step(w),
            Self::Knob(s) => s.step(w),
            Self::Push(s) => s.step(w),
        }
    }

    /// Follow the state rather than assume the expert's own actions ran (DAgger labelling;
    /// see `PickPlace::follow`, `Drawer::follow`, `Knob::follow`, `Push::follow`).
    pub fn follow(self) -> Self {
        match self {
            Self::PickPlace(s) => Self::PickPlace(s.follow()),
            Self::Drawer(s) => Self::Drawer(s.follow()),
            Self::Knob(s) => Self::Knob(s.follow()),
            Self::Push(s) => Self::Push(s.follow()),
        }
    }

    /// A pick-and-place whose first attempt aims `miss_m` (world xy, m) off the grasp point
    /// (`PickPlace::missing_first_grasp_by`); other skills are unchanged.
    pub fn missing_first_grasp_by(self, miss_m: nalgebra::Vector2<f64>) -> Self {
        match self {
            Self::PickPlace(s) => Self::PickPlace(s.missing_first_grasp_by(miss_m)),
            other => other,
        }
    }

    /// What it is doing, for logs (`pick_place akita_black_bowl_1: Carry`).
    pub fn label(&self) -> String {
        match self {
            Self::PickPlace(s) => s.label(),
            Self::Drawer(s) => s.label(),
            Self::Knob(s) => s.label(),
            Self::Push(s) => s.label(),
        }
    }
}

/// A drawer skill for region (or joint) `name`, if it names a drawer.
fn drawer(w: &World<'_>, name: &str, open: bool) -> Option<Drawer> {
    let (_, part) = w.part(name)?;
    (part.kind == PartKind::Drawer).then(|| {
        let goal = if open {
            part.open_qpos - OPEN_EXTRA_M
        } else {
            CLOSED_Q
        };
        Drawer::new(&part.joint, &part.handle_site, open, goal)
    })
}

/// The knob skill for stove instance `inst`.
fn knob(w: &World<'_>, inst: &str) -> Result<Knob, EvalError> {
    let part = w
        .catalog(inst)?
        .parts
        .iter()
        .find(|p| p.kind == PartKind::Knob)
        .ok_or_else(|| fail(format!("{inst} has no knob")))?;
    let hinge = part.joint.trim_end_matches("_joint");
    Ok(Knob::new(&part.joint, &part.handle_site, hinge, KNOB_ON_Q))
}

/// Where `(on a b)` / `(in a b)` puts `a`.
fn place_at(w: &World<'_>, atom: &Atom) -> PlaceAt {
    let b = &atom.args[1];
    match (&atom.predicate, w.problem.region(b).is_some()) {
        (Predicate::In, _) => PlaceAt::InSite(b.clone()),
        (_, true) => PlaceAt::OnSite(b.clone()),
        _ => PlaceAt::OnObject(b.clone()),
    }
}

/// Skills for `atoms` (those not holding now), in a sensible order.
pub(crate) fn plan(w: &World<'_>, atoms: &[Atom]) -> Result<Vec<Skill>, EvalError> {
    let (mut opens, mut knobs, mut closes_first, mut moves, mut closes_last) =
        (vec![], vec![], vec![], vec![], vec![]);
    let filled: Vec<&str> = atoms
        .iter()
        .filter(|a| a.predicate == Predicate::In && a.args.len() == 2)
        .map(|a| a.args[1].as_str())
        .collect();
    let mut targets: Vec<String> = vec![];
    for atom in atoms {
        let Some(first) = atom.args.first() else {
            continue;
        };
        match atom.predicate {
            Predicate::Open => opens.extend(drawer(w, first, true)),
            Predicate::Close => {
                let list = if filled.contains(&first.as_str()) {
                    &mut closes_last
                } else {
                    &mut closes_first
                };
                list.extend(drawer(w, first, false));
            }
            Predicate::TurnOn => knobs.push(Skill::Knob(knob(w, first)?)),
            Predicate::On | Predicate::In if atom.args.len() == 2 => {
                let b = &atom.args[1];
                if w.catalog(first)?.grasp.is_none() {
                    moves.push((Skill::Push(Push::new(first, b)), None));
                    continue;
                }
                if atom.predicate == Predicate::In
                    && let Some((_, part)) = w.part(b)
                    && w.joint(&part.joint)? > part.open_qpos + 0.02
                    && !opens.iter().any(|d: &Drawer| d.joint() == part.joint)
                {
                    opens.extend(drawer(w, b, true));
                }
                targets.push(b.clone());
                moves.push((
                    Skill::PickPlace(PickPlace::new(first, place_at(w, atom))),
                    Some(b.clone()),
                ));
            }
            _ => {}
        }
    }
    let mut out: Vec<Skill> = opens.into_iter().map(Skill::Drawer).collect();
    out.extend(knobs);
    out.extend(closes_first.into_iter().map(Skill::Drawer));
    let mut seen: Vec<String> = vec![];
    for (skill, target) in moves {
        out.push(match (skill, target) {
            (Skill::PickPlace(p), Some(t)) => {
                let slots = targets.iter().filter(|x| **x == t).count();
                let slot = seen.iter().filter(|x| **x == t).count();
                seen.push(t);
                Skill::PickPlace(p.with_slot(slot, slots))
            }
            (s, _) => s,
        });
    }
    out.extend(closes_last.into_iter().map(Skill::Drawer));
    Ok(out)
}

//! The failures of one task counted by kind ([`FailureKind`]) for the report's failures
//! column: what the failed episodes lifted, how far they set it down from its target, where
//! they stopped short, the goal atoms left unmet, and how many atoms each got to on the way.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::outcome::{EpisodeOutcome, FailureKind};

/// The failures of one task, by [`FailureKind`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FailureModes {
    /// Failed episodes that lifted a goal object.
    pub goal_object_lifted: usize,
    /// Of those, the ones still carrying a goal object at the last step (out of time).
    pub goal_object_held_at_end: usize,
    /// In those not holding it at the end: how far the (first) goal object ended from its
    /// target, horizontally (m), where the target is a movable object.
    pub goal_object_from_target_m: Vec<f64>,
    /// Failed episodes that lifted only objects the goal does not name.
    pub other_object_lifted: usize,
    /// The other objects those episodes lifted, with their counts.
    pub other_objects: BTreeMap<String, usize>,
    /// Failed episodes that lifted nothing.
    pub nothing_lifted: usize,
    /// In those, the end effector's closest approach to the (first) goal object (m).
    pub nothing_lifted_closest_m: Vec<f64>,
    /// In those, how far the (first) goal object ended from where it rested (m).
    pub nothing_lifted_moved_m: Vec<f64>,
    /// Unmet goal atoms over the failed episodes, with their counts.
    pub unmet: BTreeMap<String, usize>,
    /// In the failures that lifted a goal object: the grip it was first lifted with (see
    /// [`Lift::grip_at_lift`]).
    pub goal_object_lift_grip: Vec<f64>,
    /// The same in the successful episodes: how the grasps that worked held it.
    pub success_lift_grip: Vec<f64>,
    /// Failed episodes by how many goal atoms held after some step, keyed `(met, of)`
    /// (results that recorded it: [`EpisodeOutcome::met`]).
    pub reached: BTreeMap<(usize, usize), usize>,
    /// Failed episodes in which an atom that had held no longer held at the last step.
    pub undone: usize,
}

impl FailureModes {
    /// Count the failures among `outcomes` (each episode's success and outcome).
    pub fn count<'a>(outcomes: impl IntoIterator<Item = (bool, &'a EpisodeOutcome)>) -> Self {
        let mut m = Self::default();
        for (success, o) in outcomes {
            if success {
                m.success_lift_grip.extend(o.goal_lift_grip());
                continue;
            }
            match o.failure_kind() {
                FailureKind::GoalObjectLifted => {
                    m.goal_object_lifted += 1;
                    m.goal_object_lift_grip.extend(o.goal_lift_grip());
                    let held = o
                        .lifted
                        .iter()
                        .any(|l| o.goal_objects.contains(&l.object) && l.held_at_end());
                    m.goal_object_held_at_end += usize::from(held);
                    if !held && let Some(d) = o.closest.first().and_then(|a| a.end_from_target_m) {
                        m.goal_object_from_target_m.push(d[0].hypot(d[1]));
                    }
                }
                FailureKind::NothingLifted => {
                    m.nothing_lifted += 1;
                    if let Some(a) = o.closest.first() {
                        m.nothing_lifted_closest_m.push(a.distance_m);
                        m.nothing_lifted_moved_m.extend(a.moved_m);
                    }
                }
                FailureKind::OtherObjectLifted => {
                    m.other_object_lifted += 1;
                    for l in &o.lifted {
                        *m.other_objects.entry(l.object.clone()).or_default() += 1;
                    }
                }
            }
            for a in &o.unmet {
                *m.unmet.entry(a.clone()).or_default() += 1;
            }
            if let Some((met, of, undone)) = o.progress() {
                *m.reached.entry((met, of)).or_default() += 1;
                m.undone += usize::from(undone > 0);
            }
        }
        m
    }

    /// One table cell: `goal object lifted 2 (1 still held at the end) · other 3
    /// (tomato_sauce_1 ×3) · nothing 1; unmet (in milk_1 basket_1_contain_region) ×6`; empty
    /// when nothing failed.
    pub fn cell(&self) -> String {
        let failed = self.goal_object_lifted + self.other_object_lifted + self.nothing_lifted;
        if failed == 0 {
            return String::new();
        }
        let mut s = String::new();
        let _ = write!(s, "goal object lifted {}", self.goal_object_lifted);
        let mut notes = Vec::new();
        if self.goal_object_held_at_end > 0 {
            notes.push(format!(
                "{} still held at the end",
                self.goal_object_held_at_end
            ));
        }
        if let Some(d) = median(&self.goal_object_from_target_m) {
            notes.push(format!(
                "set down a median {:.1} cm from its target",
                100.0 * d
            ));
        }
        if let Some(g) = median(&self.goal_object_lift_grip) {
            let mut note = format!("lifted with the grip at a median {g:.2}");
            if let Some(ok) = median(&self.success_lift_grip) {
                let _ = write!(note, ", {ok:.2} in the successes");
            }
            notes.push(note);
        }
        if !notes.is_empty() {
            let _ = write!(s, " ({})", notes.join("; "));
        }
        let _ = write!(s, " · other {}", self.other_object_lifted);
        if !self.other_objects.is_empty() {
            let _ = write!(s, " ({})", with_counts(&self.other_objects));
        }
        let _ = write!(s, " · nothing {}", self.nothing_lifted);
        if let Some(closest) = median(&self.nothing_lifted_closest_m) {
            let _ = write!(s, " (medians: closest approach {:.1} cm", 100.0 * closest);
            if let Some(moved) = median(&self.nothing_lifted_moved_m) {
                let _ = write!(s, ", goal object moved {:.1} cm", 100.0 * moved);
            }
            s.push(')');
        }
        if !self.unmet.is_empty() {
            let _ = write!(s, "; unmet {}", with_counts(&self.unmet));
        }
        if !self.reached.is_empty() {
            let items: Vec<String> = self
                .reached
                .iter()
                .map(|((met, of), n)| format!("{met}/{of} ×{n}"))
                .collect();
            let _ = write!(s, "; atoms met on the way {}", items.join(", "));
            if self.undone > 0 {
                let _ = write!(s, " ({} lost one again)", self.undone);
            }
        }
        s
    }
}

/// `name ×count, …` in key order.
fn with_counts(counts: &BTreeMap<String, usize>) -> String {
    let items: Vec<String> = counts.iter().map(|(n, c)| format!("{n} ×{c}")).collect();
    items.join(", ")
}

/// The median of the finite values (the mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(0.5 * (v[n / 2 - 1] + v[n / 2])),
    }
}

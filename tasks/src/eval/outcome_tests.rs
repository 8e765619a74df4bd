//! The outcome tracker on hand-built states, the failure kinds and the report cell.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::bddl::{Atom, Instance, Predicate};
use crate::eval::failure_modes::{FailureModes, median};
use crate::predicates::{AtomStatus, JointState, SceneError, SitePose};

/// Bodies at given positions; every other query fails.
#[derive(Default)]
struct Bodies(BTreeMap<String, [f64; 3]>);

impl Bodies {
    fn at(mut self, body: &str, z: f64) -> Self {
        self.0.insert(body.to_owned(), [0.1, -0.2, z]);
        self
    }
}

fn missing(kind: &'static str, name: &str) -> SceneError {
    SceneError::NotFound {
        kind,
        name: name.to_owned(),
    }
}

impl SceneState for Bodies {
    fn body_pos(&self, body: &str) -> Result<[f64; 3], SceneError> {
        self.0
            .get(body)
            .copied()
            .ok_or_else(|| missing("body", body))
    }
    fn site_pose(&self, site: &str) -> Result<SitePose, SceneError> {
        Err(missing("site", site))
    }
    fn site_size(&self, site: &str) -> Result<[f64; 3], SceneError> {
        Err(missing("site", site))
    }
    fn subtree_joints(&self, body: &str) -> Result<Vec<JointState>, SceneError> {
        Err(missing("body", body))
    }
    fn site_joints(&self, site: &str) -> Result<Vec<JointState>, SceneError> {
        Err(missing("site", site))
    }
    fn subtree_contact(&self, a: &str, _: &str) -> Result<bool, SceneError> {
        Err(missing("body", a))
    }
}

fn atom(text: &str) -> Atom {
    let mut words = text.split_whitespace();
    Atom {
        predicate: Predicate::from_name(words.next().unwrap_or_default()),
        args: words.map(str::to_owned).collect(),
    }
}

fn instance(name: &str) -> Instance {
    Instance {
        name: name.to_owned(),
        category: name.trim_end_matches("_1").to_owned(),
    }
}

/// Milk into the basket, with ketchup beside them and a cabinet whose drawer must be open.
fn problem() -> Problem {
    Problem {
        file: PathBuf::from("tests/outcome.bddl"),
        name: "libero_tabletop_manipulation".into(),
        domain: "robosuite".into(),
        language: "put the milk in the basket and open the drawer".into(),
        regions: Vec::new(),
        fixtures: vec![instance("cabinet_1")],
        objects: vec![
            instance("milk_1"),
            instance("ketchup_1"),
            instance("basket_1"),
        ],
        obj_of_interest: vec!["milk_1".into(), "basket_1".into()],
        init: Vec::new(),
        goal: vec![
            atom("in milk_1 basket_1_contain_region"),
            atom("open cabinet_1_top_region"),
        ],
    }
}

fn scene(milk_z: f64, ketchup_z: f64) -> Bodies {
    Bodies::default()
        .at("milk_1_main", milk_z)
        .at("ketchup_1_main", ketchup_z)
        .at("basket_1_main", 0.9)
}

fn status(holds: [bool; 2]) -> GoalStatus {
    let problem = problem();
    GoalStatus {
        atoms: problem
            .goal
            .iter()
            .zip(holds)
            .map(|(atom, holds)| AtomStatus {
                atom: atom.clone(),
                holds,
            })
            .collect(),
        success: holds.iter().all(|h| *h),
    }
}

/// The end effector's resting position: 30 cm above the objects' start.
const EE_HOME: [f64; 3] = [0.1, -0.2, 1.2];

/// Runs the tracker over the (milk, ketchup) heights after each step, the end effector
/// staying home, with a robot that reports no gripper.
fn track(heights: &[(f64, f64)], last: [bool; 2]) -> EpisodeOutcome {
    track_gripping(heights, last, f64::NAN)
}

/// [`track`] with the gripper's joints at `grip` throughout.
fn track_gripping(heights: &[(f64, f64)], last: [bool; 2], grip: f64) -> EpisodeOutcome {
    let problem = problem();
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, grip).unwrap();
    for &(milk, ketchup) in heights {
        t.observe(&scene(milk, ketchup), EE_HOME, grip).unwrap();
    }
    t.finish(&status(last))
}

#[test]
fn goal_objects_are_the_movable_first_arguments_of_the_goal() {
    let o = track(&[], [false, false]);
    assert_eq!(o.goal_objects, ["milk_1"]);
    assert_eq!(
        o.unmet,
        [
            "(in milk_1 basket_1_contain_region)",
            "(open cabinet_1_top_region)"
        ]
    );
    assert!(o.lifted.is_empty());
    assert_eq!(o.failure_kind(), FailureKind::NothingLifted);
    assert_eq!(o.closest.len(), 1);
    assert_eq!(o.closest[0].object, "milk_1");
    assert!(
        (o.closest[0].distance_m - 0.3).abs() < 1e-9,
        "{:?}",
        o.closest
    );
}

#[test]
fn the_closest_approach_is_the_minimum_over_the_episode() {
    let problem = problem();
    let still = scene(0.9, 0.9);
    let mut t = OutcomeTracker::start(&problem, &still, EE_HOME, 0.0).unwrap();
    for ee in [[0.1, -0.2, 1.0], [0.1, -0.15, 0.9], [0.3, -0.2, 0.9]] {
        t.observe(&still, ee, 0.0).unwrap();
    }
    let o = t.finish(&status([false, false]));
    assert!(
        (o.closest[0].distance_m - 0.05).abs() < 1e-9,
        "{:?}",
        o.closest
    );
    let offset = o.closest[0].ee_offset_m;
    assert!(offset[0].abs() < 1e-9 && (offset[1] - 0.05).abs() < 1e-9 && offset[2].abs() < 1e-9);
    let modes = FailureModes::count([(false, &o), (false, &track(&[], [false, false]))]);
    assert_eq!(modes.nothing_lifted_closest_m.len(), 2);
    assert!(
        modes
            .cell()
            .contains("nothing 2 (medians: closest approach 17.5 cm, goal object moved 0.0 cm)"),
        "{}",
        modes.cell()
    );
}

#[test]
fn a_pushed_object_reports_how_far_it_ended_from_rest() {
    let problem = problem();
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, 0.0).unwrap();
    // Pushed 12 cm along y and 5 cm along x: 13 cm from rest, never lifted.
    let mut pushed = scene(0.9, 0.9);
    pushed.0.insert("milk_1_main".into(), [0.1, -0.08, 0.9]);
    t.observe(&pushed, EE_HOME, 0.0).unwrap();
    pushed.0.insert("milk_1_main".into(), [0.05, -0.08, 0.91]);
    t.observe(&pushed, EE_HOME, 0.0).unwrap();
    let o = t.finish(&status([false, true]));
    assert!(
        (o.closest[0].moved_m.unwrap() - 0.13).abs() < 1e-9,
        "{:?}",
        o.closest
    );
    assert_eq!(o.failure_kind(), FailureKind::NothingLifted);
}

#[test]
fn a_misplaced_object_reports_where_it_ended_from_its_target() {
    let problem = problem();
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, f64::NAN).unwrap();
    // Lifted, carried past the basket and set down 9 cm beyond it in x, 4 cm short in y.
    let mut carried = scene(1.0, 0.9);
    t.observe(&carried, EE_HOME, f64::NAN).unwrap();
    carried.0.insert("milk_1_main".into(), [0.19, -0.24, 0.9]);
    t.observe(&carried, EE_HOME, f64::NAN).unwrap();
    let o = t.finish(&status([false, true]));
    let d = o.closest[0].end_from_target_m.unwrap();
    assert!(
        (d[0] - 0.09).abs() < 1e-9 && (d[1] + 0.04).abs() < 1e-9 && d[2].abs() < 1e-9,
        "{d:?}"
    );
    let cell = FailureModes::count([(false, &o)]).cell();
    assert!(
        cell.starts_with("goal object lifted 1 (set down a median 9.8 cm from its target)"),
        "{cell}"
    );
    // A target that is a fixture's region has no movable object to measure from.
    let mut on_fixture = problem.clone();
    on_fixture.goal = vec![atom("on milk_1 cabinet_1_top_region")];
    let t = OutcomeTracker::start(&on_fixture, &scene(0.9, 0.9), EE_HOME, 0.0).unwrap();
    let o = t.finish(&GoalStatus {
        atoms: Vec::new(),
        success: false,
    });
    assert_eq!(o.closest[0].end_from_target_m, None);
}

#[test]
fn the_target_is_the_object_or_the_object_a_region_belongs_to() {
    let problem = problem();
    assert_eq!(
        target_object(&problem, "basket_1_contain_region").as_deref(),
        Some("basket_1")
    );
    assert_eq!(
        target_object(&problem, "basket_1").as_deref(),
        Some("basket_1")
    );
    assert_eq!(target_object(&problem, "basket_10"), None);
    assert_eq!(target_object(&problem, "cabinet_1_top_region"), None);
}

#[test]
fn median_of_finite_values() {
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[f64::NAN, f64::INFINITY]), None);
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 2.0, f64::NAN, 3.0]), Some(2.5));
}

#[test]
fn the_highest_rise_counts_even_after_the_object_is_dropped() {
    // Milk carried 12 cm up, then dropped below its start; ketchup nudged 2 cm (not a lift).
    let o = track(&[(0.95, 0.92), (1.02, 0.91), (0.85, 0.9)], [false, true]);
    assert_eq!(o.lifted.len(), 1);
    assert_eq!(o.lifted[0].object, "milk_1");
    assert!((o.lifted[0].rise_m - 0.12).abs() < 1e-9);
    assert!((o.lifted[0].end_rise_m.unwrap() + 0.05).abs() < 1e-9);
    assert!(!o.lifted[0].held_at_end());
    assert_eq!(o.unmet, ["(in milk_1 basket_1_contain_region)"]);
    assert_eq!(o.failure_kind(), FailureKind::GoalObjectLifted);
}

#[test]
fn lifting_only_another_object_is_the_wrong_object() {
    let o = track(&[(0.9, 0.9 + LIFT_THRESHOLD_M + 0.001)], [false, false]);
    assert_eq!(o.lifted[0].object, "ketchup_1");
    assert_eq!(o.failure_kind(), FailureKind::OtherObjectLifted);
    // Just under the threshold is not a lift.
    let o = track(&[(0.9, 0.9 + LIFT_THRESHOLD_M - 0.001)], [false, false]);
    assert_eq!(o.failure_kind(), FailureKind::NothingLifted);
}

#[test]
fn a_missing_body_names_the_object() {
    let problem = problem();
    let partial = Bodies::default().at("milk_1_main", 0.9);
    let err = OutcomeTracker::start(&problem, &partial, EE_HOME, 0.0).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("ketchup_1") && text.contains("ketchup_1_main"),
        "{text}"
    );
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, 0.0).unwrap();
    assert!(t.observe(&partial, EE_HOME, 0.0).is_err());
}

#[test]
fn failure_modes_count_failed_episodes_only() {
    let wrong = track(&[(0.9, 1.0)], [false, true]);
    let dropped = track(&[(1.0, 0.9), (0.9, 0.9)], [false, true]);
    let carried = track(&[(1.0, 0.9), (0.95, 0.9)], [false, true]);
    assert!(carried.lifted[0].held_at_end());
    let idle = track(&[], [false, false]);
    let solved = track(&[(1.0, 1.0)], [true, true]);
    let modes = FailureModes::count([
        (false, &wrong),
        (false, &wrong),
        (false, &dropped),
        (false, &carried),
        (false, &idle),
        (true, &solved),
    ]);
    assert_eq!(modes.goal_object_lifted, 2);
    assert_eq!(modes.goal_object_held_at_end, 1);
    assert_eq!(modes.other_object_lifted, 2);
    assert_eq!(modes.nothing_lifted, 1);
    assert_eq!(modes.other_objects["ketchup_1"], 2);
    assert_eq!(modes.unmet["(in milk_1 basket_1_contain_region)"], 5);
    assert_eq!(modes.unmet["(open cabinet_1_top_region)"], 1);
    assert_eq!(
        modes.cell(),
        "goal object lifted 2 (1 still held at the end; set down a median 0.0 cm from its \
         target) · other 2 (ketchup_1 ×2) · nothing 1 (medians: closest approach 30.0 cm, goal object moved 0.0 cm); unmet \
         (in milk_1 basket_1_contain_region) ×5, (open cabinet_1_top_region) ×1; atoms met on \
         the way 0/2 ×1, 1/2 ×4"
    );
    assert_eq!(modes.reached[&(1, 2)], 4);
    assert_eq!(modes.undone, 0);
    assert_eq!(FailureModes::count([(true, &solved)]).cell(), "");
}

#[test]
fn atoms_met_on_the_way_keep_their_first_step_and_show_when_undone() {
    let problem = problem();
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, 0.0).unwrap();
    t.observe_goal(&status([false, false]), 1);
    t.observe_goal(&status([false, true]), 2);
    t.observe_goal(&status([true, true]), 3);
    t.observe_goal(&status([false, true]), 4);
    let o = t.finish(&status([false, true]));
    let met = o.met.as_ref().unwrap();
    assert_eq!(
        met.iter()
            .map(|m| (m.atom.as_str(), m.first_step))
            .collect::<Vec<_>>(),
        [
            ("(open cabinet_1_top_region)", 2),
            ("(in milk_1 basket_1_contain_region)", 3)
        ]
    );
    // Both atoms met on the way, the milk's lost again.
    assert_eq!(o.progress(), Some((2, 2, 1)));
    let modes = FailureModes::count([(false, &o)]);
    assert!(
        modes
            .cell()
            .ends_with("; atoms met on the way 2/2 ×1 (1 lost one again)"),
        "{}",
        modes.cell()
    );
}

#[test]
fn outcomes_written_before_the_newer_fields_still_load() {
    // An outcome as the first build with approaches wrote it: no `moved_m`, no `end_rise_m`.
    let old = r#"{"unmet": ["(on a_1 b_1)"], "goal_objects": ["a_1"],
        "lifted": [{"object": "a_1", "rise_m": 0.07}],
        "closest": [{"object": "a_1", "distance_m": 0.025, "ee_offset_m": [0.0, 0.0, 0.025]}]}"#;
    let o: EpisodeOutcome = serde_json::from_str(old).unwrap();
    assert_eq!((o.closest[0].moved_m, o.lifted[0].end_rise_m), (None, None));
    assert!(!o.lifted[0].held_at_end());
    assert_eq!(o.progress(), None, "no atoms recorded: no progress claimed");
    let none = r#"{"unmet": [], "goal_objects": ["a_1"], "lifted": [],
        "closest": [{"object": "a_1", "distance_m": 0.05, "ee_offset_m": [0.0, 0.0, 0.05]}]}"#;
    let idle: EpisodeOutcome = serde_json::from_str(none).unwrap();
    let cell = FailureModes::count([(false, &idle)]).cell();
    assert!(
        cell.contains("(medians: closest approach 5.0 cm)"),
        "{cell}"
    );
}

#[test]
fn the_grip_an_object_was_first_lifted_with_is_recorded_and_compared() {
    let problem = problem();
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, 0.0).unwrap();
    // Closing at rest (not a lift), then rising 2 cm (not yet), then 4 cm: the grip and the
    // end effector's offset are those of the step that crossed the threshold, not later ones.
    t.observe(&scene(0.9, 0.9), [0.1, -0.2, 0.95], 0.5).unwrap();
    t.observe(&scene(0.92, 0.9), [0.1, -0.2, 0.97], 0.75)
        .unwrap();
    t.observe(&scene(0.94, 0.9), [0.12, -0.2, 0.99], 0.76)
        .unwrap();
    t.observe(&scene(1.1, 0.9), [0.12, -0.2, 1.15], 0.74)
        .unwrap();
    let o = t.finish(&status([false, true]));
    let lift = &o.lifted[0];
    assert_eq!(lift.grip_at_lift, Some(0.76));
    let d = lift.ee_offset_at_lift_m.unwrap();
    assert!(
        (d[0] - 0.02).abs() < 1e-9 && d[1].abs() < 1e-9 && (d[2] - 0.05).abs() < 1e-9,
        "{d:?}"
    );
    assert_eq!(o.goal_lift_grip(), Some(0.76));
    // The report cell sets the failures' grip beside the successes'.
    let pinched = track_gripping(&[(1.0, 0.9), (0.9, 0.9)], [false, true], 0.76);
    let wide = track_gripping(&[(1.0, 0.9)], [true, true], 0.23);
    let cell = FailureModes::count([(false, &o), (false, &pinched), (true, &wide)]).cell();
    assert!(
        cell.starts_with(
            "goal object lifted 2 (1 still held at the end; set down a median 0.0 cm from its \
             target; lifted with the grip at a median 0.76, 0.23 in the successes)"
        ),
        "{cell}"
    );
    // No grip recorded (a robot without a gripper, or older results): no note.
    let cell = FailureModes::count([(false, &track(&[(1.0, 0.9)], [false, true]))]).cell();
    assert!(!cell.contains("grip"), "{cell}");
}

#[test]
fn an_object_set_down_on_a_raised_surface_is_not_held() {
    // Milk carried up, then set 3.6 cm above its start (a stove's top), still gripped: held.
    let problem = problem();
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, 0.0).unwrap();
    t.observe(&scene(1.05, 0.9), [0.1, -0.2, 1.07], 0.25)
        .unwrap();
    t.observe(&scene(0.936, 0.9), [0.1, -0.2, 0.958], 0.25)
        .unwrap();
    let gripped = t.clone().finish(&status([false, true]));
    let lift = &gripped.lifted[0];
    assert!(lift.end_rise_m.unwrap() > LIFT_THRESHOLD_M);
    assert_eq!(lift.end_grip, Some(0.25));
    assert!(lift.held_at_end());
    // Released and the end effector gone up: the same rise, not held, and its distance from
    // the target counts as a placement.
    t.observe(&scene(0.936, 0.9), [0.1, -0.2, 1.1], 0.0)
        .unwrap();
    let released = t.clone().finish(&status([false, true]));
    assert!(released.lifted[0].end_rise_m.unwrap() > LIFT_THRESHOLD_M);
    assert!(!released.lifted[0].held_at_end());
    let modes = FailureModes::count([(false, &gripped), (false, &released)]);
    assert_eq!(modes.goal_object_held_at_end, 1);
    assert_eq!(modes.goal_object_from_target_m.len(), 1);
    // Closed on nothing far from it (the fingers shut above the table): not held either.
    t.observe(&scene(0.936, 0.9), [0.3, -0.2, 1.1], 0.8)
        .unwrap();
    assert!(!t.finish(&status([false, true])).lifted[0].held_at_end());
}

#[test]
fn without_the_last_grip_a_risen_object_counts_as_held() {
    // A robot without a gripper (NaN) and older results: the rise decides, as before.
    let carried = track(&[(1.0, 0.9), (0.95, 0.9)], [false, true]);
    assert_eq!(carried.lifted[0].end_grip, None);
    assert!(carried.lifted[0].held_at_end());
    let old = r#"{"object": "a_1", "rise_m": 0.07, "end_rise_m": 0.036}"#;
    let lift: Lift = serde_json::from_str(old).unwrap();
    assert!(lift.held_at_end());
    // The end grip without the open one (a build of one session): the rise still decides.
    let no_open = r#"{"object": "a_1", "rise_m": 0.07, "end_rise_m": 0.036,
        "grip_at_lift": 0.28, "end_grip": 0.0, "end_ee_offset_m": [0.0, 0.0, 0.02]}"#;
    let lift: Lift = serde_json::from_str(no_open).unwrap();
    assert!(lift.held_at_end());
    let with_open = r#"{"object": "a_1", "rise_m": 0.07, "end_rise_m": 0.036, "open_grip": 0.0,
        "grip_at_lift": 0.28, "end_grip": 0.0, "end_ee_offset_m": [0.0, 0.0, 0.02]}"#;
    let lift: Lift = serde_json::from_str(with_open).unwrap();
    assert!(!lift.held_at_end());
    // A gripper that closes toward smaller readings (prismatic fingers, metres): open 0.037,
    // 0.020 on the object; 0.021 at the end is still closed on it, 0.036 let go.
    let prismatic = |end: f64| Lift {
        object: "a_1".into(),
        rise_m: 0.07,
        end_rise_m: Some(0.0),
        end_grip: Some(end),
        open_grip: Some(0.037),
        end_ee_offset_m: Some([0.0, 0.0, 0.03]),
        grip_at_lift: Some(0.020),
        ee_offset_at_lift_m: None,
    };
    assert!(prismatic(0.021).held_at_end());
    assert!(!prismatic(0.036).held_at_end());
}

#[test]
fn object_positions_list_goal_objects_first_then_file_order() {
    let problem = problem();
    let mut t = OutcomeTracker::start(&problem, &scene(0.9, 0.9), EE_HOME, 0.0).unwrap();
    t.observe(&scene(1.05, 0.92), EE_HOME, 0.0).unwrap();
    let at = t.object_positions();
    let names: Vec<&str> = at.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["milk_1", "ketchup_1", "basket_1"]);
    // The positions now, not where the objects rested (compared by bits: copied, not
    // computed).
    let bits = |p: [f64; 3]| p.map(f64::to_bits);
    assert_eq!(bits(at[0].position_m), bits([0.1, -0.2, 1.05]));
    assert_eq!(bits(at[1].position_m), bits([0.1, -0.2, 0.92]));
    assert_eq!(bits(at[2].position_m), bits([0.1, -0.2, 0.9]));
}

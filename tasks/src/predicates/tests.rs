//! Every predicate on hand-built states, on both sides of each threshold, and the errors.

use std::collections::BTreeMap;

use super::{
    JointKind, JointState, NotApplicable, PredicateError, SceneError, SceneState, SitePose,
    evaluate_atom, evaluate_goal,
};
use crate::bddl::{Atom, Predicate, Problem, parse_str};

const I: [f64; 9] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

/// A scene as plain maps.
#[derive(Default)]
struct Fake {
    bodies: BTreeMap<String, [f64; 3]>,
    sites: BTreeMap<String, (SitePose, [f64; 3], Vec<JointState>)>,
    subtree_joints: BTreeMap<String, Vec<JointState>>,
    contacts: Vec<(String, String)>,
}

fn missing(kind: &'static str, name: &str) -> SceneError {
    SceneError::NotFound {
        kind,
        name: name.to_owned(),
    }
}

impl SceneState for Fake {
    fn body_pos(&self, body: &str) -> Result<[f64; 3], SceneError> {
        self.bodies
            .get(body)
            .copied()
            .ok_or_else(|| missing("body", body))
    }
    fn site_pose(&self, site: &str) -> Result<SitePose, SceneError> {
        self.sites
            .get(site)
            .map(|s| s.0)
            .ok_or_else(|| missing("site", site))
    }
    fn site_size(&self, site: &str) -> Result<[f64; 3], SceneError> {
        self.sites
            .get(site)
            .map(|s| s.1)
            .ok_or_else(|| missing("site", site))
    }
    fn subtree_joints(&self, body: &str) -> Result<Vec<JointState>, SceneError> {
        self.body_pos(body)?;
        Ok(self.subtree_joints.get(body).cloned().unwrap_or_default())
    }
    fn site_joints(&self, site: &str) -> Result<Vec<JointState>, SceneError> {
        self.sites
            .get(site)
            .map(|s| s.2.clone())
            .ok_or_else(|| missing("site", site))
    }
    fn subtree_contact(&self, a: &str, b: &str) -> Result<bool, SceneError> {
        self.body_pos(a)?;
        self.body_pos(b)?;
        Ok(self
            .contacts
            .iter()
            .any(|(x, y)| (x == a && y == b) || (x == b && y == a)))
    }
}

impl Fake {
    fn body(mut self, name: &str, pos: [f64; 3]) -> Self {
        self.bodies.insert(name.into(), pos);
        self
    }
    fn site(mut self, name: &str, pos: [f64; 3], size: [f64; 3], joints: &[f64]) -> Self {
        let pose = SitePose { pos, xmat: I };
        let joints = joints.iter().map(|q| slide("j", *q)).collect();
        self.sites.insert(name.into(), (pose, size, joints));
        self
    }
    fn joints(mut self, body: &str, joints: Vec<JointState>) -> Self {
        self.subtree_joints.insert(body.into(), joints);
        self
    }
    fn touching(mut self, a: &str, b: &str) -> Self {
        self.contacts.push((a.into(), b.into()));
        self
    }
}

fn slide(name: &str, q: f64) -> JointState {
    JointState {
        name: name.into(),
        kind: JointKind::Slide,
        qpos: vec![q],
    }
}

const PROBLEM: &str = "(define (problem LIBERO_Tabletop_Manipulation)
  (:domain robosuite)
  (:language test)
  (:regions
    (plate_region (:target main_table) (:ranges ((-0.1 -0.1 0.1 0.1))))
    (top_region (:target wooden_cabinet_1))
    (contain_region (:target basket_1))
    (cook_region (:target flat_stove_1))
    (heating_region (:target microwave_1))
    (lost_region (:target ghost_1)))
  (:fixtures main_table - table wooden_cabinet_1 - wooden_cabinet flat_stove_1 - flat_stove
             microwave_1 - microwave)
  (:objects bowl_1 - akita_black_bowl plate_1 - plate basket_1 - basket)
  (:init)
  (:goal (And (On bowl_1 plate_1) (Open wooden_cabinet_1_top_region) (TurnOn flat_stove_1))))";

fn problem() -> Problem {
    parse_str(PROBLEM, "tests/fake.bddl").unwrap()
}

/// `"on a b"` as an atom.
fn atom(text: &str) -> Atom {
    let mut words = text.split_whitespace();
    Atom {
        predicate: Predicate::from_name(words.next().unwrap()),
        args: words.map(str::to_owned).collect(),
    }
}

fn eval(scene: &Fake, text: &str) -> bool {
    evaluate_atom(&problem(), &atom(text), scene).unwrap()
}

fn err(scene: &Fake, text: &str) -> PredicateError {
    evaluate_atom(&problem(), &atom(text), scene).unwrap_err()
}

fn not_applicable(scene: &Fake, text: &str) -> NotApplicable {
    match err(scene, text) {
        PredicateError::NotApplicable { reason, .. } => reason,
        other => panic!("{text}: {other}"),
    }
}

/// A bowl resting on a plate: plate at z = 0.9, bowl 2 cm higher, touching.
fn bowl_on_plate(bowl: [f64; 3]) -> Fake {
    Fake::default()
        .body("bowl_1_main", bowl)
        .body("plate_1_main", [0.1, 0.2, 0.9])
        .touching("plate_1_main", "bowl_1_main")
}

#[test]
fn on_an_object_needs_height_contact_and_3_cm() {
    assert!(eval(&bowl_on_plate([0.1, 0.2, 0.92]), "on bowl_1 plate_1"));
    assert!(eval(&bowl_on_plate([0.1, 0.2, 0.9]), "on bowl_1 plate_1"));
    assert!(!eval(
        &bowl_on_plate([0.1, 0.2, 0.899_999]),
        "on bowl_1 plate_1"
    ));
    assert!(eval(
        &bowl_on_plate([0.129_9, 0.2, 0.92]),
        "on bowl_1 plate_1"
    ));
    assert!(!eval(
        &bowl_on_plate([0.130_1, 0.2, 0.92]),
        "on bowl_1 plate_1"
    ));
    assert!(!eval(
        &bowl_on_plate([0.1, 0.170_0, 0.92]),
        "on bowl_1 plate_1"
    ));
    // Lifted: no contact any more.
    let lifted = Fake::default()
        .body("bowl_1_main", [0.1, 0.2, 0.92])
        .body("plate_1_main", [0.1, 0.2, 0.9]);
    assert!(!eval(&lifted, "on bowl_1 plate_1"));
    // The order matters: the plate is not on the bowl.
    assert!(!eval(&bowl_on_plate([0.1, 0.2, 0.92]), "on plate_1 bowl_1"));
}

#[test]
fn on_a_table_zone_is_the_slab_above_it_without_contact() {
    // Zone centre (0, 0, 0.92), half size (0.1, 0.1, 0.007): d.z in (0.002, 0.107).
    let scene = |x: f64, z: f64| {
        Fake::default()
            .body("bowl_1_main", [x, 0.0, 0.92 + z])
            .site(
                "main_table_plate_region",
                [0.0, 0.0, 0.92],
                [0.1, 0.1, 0.007],
                &[],
            )
    };
    let on = "on bowl_1 main_table_plate_region";
    assert!(eval(&scene(0.0, 0.03), on));
    assert!(eval(&scene(0.0, 0.002_001), on) && !eval(&scene(0.0, 0.001_999), on));
    assert!(eval(&scene(0.0, 0.106_999), on) && !eval(&scene(0.0, 0.107_001), on));
    assert!(eval(&scene(0.099_999, 0.03), on) && !eval(&scene(0.100_001, 0.03), on));
}

#[test]
fn on_an_object_region_also_needs_contact_with_its_parent() {
    let scene = Fake::default()
        .body("bowl_1_main", [0.0, 0.0, 0.95])
        .body("flat_stove_1_main", [0.0, 0.0, 0.9])
        .site(
            "flat_stove_1_cook_region",
            [0.0, 0.0, 0.92],
            [0.05, 0.05, 0.01],
            &[],
        );
    let on = "on bowl_1 flat_stove_1_cook_region";
    assert!(!eval(&scene, on), "no contact with the stove");
    let scene = scene.touching("flat_stove_1_main", "bowl_1_main");
    assert!(eval(&scene, on));
}

#[test]
fn in_a_region_is_the_box_with_a_lowered_floor_and_no_contact() {
    // Box centre (0.3, 0, 1.0), half size (0.065, 0.085, 0.035); floor lowered by 0.01.
    let scene = |x: f64, z: f64| {
        Fake::default()
            .body("bowl_1_main", [0.3 + x, 0.0, 1.0 + z])
            .body("basket_1_main", [0.3, 0.0, 0.95])
            .site(
                "basket_1_contain_region",
                [0.3, 0.0, 1.0],
                [0.065, 0.085, 0.035],
                &[],
            )
    };
    let inside = "in bowl_1 basket_1_contain_region";
    assert!(eval(&scene(0.0, 0.0), inside));
    assert!(eval(&scene(0.0, -0.044_999), inside) && !eval(&scene(0.0, -0.045_001), inside));
    assert!(eval(&scene(0.0, 0.034_999), inside) && !eval(&scene(0.0, 0.035_001), inside));
    assert!(eval(&scene(0.064_999, 0.0), inside) && !eval(&scene(0.065_001, 0.0), inside));
    // On a table zone too (`TargetZone.in_box`).
    let zone = Fake::default().body("bowl_1_main", [0.0, 0.0, 0.92]).site(
        "main_table_plate_region",
        [0.0, 0.0, 0.92],
        [0.1, 0.1, 0.007],
        &[],
    );
    assert!(eval(&zone, "in bowl_1 main_table_plate_region"));
}

#[test]
fn up_is_one_metre() {
    let at = |z: f64| Fake::default().body("bowl_1_main", [0.0, 0.0, z]);
    assert!(eval(&at(1.0), "up bowl_1") && !eval(&at(0.999_999), "up bowl_1"));
}

#[test]
fn cabinet_region_open_close_read_the_drawer_joint() {
    let drawer = |q: f64| {
        Fake::default().site(
            "wooden_cabinet_1_top_region",
            [0.0; 3],
            [0.1, 0.1, 0.05],
            &[q],
        )
    };
    let (open, close) = (
        "open wooden_cabinet_1_top_region",
        "close wooden_cabinet_1_top_region",
    );
    assert!(eval(&drawer(-0.140_001), open) && !eval(&drawer(-0.14), open));
    assert!(eval(&drawer(0.000_001), close) && !eval(&drawer(0.0), close));
    // Half open: neither.
    assert!(!eval(&drawer(-0.07), open) && !eval(&drawer(-0.07), close));
}

#[test]
fn instance_open_is_any_joint_close_is_all_joints() {
    let cabinet = |qs: &[f64]| {
        Fake::default()
            .body("wooden_cabinet_1_main", [0.0; 3])
            .joints(
                "wooden_cabinet_1_main",
                qs.iter().map(|q| slide("level", *q)).collect(),
            )
    };
    assert!(eval(
        &cabinet(&[0.001, -0.15, 0.001]),
        "open wooden_cabinet_1"
    ));
    assert!(!eval(
        &cabinet(&[0.001, -0.15, 0.001]),
        "close wooden_cabinet_1"
    ));
    assert!(!eval(
        &cabinet(&[0.001, 0.001, 0.001]),
        "open wooden_cabinet_1"
    ));
    assert!(eval(
        &cabinet(&[0.001, 0.001, 0.001]),
        "close wooden_cabinet_1"
    ));
}

#[test]
fn microwave_and_stove_thresholds() {
    let with = |body: &str, q: f64| {
        Fake::default()
            .body(body, [0.0; 3])
            .joints(body, vec![slide("j", q)])
    };
    let m = "microwave_1_main";
    assert!(eval(&with(m, -1.300_001), "open microwave_1"));
    assert!(!eval(&with(m, -1.3), "open microwave_1"));
    assert!(eval(&with(m, -0.004_999), "close microwave_1"));
    assert!(!eval(&with(m, -0.005), "close microwave_1"));
    let s = "flat_stove_1_main";
    assert!(eval(&with(s, 0.5), "turnon flat_stove_1"));
    assert!(!eval(&with(s, 0.499_999), "turnon flat_stove_1"));
    assert!(eval(&with(s, -0.000_001), "turnoff flat_stove_1"));
    assert!(!eval(&with(s, 0.0), "turnoff flat_stove_1"), "0 is not off");
}

#[test]
fn no_joints_means_never_open_and_always_closed() {
    let scene = Fake::default().site("microwave_1_heating_region", [0.0; 3], [0.1, 0.1, 0.1], &[]);
    assert!(!eval(&scene, "open microwave_1_heating_region"));
    assert!(eval(&scene, "close microwave_1_heating_region"));
    // A category without a turn_on method is only an error once a joint is judged.
    let cabinet = Fake::default().body("wooden_cabinet_1_main", [0.0; 3]);
    assert!(!eval(&cabinet, "turnon wooden_cabinet_1"));
    let cabinet = cabinet.joints("wooden_cabinet_1_main", vec![slide("top_level", 0.0)]);
    assert_eq!(
        not_applicable(&cabinet, "turnon wooden_cabinet_1"),
        NotApplicable::NoThreshold {
            name: "wooden_cabinet_1".into(),
            category: "wooden_cabinet".into(),
            predicate: "turnon",
        }
    );
}

#[test]
fn the_goal_is_the_conjunction_of_all_atoms() {
    let scene = |stove_q: f64| {
        bowl_on_plate([0.1, 0.2, 0.92])
            .site(
                "wooden_cabinet_1_top_region",
                [0.0; 3],
                [0.1, 0.1, 0.05],
                &[-0.15],
            )
            .body("flat_stove_1_main", [0.0; 3])
            .joints("flat_stove_1_main", vec![slide("button", stove_q)])
    };
    let p = problem();
    let done = evaluate_goal(&p, &scene(1.0)).unwrap();
    assert!(done.success);
    assert_eq!(done.atoms.len(), 3);
    let status = evaluate_goal(&p, &scene(0.2)).unwrap();
    assert!(!status.success);
    let holds: Vec<bool> = status.atoms.iter().map(|a| a.holds).collect();
    assert_eq!(holds, [true, true, false]);
    assert_eq!(
        status.to_string(),
        "not yet: ✓(on bowl_1 plate_1) ✓(open wooden_cabinet_1_top_region) \
         ✗(turnon flat_stove_1)"
    );
}

#[test]
fn names_missing_from_problem_or_scene_are_errors_naming_file_and_object() {
    let scene = bowl_on_plate([0.1, 0.2, 0.92]);
    let e = err(&scene, "on bowl_9 plate_1");
    assert!(
        matches!(&e, PredicateError::UnknownName { name, file, .. }
            if name == "bowl_9" && file.ends_with("tests/fake.bddl")),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("tests/fake.bddl: (on bowl_9 plate_1): `bowl_9`")
    );
    // Declared, but not in the scene.
    let e = err(&Fake::default(), "on bowl_1 plate_1");
    assert!(
        matches!(&e, PredicateError::MissingInScene { name, kind: "body", scene_name, .. }
            if name == "bowl_1" && scene_name == "bowl_1_main"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "tests/fake.bddl: (on bowl_1 plate_1): `bowl_1` is not in the scene: no body `bowl_1_main`"
    );
    let e = err(&scene, "in bowl_1 basket_1_contain_region");
    assert!(
        matches!(&e, PredicateError::MissingInScene { name, kind: "site", .. }
            if name == "basket_1_contain_region"),
        "{e:?}"
    );
    // A region whose target is undeclared.
    let e = err(&scene, "in bowl_1 ghost_1_lost_region");
    assert!(matches!(&e, PredicateError::UnknownName { name, .. } if name == "ghost_1"));
    // The workspace has no object state.
    let e = err(&scene, "on bowl_1 main_table");
    assert!(matches!(&e, PredicateError::Workspace { category, .. } if category == "table"));
}

#[test]
fn predicates_that_cannot_apply_are_errors() {
    let scene = bowl_on_plate([0.1, 0.2, 0.92]);
    assert!(matches!(
        not_applicable(&scene, "on main_table_plate_region plate_1"),
        NotApplicable::RegionAsSubject {
            predicate: "on",
            ..
        }
    ));
    assert!(matches!(
        not_applicable(&scene, "in bowl_1 basket_1"),
        NotApplicable::ContainerIsObject { .. }
    ));
    assert!(matches!(
        not_applicable(&scene, "open main_table_plate_region"),
        NotApplicable::ZoneJoints { .. }
    ));
    assert!(matches!(
        not_applicable(&scene, "turnon flat_stove_1_cook_region"),
        NotApplicable::RegionNotSwitchable { .. }
    ));
    let free = Fake::default().body("microwave_1_main", [0.0; 3]).joints(
        "microwave_1_main",
        vec![JointState {
            name: "microwave_1_joint0".into(),
            kind: JointKind::Free,
            qpos: vec![0.0; 7],
        }],
    );
    assert!(matches!(
        not_applicable(&free, "close microwave_1"),
        NotApplicable::MultiDofJoint { joint, .. } if joint == "microwave_1_joint0"
    ));
    assert!(matches!(
        err(&scene, "on bowl_1"),
        PredicateError::Arity { found: 1, .. }
    ));
    assert!(matches!(
        err(&scene, "stack bowl_1 plate_1"),
        PredicateError::UnknownPredicate { .. }
    ));
}

#[test]
fn constant_predicates_still_resolve_their_names() {
    let scene = Fake::default();
    assert!(eval(&scene, "true bowl_1") && !eval(&scene, "false bowl_1 plate_1"));
    assert!(eval(&scene, "printjointstate wooden_cabinet_1"));
    assert!(matches!(
        err(&scene, "true nobody_1"),
        PredicateError::UnknownName { .. }
    ));
    assert!(matches!(
        err(&scene, "true"),
        PredicateError::Arity { found: 0, .. }
    ));
}

#[test]
fn scene_backend_errors_keep_file_and_atom() {
    struct Broken;
    impl SceneState for Broken {
        fn body_pos(&self, _: &str) -> Result<[f64; 3], SceneError> {
            Err(SceneError::Backend {
                source: "physics unstable".into(),
            })
        }
        fn site_pose(&self, s: &str) -> Result<SitePose, SceneError> {
            Err(missing("site", s))
        }
        fn site_size(&self, s: &str) -> Result<[f64; 3], SceneError> {
            Err(missing("site", s))
        }
        fn subtree_joints(&self, b: &str) -> Result<Vec<JointState>, SceneError> {
            Err(missing("body", b))
        }
        fn site_joints(&self, s: &str) -> Result<Vec<JointState>, SceneError> {
            Err(missing("site", s))
        }
        fn subtree_contact(&self, a: &str, _: &str) -> Result<bool, SceneError> {
            Err(missing("body", a))
        }
    }
    let e = evaluate_atom(&problem(), &atom("up bowl_1"), &Broken).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tests/fake.bddl: (up bowl_1): simulator query failed: physics unstable"
    );
}

//! Goal predicates on real MuJoCo scenes built with `ddvla_sim::builder::SceneBuilder`.
//!
//! Needs `scripts/setup.sh` (MuJoCo 3.17.0 and the Panda assets), as the sim crate's tests do.
//! No cameras are rendered, so no EGL is needed.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_sim::builder::{ObjectSpec, SceneBuilder, Shape, SiteSpec};
use ddvla_sim::{Env, EnvConfig};
use ddvla_tasks::bddl::{Atom, Predicate, Problem, parse_str};
use ddvla_tasks::predicates::{
    Goal, JointKind, PredicateError, SceneState, evaluate_atom, evaluate_goal,
};

/// A cabinet with one drawer whose slide joint starts at `q_ref` (MuJoCo's `ref` is the
/// initial `qpos`); negative is open, as in LIBERO's cabinets.
fn cabinet_mjcf(q_ref: f64) -> String {
    format!(
        r#"<geom name="{{name}}_case" type="box" size="0.08 0.1 0.06" pos="0 0 0.06" rgba=".5 .35 .2 1"/>
<body name="{{name}}_top" pos="-0.1 0 0.09">
  <joint name="{{name}}_top_level" type="slide" axis="1 0 0" ref="{q_ref}" damping="50"/>
  <geom name="{{name}}_drawer" type="box" size="0.07 0.09 0.02" mass="0.2" contype="0" conaffinity="0"/>
  <site name="{{name}}_top_region" type="box" size="0.06 0.08 0.015" group="4"/>
</body>"#
    )
}

/// A stove: a base, a cooking plate on a welded child body (so contacts with it test the
/// subtree), a knob hinge `{name}_button` at 0.6 rad (on), and the site `{name}_cook_region`.
const STOVE: &str = r#"<geom name="{name}_base" type="box" size="0.1 0.1 0.015" pos="0 0 0.015" rgba=".2 .2 .2 1"/>
<body name="{name}_plate" pos="0 0 0.03">
  <geom name="{name}_top" type="box" size="0.09 0.09 0.005" pos="0 0 0.005" rgba=".1 .1 .1 1"/>
</body>
<body name="{name}_knob" pos="0.09 0.08 0.04">
  <joint name="{name}_button" type="hinge" axis="0 0 1" ref="0.6" damping="1"/>
  <geom name="{name}_knob_g0" type="cylinder" size="0.01 0.01" mass="0.01" contype="0" conaffinity="0"/>
</body>
<site name="{name}_cook_region" type="box" pos="0 0 0.04" size="0.08 0.08 0.005" group="4"/>"#;

fn object(name: &str, shape: Shape, pos_m: [f64; 3], free: bool) -> ObjectSpec {
    ObjectSpec {
        name: name.into(),
        shape,
        pos_m,
        rgba: [0.8, 0.3, 0.2, 1.0],
        mass_kg: 0.05,
        free,
    }
}

fn cube() -> Shape {
    Shape::Box {
        half_extents_m: [0.02; 3],
    }
}

/// Table top at z = 0.1. Every free object starts in the air above its goal.
fn scene() -> SceneBuilder {
    let mut b = SceneBuilder::new("predicates");
    b.table = Some(([0.55, 0.0, 0.05], [0.35, 0.5, 0.05]));
    let plate = Shape::Cylinder {
        radius_m: 0.07,
        half_height_m: 0.005,
    };
    let basket = Shape::Mjcf {
        body_children: include_str!("../../sim/objects/basket.xml").into(),
    };
    let mjcf = |xml: String| Shape::Mjcf { body_children: xml };
    b.objects = vec![
        object("plate_1", plate, [0.5, 0.15, 0.106], true),
        object("cube_1", cube(), [0.5, 0.15, 0.18], true),
        object("cube_2", cube(), [0.65, -0.05, 0.3], true),
        object("cube_3", cube(), [0.3, 0.35, 0.25], true),
        object("basket_1", basket, [0.45, -0.25, 0.1], true),
        object(
            "ball_1",
            Shape::Sphere { radius_m: 0.02 },
            [0.45, -0.25, 0.25],
            true,
        ),
        object("flat_stove_1", mjcf(STOVE.into()), [0.3, 0.35, 0.1], false),
        object(
            "wooden_cabinet_1",
            mjcf(cabinet_mjcf(-0.15)),
            [0.75, 0.35, 0.1],
            false,
        ),
        object(
            "wooden_cabinet_2",
            mjcf(cabinet_mjcf(0.002)),
            [0.75, -0.35, 0.1],
            false,
        ),
    ];
    // A LIBERO table zone: a box site on the table, half height 0.007.
    b.sites.push(SiteSpec {
        name: "main_table_left_region".into(),
        parent: None,
        pos_m: [0.65, -0.05, 0.1],
        half_size_m: [0.05, 0.05, 0.007],
    });
    b
}

const PROBLEM: &str = "(define (problem LIBERO_Tabletop_Manipulation)
  (:domain robosuite)
  (:language put everything in place)
  (:regions
    (left_region (:target main_table) (:ranges ((-0.05 -0.05 0.05 0.05))))
    (top_region (:target wooden_cabinet_1))
    (top_region (:target wooden_cabinet_2))
    (cook_region (:target flat_stove_1))
    (contain_region (:target basket_1)))
  (:fixtures main_table - table wooden_cabinet_1 wooden_cabinet_2 - wooden_cabinet
             flat_stove_1 - flat_stove)
  (:objects plate_1 - plate cube_1 cube_2 cube_3 - cube basket_1 - basket ball_1 - ball)
  (:init)
  (:goal (And (On cube_1 plate_1) (On cube_2 main_table_left_region)
              (On cube_3 flat_stove_1_cook_region) (In ball_1 basket_1_contain_region)
              (Open wooden_cabinet_1_top_region) (Close wooden_cabinet_2_top_region)
              (Turnon flat_stove_1))))";

fn problem() -> Problem {
    parse_str(PROBLEM, "tests/sim_predicates.bddl").unwrap()
}

fn env(b: &SceneBuilder) -> Env {
    let cfg = EnvConfig {
        scene: b.name.clone(),
        scene_mjcf: Some(b.to_mjcf().unwrap()),
        cameras: vec![],
        object_jitter_m: 0.0,
        ..EnvConfig::default()
    };
    let mut env = Env::new(cfg).unwrap();
    env.reset(0).unwrap();
    env
}

fn atom(text: &str) -> Atom {
    let mut words = text.split_whitespace();
    Atom {
        predicate: Predicate::from_name(words.next().unwrap()),
        args: words.map(str::to_owned).collect(),
    }
}

fn holds(env: &Env, text: &str) -> bool {
    evaluate_atom(&problem(), &atom(text), env).unwrap()
}

#[test]
fn objects_dropped_into_place_satisfy_the_goal() {
    let mut env = env(&scene());
    let goal = Goal::new(&problem()).unwrap();
    // Right after reset everything free hangs in the air: no On/In yet; the articulations
    // are already where their joints start.
    let before = goal.evaluate(&env).unwrap();
    let held: Vec<bool> = before.atoms.iter().map(|a| a.holds).collect();
    assert_eq!(
        held,
        [false, false, false, false, true, true, true],
        "{before}"
    );
    assert!(!before.success);
    for _ in 0..25 {
        env.step(&[0.0; 7]).unwrap();
    }
    let after = goal.evaluate(&env).unwrap();
    assert!(after.success, "{after}");
    assert_eq!(evaluate_goal(&problem(), &env).unwrap(), after);
    // Order and parents matter.
    assert!(!holds(&env, "on plate_1 cube_1"));
    assert!(!holds(&env, "on cube_1 flat_stove_1_cook_region"));
    assert!(!holds(&env, "in cube_1 basket_1_contain_region"));
    assert!(!holds(&env, "on plate_1 main_table_left_region"));
    // Joint predicates read the drawers and the knob.
    assert!(!holds(&env, "close wooden_cabinet_1_top_region"));
    assert!(holds(&env, "open wooden_cabinet_1"));
    assert!(!holds(&env, "open wooden_cabinet_2_top_region"));
    assert!(holds(&env, "close wooden_cabinet_2"));
    assert!(!holds(&env, "turnoff flat_stove_1"));
}

#[test]
fn the_env_answers_scene_queries_with_subtrees() {
    let env = env(&scene());
    let drawer = env.site_joints("wooden_cabinet_1_top_region").unwrap();
    assert_eq!(drawer.len(), 1);
    assert_eq!(drawer[0].name, "wooden_cabinet_1_top_level");
    assert_eq!(drawer[0].kind, JointKind::Slide);
    assert!((drawer[0].qpos[0] + 0.15).abs() < 1e-12, "{drawer:?}");
    // The stove's subtree holds the knob; its cook region's body (the root) holds none.
    let stove = env.subtree_joints("flat_stove_1_main").unwrap();
    assert_eq!(stove.len(), 1);
    assert_eq!(stove[0].kind, JointKind::Hinge);
    assert!(
        env.site_joints("flat_stove_1_cook_region")
            .unwrap()
            .is_empty()
    );
    let cube = env.subtree_joints("cube_1_main").unwrap();
    assert_eq!((cube.len(), cube[0].kind), (1, JointKind::Free));
    assert_eq!(cube[0].qpos.len(), 7);
    assert!(env.subtree_joints("nope_main").is_err());
    assert!(env.subtree_contact("cube_1_main", "nope").is_err());
    let pose = SceneState::site_pose(&env, "main_table_left_region").unwrap();
    let expected = [0.65, -0.05, 0.1];
    assert!(
        pose.pos
            .iter()
            .zip(expected)
            .all(|(a, b)| (a - b).abs() < 1e-12),
        "{pose:?}"
    );
}

#[test]
fn contacts_with_a_child_body_count_for_the_parent() {
    let mut env = env(&scene());
    for _ in 0..25 {
        env.step(&[0.0; 7]).unwrap();
    }
    // cube_3 rests on the plate geom of the welded child body `flat_stove_1_plate`.
    assert!(!env.in_contact("cube_3_main", "flat_stove_1_main").unwrap());
    assert!(env.in_contact("cube_3_main", "flat_stove_1_plate").unwrap());
    assert!(
        env.subtree_contact("flat_stove_1_main", "cube_3_main")
            .unwrap()
    );
    assert!(
        !env.subtree_contact("flat_stove_1_main", "cube_1_main")
            .unwrap()
    );
}

#[test]
fn a_declared_object_missing_from_the_scene_is_a_typed_error() {
    let env = env(&scene());
    let text = PROBLEM.replace("ball_1 - ball", "ball_1 - ball bowl_1 - akita_black_bowl");
    let p = parse_str(&text, "tests/sim_predicates.bddl").unwrap();
    let e = evaluate_atom(&p, &atom("on bowl_1 plate_1"), &env).unwrap_err();
    assert!(
        matches!(&e, PredicateError::MissingInScene { name, scene_name, kind: "body", .. }
            if name == "bowl_1" && scene_name == "bowl_1_main"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "tests/sim_predicates.bddl: (on bowl_1 plate_1): `bowl_1` is not in the scene: \
         no body `bowl_1_main`"
    );
}

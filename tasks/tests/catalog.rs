//! Every catalog category in real MuJoCo: it rests where it is placed, its regions work with
//! LIBERO's predicates, and its drawers and knob read as LIBERO's `Open`/`Close`/`TurnOn`/
//! `TurnOff`.
//!
//! Needs `scripts/setup.sh` (MuJoCo and the Panda assets), as `sim_predicates.rs` does. No
//! cameras are rendered, so no EGL is needed.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::fmt::Write as _;

use ddvla_sim::builder::{ObjectSpec, SceneBuilder, Shape};
use ddvla_sim::{Env, EnvConfig};
use ddvla_tasks::bddl::{Atom, Predicate, Problem, parse_str};
use ddvla_tasks::catalog::{self, CatalogObject, Kind, PartKind};
use ddvla_tasks::predicates::evaluate_atom;

/// Table top height (m).
const TABLE_Z: f64 = 0.1;

/// A scene: a 1.2 × 1.6 m table with its top at `TABLE_Z`, the Panda at the origin.
struct Scene {
    builder: SceneBuilder,
    items: Vec<(String, String, CatalogObject)>,
}

impl Scene {
    fn new() -> Self {
        let mut builder = SceneBuilder::new("catalog");
        builder.table = Some(([0.65, 0.0, TABLE_Z - 0.05], [0.6, 0.8, 0.05]));
        Self {
            builder,
            items: vec![],
        }
    }

    /// Rest `category` instance `instance` on the table at `xy`.
    fn add(&mut self, instance: &str, category: &str, xy: [f64; 2]) -> &CatalogObject {
        let probe = catalog::build(instance, category, [0.0; 3]).unwrap();
        let pos = [xy[0], xy[1], TABLE_Z + probe.bottom_offset_m];
        let o = catalog::build(instance, category, pos).unwrap();
        self.builder.objects.push(o.object.clone());
        self.builder.sites.extend(o.sites.iter().cloned());
        self.items.push((instance.into(), category.into(), o));
        &self.items.last().unwrap().2
    }

    /// A free 2 cm cube.
    fn cube(&mut self, instance: &str, xy: [f64; 2]) {
        self.builder.objects.push(ObjectSpec {
            name: instance.into(),
            shape: Shape::Box {
                half_extents_m: [0.01; 3],
            },
            pos_m: [xy[0], xy[1], TABLE_Z + 0.01],
            rgba: [0.2, 0.9, 0.2, 1.0],
            mass_kg: 0.03,
            free: true,
        });
        self.items.push((
            instance.into(),
            "cube".into(),
            catalog::build(instance, "plate", [0.0; 3]).unwrap(),
        ));
    }

    fn env(&self) -> Env {
        let cfg = EnvConfig {
            scene: self.builder.name.clone(),
            scene_mjcf: Some(self.builder.to_mjcf().unwrap()),
            cameras: vec![],
            object_jitter_m: 0.0,
            ..EnvConfig::default()
        };
        let mut env = Env::new(cfg).unwrap();
        env.reset(0).unwrap();
        env
    }

    /// A BDDL problem declaring every instance and region of the scene.
    fn problem(&self) -> Problem {
        let (mut regions, mut fixtures, mut objects) =
            (String::new(), String::new(), String::new());
        for (inst, cat, o) in &self.items {
            let kind = if cat == "cube" {
                Kind::Object
            } else {
                info(cat).kind
            };
            let list = if kind == Kind::Fixture {
                &mut fixtures
            } else {
                &mut objects
            };
            let _ = write!(list, " {inst} - {cat}");
            for r in o.regions.iter().filter(|_| cat != "cube") {
                let short = r.strip_prefix(&format!("{inst}_")).unwrap();
                let _ = write!(regions, " ({short} (:target {inst}))");
            }
        }
        let text = format!(
            "(define (problem LIBERO_Tabletop_Manipulation) (:domain robosuite)
               (:language catalog test) (:regions{regions})
               (:fixtures main_table - table{fixtures}) (:objects{objects})
               (:init) (:goal (And (On {first} main_table))))",
            first = self.items[0].0
        );
        parse_str(&text, "tests/catalog.bddl").unwrap()
    }
}

fn info(category: &str) -> catalog::CategoryInfo {
    *catalog::categories()
        .iter()
        .find(|c| c.name == category)
        .unwrap()
}

fn holds(problem: &Problem, env: &Env, text: &str) -> bool {
    let mut words = text.split_whitespace();
    let atom = Atom {
        predicate: Predicate::from_name(words.next().unwrap()),
        args: words.map(str::to_owned).collect(),
    };
    evaluate_atom(problem, &atom, env).unwrap()
}

/// One second of physics with the arm holding its pose.
fn settle(env: &mut Env) {
    for _ in 0..20 {
        env.hold(-1.0).unwrap();
    }
}

/// Tilt of a free joint's body from upright (degrees).
fn tilt_deg(qpos: &[f64]) -> f64 {
    let (qx, qy) = (qpos[4], qpos[5]);
    let cos = 1.0 - 2.0 * (qx * qx + qy * qy);
    cos.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Lay `categories` out on a grid in front of the robot.
fn grid(scene: &mut Scene, categories: &[&str], rows: &[f64], spacing_y: f64) {
    let per_row = categories.len().div_ceil(rows.len());
    for (i, cat) in categories.iter().enumerate() {
        let (row, col) = (i / per_row, i % per_row);
        let y = (col as f64 - (per_row as f64 - 1.0) / 2.0) * spacing_y;
        scene.add(&format!("{cat}_1"), cat, [rows[row], y]);
    }
}

#[test]
fn every_category_rests_where_placed() {
    let objects: Vec<&str> = catalog::categories()
        .iter()
        .filter(|c| c.kind == Kind::Object && c.name != "basket" && !catalog::is_simpler(c.name))
        .map(|c| c.name)
        .collect();
    let mut scene = Scene::new();
    grid(&mut scene, &objects, &[0.45, 0.65, 0.85], 0.2);
    scene.add("basket_1", "basket", [1.05, 0.45]);
    scene.add("wooden_cabinet_1", "wooden_cabinet", [1.05, -0.45]);
    scene.add("flat_stove_1", "flat_stove", [1.05, 0.0]);
    scene.add("wine_rack_1", "wine_rack", [0.3, 0.62]);
    let mut env = scene.env();
    settle(&mut env);
    for (inst, cat, o) in &scene.items {
        let p = env.body_pos(&format!("{inst}_main")).unwrap();
        let placed = o.object.pos_m;
        let dxy = (p[0] - placed[0]).hypot(p[1] - placed[1]);
        let dz = (p[2] - placed[2]).abs();
        assert!(
            dxy < 0.01 && dz < 0.005,
            "{cat}: moved {dxy:.4} m in xy, {dz:.4} m in z"
        );
        if o.object.free {
            let tilt = tilt_deg(&env.joint_qpos(&format!("{inst}_joint0")).unwrap());
            assert!(tilt < 10.0, "{cat}: tilted {tilt:.1}°");
        }
        for part in &o.parts {
            let q = env.joint_qpos(&part.joint).unwrap()[0];
            assert!((q - part.closed_qpos).abs() < 0.005, "{}: {q}", part.joint);
        }
    }
}

/// The fixtures, the basket, a bowl, a plate and a wine bottle, with one cube per region
/// lying on the table away from everything (the wine rack's region gets the bottle).
fn region_scene() -> (Scene, Vec<(String, String)>) {
    let mut scene = Scene::new();
    scene.add("wooden_cabinet_1", "wooden_cabinet", [0.85, -0.3]);
    scene.add("flat_stove_1", "flat_stove", [0.8, 0.3]);
    scene.add("wine_rack_1", "wine_rack", [0.5, 0.55]);
    scene.add("basket_1", "basket", [0.5, -0.6]);
    scene.add("akita_black_bowl_1", "akita_black_bowl", [0.45, 0.2]);
    scene.add("plate_1", "plate", [0.45, -0.2]);
    scene.add("wine_bottle_1", "wine_bottle", [1.1, 0.0]);
    let regions: Vec<String> = scene
        .items
        .iter()
        .flat_map(|(_, _, o)| o.regions.clone())
        .filter(|r| r != "wine_rack_1_top_region")
        .collect();
    let mut pairs = vec![];
    for (i, region) in regions.into_iter().enumerate() {
        let cube = format!("cube_{i}");
        scene.cube(&cube, [0.3, -0.4 + 0.08 * i as f64]);
        pairs.push((cube, region));
    }
    scene.cube("cube_bowl", [0.3, 0.4]);
    (scene, pairs)
}

/// LIBERO's predicate for a region: drawers and the basket contain, the rest support.
fn predicate_of(region: &str) -> &'static str {
    let drawer = ["top_region", "middle_region", "bottom_region"]
        .iter()
        .any(|d| region.starts_with("wooden_cabinet") && region.ends_with(d));
    if drawer || region.ends_with("contain_region") {
        "in"
    } else {
        "on"
    }
}

/// Put free joint `joint` (upright) with its origin at `pos`.
fn put(env: &mut Env, joint: &str, pos: [f64; 3]) {
    env.set_joint_qpos(joint, &[pos[0], pos[1], pos[2], 1.0, 0.0, 0.0, 0.0])
        .unwrap();
}

#[test]
fn objects_on_and_in_every_region_satisfy_libero_predicates() {
    let (scene, pairs) = region_scene();
    let problem = scene.problem();
    let mut env = scene.env();
    settle(&mut env);
    let atoms: Vec<String> = pairs
        .iter()
        .map(|(cube, region)| format!("{} {cube} {region}", predicate_of(region)))
        .chain([
            "on wine_bottle_1 wine_rack_1_top_region".to_owned(),
            "on cube_bowl akita_black_bowl_1".to_owned(),
            "on akita_black_bowl_1 plate_1".to_owned(),
        ])
        .collect();
    for atom in &atoms {
        assert!(
            !holds(&problem, &env, atom),
            "({atom}) with the cube elsewhere"
        );
    }
    // Open the top and bottom drawers; the middle one stays closed with its cube inside.
    for drawer in ["top", "bottom"] {
        env.set_joint_qpos(&format!("wooden_cabinet_1_{drawer}_level"), &[-0.16])
            .unwrap();
    }
    env.forward();
    for (cube, region) in &pairs {
        let (p, _) = env.site_pose(region).unwrap();
        let size = env.site_size(region).unwrap();
        let z = if predicate_of(region) == "in" {
            p[2] - size[2] + 0.012
        } else {
            p[2] + size[2] + 0.011
        };
        put(&mut env, &format!("{cube}_joint0"), [p[0], p[1], z]);
    }
    let (p, _) = env.site_pose("wine_rack_1_top_region").unwrap();
    put(
        &mut env,
        "wine_bottle_1_joint0",
        [p[0], p[1], p[2] + 0.005 + 0.071],
    );
    let bowl = scene
        .items
        .iter()
        .find(|i| i.0 == "akita_black_bowl_1")
        .unwrap();
    let plate = env.body_pos("plate_1_main").unwrap();
    let b = [
        plate[0],
        plate[1],
        plate[2] + 0.0075 + bowl.2.bottom_offset_m + 0.002,
    ];
    put(&mut env, "akita_black_bowl_1_joint0", b);
    put(
        &mut env,
        "cube_bowl_joint0",
        [b[0], b[1], b[2] + bowl.2.top_offset_m + 0.012],
    );
    env.forward();
    settle(&mut env);
    for atom in &atoms {
        assert!(holds(&problem, &env, atom), "({atom}) after settling");
    }
    let tilt = tilt_deg(&env.joint_qpos("wine_bottle_1_joint0").unwrap());
    assert!(tilt < 5.0, "the bottle leans {tilt:.1}° in the rack");
    for (drawer, open) in [("top", true), ("middle", false), ("bottom", true)] {
        let region = format!("wooden_cabinet_1_{drawer}_region");
        assert_eq!(
            holds(&problem, &env, &format!("open {region}")),
            open,
            "{drawer}"
        );
        assert_eq!(
            holds(&problem, &env, &format!("close {region}")),
            !open,
            "{drawer}"
        );
    }
}

#[test]
fn drawers_and_the_knob_read_as_libero_articulations() {
    let mut scene = Scene::new();
    let parts = [
        scene
            .add("wooden_cabinet_1", "wooden_cabinet", [0.8, -0.25])
            .parts
            .clone(),
        scene
            .add("flat_stove_1", "flat_stove", [0.8, 0.3])
            .parts
            .clone(),
    ]
    .concat();
    assert_eq!(parts.len(), 4);
    let problem = scene.problem();
    let mut env = scene.env();
    settle(&mut env);
    for part in &parts {
        let (on, off, target) = match part.kind {
            PartKind::Drawer => {
                let region = part.region.clone().unwrap();
                ("open", "close", region)
            }
            PartKind::Knob => ("turnon", "turnoff", "flat_stove_1".to_owned()),
        };
        assert!(
            holds(&problem, &env, &format!("{off} {target}")),
            "{} at rest",
            part.joint
        );
        for (q, is_on) in [(part.open_qpos, true), (part.closed_qpos, false)] {
            env.set_joint_qpos(&part.joint, &[q]).unwrap();
            env.forward();
            settle(&mut env);
            let now = env.joint_qpos(&part.joint).unwrap()[0];
            assert!(
                (now - q).abs() < 0.003,
                "{} drifted from {q} to {now}",
                part.joint
            );
            assert_eq!(
                holds(&problem, &env, &format!("{on} {target}")),
                is_on,
                "{}",
                part.joint
            );
            assert_eq!(
                holds(&problem, &env, &format!("{off} {target}")),
                !is_on,
                "{}",
                part.joint
            );
        }
        // The handle or lever tip is where an expert can reach it: in front of the fixture.
        let (h, _) = env.site_pose(&part.handle_site).unwrap();
        assert!(h[0] < 0.8 && h[2] > TABLE_Z, "{}: {h:?}", part.handle_site);
    }
}

/// The SimplerEnv-style objects (`catalog/simpler.rs`) rest upright where placed (the long
/// ones do not roll), and the towel's region reads as LIBERO's `On`: a spoon dropped on the
/// towel is on it, the carrot beside it is not; a green cube on the yellow one is `On` it.
#[test]
fn simpler_objects_rest_where_placed_and_their_goals_read() {
    let objects: Vec<&str> = catalog::categories()
        .iter()
        .filter(|c| catalog::is_simpler(c.name))
        .map(|c| c.name)
        .collect();
    assert_eq!(objects.len(), 8);
    let mut scene = Scene::new();
    grid(&mut scene, &objects, &[0.45, 0.7], 0.22);
    scene.add("plate_1", "plate", [0.95, 0.0]);
    let problem = scene.problem();
    let mut env = scene.env();
    settle(&mut env);
    for (inst, cat, o) in &scene.items {
        let p = env.body_pos(&format!("{inst}_main")).unwrap();
        let placed = o.object.pos_m;
        let dxy = (p[0] - placed[0]).hypot(p[1] - placed[1]);
        let dz = (p[2] - placed[2]).abs();
        assert!(
            dxy < 0.01 && dz < 0.005,
            "{cat}: moved {dxy:.4} m in xy, {dz:.4} m in z"
        );
        let tilt = tilt_deg(&env.joint_qpos(&format!("{inst}_joint0")).unwrap());
        assert!(tilt < 10.0, "{cat}: tilted {tilt:.1}°");
    }
    assert!(!holds(&problem, &env, "on spoon_1 towel_1_top_region"));
    assert!(!holds(&problem, &env, "on green_cube_1 yellow_cube_1"));
    let towel = env.body_pos("towel_1_main").unwrap();
    put(
        &mut env,
        "spoon_1_joint0",
        [towel[0], towel[1], towel[2] + 0.015],
    );
    let yellow = env.body_pos("yellow_cube_1_main").unwrap();
    put(
        &mut env,
        "green_cube_1_joint0",
        [yellow[0], yellow[1], yellow[2] + 0.032],
    );
    let plate = env.body_pos("plate_1_main").unwrap();
    put(
        &mut env,
        "carrot_1_joint0",
        [plate[0], plate[1], plate[2] + 0.022],
    );
    settle(&mut env);
    assert!(holds(&problem, &env, "on spoon_1 towel_1_top_region"));
    assert!(holds(&problem, &env, "on green_cube_1 yellow_cube_1"));
    assert!(holds(&problem, &env, "on carrot_1 plate_1"));
    assert!(!holds(&problem, &env, "on carrot_1 towel_1_top_region"));
}

//! Scenes composed in code, and the state queries task predicates use.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_sim::builder::{CameraSpec, ObjectSpec, SceneBuilder, Shape, SiteSpec};
use ddvla_sim::{Env, EnvConfig, SimError};

fn scene() -> SceneBuilder {
    let mut b = SceneBuilder::new("built");
    b.table = Some(([0.55, 0.0, 0.05], [0.35, 0.5, 0.05]));
    b.objects.push(ObjectSpec {
        name: "plate_1".into(),
        shape: Shape::Cylinder {
            radius_m: 0.07,
            half_height_m: 0.005,
        },
        pos_m: [0.5, 0.15, 0.106],
        rgba: [0.9, 0.9, 0.85, 1.0],
        mass_kg: 0.2,
        free: true,
    });
    b.objects.push(ObjectSpec {
        name: "cube_1".into(),
        shape: Shape::Box {
            half_extents_m: [0.02; 3],
        },
        pos_m: [0.5, 0.15, 0.135],
        rgba: [0.8, 0.2, 0.2, 1.0],
        mass_kg: 0.05,
        free: true,
    });
    b.sites.push(SiteSpec {
        name: "main_table_left_region".into(),
        parent: None,
        pos_m: [0.5, -0.2, 0.1],
        half_size_m: [0.05, 0.05, 0.01],
    });
    b.sites.push(SiteSpec {
        name: "plate_1_top".into(),
        parent: Some("plate_1".into()),
        pos_m: [0.0, 0.0, 0.005],
        half_size_m: [0.06, 0.06, 0.01],
    });
    b.cameras.push(CameraSpec {
        name: "agentview".into(),
        pos_m: [1.35, 0.0, 0.85],
        xyaxes: [0.0, 1.0, 0.0, -0.55, 0.0, 0.84],
        fovy_deg: 45.0,
    });
    b
}

#[test]
fn built_scene_loads_and_answers_queries() {
    let cfg = EnvConfig {
        scene: "built".into(),
        scene_mjcf: Some(scene().to_mjcf().unwrap()),
        cameras: vec!["agentview".into()],
        object_jitter_m: 0.0,
        ..EnvConfig::default()
    };
    let mut env = Env::new(cfg).unwrap();
    env.reset(0).unwrap();
    for _ in 0..10 {
        env.step(&[0.0; 7]).unwrap();
    }
    // The cube settles on the plate, the plate on the table.
    assert!(env.in_contact("cube_1_main", "plate_1_main").unwrap());
    assert!(env.in_contact("plate_1_main", "main_table").unwrap());
    assert!(!env.in_contact("cube_1_main", "main_table").unwrap());
    let cube = env.body_pos("cube_1_main").unwrap();
    let plate = env.body_pos("plate_1_main").unwrap();
    assert!(cube[2] > plate[2] && (cube[0] - plate[0]).hypot(cube[1] - plate[1]) < 0.03);
    let (p, r) = env.site_pose("plate_1_top").unwrap();
    assert!(
        (p[2] - plate[2] - 0.005).abs() < 1e-3,
        "site follows its object"
    );
    assert!(
        (r[0] - 1.0).abs() < 1e-3 && (r[8] - 1.0).abs() < 1e-3,
        "upright plate"
    );
    let size = env.site_size("main_table_left_region").unwrap();
    assert!(
        size.iter()
            .zip([0.05, 0.05, 0.01])
            .all(|(a, b)| (a - b).abs() < 1e-12),
        "{size:?}"
    );
    assert_eq!(env.joint_qpos("cube_1_joint0").unwrap().len(), 7);
    assert_eq!(env.joint_qpos("joint1").unwrap().len(), 1);
    assert!(matches!(
        env.body_pos("bowl_1_main"),
        Err(SimError::UnknownName { .. })
    ));
    assert!(env.in_contact("cube_1_main", "nope").is_err());
}

#[test]
fn invalid_scenes_are_rejected_before_mujoco() {
    let mut b = scene();
    b.objects[1].name = "plate_1".into();
    assert!(b.to_mjcf().unwrap_err().to_string().contains("used twice"));
    let mut b = scene();
    b.objects[0].pos_m[2] = f64::NAN;
    assert!(b.to_mjcf().is_err());
    let mut b = scene();
    b.sites[1].parent = Some("ghost".into());
    assert!(b.to_mjcf().unwrap_err().to_string().contains("ghost"));
    let mut b = scene();
    b.objects[0].name = "bad name".into();
    assert!(b.to_mjcf().is_err());
}

#[test]
fn our_own_mjcf_objects_compose_and_contain() {
    let mut b = scene();
    b.objects.push(ObjectSpec {
        name: "basket_1".into(),
        shape: Shape::Mjcf {
            body_children: include_str!("../objects/basket.xml").into(),
        },
        pos_m: [0.45, -0.2, 0.1],
        rgba: [1.0; 4],
        mass_kg: 0.4,
        free: true,
    });
    b.objects.push(ObjectSpec {
        name: "ball_1".into(),
        shape: Shape::Sphere { radius_m: 0.02 },
        pos_m: [0.45, -0.2, 0.2],
        rgba: [0.2, 0.4, 0.9, 1.0],
        mass_kg: 0.03,
        free: true,
    });
    let cfg = EnvConfig {
        scene: "basket".into(),
        scene_mjcf: Some(b.to_mjcf().unwrap()),
        cameras: vec![],
        object_jitter_m: 0.0,
        ..EnvConfig::default()
    };
    let mut env = Env::new(cfg).unwrap();
    env.reset(0).unwrap();
    for _ in 0..15 {
        env.step(&[0.0; 7]).unwrap();
    }
    // The ball dropped into the basket: inside the contain region, touching the basket.
    let (c, _) = env.site_pose("basket_1_contain_region").unwrap();
    let h = env.site_size("basket_1_contain_region").unwrap();
    let p = env.body_pos("ball_1_main").unwrap();
    for i in 0..3 {
        assert!(
            (p[i] - c[i]).abs() <= h[i] + 0.01,
            "axis {i}: ball {p:?}, region {c:?} ± {h:?}"
        );
    }
    assert!(env.in_contact("ball_1_main", "basket_1_main").unwrap());
}

#[test]
fn scene_joints_are_set_by_name() {
    let cfg = EnvConfig {
        scene: "built".into(),
        scene_mjcf: Some(scene().to_mjcf().unwrap()),
        cameras: vec![],
        object_jitter_m: 0.0,
        ..EnvConfig::default()
    };
    let mut env = Env::new(cfg).unwrap();
    env.reset(0).unwrap();
    let names = env.scene_joint_names();
    assert!(names.iter().any(|n| n == "cube_1_joint0"), "{names:?}");
    assert!(!names.iter().any(|n| n == "joint1" || n.contains("driver")));
    // An unnormalised quaternion is normalised; the pose is visible after forward().
    env.set_joint_qpos("cube_1_joint0", &[0.4, 0.1, 0.3, 2.0, 0.0, 0.0, 0.0])
        .unwrap();
    env.forward();
    let p = env.body_pos("cube_1_main").unwrap();
    assert!((p[0] - 0.4).abs() < 1e-12 && (p[2] - 0.3).abs() < 1e-12);
    assert!((env.joint_qpos("cube_1_joint0").unwrap()[3] - 1.0).abs() < 1e-12);
    assert!(env.set_joint_qpos("cube_1_joint0", &[0.0; 3]).is_err());
    assert!(env.set_joint_qpos("cube_1_joint0", &[0.0; 7]).is_err());
    assert!(env.set_joint_qpos("nope", &[0.0]).is_err());
    let nan = [f64::NAN, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
    assert!(env.set_joint_qpos("cube_1_joint0", &nan).is_err());
}

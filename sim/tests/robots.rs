//! The SimplerEnv-style arms (our WidowX-like and Google-like MJCF): they compile in a
//! tabletop scene, hold their pose, follow IK pose deltas, keep their gripper conventions,
//! pick a 3 cm cube, and their cameras render. Needs MuJoCo (`scripts/setup.sh`); only the
//! render test needs EGL.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_sim::builder::{ObjectSpec, SceneBuilder, Shape};
use ddvla_sim::robot::DeltaReference;
use ddvla_sim::{Env, EnvConfig, RobotKind};
use nalgebra::{Matrix3, Quaternion, UnitQuaternion, Vector3};

const ARMS: [RobotKind; 2] = [RobotKind::WidowX, RobotKind::GoogleArm];

/// A table under the robot's workspace and a 3 cm cube resting on it; returns the scene and
/// the cube's resting centre.
fn scene(robot: RobotKind) -> (SceneBuilder, [f64; 3]) {
    let mut b = SceneBuilder::with_robot("pick", robot);
    let (table, cube) = match robot {
        RobotKind::GoogleArm => (([0.6, 0.0, 0.375], [0.35, 0.5, 0.375]), [0.5, 0.0, 0.765]),
        _ => (([0.25, 0.0, 0.05], [0.35, 0.4, 0.05]), [0.3, 0.0, 0.115]),
    };
    b.table = Some(table);
    b.objects.push(ObjectSpec {
        name: "cube".into(),
        shape: Shape::Box {
            half_extents_m: [0.015; 3],
        },
        pos_m: cube,
        rgba: [0.2, 0.7, 0.25, 1.0],
        mass_kg: 0.03,
        free: true,
    });
    (b, cube)
}

fn env(robot: RobotKind, cameras: &[&str]) -> Env {
    let (b, _) = scene(robot);
    Env::new(EnvConfig {
        scene: "pick".into(),
        scene_mjcf: Some(b.to_mjcf().unwrap()),
        cameras: cameras.iter().map(|c| (*c).to_owned()).collect(),
        object_jitter_m: 0.0,
        ..EnvConfig::for_robot(robot)
    })
    .unwrap()
}

/// The "keep the gripper open" value in each robot's convention.
fn open(robot: RobotKind) -> f32 {
    if robot == RobotKind::WidowX { 1.0 } else { 0.0 }
}

fn rot(q: [f64; 4]) -> Matrix3<f64> {
    *UnitQuaternion::from_quaternion(Quaternion::new(q[0], q[1], q[2], q[3]))
        .to_rotation_matrix()
        .matrix()
}

fn ee(obs: &ddvla_sim::Observation) -> Vector3<f64> {
    Vector3::from(obs.proprio.ee_pos)
}

#[test]
fn each_arm_compiles_and_holds_its_init_pose_for_2_s() {
    for robot in ARMS {
        let mut env = env(robot, &[]);
        let start = ee(&env.reset(0).unwrap());
        assert_eq!(env.reset(0).unwrap().proprio.joint_pos.len(), robot.dof());
        let hz = EnvConfig::for_robot(robot).control_hz;
        let mut p = start;
        for _ in 0..(2.0 * hz) as usize {
            p = ee(&env
                .step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, open(robot)])
                .unwrap());
        }
        let drift = (p - start).norm();
        assert!(drift < 0.005, "{robot:?} drifted {drift:.4} m");
    }
}

#[test]
fn ik_deltas_move_the_end_effector_and_reach_a_goal_10_cm_away() {
    for robot in ARMS {
        let mut env = env(robot, &[]);
        let start = ee(&env.reset(0).unwrap());
        let g = open(robot);
        // Three 2 cm steps along +y move the end effector along +y only.
        let mut p = start;
        for _ in 0..3 {
            p = ee(&env.step(&[0.0, 0.02, 0.0, 0.0, 0.0, 0.0, g]).unwrap());
        }
        for _ in 0..3 {
            p = ee(&env.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, g]).unwrap());
        }
        let moved = p - start;
        assert!((moved.y - 0.06).abs() < 0.006, "{robot:?} moved {moved}");
        assert!(
            moved.x.abs() < 0.006 && moved.z.abs() < 0.006,
            "{robot:?} {moved}"
        );
        // A goal 10 cm away: the WidowX's deltas are relative to the previous goal (one
        // action), the Google arm's to the current pose (a closed-loop action each step).
        let goal = p + Vector3::new(0.06, -0.05, 0.0624);
        let mut reached = None;
        for i in 0..10 {
            let from_goal = robot.spec().delta_reference == DeltaReference::PreviousGoal;
            let d = if from_goal && i > 0 {
                Vector3::zeros()
            } else {
                goal - p
            };
            let a = [d.x as f32, d.y as f32, d.z as f32, 0.0, 0.0, 0.0, g];
            p = ee(&env.step(&a).unwrap());
            if reached.is_none() && (p - goal).norm() < 0.005 {
                reached = Some(i + 1);
            }
        }
        assert!(
            reached.is_some(),
            "{robot:?} ended {:.4} m from the goal",
            (p - goal).norm()
        );
    }
}

#[test]
fn rotation_deltas_about_z_turn_the_gripper_about_z() {
    for robot in ARMS {
        let mut env = env(robot, &[]);
        let r0 = rot(env.reset(0).unwrap().proprio.ee_quat_wxyz);
        let mut obs = None;
        for _ in 0..2 {
            obs = Some(
                env.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.15, open(robot)])
                    .unwrap(),
            );
        }
        for _ in 0..3 {
            obs = Some(
                env.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, open(robot)])
                    .unwrap(),
            );
        }
        let r1 = rot(obs.unwrap().proprio.ee_quat_wxyz);
        // world_from_ee1 = Rz(θ) · world_from_ee0: the relative rotation is about world z.
        let rel = nalgebra::Rotation3::from_matrix(&(r1 * r0.transpose())).scaled_axis();
        assert!(
            (rel - Vector3::new(0.0, 0.0, 0.3)).norm() < 0.03,
            "{robot:?} turned {rel}"
        );
    }
}

#[test]
fn widowx_gripper_is_absolute_and_google_gripper_is_relative() {
    let mut wx = env(RobotKind::WidowX, &[]);
    let width = |o: &ddvla_sim::Observation| o.proprio.gripper_qpos[0];
    let opened = width(&wx.reset(0).unwrap());
    assert!((opened - 0.037).abs() < 0.001, "reset open: {opened}");
    let closed = width(&wx.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]).unwrap());
    assert!(
        (closed - 0.015).abs() < 0.002,
        "-1 closes in one step: {closed}"
    );
    let reopened = width(&wx.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap());
    assert!((reopened - 0.037).abs() < 0.002, "+1 opens: {reopened}");

    let mut gr = env(RobotKind::GoogleArm, &[]);
    let start = width(&gr.reset(0).unwrap());
    assert!(start.abs() < 0.001, "reset open: {start}");
    let half = width(&gr.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]).unwrap());
    assert!(
        (half - 0.0215).abs() < 0.002,
        "+0.5 closes half way: {half}"
    );
    for _ in 0..3 {
        let kept = width(&gr.step(&[0.0; 7]).unwrap());
        assert!((kept - half).abs() < 0.001, "0 keeps the target: {kept}");
    }
    let shut = width(&gr.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap());
    assert!((shut - 0.043).abs() < 0.002, "+1 closes: {shut}");
    let back = width(&gr.step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]).unwrap());
    assert!(back.abs() < 0.002, "-1 opens: {back}");
}

#[test]
fn each_arm_picks_a_3_cm_cube() {
    for robot in ARMS {
        let mut env = env(robot, &[]);
        let (_, cube) = scene(robot);
        let r0 = rot(env.reset(0).unwrap().proprio.ee_quat_wxyz);
        let rest = env.body_pos("cube_main").unwrap();
        let c = Vector3::from(cube);
        // Scripted grasp: above, down, close, lift 10 cm (gripper values per convention).
        let (g_open, g_close) = match robot {
            RobotKind::WidowX => (1.0, -1.0),
            _ => (0.0, 1.0),
        };
        let plan = [
            (c + Vector3::new(0.0, 0.0, 0.08), g_open, 4),
            (c + Vector3::new(0.0, 0.0, 0.003), g_open, 4),
            (c + Vector3::new(0.0, 0.0, 0.003), g_close, 2),
            (c + Vector3::new(0.0, 0.0, 0.103), g_close, 5),
        ];
        for (goal, g, steps) in plan {
            env.set_ee_goal(goal, r0).unwrap();
            for _ in 0..steps {
                env.hold(g).unwrap();
            }
        }
        let lifted = env.body_pos("cube_main").unwrap()[2] - rest[2];
        assert!(lifted > 0.05, "{robot:?} lifted the cube {lifted:.3} m");
    }
}

#[test]
fn each_arm_renders_distinct_non_blank_frames_per_camera() {
    let mut frames = Vec::new();
    for robot in ARMS {
        let cams = robot.spec().cameras;
        let mut env = env(robot, cams);
        let obs = env.reset(0).unwrap();
        assert_eq!(obs.images.len(), cams.len());
        for f in obs.images {
            let min = f.rgb.iter().min().unwrap();
            let max = f.rgb.iter().max().unwrap();
            assert!(max - min > 40, "{robot:?} {} looks blank", f.camera);
            frames.push(f);
        }
    }
    for (i, a) in frames.iter().enumerate() {
        for b in &frames[i + 1..] {
            assert_ne!(a.rgb, b.rgb, "{} and {} are identical", a.camera, b.camera);
        }
    }
}

#[test]
fn built_in_scenes_and_robot_mismatch() {
    for robot in ARMS {
        let mut env = Env::new(EnvConfig {
            cameras: vec![],
            ..EnvConfig::for_robot(robot)
        })
        .unwrap();
        env.reset(0).unwrap();
        env.step(&[0.0; 7]).unwrap();
        assert!(env.body_pos("cube_main").is_ok());
    }
    let err = Env::new(EnvConfig {
        robot: RobotKind::WidowX,
        init_qpos: RobotKind::WidowX.spec().init_qpos.to_vec(),
        cameras: vec![],
        ..EnvConfig::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("{PANDA}") && err.contains("WidowX"), "{err}");
    let err = Env::new(EnvConfig {
        init_qpos: vec![0.0; 6],
        ..EnvConfig::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("init_qpos"), "{err}");
    assert_eq!(EnvConfig::for_robot(RobotKind::Panda), EnvConfig::default());
}

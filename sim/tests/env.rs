//! The MuJoCo harness end to end: physics, the OSC controller, the gripper, cameras,
//! determinism and bad input. Needs `scripts/setup.sh` (MuJoCo + Panda assets) and EGL.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_sim::{Env, EnvConfig, ImageConvention, SimError, scene};
use nalgebra::{Matrix3, Quaternion, UnitQuaternion, Vector3};

fn env() -> Env {
    Env::new(EnvConfig::default()).unwrap()
}

#[test]
fn a_falling_body_comes_to_rest() {
    let model = scene::load_str(
        r#"<mujoco><worldbody><geom type="plane" size="1 1 .1"/>
           <body name="box" pos="0 0 1"><freejoint/><geom type="box" size=".1 .1 .1"/></body>
           </worldbody></mujoco>"#,
    )
    .unwrap();
    let mut data = mujoco_rs::prelude::MjData::new(&model);
    for _ in 0..1000 {
        data.step();
    }
    let z = data.body("box").unwrap().view(&data).xpos[2];
    assert!((z - 0.1).abs() < 1e-3, "box rests at z = {z}");
}

#[test]
fn osc_reaches_a_target_within_5_mm_and_holds_it() {
    let mut env = env();
    let obs = env.reset(0).unwrap();
    let start = Vector3::from(obs.proprio.ee_pos);
    let q = obs.proprio.ee_quat_wxyz;
    let rot = UnitQuaternion::from_quaternion(Quaternion::new(q[0], q[1], q[2], q[3]));
    let target = start + Vector3::new(0.08, 0.06, -0.05);
    env.set_ee_goal(target, *rot.to_rotation_matrix().matrix())
        .unwrap();
    let mut reached_at = None;
    for i in 0..60 {
        let p = Vector3::from(env.hold(0.0).unwrap().proprio.ee_pos);
        if reached_at.is_none() && (p - target).norm() < 0.005 {
            reached_at = Some(i);
        }
    }
    assert!(reached_at.is_some(), "never within 5 mm");
    for _ in 0..20 {
        let p = Vector3::from(env.hold(0.0).unwrap().proprio.ee_pos);
        assert!((p - target).norm() < 0.005, "drifted to {p}");
    }
}

#[test]
fn delta_actions_move_the_end_effector_in_the_commanded_direction() {
    let mut env = env();
    let start = Vector3::from(env.reset(1).unwrap().proprio.ee_pos);
    let mut last = start;
    for _ in 0..5 {
        last = Vector3::from(
            env.step(&[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0])
                .unwrap()
                .proprio
                .ee_pos,
        );
    }
    let moved = last - start;
    // Each step re-targets 5 cm ahead of the current pose; kp = 150 lags behind it.
    assert!(moved.y > 0.04, "moved {moved}");
    assert!(
        moved.x.abs() < 0.02 && moved.z.abs() < 0.02,
        "moved {moved}"
    );
}

#[test]
fn gripper_closes_and_opens_within_8_control_steps() {
    let mut env = env();
    let open = env.reset(0).unwrap().proprio.gripper_qpos;
    let mut closed = open.clone();
    for _ in 0..8 {
        closed = env
            .step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
            .unwrap()
            .proprio
            .gripper_qpos;
    }
    assert!(
        closed[0] - open[0] > 0.5,
        "driver joint {open:?} -> {closed:?}"
    );
    let mut reopened = closed.clone();
    for _ in 0..8 {
        reopened = env
            .step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0])
            .unwrap()
            .proprio
            .gripper_qpos;
    }
    // The command ramps fully open in 8 steps; the Robotiq's fingers lag behind it a little.
    let swing = closed[0] - open[0];
    assert!(
        closed[0] - reopened[0] > 2.0 / 3.0 * swing,
        "after 8 steps: {closed:?} -> {reopened:?}"
    );
    for _ in 0..4 {
        reopened = env
            .step(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0])
            .unwrap()
            .proprio
            .gripper_qpos;
    }
    assert!(
        (reopened[0] - open[0]).abs() < 0.05,
        "reopened to {reopened:?}"
    );
}

#[test]
fn cameras_render_distinct_non_blank_deterministic_frames() {
    let mut a = env();
    let mut b = env();
    let act = [0.3, -0.2, 0.1, 0.0, 0.0, 0.2, 1.0];
    let (mut oa, mut ob) = (a.reset(7).unwrap(), b.reset(7).unwrap());
    for _ in 0..3 {
        oa = a.step(&act).unwrap();
        ob = b.step(&act).unwrap();
    }
    assert_eq!(
        oa, ob,
        "same seed and actions must give identical observations"
    );
    let (agent, wrist) = (&oa.images[0], &oa.images[1]);
    assert_eq!(
        (agent.width, agent.height, agent.rgb.len()),
        (128, 128, 128 * 128 * 3)
    );
    for f in [agent, wrist] {
        let min = f.rgb.iter().min().unwrap();
        let max = f.rgb.iter().max().unwrap();
        assert!(max - min > 40, "{} looks blank", f.camera);
    }
    assert_ne!(agent.rgb, wrist.rgb);
    let c = a.reset(8).unwrap();
    assert_ne!(
        c.images[0].rgb,
        a.reset(7).unwrap().images[0].rgb,
        "seed moves the objects"
    );
}

#[test]
fn opengl_convention_flips_rows() {
    let mut top = env();
    let mut gl = Env::new(EnvConfig {
        image_convention: ImageConvention::OpenGl,
        ..EnvConfig::default()
    })
    .unwrap();
    let t = top.reset(0).unwrap().images.remove(0);
    let g = gl.reset(0).unwrap().images.remove(0);
    let row = t.width * 3;
    let flipped: Vec<u8> = t.rgb.chunks_exact(row).rev().flatten().copied().collect();
    assert_eq!(flipped, g.rgb);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut env = env();
    assert!(
        matches!(env.step(&[0.0; 7]), Err(SimError::Config { .. })),
        "step before reset"
    );
    env.reset(0).unwrap();
    assert!(matches!(
        env.step(&[0.0; 6]),
        Err(SimError::BadAction { .. })
    ));
    let err = env
        .step(&[0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0])
        .unwrap_err()
        .to_string();
    assert!(err.contains("value 1 is NaN"), "{err}");
    assert!(env.step(&[f32::INFINITY; 7]).is_err());
    assert!(
        env.step(&[0.0; 7]).is_ok(),
        "the env still works after rejected actions"
    );
    let err = Env::new(EnvConfig {
        cameras: vec!["nope".into()],
        ..EnvConfig::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("nope") && err.contains("agentview"), "{err}");
    let err = Env::new(EnvConfig {
        assets_dir: "/nonexistent".into(),
        ..EnvConfig::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("panda.xml") && err.contains("setup.sh"),
        "{err}"
    );
    assert!(
        Env::new(EnvConfig {
            image_size: 4096,
            ..EnvConfig::default()
        })
        .is_err()
    );
    assert!(matches!(
        scene::load_str("<mujoco><worldbody><geom type=\"nope\"/></worldbody></mujoco>"),
        Err(SimError::Load { .. })
    ));
    assert!(matches!(
        scene::load_file("/nonexistent.xml".as_ref()),
        Err(SimError::MissingFile { .. })
    ));
    let _ = Matrix3::<f64>::identity();
}

#[test]
fn joint_position_mode_tracks_targets() {
    use ddvla_sim::{ControlMode, LIBERO_INIT_QPOS};
    let mut env = Env::new(EnvConfig {
        control: ControlMode::JointPosition,
        cameras: vec![],
        ..EnvConfig::default()
    })
    .unwrap();
    env.reset(0).unwrap();
    let mut target: Vec<f32> = LIBERO_INIT_QPOS.iter().map(|q| *q as f32).collect();
    target[0] += 0.3;
    target[3] += 0.2;
    target.push(-1.0);
    let mut obs = None;
    for _ in 0..40 {
        obs = Some(env.step(&target).unwrap());
    }
    let q = obs.unwrap().proprio.joint_pos;
    for i in 0..7 {
        assert!(
            (q[i] - f64::from(target[i])).abs() < 0.01,
            "joint {i}: {} vs {}",
            q[i],
            target[i]
        );
    }
    assert!(env.step(&[0.0; 7]).is_err(), "joint mode takes 8 values");
}

#[test]
fn ik_mode_reaches_an_end_effector_goal() {
    use ddvla_sim::ControlMode;
    let mut env = Env::new(EnvConfig {
        control: ControlMode::IkPose,
        cameras: vec![],
        ..EnvConfig::default()
    })
    .unwrap();
    let obs = env.reset(0).unwrap();
    let start = Vector3::from(obs.proprio.ee_pos);
    let q = obs.proprio.ee_quat_wxyz;
    let rot = UnitQuaternion::from_quaternion(Quaternion::new(q[0], q[1], q[2], q[3]));
    let target = start + Vector3::new(-0.06, 0.08, 0.04);
    env.set_ee_goal(target, *rot.to_rotation_matrix().matrix())
        .unwrap();
    let mut p = start;
    for _ in 0..60 {
        p = Vector3::from(env.hold(0.0).unwrap().proprio.ee_pos);
    }
    assert!(
        (p - target).norm() < 0.005,
        "ended {:.4} m from the goal",
        (p - target).norm()
    );
    // Delta actions move the end effector the commanded way, as in OSC mode.
    let before = p;
    for _ in 0..4 {
        p = Vector3::from(
            env.step(&[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
                .unwrap()
                .proprio
                .ee_pos,
        );
    }
    assert!(p.z - before.z > 0.05, "rose {:.3} m", p.z - before.z);
}

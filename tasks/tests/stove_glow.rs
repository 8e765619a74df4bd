//! A turned-on stove is visible in the cameras: its burner glows while the knob passes
//! LIBERO's turn-on test, and the stove looks exactly as before while off (so policies trained
//! on earlier recordings see the same off scenes). Needs `scripts/setup.sh` and EGL (Mesa):
//! it renders the goal suite's `turn_on_the_stove` scene.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use ddvla_sim::{CameraFrame, Env, EnvConfig};
use ddvla_tasks::scene::TaskScene;
use ddvla_tasks::suite::{Suite, builtin_dir};

/// The cameras' frames with the stove knob at `knob_rad`.
fn frames(cfg: &EnvConfig, joint: &str, knob_rad: f64) -> Vec<CameraFrame> {
    let mut env = Env::new(cfg.clone()).unwrap();
    env.reset(0).unwrap();
    env.set_joint_qpos(joint, &[knob_rad]).unwrap();
    env.forward();
    env.observe().unwrap().images
}

/// Pixels of `a` that differ from `b` (same camera), and how many of those are glow-orange.
fn changed_pixels(a: &CameraFrame, b: &CameraFrame) -> (usize, usize) {
    let (mut changed, mut orange) = (0, 0);
    for (pa, pb) in a.rgb.chunks_exact(3).zip(b.rgb.chunks_exact(3)) {
        if pa != pb {
            changed += 1;
            if pa[0] > 180 && pa[1] > 70 && pa[1] < 200 && pa[2] < 110 {
                orange += 1;
            }
        }
    }
    (changed, orange)
}

#[test]
fn the_stove_glows_in_the_cameras_only_while_its_knob_is_on() {
    let suite = Suite::load(&builtin_dir(), "libero_style_goal").unwrap();
    let task = suite
        .tasks
        .iter()
        .find(|t| t.name == "turn_on_the_stove")
        .unwrap();
    let scene = TaskScene::compose(&suite, task).unwrap();
    let cfg = scene.env_config(&suite).unwrap();
    assert_eq!(cfg.indicators.len(), 1, "{:?}", cfg.indicators);
    let joint = cfg.indicators[0].joint.clone();
    assert_eq!(joint, "flat_stove_1_knob_joint");
    let plain = EnvConfig {
        indicators: vec![],
        ..cfg.clone()
    };

    // Off (the rest stop, and just below the 0.5 rad threshold): identical to no indicator.
    for off_rad in [-0.05, 0.49] {
        assert_eq!(
            frames(&cfg, &joint, off_rad),
            frames(&plain, &joint, off_rad),
            "knob at {off_rad} rad"
        );
    }
    // On: the agent view shows an orange burner where the plain scene does not.
    let (on, on_plain) = (frames(&cfg, &joint, 0.8), frames(&plain, &joint, 0.8));
    let view = on.iter().position(|f| f.camera == "agentview").unwrap();
    let (changed, orange) = changed_pixels(&on[view], &on_plain[view]);
    assert!(
        changed >= 40 && orange * 10 >= changed * 9,
        "{changed} pixels changed, {orange} of them orange"
    );
}

//! Closed loop in simulation: the MuJoCo robot publishes frames and joint states, `ddvla
//! serve` answers with commands, the arm moves. Once over zenoh between two processes, once
//! in-process with `ddvla serve --sim`.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::process::Command;
use std::sync::atomic::AtomicBool;

use ddvla::sim_robot::{SimRobotConfig, run_sim_robot};
use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport, free_loopback_port};

fn config(zenoh: &str) -> String {
    format!(
        r#"
[control]
rate_hz = 20.0
initial_latency_ms = 200.0

[policy]
preset = "tiny"

[safety]
lower = [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]
upper = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
max_step = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2.0]
hold_value = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
hold_keep_last_dims = [6]
max_observation_age_ms = 500.0

[topics]
cameras = ["/camera/agentview/image_raw"]
{zenoh}
"#
    )
}

fn moved(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[test]
fn the_arm_moves_under_serve_over_zenoh() {
    let port = free_loopback_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sim.toml");
    let zenoh =
        format!("[zenoh]\ndomain_id = 0\nlisten = [\"tcp/127.0.0.1:{port}\"]\nconnect = []\n");
    std::fs::write(&cfg, config(&zenoh)).unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["serve", "--max-ticks", "200", "--config"])
        .arg(&cfg)
        .spawn()
        .unwrap();
    let robot = ZenohTransport::open(&ZenohConfig::loopback("sim_robot", port, false)).unwrap();
    let report = run_sim_robot(
        &robot,
        &SimRobotConfig {
            task: None,
            scene: "tabletop".into(),
            cameras: vec![("/camera/agentview/image_raw".into(), "agentview".into())],
            image_size: 64,
            seed: 0,
            rate_hz: 20.0,
            joint_states: "/joint_states".into(),
            command: "/ddvla/command".into(),
            instruction: Some(("/instruction".into(), "put the cube in the basket".into())),
        },
        &AtomicBool::new(false),
        Some(120),
    )
    .unwrap();
    assert!(serve.wait().unwrap().success());
    assert!(report.commands_applied > 40, "{report:?}");
    assert_eq!(report.commands_rejected, 0);
    assert!(
        moved(report.ee_start_m, report.ee_end_m) > 0.01,
        "{report:?}"
    );
}

/// Run `ddvla serve --sim SIM --sim-cameras agentview` for `ticks` ticks with `extra` args;
/// returns the commands the simulated robot applied (from its `sim:` summary line).
fn serve_sim(cfg: &std::path::Path, sim: &str, ticks: &str, extra: &[&str]) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["serve", "--max-ticks", ticks, "--sim", sim])
        .args(["--sim-cameras", "agentview"])
        .args(extra)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().find(|l| l.starts_with("sim: ")).unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[test]
fn serve_sim_closes_the_loop_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sim.toml");
    std::fs::write(&cfg, config("")).unwrap();
    let applied = serve_sim(&cfg, "tabletop", "100", &["--sim-size", "64"]);
    assert!(applied > 30, "{applied} commands applied");
}

#[test]
fn serve_sim_runs_a_suite_task() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sim.toml");
    std::fs::write(&cfg, config("")).unwrap();
    let applied = serve_sim(&cfg, "libero_style_goal/turn_on_the_stove", "60", &[]);
    // Real time on a shared 2-core machine: how many chunks land varies; some must.
    assert!(applied > 0, "{applied} commands applied");
    // A bad task name is a clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args([
            "serve",
            "--max-ticks",
            "5",
            "--sim",
            "libero_style_goal/nope",
        ])
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no task \"nope\""));
}

#[test]
fn a_sim_task_reports_its_goal() {
    let task = ddvla::sim_task::SimTask::load("libero_style_goal/turn_on_the_stove", 3).unwrap();
    assert_eq!(task.instruction, "turn on the stove");
    let mut env = ddvla_sim::Env::new(task.env_config(&[]).unwrap()).unwrap();
    env.reset(0).unwrap();
    let obs = task.start(&mut env).unwrap();
    assert_eq!(obs.images.len(), 2, "the suite contract's cameras");
    assert!(!task.success(&env).unwrap());
    env.set_joint_qpos("flat_stove_1_knob_joint", &[0.8])
        .unwrap();
    env.forward();
    assert!(task.success(&env).unwrap());
    assert!(ddvla::sim_task::SimTask::load("libero_style_goal", 0).is_err());
    assert!(ddvla::sim_task::SimTask::load("libero_style_goal/0", 50).is_err());
}

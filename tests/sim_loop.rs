//! Closed loop in simulation: the MuJoCo robot publishes frames and joint states, `ddvla
//! serve` answers with commands, the arm moves. Once over zenoh between two processes, once
//! in-process with `ddvla serve --sim`.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::process::Command;
use std::sync::atomic::AtomicBool;

use ddvla::sim_robot::{GoalWatch, SimRobotConfig, run_sim_robot};
use ddvla_bridge::msg::std::StringMsg;
use ddvla_bridge::transport::inproc::InProcessTransport;
use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport, free_loopback_port};
use ddvla_bridge::{TopicSpec, Transport};

mod replay_check;

/// The closed-loop tests run in real time against a policy on a 2-core machine: one at a
/// time, so they do not starve each other's control loops.
static REAL_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    REAL_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

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
    let _one = one_at_a_time();
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
            proprio: "/ddvla/proprio".into(),
            task_events: "/ddvla/task_events".into(),
            command: "/ddvla/command".into(),
            instruction: Some(("/instruction".into(), "put the cube in the basket".into())),
        },
        &AtomicBool::new(false),
        Some(120),
    )
    .unwrap();
    assert!(serve.wait().unwrap().success());
    // How many of the 120 ticks get a command depends on the machine's load (real time);
    // some must, and they must move the arm.
    assert!(report.commands_applied > 0, "{report:?}");
    assert_eq!(report.commands_rejected, 0);
    assert!(
        moved(report.ee_start_m, report.ee_end_m) > 0.01,
        "{report:?}"
    );
}

/// Run `ddvla serve --sim SIM --sim-cameras agentview` for `ticks` ticks with `extra` args;
/// returns the commands the simulated robot applied (from its `sim:` summary line).
fn serve_sim(cfg: &std::path::Path, sim: &str, ticks: &str, extra: &[&str]) -> u64 {
    let _one = one_at_a_time();
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
    // Real time: how many of the 100 ticks get a command depends on the machine's load
    // (25 with a training run sharing the 2 cores, ~60 idle); the loop must close.
    assert!(applied > 0, "{applied} commands applied");
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
fn a_sim_task_reports_its_goal_once_with_an_event() {
    let task = ddvla::sim_task::SimTask::load("libero_style_goal/turn_on_the_stove", 3).unwrap();
    assert_eq!(task.instruction, "turn on the stove");
    let mut env = ddvla_sim::Env::new(task.env_config(&[]).unwrap()).unwrap();
    env.reset(0).unwrap();
    let (obs, proprio) = task.start(&mut env).unwrap();
    assert_eq!(obs.images.len(), 2, "the suite contract's cameras");
    // The contract's proprio: EE position, axis-angle, the two gripper joints.
    assert_eq!(proprio.len(), 8);
    for (p, ee) in proprio.iter().zip(obs.proprio.ee_pos) {
        assert!((f64::from(*p) - ee).abs() < 1e-6);
    }
    assert!((f64::from(proprio[6]) - obs.proprio.gripper_qpos[0]).abs() < 1e-6);

    let transport = InProcessTransport::new();
    let events = transport
        .subscribe(
            &TopicSpec::of::<StringMsg>("/ddvla/task_events").unwrap(),
            8,
        )
        .unwrap();
    let mut watch = GoalWatch::new(&transport, "/ddvla/task_events").unwrap();
    assert!(!task.success(&env).unwrap());
    assert!(!watch.check(&task, &env, 1).unwrap());
    assert!(
        events.try_recv().is_none(),
        "no event before the goal holds"
    );
    env.set_joint_qpos("flat_stove_1_knob_joint", &[0.8])
        .unwrap();
    env.forward();
    assert!(task.success(&env).unwrap());
    assert!(watch.check(&task, &env, 2).unwrap());
    assert!(!watch.check(&task, &env, 3).unwrap(), "only the first time");
    assert_eq!(watch.first_success(), Some(2));
    let (msg, _) = events
        .recv_msg::<StringMsg>(std::time::Duration::from_secs(1))
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(&msg.data).unwrap();
    assert_eq!(event["kind"], "success");
    assert_eq!(event["task"], "libero_style_goal/turn_on_the_stove");
    assert_eq!(event["step"], 2);
    assert!(events.try_recv().is_none(), "one event");

    assert!(ddvla::sim_task::SimTask::load("libero_style_goal", 0).is_err());
    assert!(ddvla::sim_task::SimTask::load("libero_style_goal/0", 50).is_err());
}

#[test]
fn a_task_run_uses_the_contract_proprio_and_replays_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("task.mcap");
    let cfg = dir.path().join("task.toml");
    std::fs::write(
        &cfg,
        format!("record = \"{}\"\n{}", bag.display(), config("")),
    )
    .unwrap();
    let applied = serve_sim(&cfg, "libero_style_goal/turn_on_the_stove", "120", &[]);
    assert!(applied > 0, "{applied} commands applied");

    // The robot side published the contract's 8-D proprio; serve recorded it and every
    // request names it as its proprio source.
    let messages = ddvla_bridge::record::read_bag(&bag, None).unwrap();
    let proprio: Vec<_> = messages
        .iter()
        .filter(|m| m.topic == "/ddvla/proprio")
        .map(|m| {
            ddvla_bridge::decode::<ddvla_bridge::msg::std::Float32MultiArray>(&m.data)
                .unwrap()
                .data
        })
        .collect();
    assert!(!proprio.is_empty(), "no proprio recorded");
    assert!(proprio.iter().all(|p| p.len() == 8));
    let requests: Vec<serde_json::Value> = messages
        .iter()
        .filter(|m| m.topic == "/ddvla/events")
        .map(|m| {
            let text = ddvla_bridge::decode::<StringMsg>(&m.data).unwrap().data;
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        })
        .filter(|e| e["kind"] == "request")
        .collect();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r["observation"]["proprio_source"], "topic", "{r}");
        assert!(r["observation"]["proprio_ns"].is_u64(), "{r}");
    }

    // Replay rebuilds each request from the recorded proprio topic: exact.
    let compared = replay_check::replay_exact(&bag, &cfg, &dir.path().join("replay.json"));
    assert!(compared > 0, "{compared} chunks compared");
}

/// `serve --rrd FILE --connect ADDR`: the rerun recording is written and the viewer address
/// gets rerun's gRPC stream (an HTTP/2 connection preface).
#[cfg(feature = "rerun")]
#[test]
fn serve_draws_the_run_in_rerun() {
    use std::io::Read;

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sim.toml");
    std::fs::write(&cfg, config("")).unwrap();
    let rrd = dir.path().join("live/serve.rrd");
    let viewer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = viewer.local_addr().unwrap().to_string();
    let preface = std::thread::Builder::new()
        .name("fake-viewer".into())
        .spawn(move || {
            let (mut conn, _) = viewer.accept().unwrap();
            let mut bytes = [0_u8; 24];
            conn.read_exact(&mut bytes).unwrap();
            bytes
        })
        .unwrap();
    let rrd_arg = rrd.to_str().unwrap().to_owned();
    // 200 ticks (10 s): real time, and with two training runs on the 2 cores 60 ticks once
    // ended before the first chunk landed (0 applied).
    let applied = serve_sim(
        &cfg,
        "tabletop",
        "200",
        &["--sim-size", "64", "--rrd", &rrd_arg, "--connect", &addr],
    );
    assert!(applied > 0, "{applied} commands applied");
    assert_eq!(
        &preface.join().unwrap(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    );
    let bytes = std::fs::read(&rrd).unwrap();
    assert_eq!(&bytes[..4], b"RRF2");
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
}

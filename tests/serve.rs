//! End-to-end: `ddvla serve` as a process, a robot side in this test speaking ROS 2 over
//! zenoh (rmw_zenoh wire). Frames in, commands and chunks out within the safety limits; an
//! e-stop holds; the status queryable answers; everything in and out is recorded.
#![allow(clippy::unwrap_used, clippy::float_cmp, clippy::too_many_lines)] // one scripted scenario; exact zeros

use std::process::Command;
use std::time::{Duration, Instant};

use ddvla_bridge::msg::geometry::TwistStamped;
use ddvla_bridge::msg::sensor::{Image, JointState};
use ddvla_bridge::msg::std::{Bool, Float32MultiArray, Header, StringMsg};
use ddvla_bridge::record::read_bag;
use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport, free_loopback_port};
use ddvla_bridge::{TopicSpec, Transport, publish_msg};
use zenoh::Wait;

mod replay_check;

const LIMIT: f64 = 0.5;

fn config(port: u16, bag: &std::path::Path) -> String {
    format!(
        r#"
record = "{}"

[control]
rate_hz = 20.0
status_period_ms = 200.0
initial_latency_ms = 200.0

[policy]
preset = "tiny"
decoder = "diffusion-cached"

[schedule]
kind = "receding_horizon"
replan_every = 4

[safety]
lower = [-{LIMIT}, -{LIMIT}, -{LIMIT}, -{LIMIT}, -{LIMIT}, -{LIMIT}, -1.0]
upper = [{LIMIT}, {LIMIT}, {LIMIT}, {LIMIT}, {LIMIT}, {LIMIT}, 1.0]
max_step = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 2.0]
hold_value = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
hold_keep_last_dims = [6]
max_observation_age_ms = 500.0

[topics]
cameras = ["/camera/agentview/image_raw"]

[zenoh]
domain_id = 0
listen = ["tcp/127.0.0.1:{port}"]
connect = []
"#,
        bag.display()
    )
}

#[test]
fn serve_closes_the_loop_over_zenoh_and_holds_on_estop() {
    let port = free_loopback_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("serve.mcap");
    let cfg = dir.path().join("robot.toml");
    std::fs::write(&cfg, config(port, &bag)).unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["serve", "--max-ticks", "240", "--config"])
        .arg(&cfg)
        .spawn()
        .unwrap();

    let robot = ZenohTransport::open(&ZenohConfig::loopback("robot", port, false)).unwrap();
    let camera = robot
        .publisher(&TopicSpec::of::<Image>("/camera/agentview/image_raw").unwrap())
        .unwrap();
    let joints = robot
        .publisher(&TopicSpec::of::<JointState>("/joint_states").unwrap())
        .unwrap();
    let instruction = robot
        .publisher(&TopicSpec::of::<StringMsg>("/instruction").unwrap())
        .unwrap();
    let estop = robot
        .publisher(&TopicSpec::of::<Bool>("/ddvla/estop").unwrap())
        .unwrap();
    let task_events = robot
        .publisher(&TopicSpec::of::<StringMsg>("/ddvla/task_events").unwrap())
        .unwrap();
    let commands = robot
        .subscribe(
            &TopicSpec::of::<TwistStamped>("/ddvla/cmd_ee_delta").unwrap(),
            1024,
        )
        .unwrap();
    let chunks = robot
        .subscribe(
            &TopicSpec::of::<Float32MultiArray>("/ddvla/action_chunk").unwrap(),
            64,
        )
        .unwrap();

    let frame = |i: u32| {
        Image::rgb8(
            Header::default(),
            32,
            32,
            (0..32 * 32 * 3).map(|k| ((k + i) % 251) as u8).collect(),
        )
    };
    let started = Instant::now();
    let mut i = 0;
    let mut estopped_at = None;
    while started.elapsed() < Duration::from_secs(9) {
        publish_msg(camera.as_ref(), &frame(i)).unwrap();
        publish_msg(
            joints.as_ref(),
            &JointState {
                name: (0..8).map(|j| format!("joint{j}")).collect(),
                position: vec![0.0; 8],
                ..JointState::default()
            },
        )
        .unwrap();
        if i % 20 == 0 {
            publish_msg(
                instruction.as_ref(),
                &StringMsg {
                    data: "put the bowl on the plate".into(),
                },
            )
            .unwrap();
        }
        if i == 40 {
            // What a simulated task's robot sends when its goal first holds.
            publish_msg(
                task_events.as_ref(),
                &StringMsg {
                    data: r#"{"kind":"success","task":"t","step":40}"#.into(),
                },
            )
            .unwrap();
        }
        if started.elapsed() > Duration::from_secs(6) && estopped_at.is_none() {
            publish_msg(estop.as_ref(), &Bool { data: true }).unwrap();
            estopped_at = Some(Instant::now());
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    // The status queryable answers with the loop and safety counters.
    let replies = robot
        .session()
        .get("ddvla/ddvla/status")
        .timeout(Duration::from_secs(2))
        .wait()
        .unwrap();
    let reply = replies.recv().unwrap().into_result().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&reply.payload().to_bytes()).unwrap();
    assert!(status["safety"]["estop"].as_u64().unwrap() > 0, "{status}");
    assert!(status["loop"]["chunks"].as_u64().unwrap() > 0, "{status}");
    let late = &status["tick_lateness_ms"];
    assert!(late["window_ticks"].as_u64().unwrap() > 0, "{status}");
    let (p50, p99, max) = (
        late["p50"].as_f64().unwrap(),
        late["p99"].as_f64().unwrap(),
        late["max"].as_f64().unwrap(),
    );
    assert!(0.0 <= p50 && p50 <= p99 && p99 <= max, "{status}");

    assert!(serve.wait().unwrap().success());
    let mut received = Vec::new();
    while let Some((cmd, sample)) = commands.recv_msg::<TwistStamped>(Duration::from_millis(10)) {
        received.push((cmd, sample.receive_time_ns));
    }
    assert!(received.len() > 100, "only {} commands", received.len());
    let values = |c: &TwistStamped| {
        let (l, a) = (&c.twist.linear, &c.twist.angular);
        [l.x, l.y, l.z, a.x, a.y, a.z]
    };
    for (cmd, _) in &received {
        assert!(
            values(cmd).iter().all(|v| v.abs() <= LIMIT + 1e-6),
            "{cmd:?}"
        );
    }
    assert!(
        received
            .iter()
            .any(|(c, _)| values(c).iter().any(|v| *v != 0.0)),
        "the policy never moved the arm"
    );
    // After the e-stop (plus delivery slack), every command is the zero-motion hold.
    let estop_ns = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
        - i64::try_from(estopped_at.unwrap().elapsed().as_nanos()).unwrap();
    let after: Vec<_> = received
        .iter()
        .filter(|(_, t)| *t > estop_ns + 300_000_000)
        .collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|(c, _)| values(c) == [0.0; 6]));
    let (chunk, _) = chunks
        .recv_msg::<Float32MultiArray>(Duration::from_secs(1))
        .unwrap();
    assert_eq!(chunk.layout.dim[0].size, 8);
    assert_eq!(chunk.layout.dim[1].size, 7);

    let bag = read_bag(&bag, None).unwrap();
    for topic in [
        "/camera/agentview/image_raw",
        "/instruction",
        "/ddvla/estop",
        "/ddvla/cmd_ee_delta",
        "/ddvla/action_chunk",
        "/ddvla/status",
        "/ddvla/task_events",
    ] {
        assert!(bag.iter().any(|m| m.topic == topic), "{topic} not recorded");
    }
    // The task event is also a runtime event, on the tick it arrived.
    let task_event = bag
        .iter()
        .filter(|m| m.topic == "/ddvla/events")
        .map(|m| {
            let text = ddvla_bridge::decode::<StringMsg>(&m.data).unwrap().data;
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        })
        .find(|e| e["kind"] == "task_event")
        .expect("no task_event in /ddvla/events");
    assert_eq!(task_event["event"]["kind"], "success", "{task_event}");
    assert!(task_event["tick"].as_u64().unwrap() > 0);

    // Replaying the recording with the same config reproduces every chunk exactly.
    let compared = replay_check::replay_exact(
        &dir.path().join("serve.mcap"),
        &cfg,
        &dir.path().join("replay.json"),
    );
    assert!(compared > 10, "{compared} chunks compared");
}

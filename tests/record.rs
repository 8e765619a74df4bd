//! End-to-end: `ddvla record` subscribes over zenoh (rmw_zenoh wire format) to a publisher in
//! this test, stops after its duration, and leaves a bag whose messages decode.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::process::Command;
use std::time::{Duration, Instant};

use ddvla_bridge::msg::sensor::JointState;
use ddvla_bridge::msg::std::StringMsg;
use ddvla_bridge::record::read_bag;
use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport, free_loopback_port};
use ddvla_bridge::{TopicSpec, Transport, decode, publish_msg};

#[test]
fn record_writes_what_a_zenoh_peer_publishes() {
    let port = free_loopback_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("run.mcap");
    let mut recorder = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args([
            "record",
            "--duration-s",
            "4",
            "--connect",
            "tcp/127.0.0.1:1",
        ])
        .args([
            "--listen",
            &format!("tcp/127.0.0.1:{port}"),
            "--domain",
            "0",
        ])
        .args(["--topic", "/joint_states=sensor_msgs/msg/JointState"])
        .args(["--topic", "/instruction=std_msgs/msg/String"])
        .arg("--out")
        .arg(&bag)
        .spawn()
        .unwrap();
    let robot = ZenohTransport::open(&ZenohConfig::loopback("robot", port, false)).unwrap();
    let joints = robot
        .publisher(&TopicSpec::of::<JointState>("/joint_states").unwrap())
        .unwrap();
    let instruction = robot
        .publisher(&TopicSpec::of::<StringMsg>("/instruction").unwrap())
        .unwrap();
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let js = JointState {
            name: vec!["joint1".into()],
            position: vec![f64::from(i)],
            ..JointState::default()
        };
        publish_msg(joints.as_ref(), &js).unwrap();
        if i % 10 == 0 {
            publish_msg(
                instruction.as_ref(),
                &StringMsg {
                    data: format!("stack the blocks {i}"),
                },
            )
            .unwrap();
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(recorder.wait().unwrap().success());
    let messages = read_bag(&bag, Some(&["/joint_states"])).unwrap();
    assert!(messages.len() > 50, "only {} joint states", messages.len());
    let positions: Vec<f64> = messages
        .iter()
        .map(|m| decode::<JointState>(&m.data).unwrap().position[0])
        .collect();
    assert!(
        positions
            .windows(2)
            .all(|w| (w[1] - w[0] - 1.0).abs() < 1e-9),
        "gaps: {positions:?}"
    );
    assert!(
        messages
            .windows(2)
            .all(|w| w[0].log_time_ns <= w[1].log_time_ns)
    );
    let instructions = read_bag(&bag, Some(&["/instruction"])).unwrap();
    assert!(!instructions.is_empty());
    assert!(
        decode::<StringMsg>(&instructions[0].data)
            .unwrap()
            .data
            .starts_with("stack the blocks")
    );
}

#[test]
fn record_rejects_unknown_types_and_bad_topics() {
    for topic in [
        "/x=foo_msgs/msg/Bar",
        "no_type",
        "/bad topic=std_msgs/msg/String",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ddvla"))
            .args(["record", "--out", "/tmp/never.mcap", "--topic", topic])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--topic"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

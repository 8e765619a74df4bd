//! Interop with an independent rmw_zenoh peer: bridge/scripts/zenoh_peer.py, built on
//! `eclipse-zenoh` (zenoh-python) and `rosbags` (CDR, type hashes). Its samples reach our
//! subscriptions and ours reach it, with keys, hashes, attachments and liveliness tokens
//! checked on both sides.
#![cfg(feature = "zenoh")]
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ddvla_bridge::msg::sensor::JointState;
use ddvla_bridge::msg::std::StringMsg;
use ddvla_bridge::{TopicSpec, Transport, publish_msg};
use serde_json::Value;

use common::{free_port, node, python, retry, script};

/// Start the Python peer listening on `port`.
fn peer(port: u16, topic: &str, type_name: &str, args: &[&str]) -> Child {
    Command::new(python())
        .arg(script("zenoh_peer.py"))
        .args(["--endpoint", &format!("tcp/127.0.0.1:{port}")])
        .args(["--role", "listen", "--topic", topic, "--type", type_name])
        .args(["--timeout", "20"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn json_lines(child: &mut Child) -> impl Iterator<Item = Value> + '_ {
    BufReader::new(child.stdout.as_mut().unwrap())
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn python_publisher_reaches_our_subscription() {
    let port = free_port();
    let mut child = KillOnDrop(peer(
        port,
        "/joint_states",
        "sensor_msgs/msg/JointState",
        &[
            "pub",
            "--count",
            "3",
            "--period-ms",
            "20",
            "--wait-liveliness",
            "@ros2_lv/0/*/*/*/MS/**",
        ],
    ));
    // Connecting before the peer listens is fine: zenoh retries the endpoint.
    let ddvla = retry(Duration::from_secs(10), || {
        std::panic::catch_unwind(|| node("ddvla", port, false)).ok()
    })
    .unwrap();
    let spec = TopicSpec::of::<JointState>("/joint_states").unwrap();
    let sub = ddvla.subscribe(&spec, 16).unwrap();
    let got: Vec<_> = (0..3)
        .map(|_| {
            sub.recv_msg::<JointState>(Duration::from_secs(20))
                .expect("sample from the Python peer")
        })
        .collect();
    for (i, (msg, sample)) in got.iter().enumerate() {
        let n = (i + 1) as f64;
        assert_eq!(msg.name, ["j0", "j1"]);
        assert_eq!(msg.position, [n, -n]);
        let attachment = sample.attachment.expect("33-byte attachment");
        assert_eq!(attachment.sequence, i as i64 + 1);
    }
    assert_eq!(sub.counts().rejected_attachment, 0);
    assert!(child.0.wait().unwrap().success());
}

#[test]
fn our_publisher_reaches_the_python_subscriber() {
    let port = free_port();
    let mut child = KillOnDrop(peer(
        port,
        "/instruction",
        "std_msgs/msg/String",
        &["sub", "--count", "3"],
    ));
    let ddvla = retry(Duration::from_secs(10), || {
        std::panic::catch_unwind(|| node("ddvla", port, false)).ok()
    })
    .unwrap();
    let spec = TopicSpec::of::<StringMsg>("/instruction").unwrap();
    let publisher = ddvla.publisher(&spec).unwrap();
    // Publish until the peer has its 3 samples (the first may precede the route).
    let writer = std::thread::Builder::new()
        .name("publisher".into())
        .spawn(move || {
            for i in 0..400 {
                let msg = StringMsg {
                    data: format!("put the bowl on the plate {i}"),
                };
                if publish_msg(publisher.as_ref(), &msg).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        })
        .unwrap();
    let lines: Vec<Value> = json_lines(&mut child.0).take(3).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let mut last_seq = 0;
    for line in &lines {
        assert_eq!(line["hash_ok"], true, "{line}");
        assert_eq!(line["attachment_len"], 33, "{line}");
        assert_eq!(line["gid_len"], 16, "{line}");
        let key = line["key"].as_str().unwrap();
        assert_eq!(
            key,
            format!(
                "0/instruction/std_msgs::msg::dds_::String_/{}",
                spec.type_hash
            )
        );
        let seq = line["seq"].as_i64().unwrap();
        assert!(seq > last_seq);
        last_seq = seq;
        let data = line["msg"]["data"].as_str().unwrap();
        assert!(data.starts_with("put the bowl on the plate"), "{data}");
    }
    assert!(child.0.wait().unwrap().success());
    drop(ddvla);
    writer.join().unwrap();
}

#[test]
fn python_sees_our_liveliness_tokens() {
    let port = free_port();
    let mut child = KillOnDrop(
        Command::new(python())
            .arg(script("zenoh_peer.py"))
            .args(["--endpoint", &format!("tcp/127.0.0.1:{port}")])
            .args(["--role", "listen", "liveliness", "--pattern", "@ros2_lv/**"])
            .args(["--timeout", "4"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let ddvla = retry(Duration::from_secs(10), || {
        std::panic::catch_unwind(|| node("ddvla", port, false)).ok()
    })
    .unwrap();
    let spec = TopicSpec::of::<StringMsg>("/ddvla/status").unwrap();
    let _publisher = ddvla.publisher(&spec).unwrap();
    let zid = ddvla.node().session_id.clone();
    let tokens: Vec<String> = json_lines(&mut child.0)
        .filter_map(|v| v["token"].as_str().map(str::to_owned))
        .collect();
    let node_token = format!("@ros2_lv/0/{zid}/0/0/NN/%/%/ddvla");
    assert!(tokens.contains(&node_token), "{tokens:#?}");
    assert!(
        tokens
            .iter()
            .any(|t| t.contains("/MP/%/%/ddvla/%ddvla%status/std_msgs::msg::dds_::String_/")),
        "{tokens:#?}"
    );
}

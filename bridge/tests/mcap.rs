//! MCAP recording and replay, including a recorder killed mid-run, and (through a committed
//! Python script) decoding by independent readers: `rosbags` and `mcap-ros2-support`.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};

use ddvla_bridge::msg::sensor::{Image, JointState};
use ddvla_bridge::msg::std::{Float32MultiArray, Header, Time};
use ddvla_bridge::record::{Recorder, read_bag, read_bag_lenient};
use ddvla_bridge::{RosMessage, decode};

const STEP_NS: u64 = 50_000_000; // 20 Hz

fn record(rec: &mut Recorder, steps: u64) {
    for i in 0..steps {
        let t = i * STEP_NS;
        let header = Header {
            stamp: Time::from_ns(t),
            frame_id: "agentview".into(),
        };
        rec.write(
            "/camera/agentview/image_raw",
            &Image::rgb8(header.clone(), 4, 2, vec![i as u8; 24]),
            t,
            t,
        )
        .unwrap();
        let js = JointState {
            header,
            name: vec!["joint1".into(), "joint2".into()],
            position: vec![0.1 * i as f64, -0.2],
            velocity: vec![],
            effort: vec![],
        };
        rec.write("/joint_states", &js, t, t).unwrap();
        let chunk =
            Float32MultiArray::action_chunk(8, 7, (0..56).map(|k| k as f32 * 0.01).collect());
        rec.write("/ddvla/action_chunk", &chunk, t + 1, t + 1)
            .unwrap();
    }
}

#[test]
fn recorded_messages_replay_identically_with_topic_filter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.mcap");
    let mut rec = Recorder::create(&path).unwrap();
    record(&mut rec, 40);
    assert_eq!(rec.messages(), 120);
    rec.finish().unwrap();
    let all = read_bag(&path, None).unwrap();
    assert_eq!(all.len(), 120);
    let joints = read_bag(&path, Some(&["/joint_states"])).unwrap();
    assert_eq!(joints.len(), 40);
    assert_eq!(joints[0].type_name, JointState::TYPE_NAME);
    let js: JointState = decode(&joints[7].data).unwrap();
    assert!((js.position[0] - 0.7).abs() < 1e-12);
    assert_eq!(joints[7].log_time_ns, 7 * STEP_NS);
    let img: Image =
        decode(&read_bag(&path, Some(&["/camera/agentview/image_raw"])).unwrap()[3].data).unwrap();
    assert_eq!(img.to_rgb8().unwrap(), vec![3; 24]);
    // A second type on a recorded topic is refused.
    let mut rec = Recorder::create(&dir.path().join("b.mcap")).unwrap();
    rec.write("/x", &Header::default(), 0, 0).unwrap();
    assert!(rec.write("/x", &JointState::default(), 1, 1).is_err());
}

#[test]
fn a_killed_recorder_loses_at_most_about_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.mcap");
    let mut rec = Recorder::create(&path).unwrap();
    record(&mut rec, 60); // 3 s of log time
    // Simulate a kill: no finish, no drop, no summary.
    std::mem::forget(rec);
    let (msgs, _err) = read_bag_lenient(&path, Some(&["/joint_states"])).unwrap();
    let last = msgs.last().map_or(0, |m| m.log_time_ns);
    assert!(
        last + 1_100_000_000 >= 59 * STEP_NS,
        "only {} messages survived (last at {last} ns)",
        msgs.len()
    );
}

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/venv-bridge/bin/python")
}

#[test]
fn independent_readers_decode_our_bags() {
    let py = python();
    assert!(
        py.exists(),
        "{} missing: run scripts/setup.sh (creates the interop venv)",
        py.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interop.mcap");
    let mut rec = Recorder::create(&path).unwrap();
    record(&mut rec, 5);
    rec.finish().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_bag.py");
    let out = std::process::Command::new(&py)
        .arg(&script)
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    for reader in ["rosbags", "mcap_ros2"] {
        let r = &report[reader];
        assert_eq!(r["/joint_states"]["count"], 5, "{reader}: {r}");
        assert_eq!(r["/joint_states"]["last"]["name"][1], "joint2", "{reader}");
        assert!(
            (r["/joint_states"]["last"]["position"][0].as_f64().unwrap() - 0.4).abs() < 1e-12,
            "{reader}"
        );
        assert_eq!(
            r["/camera/agentview/image_raw"]["last"]["encoding"], "rgb8",
            "{reader}"
        );
        assert_eq!(
            r["/camera/agentview/image_raw"]["last"]["step"], 12,
            "{reader}"
        );
        assert_eq!(
            r["/ddvla/action_chunk"]["last"]["dims"],
            serde_json::json!([["horizon", 8], ["action_dim", 7]]),
            "{reader}"
        );
        assert_eq!(r["/ddvla/action_chunk"]["last"]["n"], 56, "{reader}");
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn we_decode_bytes_serialized_by_rosbags() {
    let py = python();
    assert!(
        py.exists(),
        "{} missing: run scripts/setup.sh",
        py.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/rosbags_emit.py");
    let out = std::process::Command::new(&py)
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let js: JointState = decode(&unhex(v["sensor_msgs/msg/JointState"].as_str().unwrap())).unwrap();
    assert_eq!(
        js.header.stamp,
        Time {
            sec: 12,
            nanosec: 345
        }
    );
    assert_eq!(js.header.frame_id, "base_link");
    assert_eq!(js.name, ["a", "bb"]);
    assert_eq!(js.position, [0.5, -1.25]);
    assert!(js.velocity.is_empty());
    assert_eq!(js.effort, [3.0, 4.0]);
    let img: Image = decode(&unhex(v["sensor_msgs/msg/Image"].as_str().unwrap())).unwrap();
    assert_eq!(
        (img.width, img.height, img.step, img.encoding.as_str()),
        (3, 2, 9, "bgr8")
    );
    assert_eq!(&img.to_rgb8().unwrap()[..6], &[2, 1, 0, 5, 4, 3]);
    let s: ddvla_bridge::msg::std::StringMsg =
        decode(&unhex(v["std_msgs/msg/String"].as_str().unwrap())).unwrap();
    assert_eq!(s.data, "héllo");
    // And our bytes for the same JointState are byte-identical to theirs.
    assert_eq!(
        ddvla_bridge::encode(&js).unwrap(),
        unhex(v["sensor_msgs/msg/JointState"].as_str().unwrap())
    );
}

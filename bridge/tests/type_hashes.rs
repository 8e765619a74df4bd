//! Our REP-2016 type hashes (computed from our `ros2msg` definitions) equal those computed by
//! `rosbags` from ROS 2 Jazzy's own definitions, through bridge/scripts/type_hashes.py.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeMap;
use std::path::Path;

use ddvla_bridge::RosMessage;
use ddvla_bridge::msg::geometry::{PoseStamped, TwistStamped};
use ddvla_bridge::msg::sensor::{CompressedImage, Image, JointState};
use ddvla_bridge::msg::std::{Bool, Float32MultiArray, Header, StringMsg};
use ddvla_bridge::msg::trajectory::JointTrajectory;
use ddvla_bridge::rmw::type_hash;

fn ours<M: RosMessage>() -> (String, String) {
    (
        M::TYPE_NAME.to_owned(),
        type_hash(M::TYPE_NAME, M::DEFINITION).unwrap().to_string(),
    )
}

#[test]
fn every_message_hash_matches_rosbags() {
    let ours: BTreeMap<String, String> = [
        ours::<StringMsg>(),
        ours::<Bool>(),
        ours::<Header>(),
        ours::<Float32MultiArray>(),
        ours::<PoseStamped>(),
        ours::<TwistStamped>(),
        ours::<Image>(),
        ours::<CompressedImage>(),
        ours::<JointState>(),
        ours::<JointTrajectory>(),
    ]
    .into_iter()
    .collect();
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/venv-bridge/bin/python");
    assert!(
        py.exists(),
        "{} missing: run scripts/setup.sh",
        py.display()
    );
    let out = std::process::Command::new(py)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/type_hashes.py"))
        .args(ours.keys())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ours, theirs);
    // Pinned published values (rmw_zenoh design doc; sensor_msgs/Image from Jazzy).
    assert_eq!(
        ours["std_msgs/msg/String"],
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
    );
    assert_eq!(
        ours["sensor_msgs/msg/Image"],
        "RIHS01_d31d41a9a4c4bc8eae9be757b0beed306564f7526c88ea6a4588fb9582527d47"
    );
}

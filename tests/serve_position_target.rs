//! `ddvla serve` with a model whose actions are target positions: the serve loop sends each
//! as the delta from the newest measured position, not the target itself.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use candle_core::Device;
use ddvla_policy::position_target::PositionTarget;

mod replay_check;
mod serve_tiny;

#[test]
fn serve_sends_targets_as_deltas_from_the_measured_position() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve_tiny::base_checkpoint(dir.path());
    // Bounds a few millimetres wide around (1.5, -1.2, 0.01) m: whatever the random model
    // decodes, its target lies in front of, right of and below the arm, beneath the table
    // top (z 0.1) and out of reach, so every delta sent points that way (+x, -y, down); the
    // raw target's z (+0.01) would point up, barely.
    let ckpt = dir.path().join("targets");
    let target = PositionTarget {
        proprio_at: 0,
        metres_per_unit: 0.02,
        labels: ddvla_policy::position_target::PositionLabels::Delta,
    };
    ddvla_policy::checkpoint_position_target::set_action_position_target(
        &base,
        target,
        [1.495, -1.205, 0.005],
        [1.505, -1.195, 0.015],
        &ckpt,
    )
    .unwrap();
    let policy = ddvla_policy::Policy::from_checkpoint(&ckpt, None, &Device::Cpu).unwrap();
    assert_eq!(
        ddvla::remote::shape_of(&policy).action_position_target,
        Some(target)
    );
    let (bag, cfg) = serve_tiny::serve_stove(dir.path(), &ckpt, 80);
    let messages = ddvla_bridge::record::read_bag(&bag, None).unwrap();
    let sent: Vec<Vec<f32>> = messages
        .iter()
        .filter(|m| m.topic == "/ddvla/command")
        .map(|m| {
            ddvla_bridge::decode::<ddvla_bridge::msg::std::Float32MultiArray>(&m.data)
                .unwrap()
                .data
        })
        .collect();
    assert_eq!(sent.len(), 80);
    let moving: Vec<&Vec<f32>> = sent.iter().filter(|c| c[..3] != [0.0; 3]).collect();
    assert!(
        moving.len() >= 20,
        "{} commands moved the arm",
        moving.len()
    );
    for c in moving {
        assert!(c[0] > 0.0 && c[1] < 0.0 && c[2] < 0.0, "{c:?}");
        assert!(c[..3].iter().all(|v| v.abs() <= 1.0), "{c:?}");
    }
    // Several chunks were asked for and executed (not one chunk's targets, then a hold).
    let requests = serve_tiny::request_events(&messages).len();
    assert!(requests >= 2, "{requests} requests");
    let compared = replay_check::replay_exact(&bag, &cfg, &dir.path().join("replay.json"));
    assert!(compared > 0, "{compared} chunks compared");
}

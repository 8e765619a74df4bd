//! `ddvla serve` with a model that takes the episode step: the serve loop appends the ticks
//! since the instruction began to the robot's proprio, each request's recorded provenance
//! names the step it used, and `ddvla replay` rebuilds the same observations from the
//! recording (exact chunks).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use candle_core::Device;

mod replay_check;
mod serve_tiny;

#[test]
fn serve_appends_the_episode_step_and_replay_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve_tiny::base_checkpoint(dir.path());
    let ckpt = dir.path().join("stepped");
    ddvla_policy::checkpoint_episode_step::add_episode_step_input(&base, 200, &ckpt).unwrap();
    // A policy server tells robots to send their 8 values; the serve loop appends the step
    // (a client unaware of the step sends 8 and is refused by name, not padded).
    let policy = ddvla_policy::Policy::from_checkpoint(&ckpt, None, &Device::Cpu).unwrap();
    let shape = ddvla::remote::shape_of(&policy);
    assert_eq!((shape.proprio_dim, shape.episode_step_input), (8, true));
    let (bag, cfg) = serve_tiny::serve_stove(dir.path(), &ckpt, 80);
    let messages = ddvla_bridge::record::read_bag(&bag, None).unwrap();
    // The robot side still publishes its 8 values; the step is the serve loop's.
    assert!(
        messages
            .iter()
            .filter(|m| m.topic == "/ddvla/proprio")
            .all(|m| {
                ddvla_bridge::decode::<ddvla_bridge::msg::std::Float32MultiArray>(&m.data)
                    .unwrap()
                    .data
                    .len()
                    == 8
            })
    );
    let steps: Vec<u64> = serve_tiny::request_events(&messages)
        .iter()
        .map(|e| e["observation"]["episode_step"].as_u64().unwrap())
        .collect();
    assert!(steps.len() >= 2, "{steps:?}");
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    assert!(steps.last() > steps.first(), "{steps:?}");
    assert!(*steps.last().unwrap() < 80, "{steps:?}");

    let compared = replay_check::replay_exact(&bag, &cfg, &dir.path().join("replay.json"));
    assert!(compared > 0, "{compared} chunks compared");
}

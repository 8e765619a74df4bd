//! `ddvla serve` with a model that takes the episode step: the serve loop appends the ticks
//! since the instruction began to the robot's proprio, each request's recorded provenance
//! names the step it used, and `ddvla replay` rebuilds the same observations from the
//! recording (exact chunks).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::Command;

use candle_core::Device;
use ddvla_bridge::msg::std::StringMsg;
use ddvla_policy::checkpoint::{files, random_model, save};
use ddvla_policy::model::{Config, presets};
use ddvla_policy::stats::DatasetStatistics;

mod replay_check;

/// A random `tiny` checkpoint (one 32 px camera, 8 proprio values) given the step.
fn stepped_checkpoint(dir: &Path) -> std::path::PathBuf {
    let base = dir.join("base");
    let file = presets::tiny();
    let (_, varmap) = random_model(Config::new(file.clone()).unwrap(), &Device::Cpu).unwrap();
    save(&varmap, &file, &base).unwrap();
    std::fs::write(
        base.join(files::TOKENIZER),
        ddvla_policy::text::byte_level_tokenizer_json(),
    )
    .unwrap();
    DatasetStatistics::identity(file.action.action_dim, file.proprio_dim)
        .save(&base.join(files::STATISTICS))
        .unwrap();
    let stepped = dir.join("stepped");
    ddvla_policy::checkpoint_episode_step::add_episode_step_input(&base, 200, &stepped).unwrap();
    stepped
}

#[test]
fn serve_appends_the_episode_step_and_replay_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = stepped_checkpoint(dir.path());
    // A policy server tells robots to send their 8 values; the serve loop appends the step
    // (a client unaware of the step sends 8 and is refused by name, not padded).
    let policy = ddvla_policy::Policy::from_checkpoint(&ckpt, None, &Device::Cpu).unwrap();
    let shape = ddvla::remote::shape_of(&policy);
    assert_eq!((shape.proprio_dim, shape.episode_step_input), (8, true));
    let bag = dir.path().join("task.mcap");
    let cfg = dir.path().join("task.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"record = "{}"

[control]
rate_hz = 20.0
initial_latency_ms = 200.0

[policy]
checkpoint = "{}"
decoder = "parallel"

[safety]
lower = [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]
upper = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
max_step = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2.0]
hold_value = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
hold_keep_last_dims = [6]
max_observation_age_ms = 500.0

[topics]
cameras = ["/camera/agentview/image_raw"]
"#,
            bag.display(),
            ckpt.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["serve", "--max-ticks", "80", "--sim"])
        .args([
            "libero_style_goal/turn_on_the_stove",
            "--sim-cameras",
            "agentview",
        ])
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let steps: Vec<u64> = messages
        .iter()
        .filter(|m| m.topic == "/ddvla/events")
        .map(|m| {
            let text = ddvla_bridge::decode::<StringMsg>(&m.data).unwrap().data;
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        })
        .filter(|e| e["kind"] == "request")
        .map(|e| e["observation"]["episode_step"].as_u64().unwrap())
        .collect();
    assert!(steps.len() >= 2, "{steps:?}");
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    assert!(steps.last() > steps.first(), "{steps:?}");
    assert!(*steps.last().unwrap() < 80, "{steps:?}");

    let compared = replay_check::replay_exact(&bag, &cfg, &dir.path().join("replay.json"));
    assert!(compared > 0, "{compared} chunks compared");
}

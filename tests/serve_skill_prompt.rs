//! `ddvla serve` with a model whose instruction names the task's part: the serve loop
//! counts the skills its sent commands finished, each request's recorded event names the
//! count it asked with, and `ddvla replay` rebuilds the same instructions from the recording
//! (exact chunks).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::Command;

use candle_core::Device;
use ddvla_bridge::msg::std::StringMsg;
use ddvla_policy::checkpoint::{files, random_model, save};
use ddvla_policy::model::{Config, presets};
use ddvla_policy::skill_prompt::SkillPromptConfig;
use ddvla_policy::stats::DatasetStatistics;

mod replay_check;

/// A random `tiny` checkpoint (one 32 px camera) whose every closed-then-open command is a
/// skill, with parts up to 1000 named.
fn parted_checkpoint(dir: &Path) -> std::path::PathBuf {
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
    let parted = dir.join("parted");
    let prompt = SkillPromptConfig {
        min_closed_steps: 1,
        min_open_steps: 1,
        max_part: 1000,
        ..SkillPromptConfig::default()
    };
    ddvla_policy::checkpoint_skill_prompt::set_skill_prompt(&base, &prompt, &parted).unwrap();
    parted
}

#[test]
fn serve_counts_skills_and_replay_reproduces_the_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = parted_checkpoint(dir.path());
    let policy = ddvla_policy::Policy::from_checkpoint(&ckpt, None, &Device::Cpu).unwrap();
    let shape = ddvla::remote::shape_of(&policy);
    assert_eq!(shape.skill_prompt.as_ref().map(|p| p.max_part), Some(1000));
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
        .args(["serve", "--max-ticks", "120", "--sim"])
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
    let events: Vec<serde_json::Value> = messages
        .iter()
        .filter(|m| m.topic == "/ddvla/events")
        .map(|m| {
            let text = ddvla_bridge::decode::<StringMsg>(&m.data).unwrap().data;
            serde_json::from_str(&text).unwrap()
        })
        .collect();
    let requests: Vec<(u64, u64)> = events
        .iter()
        .filter(|e| e["kind"] == "request")
        .map(|e| {
            let done = e["skills_done"].as_u64().unwrap();
            (e["tick"].as_u64().unwrap(), done)
        })
        .collect();
    let done: Vec<u64> = requests.iter().map(|r| r.1).collect();
    assert!(done.len() >= 2, "{done:?}");
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    // The random policy's gripper commands open and close: skills are counted.
    assert!(*done.last().unwrap() > 0, "{done:?}");
    // The sent commands (one per tick), counted here independently: a request can only
    // have seen the closed-then-open transitions sent before its tick.
    let sent: Vec<f32> = messages
        .iter()
        .filter(|m| m.topic == "/ddvla/command")
        .map(|m| {
            ddvla_bridge::decode::<ddvla_bridge::msg::std::Float32MultiArray>(&m.data)
                .unwrap()
                .data[6]
        })
        .collect();
    assert_eq!(sent.len(), 120);
    for &(tick, done) in &requests {
        let before = &sent[..usize::try_from(tick).unwrap()];
        let releases = before
            .windows(2)
            .filter(|w| w[0] > 0.0 && w[1] <= 0.0)
            .count();
        assert!(
            done <= releases as u64,
            "tick {tick}: {done} counted, {releases} sent"
        );
    }

    let compared = replay_check::replay_exact(&bag, &cfg, &dir.path().join("replay.json"));
    assert!(compared > 0, "{compared} chunks compared");
}

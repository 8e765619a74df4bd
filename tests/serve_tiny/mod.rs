//! Helpers of the serve tests that run a random `tiny` checkpoint given some input setting
//! (`serve_episode_step.rs`, `serve_skill_prompt.rs`): the base checkpoint, one simulated
//! `ddvla serve` run of the goal suite's stove task into a recording, and the recording's
//! runtime events.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use ddvla_bridge::msg::std::StringMsg;
use ddvla_policy::checkpoint::{files, random_model, save};
use ddvla_policy::model::{Config, presets};
use ddvla_policy::stats::DatasetStatistics;

/// A random `tiny` checkpoint (one 32 px camera, 8 proprio values) in `dir/base`, with the
/// byte-level tokenizer and identity statistics.
pub fn base_checkpoint(dir: &Path) -> PathBuf {
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
    base
}

/// Serve `ckpt` for `ticks` ticks on the simulated stove task (agentview camera), recording
/// to `dir/task.mcap` with the config `dir/task.toml`; returns (recording, config).
pub fn serve_stove(dir: &Path, ckpt: &Path, ticks: u32) -> (PathBuf, PathBuf) {
    let bag = dir.join("task.mcap");
    let cfg = dir.join("task.toml");
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
        .args(["serve", "--max-ticks", &ticks.to_string(), "--sim"])
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
    (bag, cfg)
}

/// The request events recorded in `messages` (`/ddvla/events` of kind `request`), in order.
pub fn request_events(
    messages: &[ddvla_bridge::record::RecordedMessage],
) -> Vec<serde_json::Value> {
    messages
        .iter()
        .filter(|m| m.topic == "/ddvla/events")
        .map(|m| {
            let text = ddvla_bridge::decode::<StringMsg>(&m.data).unwrap().data;
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        })
        .filter(|e| e["kind"] == "request")
        .collect()
}

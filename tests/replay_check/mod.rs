//! Helper of the serve tests (`serve.rs`, `sim_loop.rs`, `serve_episode_step.rs`,
//! `serve_skill_prompt.rs`): replay a recording with the config that served it and check
//! every chunk came out the same.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::Command;

/// Run `ddvla replay BAG --config CONFIG --json REPORT`, assert it succeeded and reported
/// the chunks identical, and return how many chunks it compared.
pub fn replay_exact(bag: &Path, config: &Path, report: &Path) -> u64 {
    let status = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .arg("replay")
        .arg(bag)
        .arg("--config")
        .arg(config)
        .arg("--json")
        .arg(report)
        .status()
        .unwrap();
    assert!(status.success());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(report["exact"], true, "{report}");
    report["chunks_compared"].as_u64().unwrap()
}

//! `ddvla serve` with a model whose instruction names the task's part: the serve loop
//! counts the skills its sent commands finished, each request's recorded event names the
//! count it asked with, and `ddvla replay` rebuilds the same instructions from the recording
//! (exact chunks).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use candle_core::Device;
use ddvla_policy::skill_prompt::SkillPromptConfig;

mod replay_check;
mod serve_tiny;

#[test]
fn serve_counts_skills_and_replay_reproduces_the_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve_tiny::base_checkpoint(dir.path());
    // Every closed-then-open command is a skill, with parts up to 1000 named.
    let ckpt = dir.path().join("parted");
    let prompt = SkillPromptConfig {
        min_closed_steps: 1,
        min_open_steps: 1,
        max_part: 1000,
        ..SkillPromptConfig::default()
    };
    ddvla_policy::checkpoint_skill_prompt::set_skill_prompt(&base, &prompt, &ckpt).unwrap();
    let policy = ddvla_policy::Policy::from_checkpoint(&ckpt, None, &Device::Cpu).unwrap();
    let shape = ddvla::remote::shape_of(&policy);
    assert_eq!(shape.skill_prompt.as_ref().map(|p| p.max_part), Some(1000));
    let (bag, cfg) = serve_tiny::serve_stove(dir.path(), &ckpt, 120);
    let messages = ddvla_bridge::record::read_bag(&bag, None).unwrap();
    let requests: Vec<(u64, u64)> = serve_tiny::request_events(&messages)
        .iter()
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

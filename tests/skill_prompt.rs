//! The task's part named in the instruction (`config.json` `skill_prompt`): training
//! samples carry the part their episode's executed gripper commands had reached before the
//! step, `ddvla checkpoint skill-prompt` gives a checkpoint the prompt, a run trains from it
//! and `ddvla eval` runs the result.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use ddvla_policy::skill_prompt::SkillPromptConfig;

mod common;
use common::run::{
    ddvla, eval_one_object_episode, fail, load_twice, ok, quick_train_config, record_random_object,
    train,
};

/// Every hold of one closed step, then one open step, is a skill; parts up to 100 are named,
/// so the instruction spells out the count.
fn counting_every_release() -> SkillPromptConfig {
    SkillPromptConfig {
        min_closed_steps: 1,
        min_open_steps: 1,
        max_part: 100,
        ..SkillPromptConfig::default()
    }
}

#[test]
fn samples_name_the_part_their_executed_actions_reached() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    // Random actions: the gripper command's sign flips often.
    record_random_object(&demos, "0", 2, 24);
    let (plain, mut parted) = load_twice(&demos);
    let prompt = counting_every_release();
    parted.set_skill_prompt(Some(&prompt));
    let mut reached = 0;
    for e in 0..2 {
        // Each step's executed action is the first of its sample's chunk; count the
        // closed-then-open transitions among the steps before `t` independently.
        let gripper: Vec<bool> = (0..24)
            .map(|t| plain.sample((e, t), None, 0).unwrap().actions[6] > 0.0)
            .collect();
        for t in 0..24 {
            let releases = gripper[..t].windows(2).filter(|w| w[0] && !w[1]).count();
            let a = plain.sample((e, t), None, 0).unwrap();
            let b = parted.sample((e, t), None, 0).unwrap();
            let expected = if releases == 0 {
                a.observation.instruction.clone()
            } else {
                format!("{}, part {}", a.observation.instruction, releases + 1)
            };
            assert_eq!(b.observation.instruction, expected, "episode {e} step {t}");
            assert_eq!(b.observation.images, a.observation.images);
            assert_eq!(b.actions, a.actions);
            reached = reached.max(releases);
        }
    }
    assert!(
        reached >= 2,
        "random actions released the gripper {reached} times"
    );
    let per_part = parted.skill_part_counts();
    assert_eq!(per_part.len(), 100);
    assert_eq!(per_part.iter().sum::<usize>(), 48);
    assert!(per_part[0] > 0 && per_part[1] > 0, "{per_part:?}");
    parted.set_skill_prompt(None);
    assert_eq!(
        parted
            .sample((0, 23), None, 0)
            .unwrap()
            .observation
            .instruction,
        plain
            .sample((0, 23), None, 0)
            .unwrap()
            .observation
            .instruction
    );
}

#[test]
fn a_checkpoint_given_the_prompt_trains_and_evaluates() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record_random_object(&demos, "0", 2, 16);
    let toml = |init: &str, out: &Path| quick_train_config(init, "", &demos, out);
    let base = d.path().join("base");
    ok(&train(
        &d.path().join("base.toml"),
        &toml("preset = \"compact\"", &base),
    ));
    let parted = d.path().join("parted");
    let give = |input: &Path, out: &Path| {
        ddvla()
            .args(["checkpoint", "skill-prompt"])
            .arg(input)
            .args(["--min-closed-steps", "3", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    ok(&give(&base, &parted));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(parted.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["skill_prompt"]["min_closed_steps"], 3);
    assert_eq!(cfg["skill_prompt"]["gripper_index"], 6);
    // Given twice: refused by name, nothing written.
    fail(
        &give(&parted, &d.path().join("again")),
        &["skill prompt already"],
    );
    assert!(!d.path().join("again").exists());
    let tuned = d.path().join("tuned");
    let init = format!("init_checkpoint = \"{}\"", parted.display());
    let o = train(&d.path().join("tuned.toml"), &toml(&init, &tuned));
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("names the task's part"), "{stdout}");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        cfg["skill_prompt"]["min_closed_steps"], 3,
        "training keeps the prompt"
    );
    eval_one_object_episode(&tuned, &d.path().join("ev"));
}

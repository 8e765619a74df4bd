//! A checkpoint whose instruction names the part of a multi-step task the robot is in
//! (`config.json`'s `skill_prompt`, [`crate::skill_prompt`]). Only the config changes: the
//! weights, tokenizer and statistics are copied, so the new checkpoint acts as the old one
//! until a skill is finished (part 1 keeps the instruction as it is) and reads the longer
//! instruction of later parts as it reads any text, until a fine-tune teaches it what they
//! mean.

use std::path::Path;

use crate::checkpoint::{files, write_with_config};
use crate::model::ConfigFile;
use crate::skill_prompt::SkillPromptConfig;
use crate::{PolicyError, Result};

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` with the
/// skill prompt `prompt`. Refused, writing nothing, when the input has one already or the
/// settings do not fit the model (the error names the field). The written folder is checked
/// to load before it appears.
pub fn set_skill_prompt(input: &Path, prompt: &SkillPromptConfig, out: &Path) -> Result<()> {
    let _span = tracing::info_span!("set_skill_prompt").entered();
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    if old.skill_prompt.is_some() {
        return Err(PolicyError::bad_input(
            "checkpoint skill-prompt",
            format!("{} has a skill prompt already", input.display()),
        ));
    }
    let mut new = old;
    new.skill_prompt = Some(prompt.clone());
    write_with_config("checkpoint skill-prompt", input, &new, out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checkpoint_fixture::{act, observation, tiny_checkpoint};
    use crate::model::presets;

    fn prompt() -> SkillPromptConfig {
        SkillPromptConfig {
            gripper_index: presets::tiny().action.action_dim - 1,
            ..SkillPromptConfig::default()
        }
    }

    #[test]
    fn the_copy_acts_as_the_input_and_records_the_prompt() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        tiny_checkpoint(&old);
        set_skill_prompt(&old, &prompt(), &new).unwrap();
        let cfg = ConfigFile::load(&new.join(files::CONFIG)).unwrap();
        assert_eq!(cfg.skill_prompt, Some(prompt()));
        let obs = observation(vec![0.1; presets::tiny().proprio_dim]);
        assert_eq!(act(&new, &obs), act(&old, &obs));
    }

    #[test]
    fn bad_requests_are_refused_without_writing() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        tiny_checkpoint(&old);
        let wrong = SkillPromptConfig {
            gripper_index: 99,
            ..prompt()
        };
        let err = set_skill_prompt(&old, &wrong, &new).unwrap_err();
        assert!(err.to_string().contains("gripper_index 99"), "{err}");
        assert!(!new.exists());
        set_skill_prompt(&old, &prompt(), &new).unwrap();
        let again = root.path().join("again");
        let err = set_skill_prompt(&new, &prompt(), &again).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        assert!(!again.exists());
    }
}

//! The control loop's skill counter, for a model whose instruction names the part of a
//! multi-step task ([`ddvla_policy::skill_prompt`]): every tick's sent command is counted,
//! the count starts over when the instruction changes, and each inference request asks with
//! the instruction of the part reached.

use ddvla_policy::skill_prompt::{SkillCounter, SkillPromptConfig};

/// Finished skills under the instruction in force.
#[derive(Debug, Clone)]
pub struct SkillTrack {
    prompt: SkillPromptConfig,
    counter: SkillCounter,
    /// The instruction the count belongs to.
    instruction: String,
}

impl SkillTrack {
    /// A track for a model with `prompt`, before any instruction.
    pub fn new(prompt: SkillPromptConfig) -> Self {
        Self {
            counter: prompt.counter(),
            prompt,
            instruction: String::new(),
        }
    }

    /// Count the command a tick sent under `instruction` (nothing is counted before the
    /// first instruction; a new one starts the count over).
    pub fn tick(&mut self, instruction: &str, command: &[f32]) {
        if instruction != self.instruction {
            self.instruction.clear();
            self.instruction.push_str(instruction);
            self.counter.reset();
        }
        if !instruction.is_empty() {
            self.counter.push(command);
        }
    }

    /// Skills finished under `instruction` (0 when the count belongs to another one).
    pub fn skills_done(&self, instruction: &str) -> u32 {
        if instruction == self.instruction {
            self.counter.skills_done()
        } else {
            0
        }
    }

    /// The instruction the model reads for `instruction` now.
    pub fn model_instruction(&self, instruction: &str) -> String {
        self.prompt
            .instruction(instruction, self.skills_done(instruction))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_sent_commands_and_starts_over_with_a_new_instruction() {
        let mut t = SkillTrack::new(SkillPromptConfig {
            gripper_index: 1,
            ..SkillPromptConfig::default()
        });
        for _ in 0..30 {
            t.tick("", &[0.0, 1.0]);
        }
        assert_eq!(
            t.model_instruction("a"),
            "a",
            "nothing counted before an instruction"
        );
        for g in std::iter::repeat_n(1.0, 20).chain(std::iter::repeat_n(-1.0, 4)) {
            t.tick("put both pots on the stove", &[0.0, g]);
        }
        assert_eq!(t.skills_done("put both pots on the stove"), 1);
        assert_eq!(
            t.model_instruction("put both pots on the stove"),
            "put both pots on the stove, part 2"
        );
        assert_eq!(t.model_instruction("open the drawer"), "open the drawer");
        t.tick("open the drawer", &[0.0, -1.0]);
        assert_eq!(t.skills_done("open the drawer"), 0);
        assert_eq!(t.skills_done("put both pots on the stove"), 0);
    }
}

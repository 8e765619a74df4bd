//! Skill-count prompts for multi-step tasks: the runtime counts the skills the robot has
//! finished from its own gripper commands and tells the policy which part of the
//! instruction it is in, as text appended to the instruction.
//!
//! A policy that reads one observation at a time has no memory of what it already did, and
//! where the scene barely shows it (a pot just set on the stove, a drawer just shut) it can
//! start the first part of a two-part task again. Every skill of a pick-and-place or
//! push-with-closed-fingers task closes the gripper for a while and opens it at the end, so
//! a hold of at least `min_closed_steps` followed by at least `min_open_steps` open steps
//! counts as one finished skill. The count comes from the commands the robot executed, so a
//! real robot's runtime computes it as the simulator's does; training computes it from the
//! recorded executed actions, step by step, the same way.
//!
//! Part 1 (nothing finished yet) keeps the instruction as it is, so a checkpoint given a
//! skill prompt acts as before until a skill is done.

use serde::{Deserialize, Serialize};

use crate::{PolicyError, Result};

/// The highest `max_part` accepted (training logs its samples per part).
pub const MAX_PART: u32 = 1000;

/// `config.json`'s `skill_prompt`: how finished skills are counted and named in the prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SkillPromptConfig {
    /// Appended to the instruction once a skill is done; `{part}` becomes the part the robot
    /// is in (finished skills + 1, at most `max_part`).
    pub suffix: String,
    /// The highest part named: later skills keep this part's prompt.
    pub max_part: u32,
    /// Which action value is the gripper command (positive closes, as LIBERO's).
    pub gripper_index: usize,
    /// Executed steps the gripper must stay commanded closed for a hold to be a skill (open
    /// runs shorter than `min_open_steps` inside it do not end it).
    pub min_closed_steps: u32,
    /// Consecutive open steps after such a hold that finish the skill.
    pub min_open_steps: u32,
}

impl Default for SkillPromptConfig {
    fn default() -> Self {
        Self {
            suffix: ", part {part}".to_owned(),
            max_part: 2,
            gripper_index: 6,
            min_closed_steps: 20,
            min_open_steps: 4,
        }
    }
}

impl SkillPromptConfig {
    /// Check the settings against a model whose actions have `action_dim` values.
    pub fn validate(&self, action_dim: usize) -> Result<()> {
        let bad = |reason: String| PolicyError::bad_input("skill_prompt", reason);
        if self.gripper_index >= action_dim {
            return Err(bad(format!(
                "gripper_index {} is not an action value (the model has {action_dim})",
                self.gripper_index
            )));
        }
        if self.min_closed_steps == 0 || self.min_open_steps == 0 {
            return Err(bad(
                "min_closed_steps and min_open_steps must be >= 1".into()
            ));
        }
        if !(2..=MAX_PART).contains(&self.max_part) {
            return Err(bad(format!(
                "max_part {} must name a second part and at most {MAX_PART}",
                self.max_part
            )));
        }
        if !self.suffix.contains("{part}") {
            return Err(bad(format!(
                "suffix {:?} does not name the part ({{part}})",
                self.suffix
            )));
        }
        Ok(())
    }

    /// The instruction the model reads after `skills_done` finished skills.
    pub fn instruction(&self, instruction: &str, skills_done: u32) -> String {
        if skills_done == 0 {
            return instruction.to_owned();
        }
        let part = skills_done.saturating_add(1).min(self.max_part);
        format!(
            "{}{}",
            instruction.trim_end(),
            self.suffix.replace("{part}", &part.to_string())
        )
    }

    /// A counter with these settings, at the start of an episode.
    pub fn counter(&self) -> SkillCounter {
        SkillCounter {
            prompt: self.clone(),
            closed_steps: 0,
            open_run: 0,
            skills_done: 0,
        }
    }

    /// Per step of an episode whose executed actions are `actions`, the skills finished
    /// before that step's observation (what the runtime would have counted there).
    pub fn counts_before_each_step(&self, actions: &[Vec<f32>]) -> Vec<u32> {
        let mut counter = self.counter();
        actions
            .iter()
            .map(|a| {
                let before = counter.skills_done();
                counter.push(a);
                before
            })
            .collect()
    }
}

/// Counts finished skills from the executed actions, one step at a time, and names the part
/// reached in an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillCounter {
    prompt: SkillPromptConfig,
    /// Closed steps of the current hold.
    closed_steps: u32,
    /// Consecutive open steps so far.
    open_run: u32,
    skills_done: u32,
}

impl SkillCounter {
    /// Record one executed action (a missing or non-finite gripper value counts as open).
    pub fn push(&mut self, action: &[f32]) {
        let p = &self.prompt;
        let closed = action
            .get(p.gripper_index)
            .is_some_and(|g| g.is_finite() && *g > 0.0);
        if closed {
            if self.open_run >= p.min_open_steps {
                self.closed_steps = 0;
            }
            self.open_run = 0;
            self.closed_steps = self.closed_steps.saturating_add(1);
        } else {
            self.open_run = self.open_run.saturating_add(1);
            if self.open_run == p.min_open_steps {
                if self.closed_steps >= p.min_closed_steps {
                    self.skills_done = self.skills_done.saturating_add(1);
                }
                self.closed_steps = 0;
            }
        }
    }

    /// Skills finished so far.
    pub fn skills_done(&self) -> u32 {
        self.skills_done
    }

    /// The instruction the model reads now: `instruction` with the part reached named.
    pub fn instruction(&self, instruction: &str) -> String {
        self.prompt.instruction(instruction, self.skills_done)
    }

    /// Back to the start of an episode (a new instruction).
    pub fn reset(&mut self) {
        self.closed_steps = 0;
        self.open_run = 0;
        self.skills_done = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Gripper-only actions: `runs` of (closed, steps).
    fn actions(runs: &[(bool, usize)]) -> Vec<Vec<f32>> {
        runs.iter()
            .flat_map(|&(closed, n)| {
                std::iter::repeat_n(vec![0.0, if closed { 1.0 } else { -1.0 }], n)
            })
            .collect()
    }

    fn cfg() -> SkillPromptConfig {
        SkillPromptConfig {
            gripper_index: 1,
            ..SkillPromptConfig::default()
        }
    }

    #[test]
    fn a_hold_then_a_release_is_one_skill() {
        let c = cfg();
        // open 10, closed 30, open 6, closed 25: the skill ends at the 4th open step.
        let counts =
            c.counts_before_each_step(&actions(&[(false, 10), (true, 30), (false, 6), (true, 25)]));
        assert_eq!(counts.len(), 71);
        assert!(counts[..44].iter().all(|&n| n == 0), "{counts:?}");
        assert!(counts[44..].iter().all(|&n| n == 1), "{counts:?}");
    }

    #[test]
    fn short_holds_and_blips_do_not_count() {
        let c = cfg();
        // A 15-step regrasp is no skill; one- and three-step open blips inside a 40-step
        // hold do not end it, and the hold's steps add up across them.
        let a = actions(&[
            (true, 15),
            (false, 5),
            (true, 12),
            (false, 1),
            (true, 5),
            (false, 3),
            (true, 4),
        ]);
        assert_eq!(*c.counts_before_each_step(&a).last().unwrap(), 0);
        let mut a = a;
        a.extend(actions(&[(false, 4), (true, 1)]));
        // 12 + 5 + 4 = 21 closed steps since the last real release.
        assert_eq!(*c.counts_before_each_step(&a).last().unwrap(), 1);
    }

    #[test]
    fn the_prompt_names_the_part_and_keeps_part_one_plain() {
        let c = cfg();
        assert_eq!(
            c.instruction("put both pots on the stove", 0),
            "put both pots on the stove"
        );
        assert_eq!(
            c.instruction("put both pots on the stove ", 1),
            "put both pots on the stove, part 2"
        );
        assert_eq!(c.instruction("x", 5), "x, part 2");
        let three = SkillPromptConfig {
            max_part: 3,
            ..cfg()
        };
        assert_eq!(three.instruction("x", 5), "x, part 3");
    }

    #[test]
    fn the_counter_starts_over_and_ignores_bad_values() {
        let c = cfg();
        let mut k = c.counter();
        for a in actions(&[(true, 20), (false, 4)]) {
            k.push(&a);
        }
        assert_eq!(k.skills_done(), 1);
        assert_eq!(k.instruction("x"), "x, part 2");
        k.reset();
        assert_eq!(k.skills_done(), 0);
        assert_eq!(k.instruction("x"), "x");
        for _ in 0..30 {
            k.push(&[0.0, f32::NAN]);
        }
        k.push(&[0.0]);
        assert_eq!(
            k.skills_done(),
            0,
            "NaN and missing values read as open, never a hold"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let e = |c: SkillPromptConfig| c.validate(2).unwrap_err().to_string();
        assert!(
            e(SkillPromptConfig {
                gripper_index: 2,
                ..cfg()
            })
            .contains("gripper_index 2")
        );
        assert!(
            e(SkillPromptConfig {
                min_open_steps: 0,
                ..cfg()
            })
            .contains("min_open_steps")
        );
        assert!(
            e(SkillPromptConfig {
                max_part: 1,
                ..cfg()
            })
            .contains("max_part 1 ")
        );
        assert!(
            e(SkillPromptConfig {
                max_part: MAX_PART + 1,
                ..cfg()
            })
            .contains("max_part 1001")
        );
        assert!(
            e(SkillPromptConfig {
                suffix: " then".into(),
                ..cfg()
            })
            .contains("{part}")
        );
        cfg().validate(2).unwrap();
    }
}

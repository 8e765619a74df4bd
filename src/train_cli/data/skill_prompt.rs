//! The task's part in each sample's instruction, for a model with a skill prompt
//! ([`ddvla_policy::skill_prompt`]): counted from each episode's executed actions.

use ddvla_policy::skill_prompt::SkillPromptConfig;

use super::Dataset;

impl Dataset {
    /// Name the task's part in every sample's instruction, as a model with `prompt` reads it:
    /// the skills finished before each step, counted from the episode's executed actions
    /// (an expert-labelled rollout's own, not its labels). `None`: the instruction as
    /// recorded.
    pub fn set_skill_prompt(&mut self, prompt: Option<&SkillPromptConfig>) {
        self.skill_prompt = prompt.map(|p| {
            let counts = self
                .episodes
                .iter()
                .map(|ep| {
                    let executed = if ep.executed.is_empty() {
                        &ep.actions
                    } else {
                        &ep.executed
                    };
                    p.counts_before_each_step(executed)
                })
                .collect();
            (p.clone(), counts)
        });
    }

    /// Training samples per part (index = skills finished, capped at the prompt's last
    /// part), for the log: empty without a skill prompt.
    pub fn skill_part_counts(&self) -> Vec<usize> {
        let Some((prompt, counts)) = &self.skill_prompt else {
            return Vec::new();
        };
        let mut per_part = vec![0; prompt.max_part as usize];
        for &(e, t) in &self.train {
            let done = counts[e][t].min(prompt.max_part - 1) as usize;
            per_part[done] += 1;
        }
        per_part
    }
}

//! Position-target labels, for a model with `action_position_target`
//! ([`ddvla_policy::position_target`]): each recorded delta relabelled as the position it
//! aimed at, from the proprio recorded at the same step, or (`labels = "expert_goal"`) the
//! goal the scripted expert steered toward at that step, recorded with it.

use anyhow::{Context, Result, ensure};
use ddvla_policy::position_target::{POSITION_DIMS, PositionLabels, PositionTarget};

use super::Dataset;

impl Dataset {
    /// Relabel every episode's actions as position targets under `target` (once: a dataset
    /// relabelled already is refused, as is one with expert chunk labels, whose future
    /// proprio was never recorded, and, for expert-goal labels, an episode recorded without
    /// the expert's goals). The statistics computed afterwards are the targets'.
    pub fn set_action_position_target(&mut self, target: PositionTarget) -> Result<()> {
        ensure!(
            self.position_target.is_none(),
            "the dataset's actions are position targets already"
        );
        for ep in &mut self.episodes {
            ensure!(
                ep.chunks.is_empty(),
                "{}: expert chunk labels cannot be relabelled as position targets (the \
                 proprio along each chunk was not recorded)",
                ep.file
            );
            ensure!(
                ep.proprio.len() >= ep.actions.len(),
                "{}: {} proprio rows for {} actions",
                ep.file,
                ep.proprio.len(),
                ep.actions.len()
            );
            match target.labels {
                PositionLabels::Delta => {
                    for (t, (a, p)) in ep.actions.iter_mut().zip(&ep.proprio).enumerate() {
                        target
                            .target_from_delta(a, p)
                            .with_context(|| format!("{}: step {t}", ep.file))?;
                    }
                }
                PositionLabels::ExpertGoal => {
                    ensure!(
                        ep.goals.len() == ep.actions.len(),
                        "{}: no expert goals recorded ({} for {} steps): expert-goal position \
                         labels need a scripted-expert recording made with /ddvla/expert_goal",
                        ep.file,
                        ep.goals.len(),
                        ep.actions.len()
                    );
                    for (t, (a, g)) in ep.actions.iter_mut().zip(&ep.goals).enumerate() {
                        let (Some(a), Some(g)) =
                            (a.get_mut(..POSITION_DIMS), g.get(..POSITION_DIMS))
                        else {
                            anyhow::bail!("{}: step {t}: action or goal shorter than 3", ep.file);
                        };
                        a.copy_from_slice(g);
                    }
                }
            }
        }
        self.position_target = Some(target);
        Ok(())
    }

    /// The position-target settings the labels were relabelled with, if any.
    pub fn action_position_target(&self) -> Option<PositionTarget> {
        self.position_target
    }

    /// Bounds (q01, q99) of the position targets over the training split, from
    /// [`Self::statistics`] under `key`.
    pub fn position_target_bounds(
        &self,
        key: &str,
    ) -> Result<([f32; POSITION_DIMS], [f32; POSITION_DIMS])> {
        ensure!(
            self.position_target.is_some(),
            "the dataset's actions are not position targets"
        );
        let stats = self.statistics(key)?;
        let a = &stats.select(Some(key))?.action;
        let bound = |v: &[f32]| -> Result<[f32; POSITION_DIMS]> {
            v.get(..POSITION_DIMS)
                .and_then(|s| s.try_into().ok())
                .context("action statistics shorter than a position")
        };
        Ok((bound(&a.q01)?, bound(&a.q99)?))
    }
}

//! The expert's own action chunk from a state: what it would execute for the next `H` steps
//! if it took over now, rolled out on a blind fork of the simulator. DAgger labels for a
//! chunked policy: the chunk target of a state another policy reached is this rollout, not
//! the expert's one-step answers to the states the *policy's* next actions led to.

use ddvla_sim::Env;

use super::ScriptedExpert;
use crate::eval::{EvalError, EvalPolicy, StepContext};

impl ScriptedExpert {
    /// The `steps` actions a copy of this expert (in its current phase) executes from
    /// `ctx`'s state, run on `shadow` — a [`Env::fork_blind`] of `ctx.env`, brought to its
    /// state first. Neither this expert nor `ctx.env` changes; the first action is what
    /// [`EvalPolicy::act`] would answer now.
    pub fn chunk_from(
        &self,
        ctx: &StepContext<'_>,
        shadow: &mut Env,
        steps: usize,
    ) -> Result<Vec<Vec<f32>>, EvalError> {
        shadow.sync_from(ctx.env)?;
        let mut expert = self.clone();
        let mut chunk = Vec::with_capacity(steps);
        for k in 0..steps {
            let action = {
                let at = StepContext {
                    env: shadow,
                    step: ctx
                        .step
                        .saturating_add(u32::try_from(k).unwrap_or(u32::MAX)),
                    ..*ctx
                };
                expert
                    .act(&at)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| EvalError::Policy {
                        policy: "expert".into(),
                        reason: "returned no action".into(),
                    })?
            };
            shadow.step_blind(&action)?;
            chunk.push(action);
        }
        Ok(chunk)
    }
}

//! DAgger-style recording: a policy drives, the scripted expert labels. Every step the expert
//! (a closed-loop state machine on privileged simulator state) says what it would do from the
//! state the *policy* reached; the recording stores that label as the step's action and the
//! executed action on its own topic. Training on such episodes teaches the recoveries that
//! expert demonstrations never show (a missed grasp, a gripper closed too high), the states a
//! policy's own mistakes lead to (Ross et al., 2011).
//!
//! The labeller is [`ScriptedExpert::labeller`], whose skills' phases follow the state: the
//! plain expert plans as if its own actions ran, so once the policy had grasped an object by
//! itself it kept approaching it and labelled the whole carry "open", and while the policy
//! pushed the plate it labelled "go up to the approach pose".
//!
//! With `label_chunk` = H > 0 each step also gets the expert's own H-step chunk from that
//! state ([`ScriptedExpert::chunk_from`], rolled out on a blind fork of the simulator), which
//! `ddvla train` uses as the step's chunk target. Without it the target of step `t` is the
//! labels of steps `t..t+H`: the expert's one-step answers to the states the *policy's*
//! actions led to, which the model cannot predict from step `t`'s frame. Fine-tuning the
//! shipped checkpoint on such one-step labels (100 episodes, 2000 steps) dropped it from 38%
//! to 1% with the plain expert's labels and to 2% with the labeller's, and doubled its
//! open-loop error on the demonstrations. With chunk labels (100 episodes, 1500 steps) it
//! dropped to 9%: better, still far below the 38% it started from, so DAgger fine-tuning
//! does not help this checkpoint yet.
//!
//! With `expert_share` > 0 a chunk is executed by the expert instead of the policy with that
//! probability (DAgger's β mixing), drawn per chunk so motions stay smooth.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use ddvla_sim::Env;
use ddvla_tasks::eval::{EvalError, EvalPolicy, StepContext};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::Task;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The expert's label of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The expert's action from the state.
    pub action: Vec<f32>,
    /// The expert's own chunk from the state (its first action is `action`), when chunks
    /// are labelled.
    pub chunk: Option<Vec<Vec<f32>>>,
}

/// The expert's label of the current step, shared with the recorder (one thread).
pub type LabelSlot = Rc<RefCell<Option<Label>>>;

/// Steps the expert executes when it takes a chunk before the driver has ever answered.
const DEFAULT_CHUNK_STEPS: usize = 8;

/// An [`EvalPolicy`] that executes `driver`'s actions (or, per chunk with probability
/// `expert_share`, the expert's) and leaves the expert's action for every step in a
/// [`LabelSlot`]. It answers one action per call, so the expert sees every state.
pub struct ExpertLabelled {
    driver: Box<dyn EvalPolicy>,
    labeller: StepLabeller,
    expert_share: f64,
    rng: ChaCha8Rng,
    /// Actions still to execute: `Some` = the driver's, `None` = the expert's of that step.
    queue: VecDeque<Option<Vec<f32>>>,
    chunk_steps: usize,
}

impl ExpertLabelled {
    /// Label `driver`'s rollouts with the scripted expert; `expert_share` in [0, 1]; with
    /// `label_chunk` > 0 each step also gets the expert's own chunk of that many steps.
    pub fn new(
        driver: Box<dyn EvalPolicy>,
        expert_share: f64,
        label_chunk: usize,
    ) -> Result<Self, EvalError> {
        if !(0.0..=1.0).contains(&expert_share) {
            return Err(EvalError::Policy {
                policy: "expert-labelled".into(),
                reason: format!("expert share {expert_share} is outside [0, 1]"),
            });
        }
        Ok(Self {
            driver,
            labeller: StepLabeller::new(ScriptedExpert::labeller(), label_chunk),
            expert_share,
            rng: ChaCha8Rng::seed_from_u64(0),
            queue: VecDeque::new(),
            chunk_steps: DEFAULT_CHUNK_STEPS,
        })
    }

    /// Where the recorder finds the label of the step just taken.
    pub fn labels(&self) -> LabelSlot {
        self.labeller.slot()
    }
}

impl EvalPolicy for ExpertLabelled {
    fn describe(&self) -> String {
        format!(
            "{} labelled by expert (expert share {})",
            self.driver.describe(),
            self.expert_share
        )
    }

    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        self.queue.clear();
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.labeller.begin_episode(task, episode, seed)?;
        self.driver.begin_episode(task, episode, seed)
    }

    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        let label = self.labeller.label(ctx)?;
        if self.queue.is_empty() {
            if self.expert_share > 0.0 && self.rng.random_bool(self.expert_share) {
                self.queue
                    .extend(std::iter::repeat_n(None, self.chunk_steps));
            } else {
                let chunk = self.driver.act(ctx)?;
                if chunk.is_empty() {
                    return Err(EvalError::Policy {
                        policy: self.driver.describe(),
                        reason: "returned no actions".into(),
                    });
                }
                self.chunk_steps = chunk.len();
                self.queue.extend(chunk.into_iter().map(Some));
            }
        }
        // The driver's action as it executes it (a position-target model's target turned
        // into the delta from where the arm is now); the expert's as labelled.
        let executed = match self.queue.pop_front().flatten() {
            Some(action) => self.driver.to_execute(action, ctx.frame)?,
            None => label.action.clone(),
        };
        self.labeller.publish(label);
        Ok(vec![executed])
    }
}

/// The scripted expert labelling every state of an episode for the recorder: its action
/// and, with `label_chunk` > 0, its own chunk of that many steps, rolled out on a blind fork
/// of the episode's simulator. Shared by the DAgger ([`ExpertLabelled`]) and DART
/// ([`super::NoisyExpert`]) policies.
pub(super) struct StepLabeller {
    expert: ScriptedExpert,
    /// Steps of each labelled chunk (0: one-step labels only).
    label_chunk: usize,
    /// The fork for the chunk rollouts (made at an episode's first step: each task has its
    /// own model).
    shadow: Option<Env>,
    slot: LabelSlot,
}

impl StepLabeller {
    /// Label with `expert`, chunks of `label_chunk` steps (0: none).
    pub(super) fn new(expert: ScriptedExpert, label_chunk: usize) -> Self {
        Self {
            expert,
            label_chunk,
            shadow: None,
            slot: LabelSlot::default(),
        }
    }

    /// Where the recorder finds the label of the step just taken.
    pub(super) fn slot(&self) -> LabelSlot {
        Rc::clone(&self.slot)
    }

    /// A new episode: a new fork at its first step, no label yet.
    pub(super) fn begin_episode(
        &mut self,
        task: &Task,
        episode: usize,
        seed: u64,
    ) -> Result<(), EvalError> {
        self.shadow = None;
        *self.slot.borrow_mut() = None;
        self.expert.begin_episode(task, episode, seed)
    }

    /// The expert's label of the state in `ctx` (the expert steps on).
    pub(super) fn label(&mut self, ctx: &StepContext<'_>) -> Result<Label, EvalError> {
        let chunk = if self.label_chunk > 0 {
            let fork = match self.shadow.take() {
                Some(s) => s,
                None => ctx.env.fork_blind()?,
            };
            let fork = self.shadow.insert(fork);
            Some(self.expert.chunk_from(ctx, fork, self.label_chunk)?)
        } else {
            None
        };
        let action = self
            .expert
            .act(ctx)?
            .into_iter()
            .next()
            .ok_or_else(|| EvalError::Policy {
                policy: "expert".into(),
                reason: "returned no action".into(),
            })?;
        Ok(Label { action, chunk })
    }

    /// Hand the step's label to the recorder.
    pub(super) fn publish(&self, label: Label) {
        *self.slot.borrow_mut() = Some(label);
    }
}

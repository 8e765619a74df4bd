//! The control loop: one tick per control period on a [`Clock`]. Each tick takes finished
//! chunks from the inference worker, decides (measured, logged) whether to start the next
//! inference, picks the action from the chunk scheduler, passes it through the safety layer
//! and hands the command to the actuator sink. The worker runs elsewhere (its own thread, a
//! policy server) and talks to the loop over two bounded channels, so a slow, stalled or
//! crashed policy can only ever make the loop hold.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Duration;

use ddvla_policy::position_target::PositionTarget;
use ddvla_policy::skill_prompt::{SkillCounter, SkillPromptConfig};

use super::latency_tracker::LatencyTracker;
use super::safety::{HoldReason, Proposal, SafetyCounts, SafetyLayer, TickContext};
use super::schedule::{Chunk, ChunkScheduler, Trigger};
use super::time::{Clock, MonoNs};

/// What the worker is asked to compute.
#[derive(Debug, Clone)]
pub struct InferenceRequest<O> {
    /// The observation (shared, not copied).
    pub observation: Arc<O>,
    /// The instruction in force.
    pub instruction: Arc<str>,
    /// The tick the observation belongs to (the chunk's `start_tick`).
    pub start_tick: u64,
    /// Time left before the queue runs dry: a budget for anytime decoding.
    pub budget: Duration,
}

/// What the worker answers.
#[derive(Debug, Clone)]
pub struct InferenceResult {
    /// The request's tick.
    pub start_tick: u64,
    /// The chunk, or why there is none.
    pub chunk: Result<Chunk, String>,
}

/// Loop settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopConfig {
    /// Control period.
    pub period: Duration,
    /// An inference running longer than this is a stall: it is abandoned (counted) and the
    /// loop holds when its queue is empty.
    pub max_inference: Duration,
    /// After a policy error, wait this long before asking again.
    pub retry_after_error: Duration,
}

/// Counters of the loop (besides the safety layer's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoopCounts {
    /// Ticks run.
    pub ticks: u64,
    /// Inferences started.
    pub requests: u64,
    /// Chunks accepted.
    pub chunks: u64,
    /// Chunks refused (stale, wrong shape, out of order).
    pub rejected_chunks: u64,
    /// Policy errors reported by the worker.
    pub policy_errors: u64,
    /// Inferences abandoned for running past `max_inference`.
    pub stalls: u64,
    /// Requests the worker could not take (it was still busy).
    pub worker_busy: u64,
    /// Queued actions flushed by a new instruction or an e-stop.
    pub flushes: u64,
    /// Chunks an anytime decoder cut short to meet their deadline (accepted or not).
    pub deadline_cuts: u64,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TickReport {
    /// The tick index.
    pub tick: u64,
    /// The trigger decision.
    pub trigger: Trigger,
    /// The hold reason if the command was the hold command.
    pub held: Option<HoldReason>,
    /// The observation tick of a chunk accepted during this tick.
    pub accepted: Option<u64>,
}

/// Receives each tick's command.
pub trait ActuatorSink {
    /// Send `command` for `tick` (`held` tells why it is the hold command).
    fn send(&mut self, tick: u64, command: &[f32], held: Option<HoldReason>);
}

/// The control loop state.
pub struct ControlLoop<O> {
    config: LoopConfig,
    scheduler: ChunkScheduler,
    safety: SafetyLayer,
    latency: LatencyTracker,
    requests: SyncSender<InferenceRequest<O>>,
    results: Receiver<InferenceResult>,
    observation: Option<(Arc<O>, MonoNs)>,
    instruction: Arc<str>,
    ee_position_m: Option<[f64; 3]>,
    in_flight: Option<(u64, MonoNs)>,
    abandoned: Option<u64>,
    error_until: Option<MonoNs>,
    last_error: bool,
    action: Vec<f32>,
    command: Vec<f32>,
    raw_chunk: Option<Chunk>,
    /// The newest deadline-cut result: (start tick, rounds run).
    last_cut: Option<(u64, usize)>,
    /// Latency of the newest inference that came back (or was abandoned).
    last_latency: Option<Duration>,
    tick: u64,
    /// The tick at which the instruction in force was set.
    instruction_tick: u64,
    counts: LoopCounts,
    /// With a model whose instruction names the task's part: the skills the commands sent
    /// under the instruction in force finished, and the count the newest request named.
    skills: Option<(SkillCounter, Option<u32>)>,
    /// With a model whose actions are target positions: how each is turned into the delta
    /// sent at its tick, from the newest observation's `ee_position_m`.
    targets: Option<PositionTarget>,
}

impl<O> ControlLoop<O> {
    /// A loop over `scheduler` and `safety`, talking to a worker over the two channels.
    pub fn new(
        config: LoopConfig,
        scheduler: ChunkScheduler,
        safety: SafetyLayer,
        latency: LatencyTracker,
        requests: SyncSender<InferenceRequest<O>>,
        results: Receiver<InferenceResult>,
    ) -> Self {
        let dim = safety.last_command().len();
        Self {
            config,
            scheduler,
            safety,
            latency,
            requests,
            results,
            observation: None,
            instruction: Arc::from(""),
            ee_position_m: None,
            in_flight: None,
            abandoned: None,
            error_until: None,
            last_error: false,
            action: vec![0.0; dim],
            command: vec![0.0; dim],
            raw_chunk: None,
            last_cut: None,
            last_latency: None,
            tick: 0,
            instruction_tick: 0,
            counts: LoopCounts::default(),
            skills: None,
            targets: None,
        }
    }

    /// Execute the model's first three action values as target positions under `target`:
    /// each sent as the delta from the end-effector position given with the newest
    /// observation ([`Self::observe`]); with none the loop holds (stale observation).
    pub fn set_position_target(&mut self, target: PositionTarget) {
        self.targets = Some(target);
    }

    /// The position-target setting the loop executes actions under, if any.
    pub fn position_target(&self) -> Option<PositionTarget> {
        self.targets
    }

    /// Count the skills the sent commands finish, and ask the policy with the instruction of
    /// the part reached ([`ddvla_policy::skill_prompt`]).
    pub fn set_skill_prompt(&mut self, prompt: SkillPromptConfig) {
        self.skills = Some((prompt.counter(), None));
    }

    /// With a skill prompt: the skills finished when the newest request was made.
    pub fn last_request_skills_done(&self) -> Option<u32> {
        self.skills.as_ref().and_then(|(_, done)| *done)
    }

    /// A new observation received at `at`, with the end effector's position then (m), when
    /// known: the workspace box and position-target execution read it.
    pub fn observe(&mut self, observation: Arc<O>, at: MonoNs, ee_position_m: Option<[f64; 3]>) {
        self.observation = Some((observation, at));
        self.ee_position_m = ee_position_m;
    }

    /// A new instruction: queued actions of the old one are flushed (and, with a skill
    /// prompt, the count of finished skills starts over).
    pub fn set_instruction(&mut self, instruction: &str) {
        if *self.instruction != *instruction {
            self.instruction = Arc::from(instruction);
            self.instruction_tick = self.tick;
            if let Some((counter, _)) = self.skills.as_mut() {
                counter.reset();
            }
            self.flush("new instruction");
        }
    }

    /// Latch (`true`) or clear the e-stop; latching flushes queued actions.
    pub fn set_estop(&mut self, on: bool) {
        if on {
            self.safety.estop();
            self.flush("e-stop");
        } else {
            self.safety.clear_estop();
        }
    }

    fn flush(&mut self, why: &str) {
        self.scheduler.flush();
        // A chunk in flight belongs to the old state: its result will be refused.
        self.abandoned = self.in_flight.take().map(|(t, _)| t).or(self.abandoned);
        self.counts.flushes += 1;
        tracing::info!(why, "flushed queued actions");
    }

    /// The instruction in force.
    pub fn instruction(&self) -> &str {
        &self.instruction
    }

    /// The policy's output for the newest accepted chunk, before any blending.
    pub fn last_raw_chunk(&self) -> Option<&Chunk> {
        self.raw_chunk.as_ref()
    }

    /// The newest result an anytime decoder cut short, as (start tick, rounds run); with
    /// [`LoopCounts::deadline_cuts`] telling when a new one arrived.
    pub fn last_deadline_cut(&self) -> Option<(u64, usize)> {
        self.last_cut
    }

    /// The latency of the newest inference that came back (request to arrival).
    pub fn last_inference_latency(&self) -> Option<Duration> {
        self.last_latency
    }

    /// The command of the newest tick (after the safety layer: what was sent).
    pub fn last_command(&self) -> &[f32] {
        &self.command
    }

    /// The newest accepted chunk (after RTC blending: what will execute).
    pub fn newest_chunk(&self) -> Option<&Chunk> {
        self.scheduler.newest()
    }

    /// Loop counters.
    pub fn counts(&self) -> LoopCounts {
        self.counts
    }

    /// Safety counters.
    pub fn safety_counts(&self) -> SafetyCounts {
        self.safety.counts()
    }

    /// The next tick's index.
    pub fn tick_index(&self) -> u64 {
        self.tick
    }

    /// Ticks since the instruction in force was set (the episode step of a model that takes
    /// it: 0 at the first tick of a new instruction).
    pub fn ticks_since_instruction(&self) -> u64 {
        self.tick.saturating_sub(self.instruction_tick)
    }

    /// The measured p95 inference latency (or the initial estimate).
    pub fn latency_p95(&mut self) -> Duration {
        self.latency.quantile(0.95)
    }

    fn take_results(&mut self, now: MonoNs) -> Option<u64> {
        let mut accepted = None;
        while let Ok(result) = self.results.try_recv() {
            if let Ok(Chunk {
                rounds_cut: Some(rounds),
                ..
            }) = &result.chunk
            {
                self.last_cut = Some((result.start_tick, *rounds));
                self.counts.deadline_cuts += 1;
            }
            if self.abandoned == Some(result.start_tick) {
                self.abandoned = None;
                continue;
            }
            if let Some((start, sent)) = self.in_flight
                && start == result.start_tick
            {
                self.in_flight = None;
                self.latency.record(now.since(sent));
                self.last_latency = Some(now.since(sent));
            }
            match result.chunk {
                Ok(chunk) => match self.scheduler.accept(chunk.clone(), self.tick) {
                    Ok(_) => {
                        self.counts.chunks += 1;
                        self.last_error = false;
                        accepted = Some(result.start_tick);
                        self.raw_chunk = Some(chunk);
                    }
                    Err(e) => {
                        self.counts.rejected_chunks += 1;
                        tracing::warn!(error = %e, "chunk refused");
                    }
                },
                Err(e) => {
                    self.counts.policy_errors += 1;
                    tracing::error!(error = %e, "policy error: holding");
                    self.scheduler.flush();
                    self.last_error = true;
                    self.error_until = Some(now.plus(self.config.retry_after_error));
                }
            }
        }
        if let Some((start, sent)) = self.in_flight
            && now.since(sent) > self.config.max_inference
        {
            self.counts.stalls += 1;
            tracing::error!(start_tick = start, "inference stalled: abandoned");
            self.in_flight = None;
            self.abandoned = Some(start);
            self.latency.record(now.since(sent));
        }
        accepted
    }

    /// Run one tick at `now`, sending its command to `sink`.
    pub fn tick(&mut self, now: MonoNs, sink: &mut dyn ActuatorSink) -> TickReport {
        let tick = self.tick;
        let accepted = self.take_results(now);
        let latency_ticks = self.latency.p95_ticks(self.config.period);
        let waiting_after_error = self.error_until.is_some_and(|t| now < t);
        let mut trigger = self.scheduler.trigger(
            tick,
            self.in_flight.is_some() || self.abandoned.is_some(),
            latency_ticks,
        );
        if trigger.requests() && !waiting_after_error && !self.safety.estopped() {
            self.request(tick, now);
        } else if trigger.requests() {
            trigger = Trigger::Enough;
        }
        let mut has_action = self.scheduler.next_action(tick, &mut self.action);
        // A position-target action is sent as the delta from the newest observed position:
        // without one the observation is unusable (a stale-observation hold).
        let mut position_missing = false;
        if let Some(t) = self.targets.filter(|_| has_action) {
            if let Some(p) = self.ee_position_m {
                // A target that is not finite is left as it is, and one whose delta
                // overflows left infinite (the error says only that), for the safety layer
                // to refuse by name.
                let _ = t.delta_from_target(&mut self.action, p.map(|v| v as f32));
            } else {
                position_missing = true;
                has_action = false;
            }
        }
        let proposal = if self.last_error {
            Proposal::PolicyError
        } else if has_action {
            Proposal::Action(&self.action)
        } else {
            Proposal::Nothing
        };
        let ctx = TickContext {
            now,
            newest_observation: self
                .observation
                .as_ref()
                .map(|(_, t)| *t)
                .filter(|_| !position_missing),
            ee_position_m: self.ee_position_m,
        };
        let held = self.safety.filter(proposal, &ctx, &mut self.command);
        sink.send(tick, &self.command, held);
        if let Some((counter, _)) = self.skills.as_mut()
            && !self.instruction.is_empty()
        {
            counter.push(&self.command);
        }
        self.tick += 1;
        self.counts.ticks += 1;
        TickReport {
            tick,
            trigger,
            held,
            accepted,
        }
    }

    fn request(&mut self, tick: u64, now: MonoNs) {
        let Some((observation, _)) = &self.observation else {
            return;
        };
        let left = self.scheduler.actions_left(tick);
        let instruction = match self.skills.as_mut() {
            Some((counter, done)) => {
                *done = Some(counter.skills_done());
                Arc::from(counter.instruction(&self.instruction))
            }
            None => Arc::clone(&self.instruction),
        };
        let request = InferenceRequest {
            observation: Arc::clone(observation),
            instruction,
            start_tick: tick,
            budget: self.config.period * u32::try_from(left).unwrap_or(u32::MAX),
        };
        match self.requests.try_send(request) {
            Ok(()) => {
                self.in_flight = Some((tick, now));
                self.scheduler.requested(tick);
                self.counts.requests += 1;
            }
            Err(TrySendError::Full(_)) => self.counts.worker_busy += 1,
            Err(TrySendError::Disconnected(_)) => {
                if !self.last_error {
                    tracing::error!("inference worker is gone: holding");
                }
                self.counts.policy_errors += 1;
                self.last_error = true;
            }
        }
    }

    /// Run ticks on `clock` until `ticks` have run, sleeping to each tick's deadline; `before_tick`
    /// runs first in every tick (feed observations, instructions, e-stops). Returns each
    /// tick's lateness (ns past its deadline) for jitter statistics.
    pub fn run(
        &mut self,
        clock: &dyn Clock,
        ticks: u64,
        sink: &mut dyn ActuatorSink,
        mut before_tick: impl FnMut(&mut Self, MonoNs),
    ) -> Vec<u64> {
        let mut lateness_ns = Vec::with_capacity(usize::try_from(ticks).unwrap_or(0));
        let start = clock.now();
        for i in 0..ticks {
            let deadline = start.plus(self.config.period * u32::try_from(i).unwrap_or(u32::MAX));
            clock.sleep_until(deadline);
            let now = clock.now();
            lateness_ns.push(now.0.saturating_sub(deadline.0));
            before_tick(self, now);
            self.tick(now, sink);
        }
        lateness_ns
    }
}

#[cfg(test)]
#[path = "control_loop_tests.rs"]
mod tests;

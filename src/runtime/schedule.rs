//! Chunk scheduling: which action goes out at each control tick, and when to ask for the
//! next chunk.
//!
//! Every chunk is time-aligned: action `k` of a chunk computed from the observation of tick
//! `s` is meant for tick `s + k`. When a chunk arrives at tick `t`, the `t - s` actions that
//! were executed meanwhile are *measured*, not estimated, and skipped (the stale-delay bug of
//! other runtimes). Strategies:
//! - execute-then-replan (LIBERO): finish the current chunk, then switch;
//! - receding horizon: switch as soon as a new chunk arrives, replan every `k` actions;
//! - temporal ensembling (ACT): exponentially weighted mean of every chunk covering the tick,
//!   the oldest weighted most;
//! - RTC-style: the actions executed during inference are frozen (by alignment) and the rest
//!   of the new chunk is blended from the old one with exponentially decaying weights.
//!
//! The trigger asks for inference when the actions left cover no more than the measured p95
//! latency, so a chunk that can be ready in time is never late at a chunk boundary.

use std::collections::VecDeque;
use std::sync::Arc;

use ddvla_policy::decode::DecodeTrace;

use serde::{Deserialize, Serialize};

/// A chunk of `horizon` actions of `dim` values (row-major), for ticks `start_tick ..`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The tick whose observation the chunk was computed from.
    pub start_tick: u64,
    /// Actions in the chunk.
    pub horizon: usize,
    /// Values per action.
    pub dim: usize,
    /// `horizon × dim` values.
    pub actions: Vec<f32>,
    /// When an anytime decoder cut the chunk short to meet its deadline: the rounds it ran
    /// (recorded so `ddvla replay` reproduces the chunk; a remote policy server reports it
    /// too). `None`: every round ran.
    pub rounds_cut: Option<usize>,
    /// The decoder's round-by-round trace (committed and re-masked slots), shared rather than
    /// copied, for the rerun view of `ddvla serve`; `None` from a remote policy server.
    pub trace: Option<Arc<DecodeTrace>>,
}

impl Chunk {
    /// Action `k` (for tick `start_tick + k`).
    pub fn action(&self, k: usize) -> &[f32] {
        &self.actions[k * self.dim..(k + 1) * self.dim]
    }

    /// The action for `tick`, if the chunk covers it.
    pub fn at(&self, tick: u64) -> Option<&[f32]> {
        let k = usize::try_from(tick.checked_sub(self.start_tick)?).ok()?;
        (k < self.horizon).then(|| self.action(k))
    }

    /// The first tick after the chunk.
    pub fn end_tick(&self) -> u64 {
        self.start_tick + self.horizon as u64
    }
}

/// How chunks become actions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Strategy {
    /// Execute every action of a chunk, then switch to the next (LIBERO's protocol).
    ExecuteThenReplan,
    /// Switch on arrival; ask for a new chunk every `replan_every` executed actions.
    RecedingHorizon {
        /// Actions executed from a chunk before the next is due.
        replan_every: usize,
    },
    /// Weighted mean over all chunks covering a tick, weight `exp(-decay · i)` for the i-th
    /// oldest (ACT uses decay 0.01).
    TemporalEnsemble {
        /// Exponential weight decay per newer chunk.
        decay: f32,
        /// Ask for a chunk every this many ticks.
        replan_every: usize,
        /// The last this many values of each action (a gripper's open/close command) come
        /// from the newest chunk covering the tick instead of the mean, so a switch is not
        /// blurred across overlapping chunks. 0 (default): every value is averaged.
        #[serde(default)]
        newest_dims: usize,
    },
    /// Real-time-chunking style stitching: replan every `replan_every` actions; the first
    /// `blend_steps` not-yet-executed actions of a new chunk are pulled towards the old
    /// chunk with weight `decay^j`.
    Rtc {
        /// Actions executed from a chunk before the next is due.
        replan_every: usize,
        /// Actions of the overlap blended with the old chunk.
        blend_steps: usize,
        /// Weight of the old chunk's action at overlap step j is `decay^j` (0 < decay < 1).
        decay: f32,
    },
}

/// Why the scheduler asks, or does not ask, for inference now (telemetry, never silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Ask now: no actions queued.
    Empty,
    /// Ask now: the actions left cover only the measured latency.
    RunningDry,
    /// Ask now: the strategy's replanning interval is reached.
    Replan,
    /// Wait: an inference is already running.
    InFlight,
    /// Wait: a chunk is queued behind the current one.
    ChunkQueued,
    /// Wait: enough actions are queued.
    Enough,
}

impl Trigger {
    /// Whether this decision starts an inference.
    pub fn requests(self) -> bool {
        matches!(self, Self::Empty | Self::RunningDry | Self::Replan)
    }
}

/// Why a chunk was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChunkRejected {
    /// Shape differs from the scheduler's.
    #[error("chunk has {got} values, expected horizon {horizon} × dim {dim}")]
    Shape {
        /// Values in the chunk.
        got: usize,
        /// Expected horizon.
        horizon: usize,
        /// Expected dim.
        dim: usize,
    },
    /// Every action is already in the past.
    #[error(
        "chunk from tick {start_tick} arrived at tick {now_tick}: all {horizon} actions are stale"
    )]
    Stale {
        /// Observation tick.
        start_tick: u64,
        /// Arrival tick.
        now_tick: u64,
        /// Horizon.
        horizon: usize,
    },
    /// From an observation older than the chunk already in use.
    #[error("chunk from tick {start_tick} is older than the one in use (tick {current})")]
    OutOfOrder {
        /// Observation tick.
        start_tick: u64,
        /// Current chunk's tick.
        current: u64,
    },
}

/// Turns chunks into one action per tick.
#[derive(Debug, Clone)]
pub struct ChunkScheduler {
    strategy: Strategy,
    horizon: usize,
    dim: usize,
    /// Active chunk first; execute-then-replan keeps the next one queued behind it;
    /// ensembling keeps every chunk that still covers the present.
    chunks: VecDeque<Chunk>,
    last_request_tick: Option<u64>,
}

impl ChunkScheduler {
    /// A scheduler for chunks of `horizon` actions of `dim` values.
    pub fn new(strategy: Strategy, horizon: usize, dim: usize) -> Self {
        Self {
            strategy,
            horizon,
            dim,
            chunks: VecDeque::with_capacity(horizon + 1),
            last_request_tick: None,
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The newest chunk held.
    pub fn newest(&self) -> Option<&Chunk> {
        self.chunks.back()
    }

    /// Forget every queued action (a new instruction, an e-stop).
    pub fn flush(&mut self) {
        self.chunks.clear();
        self.last_request_tick = None;
    }

    /// Take a chunk that arrived at `now_tick`. Returns how many of its actions were already
    /// executed while it was computed (skipped by alignment).
    pub fn accept(&mut self, mut chunk: Chunk, now_tick: u64) -> Result<usize, ChunkRejected> {
        if chunk.dim != self.dim
            || chunk.horizon != self.horizon
            || chunk.actions.len() != self.horizon * self.dim
        {
            return Err(ChunkRejected::Shape {
                got: chunk.actions.len(),
                horizon: self.horizon,
                dim: self.dim,
            });
        }
        if chunk.end_tick() <= now_tick {
            return Err(ChunkRejected::Stale {
                start_tick: chunk.start_tick,
                now_tick,
                horizon: self.horizon,
            });
        }
        if let Some(newest) = self.chunks.back()
            && chunk.start_tick < newest.start_tick
        {
            return Err(ChunkRejected::OutOfOrder {
                start_tick: chunk.start_tick,
                current: newest.start_tick,
            });
        }
        let consumed = usize::try_from(now_tick.saturating_sub(chunk.start_tick)).unwrap_or(0);
        self.drop_finished(now_tick);
        match self.strategy {
            Strategy::ExecuteThenReplan => {
                if self.chunks.front().is_some_and(|c| c.end_tick() > now_tick) {
                    self.chunks.truncate(1);
                    self.chunks.push_back(chunk);
                } else {
                    self.chunks.clear();
                    self.chunks.push_back(chunk);
                }
            }
            Strategy::RecedingHorizon { .. } => {
                self.chunks.clear();
                self.chunks.push_back(chunk);
            }
            Strategy::TemporalEnsemble { .. } => self.chunks.push_back(chunk),
            Strategy::Rtc {
                blend_steps, decay, ..
            } => {
                if let Some(old) = self.chunks.front() {
                    blend_into(&mut chunk, old, consumed, blend_steps, decay);
                }
                self.chunks.clear();
                self.chunks.push_back(chunk);
            }
        }
        Ok(consumed)
    }

    fn drop_finished(&mut self, tick: u64) {
        while self.chunks.front().is_some_and(|c| c.end_tick() <= tick) {
            self.chunks.pop_front();
        }
    }

    /// Write the action for `tick` into `out` (length `dim`); `false` when nothing covers the
    /// tick (the caller holds). No allocation.
    pub fn next_action(&mut self, tick: u64, out: &mut [f32]) -> bool {
        self.drop_finished(tick);
        match self.strategy {
            Strategy::TemporalEnsemble {
                decay, newest_dims, ..
            } => {
                out.fill(0.0);
                let mut total = 0.0_f32;
                let mut weight = 1.0_f32;
                for chunk in &self.chunks {
                    if let Some(action) = chunk.at(tick) {
                        for (o, a) in out.iter_mut().zip(action) {
                            *o += weight * a;
                        }
                        total += weight;
                    }
                    weight *= (-decay).exp();
                }
                if total > 0.0 {
                    for o in out.iter_mut() {
                        *o /= total;
                    }
                }
                let from = out.len() - newest_dims.min(out.len());
                if from < out.len()
                    && let Some(action) = self.chunks.iter().rev().find_map(|c| c.at(tick))
                {
                    out[from..].copy_from_slice(&action[from..]);
                }
                total > 0.0
            }
            _ => match self.chunks.front().and_then(|c| c.at(tick)) {
                Some(action) => {
                    out.copy_from_slice(action);
                    true
                }
                None => false,
            },
        }
    }

    /// Actions queued from `tick` on (the newest chunk's end).
    pub fn actions_left(&self, tick: u64) -> usize {
        let end = self.chunks.iter().map(Chunk::end_tick).max().unwrap_or(0);
        usize::try_from(end.saturating_sub(tick)).unwrap_or(usize::MAX)
    }

    /// Decide whether to start an inference at `tick`, given whether one is running and the
    /// measured p95 latency in ticks.
    pub fn trigger(&self, tick: u64, in_flight: bool, latency_ticks: usize) -> Trigger {
        if in_flight {
            return Trigger::InFlight;
        }
        let left = self.actions_left(tick);
        if left == 0 {
            return Trigger::Empty;
        }
        let executed = self.chunks.back().map_or(0, |c| {
            usize::try_from(tick.saturating_sub(c.start_tick)).unwrap_or(0)
        });
        match self.strategy {
            Strategy::ExecuteThenReplan if self.chunks.len() > 1 => Trigger::ChunkQueued,
            _ if left <= latency_ticks + 1 => Trigger::RunningDry,
            Strategy::RecedingHorizon { replan_every } | Strategy::Rtc { replan_every, .. }
                if executed + latency_ticks >= replan_every =>
            {
                Trigger::Replan
            }
            Strategy::TemporalEnsemble { replan_every, .. }
                if self
                    .last_request_tick
                    .is_none_or(|t| tick >= t + replan_every as u64) =>
            {
                Trigger::Replan
            }
            _ => Trigger::Enough,
        }
    }

    /// Note that an inference was started at `tick`.
    pub fn requested(&mut self, tick: u64) {
        self.last_request_tick = Some(tick);
    }
}

/// RTC-style stitching: for the first `blend_steps` actions of `new` that are not yet
/// executed (from index `consumed`), `new = w·old + (1 − w)·new` with `w = decay^j`.
fn blend_into(new: &mut Chunk, old: &Chunk, consumed: usize, blend_steps: usize, decay: f32) {
    let dim = new.dim;
    let mut weight = 1.0_f32;
    for j in 0..blend_steps {
        let k = consumed + j;
        if k >= new.horizon {
            break;
        }
        let Some(previous) = old.at(new.start_tick + k as u64) else {
            break;
        };
        for (n, o) in new.actions[k * dim..(k + 1) * dim].iter_mut().zip(previous) {
            *n = weight * o + (1.0 - weight) * *n;
        }
        weight *= decay;
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;

//! The inference worker: a thread that owns the policy and a decoder, takes requests from the
//! control loop and answers with time-aligned chunks. With an anytime decoder (diffusion),
//! the request's budget (time until the loop's queue runs dry) becomes the decode deadline.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use ddvla_policy::Policy;
use ddvla_policy::decode::{self, DecoderKind};
use ddvla_policy::observation::Observation;

use super::control_loop::{InferenceRequest, InferenceResult};
use super::schedule::Chunk;

/// The loop's ends of a running worker.
pub struct WorkerHandle {
    /// Requests to the worker (capacity 1: one inference at a time).
    pub requests: SyncSender<InferenceRequest<Observation>>,
    /// Its answers.
    pub results: Receiver<InferenceResult>,
    /// The thread; it ends when `requests` is dropped.
    pub thread: JoinHandle<()>,
}

/// Start a worker thread running `policy` with a `decoder` seeded by `seed`.
pub fn spawn_policy_worker(
    policy: Policy,
    decoder: DecoderKind,
    seed: u64,
) -> Result<WorkerHandle> {
    let (requests, inbox) = sync_channel::<InferenceRequest<Observation>>(1);
    let (answers, results) = sync_channel::<InferenceResult>(2);
    let anytime = matches!(
        decoder,
        DecoderKind::Diffusion | DecoderKind::DiffusionCached
    );
    let thread = std::thread::Builder::new()
        .name("ddvla-inference".into())
        .spawn(move || {
            let mut decoder = decode::build(decoder, seed);
            while let Ok(request) = inbox.recv() {
                let _span =
                    tracing::info_span!("inference", start_tick = request.start_tick).entered();
                let mut observation = (*request.observation).clone();
                if !request.instruction.is_empty() {
                    observation.instruction = request.instruction.to_string();
                }
                let budget = (anytime && !request.budget.is_zero()).then_some(request.budget);
                let chunk = policy
                    .act(&observation, decoder.as_mut(), budget)
                    .map(|out| Chunk {
                        start_tick: request.start_tick,
                        horizon: out.chunk_len,
                        dim: out.action_dim,
                        rounds_cut: out.trace.deadline_hit.then_some(out.trace.rounds.len()),
                        actions: out.actions,
                        trace: Some(Arc::new(out.trace)),
                    })
                    .map_err(|e| e.to_string());
                let result = InferenceResult {
                    start_tick: request.start_tick,
                    chunk,
                };
                if answers.send(result).is_err() {
                    break; // the loop is gone
                }
            }
        })
        .context("spawning the inference worker")?;
    Ok(WorkerHandle {
        requests,
        results,
        thread,
    })
}

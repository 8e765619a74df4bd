//! Policy server / robot client split over zenoh: a GPU machine runs the policy behind two
//! queryables (`<prefix>/describe`, `<prefix>/infer`); the robot's control loop talks to it
//! through a worker with the same channels as the local one, so the robot keeps its clock,
//! scheduler and safety layer, and a server that disappears only makes it hold.
//! Requests and responses are CDR with schemas ([`msgs`]); nothing executable is exchanged.

pub mod msgs;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{TrySendError, sync_channel};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use ddvla_bridge::msg::sensor::Image;
use ddvla_bridge::msg::std::Header;
use ddvla_bridge::{decode_limited, encode};
use ddvla_policy::Policy;
use ddvla_policy::decode::{self, DecodeTrace, DecoderKind};
use ddvla_policy::observation::{CameraImage, Observation};
use msgs::{InferenceRequestMsg, InferenceResponseMsg, ModelShape};
use zenoh::Wait;

use crate::runtime::control_loop::{InferenceRequest, InferenceResult};
use crate::runtime::schedule::Chunk;
use crate::runtime::worker::WorkerHandle;

/// Largest request accepted by the server (eight 1080p RGB frames fit).
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// The shapes a policy's model takes and produces.
pub fn shape_of(policy: &Policy) -> ModelShape {
    let file = &policy.model().config().file;
    ModelShape {
        cameras: file.num_images_in_input,
        image_size: file.vision.image_size,
        proprio_dim: file.proprio_dim - usize::from(file.episode_step_input),
        episode_step_input: file.episode_step_input,
        skill_prompt: file.skill_prompt.clone(),
        action_position_target: file.action_position_target,
        chunk_len: file.action.chunk_len,
        action_dim: file.action.action_dim,
        trained: policy.is_trained(),
    }
}

fn answer(
    policy: &Policy,
    decoder: &mut dyn decode::Decoder,
    anytime: bool,
    payload: &[u8],
) -> InferenceResponseMsg {
    let request = match decode_limited::<InferenceRequestMsg>(payload, MAX_REQUEST_BYTES) {
        Ok(r) => r,
        Err(e) => {
            return InferenceResponseMsg {
                error: format!("bad request: {e}"),
                ..InferenceResponseMsg::default()
            };
        }
    };
    let start_tick = request.start_tick;
    let fail = |error: String| InferenceResponseMsg {
        start_tick,
        error,
        ..InferenceResponseMsg::default()
    };
    let mut images = Vec::with_capacity(request.images.len());
    for image in &request.images {
        match image.to_rgb8() {
            Ok(rgb) => images.push(CameraImage {
                width: image.width as usize,
                height: image.height as usize,
                rgb,
            }),
            Err(e) => return fail(format!("bad image: {e}")),
        }
    }
    let observation = Observation {
        images,
        instruction: request.instruction,
        proprio: request.proprio,
    };
    let budget =
        (anytime && request.budget_ns > 0).then(|| Duration::from_nanos(request.budget_ns));
    match policy.act(&observation, decoder, budget) {
        Ok(out) => InferenceResponseMsg {
            start_tick,
            error: String::new(),
            horizon: u32::try_from(out.chunk_len).unwrap_or(0),
            action_dim: u32::try_from(out.action_dim).unwrap_or(0),
            rounds_cut: if out.trace.deadline_hit {
                u32::try_from(out.trace.rounds.len().max(1)).unwrap_or(u32::MAX)
            } else {
                0
            },
            actions: out.actions,
            // Serialising plain numbers and strings cannot fail; an empty trace if it did.
            trace_json: serde_json::to_string(&out.trace).unwrap_or_default(),
        },
        Err(e) => fail(e.to_string()),
    }
}

/// Serve `policy` on `<prefix>/describe` and `<prefix>/infer` until `stop` is set. Requests
/// are answered one at a time in arrival order; one arriving while four wait is refused
/// with an error response (the robot then holds and retries).
pub fn serve_policy(
    session: &zenoh::Session,
    prefix: &str,
    policy: &Policy,
    decoder: DecoderKind,
    seed: u64,
    stop: &AtomicBool,
) -> Result<()> {
    let shape = serde_json::to_string(&shape_of(policy))?;
    let _describe = session
        .declare_queryable(format!("{prefix}/describe"))
        .callback(move |query| {
            if let Err(e) = query.reply(query.key_expr().clone(), shape.clone()).wait() {
                tracing::warn!(error = %e, "describe reply failed");
            }
        })
        .wait()
        .map_err(|e| anyhow!("declaring {prefix}/describe: {e}"))?;
    let (queue, queries) = sync_channel::<zenoh::query::Query>(4);
    let _infer = session
        .declare_queryable(format!("{prefix}/infer"))
        .callback(move |query| {
            if let Err(TrySendError::Full(query) | TrySendError::Disconnected(query)) =
                queue.try_send(query)
            {
                let busy = InferenceResponseMsg {
                    error: "policy server busy".into(),
                    ..InferenceResponseMsg::default()
                };
                if let Ok(bytes) = encode(&busy) {
                    let _ = query.reply(query.key_expr().clone(), bytes).wait();
                }
            }
        })
        .wait()
        .map_err(|e| anyhow!("declaring {prefix}/infer: {e}"))?;
    let anytime = matches!(
        decoder,
        DecoderKind::Diffusion | DecoderKind::DiffusionCached
    );
    let mut decoder = decode::build(decoder, seed);
    tracing::info!(%prefix, "policy server up");
    while !stop.load(Ordering::Relaxed) {
        let Ok(query) = queries.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let payload = query
            .payload()
            .map(|p| p.to_bytes().into_owned())
            .unwrap_or_default();
        let response = answer(policy, decoder.as_mut(), anytime, &payload);
        if !response.error.is_empty() {
            tracing::warn!(error = %response.error, "inference request failed");
        }
        match encode(&response) {
            Ok(bytes) => {
                if let Err(e) = query.reply(query.key_expr().clone(), bytes).wait() {
                    tracing::warn!(error = %e, "inference reply failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "encoding the response failed"),
        }
    }
    Ok(())
}

/// Ask the server at `prefix` for its model's shapes.
pub fn describe(session: &zenoh::Session, prefix: &str, timeout: Duration) -> Result<ModelShape> {
    let replies = session
        .get(format!("{prefix}/describe"))
        .timeout(timeout)
        .wait()
        .map_err(|e| anyhow!("querying {prefix}/describe: {e}"))?;
    let reply = replies
        .recv()
        .map_err(|_| anyhow!("no policy server answered {prefix}/describe within {timeout:?}"))?;
    let sample = reply
        .into_result()
        .map_err(|e| anyhow!("{prefix}/describe: error reply {e:?}"))?;
    serde_json::from_slice(&sample.payload().to_bytes()).context("parsing the describe reply")
}

fn remote_chunk(
    session: &zenoh::Session,
    key: &str,
    timeout: Duration,
    request: &InferenceRequest<Observation>,
) -> std::result::Result<Chunk, String> {
    let obs = &request.observation;
    let msg = InferenceRequestMsg {
        start_tick: request.start_tick,
        budget_ns: u64::try_from(request.budget.as_nanos()).unwrap_or(u64::MAX),
        instruction: if request.instruction.is_empty() {
            obs.instruction.clone()
        } else {
            request.instruction.to_string()
        },
        proprio: obs.proprio.clone(),
        images: obs
            .images
            .iter()
            .map(|i| {
                Image::rgb8(
                    Header::default(),
                    i.width as u32,
                    i.height as u32,
                    i.rgb.clone(),
                )
            })
            .collect(),
    };
    let bytes = encode(&msg).map_err(|e| e.to_string())?;
    let replies = session
        .get(key)
        .payload(bytes)
        .timeout(timeout)
        .wait()
        .map_err(|e| format!("querying {key}: {e}"))?;
    let reply = replies
        .recv()
        .map_err(|_| format!("policy server did not answer {key} within {timeout:?}"))?;
    let sample = reply
        .into_result()
        .map_err(|e| format!("{key}: error reply {e:?}"))?;
    let response = msgs::decode_response(&sample.payload().to_bytes(), MAX_REQUEST_BYTES)
        .map_err(|e| e.to_string())?;
    if !response.error.is_empty() {
        return Err(format!("policy server: {}", response.error));
    }
    Ok(Chunk {
        start_tick: request.start_tick,
        horizon: response.horizon as usize,
        dim: response.action_dim as usize,
        actions: response.actions,
        // The server's anytime decoder cut it short: counted by the loop and recorded, so
        // `ddvla replay` decodes it with the same round cap.
        rounds_cut: (response.rounds_cut > 0).then_some(response.rounds_cut as usize),
        trace: remote_trace(&response.trace_json, key),
    })
}

/// The server's remasking trace for the live view; a malformed one is dropped with a
/// warning (the chunk itself was validated and stays usable).
fn remote_trace(json: &str, key: &str) -> Option<Arc<DecodeTrace>> {
    if json.is_empty() {
        return None;
    }
    match serde_json::from_str::<DecodeTrace>(json) {
        Ok(trace) => Some(Arc::new(trace)),
        Err(e) => {
            tracing::warn!(%key, error = %e, "policy server sent an unreadable decode trace");
            None
        }
    }
}

/// A worker that forwards the loop's requests to the server at `prefix`, each bounded by
/// `timeout`; no answer in time is a policy error (the loop holds and retries).
pub fn spawn_remote_worker(
    session: zenoh::Session,
    prefix: &str,
    timeout: Duration,
) -> Result<WorkerHandle> {
    let (requests, inbox) = sync_channel::<InferenceRequest<Observation>>(1);
    let (answers, results) = sync_channel::<InferenceResult>(2);
    let key = format!("{prefix}/infer");
    let thread = std::thread::Builder::new()
        .name("ddvla-remote-inference".into())
        .spawn(move || {
            while let Ok(request) = inbox.recv() {
                let chunk = remote_chunk(&session, &key, timeout, &request);
                let result = InferenceResult {
                    start_tick: request.start_tick,
                    chunk,
                };
                if answers.send(result).is_err() {
                    break;
                }
            }
        })
        .context("spawning the remote inference worker")?;
    Ok(WorkerHandle {
        requests,
        results,
        thread,
    })
}

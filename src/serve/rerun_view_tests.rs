//! The live view writes every stream it documents, read back from an in-memory recording.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use candle_core::Device;
use ddvla_policy::Policy;
use ddvla_policy::decode::{self, DecoderKind};
use ddvla_policy::model::presets;
use rerun::log::LogMsg;

use super::*;
use crate::runtime::control_loop::LoopCounts;
use crate::runtime::safety::SafetyCounts;
use crate::runtime::schedule::{Chunk, Trigger};

/// Entity paths of everything logged.
fn entity_paths(messages: &[LogMsg]) -> BTreeSet<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            LogMsg::ArrowMsg(_, arrow) => arrow
                .batch
                .schema()
                .metadata()
                .get("rerun:entity_path")
                .cloned(),
            _ => None,
        })
        .collect()
}

#[test]
fn the_live_view_logs_inputs_chunks_traces_loop_safety_and_success() {
    let cfg = presets::preset("tiny").unwrap();
    let obs = crate::bench::synthetic_observation(&cfg);
    let policy = Policy::random(cfg, &Device::Cpu).unwrap();
    let mut decoder = decode::build(DecoderKind::Diffusion, 0);
    let out = policy.act(&obs, decoder.as_mut(), None).unwrap();
    let chunk = Chunk {
        start_tick: 3,
        horizon: out.chunk_len,
        dim: out.action_dim,
        actions: out.actions.clone(),
        rounds_cut: Some(2),
        trace: Some(Arc::new(out.trace.clone())),
    };

    let (rec, storage) = rerun::RecordingStreamBuilder::new("ddvla_serve_test")
        .memory()
        .unwrap();
    let mut view = RerunView::new(rec, false);
    let events = [
        Telemetry::Tick(TickSample::new(
            (0, MonoNs(1_000), 300_000),
            Some(HoldReason::NoAction),
            Trigger::Empty,
            &[0.0; 7],
        )),
        Telemetry::Request {
            tick: 0,
            observation: Arc::new(obs),
        },
        Telemetry::DeadlineCut {
            tick: 5,
            start_tick: 3,
            rounds: 2,
        },
        Telemetry::Chunk {
            tick: 5,
            chunk,
            latency: Some(Duration::from_millis(90)),
        },
        Telemetry::Tick(TickSample::new(
            (20, MonoNs(2_000_000_000), 50_000),
            None,
            Trigger::Enough,
            &[0.1; 7],
        )),
        Telemetry::Status {
            tick: 20,
            counts: LoopCounts {
                ticks: 21,
                ..LoopCounts::default()
            },
            safety: SafetyCounts::default(),
            inference_p95: Duration::from_millis(95),
            dropped: 0,
        },
        Telemetry::TaskEvent {
            tick: 21,
            text: r#"{"kind":"success","task":"libero_style_goal/turn_on_the_stove","step":20}"#
                .into(),
        },
    ];
    for e in &events {
        view.log(e).unwrap();
    }
    view.finish().unwrap();
    let paths = entity_paths(&storage.take());
    for expected in [
        "/camera/0",
        "/instruction",
        "/proprio/0",
        "/proprio/7",
        "/action/chunk/0",
        "/action/chunk/6",
        "/decode/remask_trace",
        "/decode/rounds_cut",
        "/decode/deadline_cut_rounds",
        "/loop/inference_latency_ms",
        "/loop/lateness_ms",
        "/loop/jitter/p99_ms",
        "/loop/jitter/max_ms",
        "/command/6",
        "/safety/holding",
        "/safety/hold_reason",
        "/loop/ticks",
        "/safety/estop",
        "/loop/inference_p95_ms",
        "/telemetry/dropped",
        "/events/task",
        "/events/success",
    ] {
        assert!(
            paths.contains(expected),
            "{expected} missing from {paths:?}"
        );
    }
}

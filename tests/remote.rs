//! Policy server / robot client over zenoh on loopback: the remote worker returns exactly the
//! chunk the local policy computes (same weights, decoder and seed), malformed requests get
//! error answers, and a server that is gone gives a timely policy error, never a hang.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use candle_core::Device;
use ddvla::bench::synthetic_observation;
use ddvla::remote::{describe, serve_policy, spawn_remote_worker};
use ddvla::runtime::control_loop::InferenceRequest;
use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport, free_loopback_port};
use ddvla_policy::Policy;
use ddvla_policy::decode::{self, DecoderKind};
use ddvla_policy::model::presets;
use zenoh::Wait;

fn node(name: &str, port: u16, listen: bool) -> ZenohTransport {
    ZenohTransport::open(&ZenohConfig::loopback(name, port, listen)).unwrap()
}

/// A tiny random-weight policy server at `ddvla/gpu` (diffusion-cached, seed 3).
fn spawn_server(session: zenoh::Session, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("server".into())
        .spawn(move || {
            let policy = Policy::random(presets::preset("tiny").unwrap(), &Device::Cpu).unwrap();
            serve_policy(
                &session,
                "ddvla/gpu",
                &policy,
                DecoderKind::DiffusionCached,
                3,
                &stop,
            )
            .unwrap();
        })
        .unwrap()
}

#[test]
fn remote_chunks_equal_local_ones_and_a_dead_server_is_an_error() {
    let port = free_loopback_port().unwrap();
    let server_node = node("gpu", port, true);
    let robot = node("robot", port, false);
    let cfg = presets::preset("tiny").unwrap();
    let observation = synthetic_observation(&cfg);
    let stop = Arc::new(AtomicBool::new(false));
    let server = spawn_server(server_node.session().clone(), Arc::clone(&stop));

    // Describe (retried while the server starts and routes form).
    let deadline = Instant::now() + Duration::from_secs(20);
    let shape = loop {
        match describe(robot.session(), "ddvla/gpu", Duration::from_millis(500)) {
            Ok(shape) => break shape,
            Err(e) if Instant::now() > deadline => panic!("{e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert_eq!(
        (shape.chunk_len, shape.action_dim, shape.trained),
        (8, 7, false)
    );

    let worker = spawn_remote_worker(
        robot.session().clone(),
        "ddvla/gpu",
        Duration::from_secs(10),
    )
    .unwrap();
    let request = InferenceRequest {
        observation: Arc::new(observation.clone()),
        instruction: Arc::from("put the bowl on the plate"),
        start_tick: 42,
        budget: Duration::ZERO,
    };
    worker.requests.send(request.clone()).unwrap();
    let result = worker
        .results
        .recv_timeout(Duration::from_secs(30))
        .unwrap();
    assert_eq!(result.start_tick, 42);
    let remote = result.chunk.unwrap();

    let local_policy = Policy::random(cfg, &Device::Cpu).unwrap();
    let mut decoder = decode::build(DecoderKind::DiffusionCached, 3);
    let mut local_obs = observation;
    local_obs.instruction = "put the bowl on the plate".into();
    let local = local_policy
        .act(&local_obs, decoder.as_mut(), None)
        .unwrap();
    assert_eq!(
        remote.actions, local.actions,
        "remote and local chunks differ"
    );
    assert_eq!(remote.rounds_cut, None, "no budget: every round ran");
    // The server's remasking trace comes with the chunk (the robot's live view draws it):
    // the same rounds, commits and bins as the local decode's, timings aside.
    let trace = remote
        .trace
        .as_ref()
        .expect("the server sends its decode trace");
    assert_eq!(trace.rounds.len(), local.trace.rounds.len());
    for (r, l) in trace.rounds.iter().zip(&local.trace.rounds) {
        assert_eq!(r.committed, l.committed, "round {}", r.round);
        assert_eq!(r.remasked, l.remasked, "round {}", r.round);
    }

    check_a_deadline_cut_is_reported(
        &worker,
        &request,
        &local_policy,
        &local_obs,
        decoder.as_mut(),
    );

    // Garbage on the wire gets an error answer, not a crash.
    let replies = robot
        .session()
        .get("ddvla/gpu/infer")
        .payload(vec![0_u8, 1, 0, 0, 0xff])
        .timeout(Duration::from_secs(5))
        .wait()
        .unwrap();
    let reply = replies.recv().unwrap().into_result().unwrap();
    let response: ddvla::remote::msgs::InferenceResponseMsg =
        ddvla_bridge::decode(&reply.payload().to_bytes()).unwrap();
    assert!(response.error.contains("bad request"), "{response:?}");

    // The server goes away: the next request fails within the timeout.
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    drop(server_node);
    let worker = spawn_remote_worker(
        robot.session().clone(),
        "ddvla/gpu",
        Duration::from_millis(500),
    )
    .unwrap();
    let started = Instant::now();
    worker.requests.send(request).unwrap();
    let result = worker
        .results
        .recv_timeout(Duration::from_secs(10))
        .unwrap();
    let error = result.chunk.unwrap_err();
    assert!(error.contains("did not answer"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A budget too short for a second round: the server's anytime decoder cuts the chunk short
/// and says after how many rounds, so the robot counts the cut (`Chunk::rounds_cut` feeds
/// `LoopCounts::deadline_cuts`) and replay can decode the same chunk with that round cap.
fn check_a_deadline_cut_is_reported(
    worker: &ddvla::runtime::worker::WorkerHandle,
    request: &InferenceRequest<ddvla_policy::observation::Observation>,
    local_policy: &Policy,
    local_obs: &ddvla_policy::observation::Observation,
    decoder: &mut dyn decode::Decoder,
) {
    let tight = InferenceRequest {
        start_tick: 43,
        budget: Duration::from_nanos(1),
        ..request.clone()
    };
    worker.requests.send(tight).unwrap();
    let result = worker
        .results
        .recv_timeout(Duration::from_secs(30))
        .unwrap();
    let cut = result.chunk.unwrap();
    let rounds = cut.rounds_cut.expect("the server reports the deadline cut");
    assert!(rounds >= 1, "{rounds}");
    let prefix = local_policy.encode(local_obs).unwrap();
    let capped = local_policy
        .decode_capped(
            &prefix,
            decoder,
            None,
            Some(rounds),
            &decode::StartedAt::now(),
        )
        .unwrap();
    assert!(capped.trace.deadline_hit);
    assert_eq!(
        cut.actions, capped.actions,
        "the cut chunk is the capped local decode"
    );
}

//! The control loop's tick does not allocate: a counting global allocator watches ticks that
//! only execute queued actions (and ticks that hold), with the worker's channels idle; nor does
//! feeding `ddvla serve`'s live view (sends to its logger, accepted or dropped).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing
#![allow(unsafe_code)] // a counting global allocator: forwards to System, only counts

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use ddvla::runtime::control_loop::{ActuatorSink, ControlLoop, InferenceResult, LoopConfig};
use ddvla::runtime::latency_tracker::LatencyTracker;
use ddvla::runtime::safety::{HoldReason, SafetyConfig, SafetyLayer};
use ddvla::runtime::schedule::{Chunk, ChunkScheduler, Strategy, Trigger};
use ddvla::runtime::time::MonoNs;
use ddvla::serve::telemetry::{Telemetry, TelemetrySink, TickSample, spawn_logger};

struct Counting;

thread_local! {
    /// Count only this thread's allocations (the test harness has its own threads).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Sink(f32);

impl ActuatorSink for Sink {
    fn send(&mut self, _tick: u64, command: &[f32], _held: Option<HoldReason>) {
        self.0 += command[0];
    }
}

#[test]
fn ticks_that_execute_or_hold_do_not_allocate() {
    let (requests, _worker_inbox) = sync_channel(1);
    let (results, inbox) = sync_channel(2);
    let dim = 7;
    let safety = SafetyLayer::new(
        SafetyConfig {
            lower: vec![-1.0; dim],
            upper: vec![1.0; dim],
            max_step: vec![0.5; dim],
            hold_value: vec![0.0; dim],
            hold_keep_last_dims: vec![6],
            max_observation_age_ms: 1e9,
            workspace: None,
        },
        &[0.0; 7],
    )
    .unwrap();
    let mut lp: ControlLoop<u64> = ControlLoop::new(
        LoopConfig {
            period: Duration::from_millis(20),
            max_inference: Duration::from_secs(1000),
            retry_after_error: Duration::from_secs(1),
        },
        ChunkScheduler::new(Strategy::ExecuteThenReplan, 64, dim),
        safety,
        LatencyTracker::new(32, 0, Duration::from_millis(20)),
        requests,
        inbox,
    );
    let mut sink = Sink(0.0);
    let t = |i: u64| MonoNs(1_000_000_000 + i * 20_000_000);
    lp.observe(Arc::new(0), t(0), None);
    lp.tick(t(0), &mut sink); // asks for a chunk (the request is allocation-free too, but set up here)
    results
        .send(InferenceResult {
            start_tick: 0,
            chunk: Ok(Chunk {
                start_tick: 0,
                horizon: 64,
                dim,
                actions: vec![0.1; 64 * dim],
                rounds_cut: None,
                trace: None,
            }),
        })
        .unwrap();
    lp.tick(t(1), &mut sink); // accepts the chunk
    COUNTING.with(|c| c.set(true));
    for i in 2..60 {
        lp.tick(t(i), &mut sink); // executes queued actions; the worker stays busy
    }
    let executing = ALLOCATIONS.swap(0, Ordering::SeqCst);
    for i in 60..100 {
        lp.tick(t(i), &mut sink); // queue runs dry: holds
    }
    COUNTING.with(|c| c.set(false));
    let holding = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(executing, 0, "allocations while executing");
    assert_eq!(holding, 0, "allocations while holding");
    assert!(sink.0 > 0.0);
    assert!(lp.safety_counts().no_action > 0);
}

/// Logs nothing, slowly: the queue fills and later sends are dropped.
struct SlowSink;

impl TelemetrySink for SlowSink {
    fn log(&mut self, _event: &Telemetry) -> anyhow::Result<()> {
        std::thread::sleep(Duration::from_millis(5));
        Ok(())
    }
    fn finish(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

#[test]
fn feeding_the_live_view_does_not_allocate() {
    let (mut tx, logger) = spawn_logger(Box::new(SlowSink), 16).unwrap();
    let observation = Arc::new(7_u64);
    let command = [0.25_f32; 7];
    COUNTING.with(|c| c.set(true));
    for i in 0..200 {
        // What the serve loop sends every tick, accepted or dropped (queue full).
        tx.send(Telemetry::Tick(TickSample::new(
            (i, MonoNs(i * 20_000_000), 1_000),
            (i % 3 == 0).then_some(HoldReason::NoAction),
            Trigger::Enough,
            &command,
        )));
        let _shared = Arc::clone(&observation);
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.swap(0, Ordering::SeqCst);
    assert_eq!(allocations, 0, "allocations while feeding the logger");
    assert!(tx.dropped() > 0, "the slow logger's queue never filled");
    drop(tx);
    let report = logger.join().unwrap().unwrap();
    assert!(report.logged >= 16, "{report:?}");
}

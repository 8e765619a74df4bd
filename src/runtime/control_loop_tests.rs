//! Fault injection on the control loop with a mock clock and a hand-driven worker: every
//! fault ends in the documented hold within one control period.
#![allow(clippy::unwrap_used, clippy::float_cmp)] // tests: exact representable values

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::*;
use crate::runtime::safety::SafetyConfig;
use crate::runtime::schedule::Strategy;
use crate::runtime::time::MockClock;

const PERIOD: Duration = Duration::from_millis(20);
const H: usize = 8;
/// Values per action (three, so a position target fits).
const DIM: usize = 3;

struct Record(Vec<(u64, [f32; 2], Option<HoldReason>)>);

impl ActuatorSink for Record {
    fn send(&mut self, tick: u64, command: &[f32], held: Option<HoldReason>) {
        self.0.push((tick, [command[0], command[1]], held));
    }
}

struct Harness {
    lp: ControlLoop<u64>,
    requests: Receiver<InferenceRequest<u64>>,
    results: SyncSender<InferenceResult>,
    clock: MockClock,
    sink: Record,
    /// Requests taken by the fake worker: (request, tick at which it answers).
    pending: Vec<(InferenceRequest<u64>, u64)>,
    worker_latency_ticks: u64,
    worker_value: Result<f32, String>,
    /// Rounds the fake anytime decoder reports having run before a deadline cut.
    worker_rounds_cut: Option<usize>,
    worker_alive: bool,
    frames: bool,
    /// The instruction of every request the fake worker took, in order.
    asked: Vec<String>,
    /// The end-effector position given with each frame.
    ee_position_m: Option<[f64; 3]>,
}

fn harness() -> Harness {
    let (req_tx, req_rx) = sync_channel(1);
    let (res_tx, res_rx) = sync_channel(4);
    let safety = SafetyLayer::new(
        SafetyConfig {
            lower: vec![-1.0; DIM],
            upper: vec![1.0; DIM],
            max_step: vec![0.5; DIM],
            hold_value: vec![0.0; DIM],
            hold_keep_last_dims: vec![],
            max_observation_age_ms: 100.0,
            workspace: None,
        },
        &[0.0; DIM],
    )
    .unwrap();
    let lp = ControlLoop::new(
        LoopConfig {
            period: PERIOD,
            max_inference: Duration::from_millis(200),
            retry_after_error: Duration::from_millis(100),
        },
        ChunkScheduler::new(Strategy::ExecuteThenReplan, H, DIM),
        safety,
        LatencyTracker::new(16, 0, Duration::from_millis(60)),
        req_tx,
        res_rx,
    );
    Harness {
        lp,
        requests: req_rx,
        results: res_tx,
        clock: MockClock::at(MonoNs(1_000_000_000)),
        sink: Record(Vec::new()),
        pending: Vec::new(),
        worker_latency_ticks: 2,
        worker_value: Ok(0.25),
        worker_rounds_cut: None,
        worker_alive: true,
        frames: true,
        asked: Vec::new(),
        ee_position_m: None,
    }
}

impl Harness {
    /// One control period: the fake worker answers what is due, a frame arrives (if frames
    /// flow), the loop ticks.
    fn step(&mut self) -> TickReport {
        self.clock.advance(PERIOD);
        let now = self.clock.now();
        let tick = self.lp.tick_index();
        if self.worker_alive {
            while let Ok(request) = self.requests.try_recv() {
                self.asked.push(request.instruction.to_string());
                self.pending
                    .push((request, tick + self.worker_latency_ticks.saturating_sub(1)));
            }
            let (due, later): (Vec<_>, Vec<_>) =
                self.pending.drain(..).partition(|(_, at)| *at <= tick);
            self.pending = later;
            for (request, _) in due {
                let chunk = self.worker_value.clone().map(|v| Chunk {
                    start_tick: request.start_tick,
                    horizon: H,
                    dim: DIM,
                    actions: vec![v; H * DIM],
                    rounds_cut: self.worker_rounds_cut,
                    trace: None,
                });
                self.results
                    .send(InferenceResult {
                        start_tick: request.start_tick,
                        chunk,
                    })
                    .unwrap();
            }
        }
        if self.frames {
            self.lp.observe(Arc::new(tick), now, self.ee_position_m);
        }
        self.lp.tick(now, &mut self.sink)
    }

    fn run(&mut self, n: usize) -> Vec<TickReport> {
        (0..n).map(|_| self.step()).collect()
    }
}

fn holds(reports: &[TickReport]) -> Vec<Option<HoldReason>> {
    reports.iter().map(|r| r.held).collect()
}

#[test]
fn deadline_cuts_are_counted_and_latency_and_command_are_exposed() {
    let mut h = harness();
    h.run(12);
    assert_eq!(h.lp.counts().deadline_cuts, 0);
    assert_eq!(h.lp.last_deadline_cut(), None);
    let latency = h.lp.last_inference_latency().unwrap();
    assert_eq!(
        latency,
        PERIOD * u32::try_from(h.worker_latency_ticks).unwrap()
    );
    h.worker_rounds_cut = Some(3);
    let reports = h.run(12);
    let cut_chunks = reports.iter().filter(|r| r.accepted.is_some()).count();
    assert!(cut_chunks > 0);
    assert_eq!(h.lp.counts().deadline_cuts, cut_chunks as u64);
    let (start, rounds) = h.lp.last_deadline_cut().unwrap();
    assert_eq!(rounds, 3);
    assert_eq!(
        Some(start),
        reports.iter().rev().find_map(|r| r.accepted),
        "the newest cut is the newest chunk"
    );
    let (_, sent, _) = *h.sink.0.last().unwrap();
    assert_eq!(h.lp.last_command()[..2], sent[..]);
}

#[test]
fn steady_state_never_holds_after_the_first_chunk() {
    let mut h = harness();
    let first = h.run(3);
    assert_eq!(first[0].trigger, Trigger::Empty);
    let reports = h.run(200);
    assert!(
        reports.iter().all(|r| r.held.is_none()),
        "{:?}",
        holds(&reports)
    );
    assert!(h.sink.0[10..].iter().all(|(_, c, _)| *c == [0.25, 0.25]));
    let counts = h.lp.counts();
    assert_eq!(
        counts.rejected_chunks + counts.stalls + counts.policy_errors,
        0
    );
    assert!(counts.chunks >= 200 / H as u64);
}

#[test]
fn a_policy_that_stops_answering_holds_when_the_queue_runs_dry() {
    let mut h = harness();
    h.run(50);
    h.worker_alive = false;
    let reports = h.run(40);
    let first_hold = reports.iter().position(|r| r.held.is_some()).unwrap();
    // Everything queued is executed, then the very next tick holds.
    assert!(first_hold <= H);
    assert!(
        reports[first_hold..]
            .iter()
            .all(|r| r.held == Some(HoldReason::NoAction)),
        "{:?}",
        holds(&reports)
    );
    assert_eq!(h.lp.counts().stalls, 1, "abandoned after max_inference");
}

#[test]
fn a_policy_error_holds_on_the_next_tick_and_retries_later() {
    let mut h = harness();
    h.run(50);
    h.worker_value = Err("CUDA error: out of memory".into());
    let reports = h.run(30);
    let first = reports.iter().position(|r| r.held.is_some()).unwrap();
    assert_eq!(reports[first].held, Some(HoldReason::PolicyError));
    assert!(reports[first..].iter().all(|r| r.held.is_some()));
    assert!(
        h.lp.counts().policy_errors >= 2,
        "retried after the back-off"
    );
    h.worker_value = Ok(0.5);
    let recovered = h.run(20);
    assert!(recovered.last().unwrap().held.is_none());
}

#[test]
fn nan_actions_are_never_sent() {
    let mut h = harness();
    h.run(20);
    h.worker_value = Ok(f32::NAN);
    let reports = h.run(30);
    assert!(
        reports
            .iter()
            .any(|r| r.held == Some(HoldReason::NonFinite))
    );
    assert!(
        h.sink
            .0
            .iter()
            .all(|(_, c, _)| c.iter().all(|v| v.is_finite()))
    );
}

#[test]
fn frames_that_stop_give_a_stale_observation_hold_after_the_max_age() {
    let mut h = harness();
    h.run(20);
    h.frames = false;
    let reports = h.run(10);
    // 100 ms max age at 20 ms per tick: ticks 0..=4 after the last frame are fine.
    assert_eq!(reports[4].held, None);
    assert_eq!(reports[5].held, Some(HoldReason::StaleObservation));
    h.frames = true;
    assert!(h.step().held.is_none());
}

#[test]
fn estop_holds_at_once_until_cleared() {
    let mut h = harness();
    h.run(20);
    h.lp.set_estop(true);
    let reports = h.run(10);
    assert!(reports.iter().all(|r| r.held == Some(HoldReason::Estop)));
    assert!(h.sink.0[20..].iter().all(|(_, c, _)| *c == [0.0, 0.0]));
    h.lp.set_estop(false);
    let after = h.run(10);
    assert!(after.last().unwrap().held.is_none());
}

#[test]
fn a_new_instruction_flushes_queued_actions() {
    let mut h = harness();
    h.lp.set_instruction("pick up the bowl");
    h.run(20);
    h.worker_value = Ok(-0.25);
    h.lp.set_instruction("put the bowl on the plate");
    let reports = h.run(12);
    assert!(reports[0].held.is_some(), "old actions are gone at once");
    let resumed: Vec<_> = h.sink.0[20..]
        .iter()
        .filter(|(_, _, held)| held.is_none())
        .collect();
    assert!(!resumed.is_empty());
    assert!(resumed.iter().all(|(_, c, _)| *c == [-0.25, -0.25]));
    assert_eq!(h.lp.counts().flushes, 2);
}

#[test]
fn the_episode_step_counts_ticks_since_the_instruction_changed() {
    let mut h = harness();
    h.lp.set_instruction("pick up the bowl");
    assert_eq!(h.lp.ticks_since_instruction(), 0);
    h.run(20);
    assert_eq!(h.lp.ticks_since_instruction(), 20);
    // The same text again is not a new instruction.
    h.lp.set_instruction("pick up the bowl");
    h.run(5);
    assert_eq!(h.lp.ticks_since_instruction(), 25);
    h.lp.set_instruction("put the bowl on the plate");
    assert_eq!(h.lp.ticks_since_instruction(), 0);
    h.run(3);
    assert_eq!(h.lp.ticks_since_instruction(), 3);
}

#[test]
fn with_a_skill_prompt_requests_name_the_part_the_sent_commands_reached() {
    let mut h = harness();
    h.lp.set_skill_prompt(SkillPromptConfig {
        gripper_index: 1,
        min_closed_steps: 4,
        min_open_steps: 2,
        ..Default::default()
    });
    // Before any instruction nothing is counted: a hold and a release ask with no part.
    h.run(20);
    h.worker_value = Ok(-0.25);
    h.run(20);
    assert!(h.asked.iter().all(String::is_empty), "{:?}", h.asked);
    assert_eq!(h.lp.last_request_skills_done(), Some(0));
    h.worker_value = Ok(0.25);
    h.lp.set_instruction("put both pots on the stove");
    h.asked.clear();
    // Chunks of +0.25 (closed) for a while: no skill finished yet.
    h.run(20);
    assert!(
        h.asked.iter().all(|i| i == "put both pots on the stove"),
        "{:?}",
        h.asked
    );
    assert_eq!(h.lp.last_request_skills_done(), Some(0));
    // Then open: once two open commands went out, the requests name part 2.
    h.worker_value = Ok(-0.25);
    h.run(30);
    assert_eq!(
        h.asked.last().unwrap(),
        "put both pots on the stove, part 2"
    );
    assert_eq!(h.lp.last_request_skills_done(), Some(1));
    // A new instruction starts the count over.
    h.lp.set_instruction("open the drawer");
    h.run(12);
    assert_eq!(h.asked.last().unwrap(), "open the drawer");
    assert_eq!(h.lp.last_request_skills_done(), Some(0));
}

#[test]
fn a_vanished_worker_is_a_policy_error() {
    let mut h = harness();
    h.run(10);
    drop(std::mem::replace(&mut h.requests, sync_channel(1).1));
    let reports = h.run(20);
    assert_eq!(reports.last().unwrap().held, Some(HoldReason::PolicyError));
}

#[test]
fn position_targets_are_sent_as_deltas_from_the_observed_position_and_held_without_it() {
    let mut h = harness();
    h.lp.set_position_target(PositionTarget {
        proprio_at: 0,
        metres_per_unit: 0.02,
        labels: ddvla_policy::position_target::PositionLabels::Delta,
    });
    // Chunks of targets at 0.25 m on every axis, and no position observed yet: nothing is
    // sent (the observation lacks the position: a stale-observation hold).
    let reports = h.run(6);
    assert!(holds(&reports).iter().all(Option::is_some), "{reports:?}");
    assert_eq!(
        reports.last().unwrap().held,
        Some(HoldReason::StaleObservation)
    );
    // The arm 1 cm short in x, on target in y: half a unit in x, none in y.
    h.ee_position_m = Some([0.24, 0.25, 0.26]);
    let reports = h.run(3);
    assert!(holds(&reports).iter().all(Option::is_none), "{reports:?}");
    let (_, command, _) = *h.sink.0.last().unwrap();
    assert!(
        (command[0] - 0.5).abs() < 1e-5 && command[1].abs() < 1e-6,
        "{command:?}"
    );
    assert!(
        (h.lp.last_command()[2] + 0.5).abs() < 1e-5,
        "{:?}",
        h.lp.last_command()
    );
    // Non-finite targets are refused by name.
    h.worker_value = Ok(f32::NAN);
    let reports = h.run(12);
    assert_eq!(
        reports.last().unwrap().held,
        Some(HoldReason::NonFinite),
        "{reports:?}"
    );
    // Observations without the position (serve gives none for a proprio that is not
    // finite): held again.
    h.worker_value = Ok(0.25);
    h.ee_position_m = None;
    let reports = h.run(2);
    assert_eq!(holds(&reports), vec![Some(HoldReason::StaleObservation); 2]);
}

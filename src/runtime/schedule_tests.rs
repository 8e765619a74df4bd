//! Tests of the chunk scheduler.

use super::*;

/// A chunk whose action for tick t is `[t, -t]` (time-aligned content).
fn aligned(start_tick: u64, horizon: usize) -> Chunk {
    Chunk {
        start_tick,
        horizon,
        dim: 2,
        actions: (0..horizon)
            .flat_map(|k| {
                let t = (start_tick + k as u64) as f32;
                [t, -t]
            })
            .collect(),
        rounds_cut: None,
        trace: None,
    }
}

fn constant(start_tick: u64, horizon: usize, value: f32) -> Chunk {
    Chunk {
        start_tick,
        horizon,
        dim: 1,
        actions: vec![value; horizon],
        rounds_cut: None,
        trace: None,
    }
}

const STRATEGIES: [Strategy; 4] = [
    Strategy::ExecuteThenReplan,
    Strategy::RecedingHorizon { replan_every: 4 },
    Strategy::TemporalEnsemble {
        decay: 0.01,
        replan_every: 1,
        newest_dims: 0,
    },
    Strategy::Rtc {
        replan_every: 4,
        blend_steps: 3,
        decay: 0.5,
    },
];

/// Run `ticks` control ticks with an inference that always takes `latency` ticks; return the
/// ticks that had no action (holds) after the first chunk arrived, and check alignment.
fn simulate(strategy: Strategy, horizon: usize, latency: usize, ticks: u64) -> Vec<u64> {
    let mut s = ChunkScheduler::new(strategy, horizon, 2);
    let mut in_flight: Option<(u64, u64)> = None; // (observation tick, ready tick)
    let mut holds = Vec::new();
    let mut started = false;
    let mut out = [0.0_f32; 2];
    for tick in 0..ticks {
        // Arrivals first, then the trigger (and a zero-latency arrival right after it).
        for _ in 0..2 {
            if let Some((obs, ready)) = in_flight
                && ready == tick
            {
                match s.accept(aligned(obs, horizon), tick) {
                    Ok(_) => {}
                    Err(ChunkRejected::Stale { .. }) if 2 * latency > horizon => {}
                    Err(e) => panic!("{strategy:?}: {e}"),
                }
                in_flight = None;
            }
            if s.trigger(tick, in_flight.is_some(), latency).requests() {
                s.requested(tick);
                in_flight = Some((tick, tick + latency as u64));
            }
        }
        if s.next_action(tick, &mut out) {
            started = true;
            assert!(
                (out[0] - tick as f32).abs() < 1e-3,
                "{strategy:?}: tick {tick} got action for {}",
                out[0]
            );
        } else if started {
            holds.push(tick);
        }
    }
    holds
}

/// With one inference at a time, a chunk of H actions computed in L ticks leaves H - L
/// usable actions, which must cover the next inference's L ticks: L <= H / 2.
#[test]
fn no_strategy_stalls_when_a_chunk_can_be_ready_in_time() {
    for strategy in STRATEGIES {
        for latency in [0, 1, 2, 3, 4] {
            let holds = simulate(strategy, 8, latency, 300);
            assert!(
                holds.is_empty(),
                "{strategy:?} latency {latency}: held at {holds:?}"
            );
        }
    }
}

#[test]
fn latency_longer_than_the_chunk_holds_but_stays_aligned() {
    // 5- and 6-tick inference, 8-action chunks: gaps are unavoidable (stale chunks are
    // refused); the actions that do go out stay time-aligned (checked inside `simulate`).
    assert!(!simulate(Strategy::ExecuteThenReplan, 8, 5, 100).is_empty());
    assert!(!simulate(Strategy::ExecuteThenReplan, 8, 6, 100).is_empty());
}

#[test]
fn execute_then_replan_finishes_the_current_chunk_first() {
    let mut s = ChunkScheduler::new(Strategy::ExecuteThenReplan, 4, 1);
    let mut out = [0.0];
    s.accept(constant(0, 4, 1.0), 0).expect("a");
    assert_eq!(s.trigger(0, false, 1), Trigger::Enough);
    assert_eq!(s.trigger(2, false, 1), Trigger::RunningDry);
    assert_eq!(s.accept(constant(2, 4, 2.0), 3), Ok(1));
    assert_eq!(s.trigger(3, false, 1), Trigger::ChunkQueued);
    assert!(s.next_action(3, &mut out));
    assert!((out[0] - 1.0).abs() < 1e-6, "still the first chunk");
    assert!(s.next_action(4, &mut out));
    assert!(
        (out[0] - 2.0).abs() < 1e-6,
        "then the second, at its aligned index"
    );
    assert_eq!(s.actions_left(4), 2);
    assert!(!s.next_action(6, &mut out));
    assert_eq!(s.trigger(6, false, 1), Trigger::Empty);
    assert_eq!(s.trigger(6, true, 1), Trigger::InFlight);
}

#[test]
fn receding_horizon_switches_on_arrival_and_replans_every_k() {
    let mut s = ChunkScheduler::new(Strategy::RecedingHorizon { replan_every: 3 }, 8, 1);
    let mut out = [0.0];
    s.accept(constant(0, 8, 1.0), 0).expect("a");
    assert_eq!(s.trigger(1, false, 1), Trigger::Enough);
    assert_eq!(s.trigger(2, false, 1), Trigger::Replan);
    s.accept(constant(2, 8, 2.0), 3).expect("b");
    assert!(s.next_action(3, &mut out));
    assert!((out[0] - 2.0).abs() < 1e-6);
}

#[test]
fn temporal_ensemble_weights_the_oldest_most() {
    let decay = 1.0_f32;
    let mut s = ChunkScheduler::new(
        Strategy::TemporalEnsemble {
            decay,
            replan_every: 1,
            newest_dims: 0,
        },
        4,
        1,
    );
    let mut out = [0.0];
    s.accept(constant(0, 4, 0.0), 0).expect("a");
    s.accept(constant(1, 4, 1.0), 1).expect("b");
    assert!(s.next_action(1, &mut out));
    let w = (-decay).exp();
    assert!((out[0] - w / (1.0 + w)).abs() < 1e-6, "{}", out[0]);
    assert!(
        s.next_action(4, &mut out),
        "the newer chunk still covers tick 4"
    );
    assert!((out[0] - 1.0).abs() < 1e-6);
}

#[test]
fn temporal_ensemble_takes_the_last_dims_from_the_newest_chunk() {
    let mut s = ChunkScheduler::new(
        Strategy::TemporalEnsemble {
            decay: 0.0,
            replan_every: 1,
            newest_dims: 1,
        },
        4,
        2,
    );
    let chunk = |start: u64, arm: f32, gripper: f32| Chunk {
        start_tick: start,
        horizon: 4,
        dim: 2,
        actions: [arm, gripper].repeat(4),
        rounds_cut: None,
        trace: None,
    };
    let mut out = [0.0; 2];
    s.accept(chunk(0, 0.0, -1.0), 0).expect("a");
    s.accept(chunk(1, 1.0, 1.0), 1).expect("b");
    assert!(s.next_action(1, &mut out));
    // The arm value is the equal-weight mean; the gripper is the newest chunk's, not 0.
    assert!((out[0] - 0.5).abs() < 1e-6, "{out:?}");
    assert!((out[1] - 1.0).abs() < 1e-6, "{out:?}");
}

#[test]
fn rtc_blends_from_the_old_chunk_after_the_executed_prefix() {
    let mut s = ChunkScheduler::new(
        Strategy::Rtc {
            replan_every: 2,
            blend_steps: 3,
            decay: 0.5,
        },
        8,
        1,
    );
    let mut out = [0.0];
    s.accept(constant(0, 8, 0.0), 0).expect("a");
    // Computed from tick 2's observation, arrives at tick 4: ticks 2, 3 already executed.
    assert_eq!(s.accept(constant(2, 8, 1.0), 4), Ok(2));
    let got: Vec<f32> = (4..10)
        .map(|t| {
            assert!(s.next_action(t, &mut out));
            out[0]
        })
        .collect();
    assert_eq!(got, [0.0, 0.5, 0.75, 1.0, 1.0, 1.0]);
}

#[test]
fn bad_chunks_are_rejected_with_reasons() {
    let mut s = ChunkScheduler::new(Strategy::ExecuteThenReplan, 4, 1);
    assert!(matches!(
        s.accept(constant(0, 3, 0.0), 0),
        Err(ChunkRejected::Shape { .. })
    ));
    assert!(matches!(
        s.accept(constant(0, 4, 0.0), 4),
        Err(ChunkRejected::Stale { .. })
    ));
    s.accept(constant(5, 4, 0.0), 5).expect("fresh");
    let err = s.accept(constant(3, 4, 0.0), 6).expect_err("older");
    assert!(err.to_string().contains("older"), "{err}");
    s.flush();
    assert_eq!(s.actions_left(6), 0);
}

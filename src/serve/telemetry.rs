//! The feed of `ddvla serve`'s live view: the serve loop hands each tick's sample, each
//! inference request, accepted chunk, deadline cut, status and task event to a logger thread
//! through a bounded channel. Sending never blocks and never allocates (the channel's slots
//! are allocated up front; events carry plain values, shared `Arc`s, and chunks the loop
//! already copied for publishing): when the logger falls behind, events are dropped and
//! counted. The logger writes them to a [`TelemetrySink`] (the rerun view).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use ddvla_policy::observation::Observation;

use crate::runtime::control_loop::LoopCounts;
use crate::runtime::safety::{HoldReason, SafetyCounts};
use crate::runtime::schedule::{Chunk, Trigger};
use crate::runtime::time::MonoNs;

/// Command values a tick sample carries (larger commands are cut to this many).
pub const MAX_COMMAND_DIM: usize = 16;

/// What one tick did, as plain values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TickSample {
    /// The tick.
    pub tick: u64,
    /// When it ran.
    pub at: MonoNs,
    /// How late it started (ns past its deadline).
    pub lateness_ns: u64,
    /// The safety layer's hold reason, if it held.
    pub held: Option<HoldReason>,
    /// The scheduler's trigger decision.
    pub trigger: Trigger,
    /// The command sent (first `dim` values).
    pub command: [f32; MAX_COMMAND_DIM],
    /// Values in `command`.
    pub dim: usize,
}

impl TickSample {
    /// A sample with `command` copied in (no allocation).
    pub fn new(
        (tick, at, lateness_ns): (u64, MonoNs, u64),
        held: Option<HoldReason>,
        trigger: Trigger,
        command: &[f32],
    ) -> Self {
        let dim = command.len().min(MAX_COMMAND_DIM);
        let mut values = [0.0; MAX_COMMAND_DIM];
        values[..dim].copy_from_slice(&command[..dim]);
        Self {
            tick,
            at,
            lateness_ns,
            held,
            trigger,
            command: values,
            dim,
        }
    }
}

/// One event of the feed; every event but [`Telemetry::Tick`] names the tick it happened on.
#[derive(Debug, Clone)]
pub enum Telemetry {
    /// Every tick.
    Tick(TickSample),
    /// An inference request and the observation it used (camera frames, instruction,
    /// proprio).
    Request {
        /// The request's tick.
        tick: u64,
        /// The observation (shared with the worker).
        observation: Arc<Observation>,
    },
    /// A chunk the loop accepted (the policy's raw output, with its decode trace: the local
    /// decoder's, or the one a policy server sent).
    Chunk {
        /// The tick it was accepted on.
        tick: u64,
        /// The chunk.
        chunk: Chunk,
        /// Inference latency, request to arrival.
        latency: Option<Duration>,
    },
    /// An anytime decoder cut a chunk short.
    DeadlineCut {
        /// The tick it arrived on.
        tick: u64,
        /// The chunk's observation tick.
        start_tick: u64,
        /// Rounds it ran.
        rounds: usize,
    },
    /// Counters (at the status period).
    Status {
        /// The tick.
        tick: u64,
        /// Loop counters.
        counts: LoopCounts,
        /// Safety-intervention counters.
        safety: SafetyCounts,
        /// Measured p95 inference latency.
        inference_p95: Duration,
        /// Feed events dropped so far.
        dropped: u64,
    },
    /// A task event (JSON text, e.g. the simulated robot's success).
    TaskEvent {
        /// The tick it was received on.
        tick: u64,
        /// The event.
        text: String,
    },
}

/// Where the logger thread writes events.
pub trait TelemetrySink: Send {
    /// Write one event.
    fn log(&mut self, event: &Telemetry) -> Result<()>;
    /// Flush at the end of the run.
    fn finish(&mut self) -> Result<()>;
}

/// The serve loop's end of the feed.
#[derive(Debug, Default)]
pub struct TelemetryTx {
    tx: Option<SyncSender<Telemetry>>,
    dropped: u64,
}

impl TelemetryTx {
    /// A feed that goes nowhere (no view asked for).
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Whether events go anywhere.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Hand `event` to the logger without waiting; dropped (and counted) when its queue is
    /// full or it is gone.
    pub fn send(&mut self, event: Telemetry) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.dropped += 1,
            Err(TrySendError::Disconnected(_)) => {
                self.dropped += 1;
                self.tx = None;
                tracing::error!("the telemetry logger is gone: live view stopped");
            }
        }
    }

    /// Events dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// What the logger thread did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoggerReport {
    /// Events written.
    pub logged: u64,
    /// Events the sink failed to write.
    pub failed: u64,
}

/// Start a logger thread writing to `sink`, with room for `queue` waiting events.
pub fn spawn_logger(
    mut sink: Box<dyn TelemetrySink>,
    queue: usize,
) -> Result<(TelemetryTx, JoinHandle<Result<LoggerReport>>)> {
    let (tx, rx): (_, Receiver<Telemetry>) = sync_channel(queue.max(1));
    let thread = std::thread::Builder::new()
        .name("ddvla-telemetry".into())
        .spawn(move || {
            let mut report = LoggerReport::default();
            // Ends when the serve loop drops its sender.
            for event in rx {
                let _span = tracing::trace_span!("telemetry_log").entered();
                match sink.log(&event) {
                    Ok(()) => report.logged += 1,
                    Err(e) => {
                        if report.failed == 0 {
                            tracing::warn!(error = %e, "live view: logging failed");
                        }
                        report.failed += 1;
                    }
                }
            }
            sink.finish()?;
            Ok(report)
        })
        .context("spawning the telemetry logger")?;
    Ok((
        TelemetryTx {
            tx: Some(tx),
            dropped: 0,
        },
        thread,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;
    use std::sync::mpsc::Receiver;

    use super::*;

    /// Blocks on `gate` before each event; records ticks.
    struct Gated {
        gate: Receiver<()>,
        seen: Arc<Mutex<Vec<u64>>>,
    }

    impl TelemetrySink for Gated {
        fn log(&mut self, event: &Telemetry) -> Result<()> {
            self.gate.recv()?;
            if let Telemetry::Tick(s) = event {
                self.seen.lock().unwrap().push(s.tick);
            }
            Ok(())
        }
        fn finish(&mut self) -> Result<()> {
            Ok(())
        }
    }

    fn tick(i: u64) -> Telemetry {
        Telemetry::Tick(TickSample::new(
            (i, MonoNs(i), 0),
            None,
            Trigger::Enough,
            &[0.5; 20],
        ))
    }

    #[test]
    fn a_slow_logger_never_blocks_the_sender_and_drops_are_counted() {
        let (open, gate) = sync_channel(64);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Gated {
            gate,
            seen: Arc::clone(&seen),
        };
        let (mut tx, thread) = spawn_logger(Box::new(sink), 4).unwrap();
        // The logger is stuck on its first event: 4 more fit in the queue, the rest drop.
        let started = std::time::Instant::now();
        for i in 0..50 {
            tx.send(tick(i));
        }
        assert!(started.elapsed() < Duration::from_millis(100));
        assert!(
            (45..=46).contains(&tx.dropped()),
            "{} dropped",
            tx.dropped()
        );
        let kept = 50 - tx.dropped();
        for _ in 0..kept {
            open.send(()).unwrap();
        }
        drop(tx);
        let report = thread.join().unwrap().unwrap();
        assert_eq!(report.logged, kept);
        // What got through is in order and starts at the first event.
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.first(), Some(&0));
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }

    #[test]
    fn tick_samples_keep_at_most_max_command_dim_values() {
        let s = TickSample::new((1, MonoNs(2), 3), None, Trigger::Enough, &[1.0; 20]);
        assert_eq!(s.dim, MAX_COMMAND_DIM);
        let s = TickSample::new((1, MonoNs(2), 3), None, Trigger::Enough, &[1.0, 2.0]);
        assert_eq!((s.dim, s.command[1], s.command[2]), (2, 2.0, 0.0));
        assert!(!TelemetryTx::disabled().enabled());
    }
}

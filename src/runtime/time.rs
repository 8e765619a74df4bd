//! Monotonic time as a nanosecond newtype, and clocks: the system's monotonic clock for the
//! robot, and a mock clock that only moves when told (tests, replay, lock-step simulation).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A point on a monotonic clock, in nanoseconds since the clock's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct MonoNs(pub u64);

impl MonoNs {
    /// `self + d` (saturating).
    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// Time from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// A monotonic clock the loop can sleep on.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> MonoNs;
    /// Block until `t` (returns at once if `t` has passed).
    fn sleep_until(&self, t: MonoNs);
}

/// The OS monotonic clock (`Instant`), origin at construction. `sleep_until` sleeps to
/// `spin` before the target and busy-waits the rest: OS sleeps overshoot by 0.1–2 ms under
/// load, which is a control period's jitter budget.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
    spin: Duration,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::with_spin(Duration::from_millis(2))
    }
}

impl SystemClock {
    /// A clock that busy-waits the last `spin` of every sleep (zero: plain sleeps).
    pub fn with_spin(spin: Duration) -> Self {
        Self {
            origin: Instant::now(),
            spin,
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> MonoNs {
        MonoNs(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    fn sleep_until(&self, t: MonoNs) {
        let now = self.now();
        if t <= now {
            return;
        }
        if let Some(rest) = t.since(now).checked_sub(self.spin) {
            std::thread::sleep(rest);
        }
        while self.now() < t {
            std::hint::spin_loop();
        }
    }
}

/// A clock that moves only when advanced; `sleep_until` jumps to the target, so a loop run on
/// it is deterministic and takes no wall time. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct MockClock {
    now_ns: Arc<AtomicU64>,
}

impl MockClock {
    /// A clock at `t`.
    pub fn at(t: MonoNs) -> Self {
        Self {
            now_ns: Arc::new(AtomicU64::new(t.0)),
        }
    }

    /// Move forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.now_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::AcqRel,
        );
    }
}

impl Clock for MockClock {
    fn now(&self) -> MonoNs {
        MonoNs(self.now_ns.load(Ordering::Acquire))
    }

    fn sleep_until(&self, t: MonoNs) {
        self.now_ns.fetch_max(t.0, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_moves_only_when_told() {
        let clock = MockClock::at(MonoNs(5));
        assert_eq!(clock.now(), MonoNs(5));
        clock.advance(Duration::from_nanos(10));
        clock.sleep_until(MonoNs(3)); // in the past: no change
        assert_eq!(clock.now(), MonoNs(15));
        clock.sleep_until(MonoNs(100));
        assert_eq!(clock.clone().now(), MonoNs(100));
        assert_eq!(MonoNs(100).since(MonoNs(40)), Duration::from_nanos(60));
        assert_eq!(MonoNs(1).since(MonoNs(40)), Duration::ZERO);
    }

    #[test]
    fn system_clock_is_monotonic() {
        let clock = SystemClock::default();
        let a = clock.now();
        clock.sleep_until(a.plus(Duration::from_millis(2)));
        assert!(clock.now() >= a.plus(Duration::from_millis(2)));
    }
}

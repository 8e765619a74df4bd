//! Measured inference latency: a rolling window (old samples, including the warm-up spike,
//! are evicted) after a number of discarded warm-up calls. The scheduler's trigger uses its
//! high quantile, never a guess.

use std::collections::VecDeque;
use std::time::Duration;

/// Rolling inference-latency statistics.
#[derive(Debug, Clone)]
pub struct LatencyTracker {
    window: VecDeque<u64>,
    capacity: usize,
    warmup_left: usize,
    scratch: Vec<u64>,
    initial: Duration,
}

impl LatencyTracker {
    /// Keep the last `capacity` samples after discarding the first `warmup` ones; until a
    /// sample is kept, estimates are `initial` (pessimistic by choice).
    pub fn new(capacity: usize, warmup: usize, initial: Duration) -> Self {
        let capacity = capacity.max(1);
        Self {
            window: VecDeque::with_capacity(capacity),
            capacity,
            warmup_left: warmup,
            scratch: Vec::with_capacity(capacity),
            initial,
        }
    }

    /// Record one inference's latency.
    pub fn record(&mut self, latency: Duration) {
        if self.warmup_left > 0 {
            self.warmup_left -= 1;
            return;
        }
        if self.window.len() == self.capacity {
            self.window.pop_front();
        }
        self.window
            .push_back(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Samples kept.
    pub fn len(&self) -> usize {
        self.window.len()
    }

    /// Whether no sample has been kept yet.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// The `q` quantile (nearest rank, `q` in [0, 1]) of the kept samples, or the initial
    /// estimate before any. No allocation: the scratch buffer is preallocated.
    pub fn quantile(&mut self, q: f64) -> Duration {
        let [d] = self.quantiles([q]);
        d
    }

    /// Several quantiles (as [`Self::quantile`]) from one sort of the window.
    pub fn quantiles<const N: usize>(&mut self, qs: [f64; N]) -> [Duration; N] {
        if self.window.is_empty() {
            return [self.initial; N];
        }
        self.scratch.clear();
        self.scratch.extend(self.window.iter().copied());
        self.scratch.sort_unstable();
        let last = self.scratch.len() - 1;
        qs.map(|q| {
            let rank = (last as f64 * q.clamp(0.0, 1.0)).ceil() as usize;
            Duration::from_nanos(self.scratch[rank.min(last)])
        })
    }

    /// The p95 latency in control periods, rounded up.
    pub fn p95_ticks(&mut self, period: Duration) -> usize {
        let p95 = self.quantile(0.95).as_nanos();
        let period = period.as_nanos().max(1);
        usize::try_from(p95.div_ceil(period)).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_discarded_and_old_spikes_are_evicted() {
        let ms = Duration::from_millis;
        let mut t = LatencyTracker::new(4, 1, ms(500));
        assert_eq!(t.quantile(0.95), ms(500));
        t.record(ms(700)); // warm-up (JIT, allocation): discarded
        assert!(t.is_empty());
        for x in [90, 100, 110, 400] {
            t.record(ms(x));
        }
        assert_eq!(t.quantile(0.95), ms(400));
        assert_eq!(t.quantile(0.5), ms(110));
        for x in [100, 100, 100, 100] {
            t.record(ms(x)); // the 400 ms spike leaves the window
        }
        assert_eq!(t.quantile(0.95), ms(100));
        assert_eq!(t.p95_ticks(ms(20)), 5);
        assert_eq!(t.p95_ticks(ms(30)), 4);
    }
}

//! A subscription's keep-last queue and its counters, shared by every transport.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::Sample;

/// Counters of one subscription (monotonic since it was declared).
#[derive(Debug, Default)]
pub struct SubscriptionStats {
    received: AtomicU64,
    dropped_overflow: AtomicU64,
    rejected_type_hash: AtomicU64,
    rejected_attachment: AtomicU64,
    rejected_decode: AtomicU64,
}

/// A snapshot of [`SubscriptionStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SubscriptionCounts {
    /// Samples accepted into the queue.
    pub received: u64,
    /// Samples dropped because the queue held `depth` unread samples (the oldest goes).
    pub dropped_overflow: u64,
    /// Samples on the topic with another type hash (another message definition).
    pub rejected_type_hash: u64,
    /// Samples whose rmw_zenoh attachment was missing or malformed (still delivered).
    pub rejected_attachment: u64,
    /// Payloads that failed CDR decoding or validation when read as a message.
    pub rejected_decode: u64,
}

impl SubscriptionStats {
    /// Count one sample from a publisher with a different type hash.
    pub fn count_type_hash_mismatch(&self) {
        self.rejected_type_hash.fetch_add(1, Ordering::Relaxed);
    }

    /// Count one sample with a bad attachment.
    pub fn count_bad_attachment(&self) {
        self.rejected_attachment.fetch_add(1, Ordering::Relaxed);
    }

    /// Count one payload that did not decode; returns the count so far.
    pub fn count_decode_failure(&self) -> u64 {
        self.rejected_decode.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Read every counter.
    pub fn snapshot(&self) -> SubscriptionCounts {
        SubscriptionCounts {
            received: self.received.load(Ordering::Relaxed),
            dropped_overflow: self.dropped_overflow.load(Ordering::Relaxed),
            rejected_type_hash: self.rejected_type_hash.load(Ordering::Relaxed),
            rejected_attachment: self.rejected_attachment.load(Ordering::Relaxed),
            rejected_decode: self.rejected_decode.load(Ordering::Relaxed),
        }
    }
}

/// Keep-last queue: a full queue drops its oldest sample (a robot wants the newest frame).
#[derive(Debug)]
pub struct Inbox {
    queue: Mutex<VecDeque<Sample>>,
    ready: Condvar,
    depth: usize,
    closed: AtomicBool,
    /// Counters.
    pub stats: SubscriptionStats,
}

impl Inbox {
    /// A queue holding at most `depth` unread samples (at least 1).
    pub fn new(depth: usize) -> Self {
        let depth = depth.max(1);
        Self {
            queue: Mutex::new(VecDeque::with_capacity(depth)),
            ready: Condvar::new(),
            depth,
            closed: AtomicBool::new(false),
            stats: SubscriptionStats::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Sample>> {
        // A panic while holding the lock cannot leave the queue inconsistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a sample, dropping the oldest when full.
    pub fn push(&self, sample: Sample) {
        let mut queue = self.lock();
        if queue.len() >= self.depth {
            queue.pop_front();
            self.stats.dropped_overflow.fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back(sample);
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        drop(queue);
        self.ready.notify_one();
    }

    /// Mark closed: waiting readers return.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_all();
    }

    /// Whether the transport side is gone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The oldest unread sample, if any.
    pub fn try_pop(&self) -> Option<Sample> {
        self.lock().pop_front()
    }

    /// The newest unread sample, discarding older unread ones.
    pub fn pop_latest(&self) -> Option<Sample> {
        let mut queue = self.lock();
        let latest = queue.pop_back();
        queue.clear();
        latest
    }

    /// Wait up to `timeout` for the oldest unread sample.
    pub fn pop_timeout(&self, timeout: Duration) -> Option<Sample> {
        let deadline = Instant::now() + timeout;
        let mut queue = self.lock();
        loop {
            if let Some(sample) = queue.pop_front() {
                return Some(sample);
            }
            let now = Instant::now();
            if now >= deadline || self.is_closed() {
                return None;
            }
            queue = self
                .ready
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Unread samples.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is unread.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn sample(n: u8) -> Sample {
        Sample {
            topic: Arc::from("/t"),
            payload: vec![n],
            attachment: None,
            receive_time_ns: 0,
        }
    }

    #[test]
    fn keeps_the_last_depth_samples_and_counts_drops() {
        let inbox = Inbox::new(2);
        for n in 0..5 {
            inbox.push(sample(n));
        }
        let counts = inbox.stats.snapshot();
        assert_eq!((counts.received, counts.dropped_overflow), (5, 3));
        assert_eq!(inbox.try_pop().map(|s| s.payload), Some(vec![3]));
        inbox.push(sample(9));
        assert_eq!(inbox.pop_latest().map(|s| s.payload), Some(vec![9]));
        assert!(inbox.is_empty());
        assert!(inbox.pop_timeout(Duration::from_millis(5)).is_none());
    }

    #[test]
    fn a_waiting_reader_wakes_on_push_and_on_close() {
        let inbox = Arc::new(Inbox::new(4));
        let writer = Arc::clone(&inbox);
        let handle = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                writer.push(sample(1));
                std::thread::sleep(Duration::from_millis(20));
                writer.close();
            })
            .expect("spawn");
        assert!(inbox.pop_timeout(Duration::from_secs(10)).is_some());
        assert!(inbox.pop_timeout(Duration::from_secs(10)).is_none());
        handle.join().expect("writer");
    }
}

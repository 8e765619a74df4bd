//! Latency samples and their percentiles.

use std::time::Duration;

use serde::Serialize;

/// Summary of a set of latency samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Fastest.
    pub min_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Linear-interpolated percentile `q` in [0, 1] of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let k = (n - 1) as f64 * q;
            let lo = k.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (k - lo as f64)
        }
    }
}

impl LatencySummary {
    /// Summarise `samples` (`n = 0` gives NaN statistics).
    pub fn from_durations(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        Self {
            n,
            p50_ms: percentile(&ms, 0.5),
            p95_ms: percentile(&ms, 0.95),
            p99_ms: percentile(&ms, 0.99),
            mean_ms: if n == 0 {
                f64::NAN
            } else {
                ms.iter().sum::<f64>() / n as f64
            },
            min_ms: ms.first().copied().unwrap_or(f64::NAN),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let s: Vec<Duration> = (1..=5).map(|i| Duration::from_millis(i * 10)).collect();
        let l = LatencySummary::from_durations(&s);
        assert!((l.p50_ms - 30.0).abs() < 1e-9);
        assert!((l.p95_ms - 48.0).abs() < 1e-9);
        assert!((l.mean_ms - 30.0).abs() < 1e-9);
        assert_eq!(l.n, 5);
        assert!(LatencySummary::from_durations(&[]).p50_ms.is_nan());
    }
}

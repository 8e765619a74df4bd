//! Learning-rate schedule: linear warmup, then cosine decay to a floor.

use serde::{Deserialize, Serialize};

/// Linear warmup from `peak / warmup_steps` to `peak` over `warmup_steps`, then cosine decay
/// to `min_lr` at `total_steps`, constant afterwards. (The released DD-VLA recipe is a
/// constant 5e-4 with a ×0.1 step at 100k; `warmup_steps = 0` and `min_lr = peak_lr` give a
/// constant rate.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LrSchedule {
    /// Rate at the end of the warmup.
    pub peak_lr: f64,
    /// Rate at and after `total_steps`.
    pub min_lr: f64,
    /// Steps of linear warmup (0: none).
    pub warmup_steps: u64,
    /// Step at which the cosine reaches `min_lr`.
    pub total_steps: u64,
}

impl Default for LrSchedule {
    fn default() -> Self {
        Self {
            peak_lr: 5e-4,
            min_lr: 5e-5,
            warmup_steps: 0,
            total_steps: 150_000,
        }
    }
}

impl LrSchedule {
    /// The rate used by optimiser step `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.peak_lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.min_lr + (self.peak_lr - self.min_lr) * cosine
    }

    /// Check the values (positive rates, `min_lr ≤ peak_lr`, `warmup_steps ≤ total_steps`).
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |reason: &str| Err(crate::PolicyError::config("train.lr", reason));
        if !(self.peak_lr.is_finite() && self.peak_lr > 0.0) {
            return bad("peak_lr must be finite and > 0");
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0 && self.min_lr <= self.peak_lr) {
            return bad("min_lr must be in [0, peak_lr]");
        }
        if self.warmup_steps > self.total_steps {
            return bad("warmup_steps must not exceed total_steps");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        let s = LrSchedule {
            peak_lr: 1.0,
            min_lr: 0.1,
            warmup_steps: 10,
            total_steps: 110,
        };
        assert!((s.lr(0) - 0.1).abs() < 1e-12);
        assert!((s.lr(9) - 1.0).abs() < 1e-12);
        assert!((s.lr(10) - 1.0).abs() < 1e-12);
        assert!((s.lr(60) - 0.55).abs() < 1e-12);
        assert!((s.lr(110) - 0.1).abs() < 1e-12);
        assert!((s.lr(1000) - 0.1).abs() < 1e-12);
        for k in 10..110 {
            assert!(s.lr(k + 1) <= s.lr(k));
        }
    }
}

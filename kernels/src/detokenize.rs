//! OpenVLA action binning: bins ↔ normalised values ↔ actions (CPU reference).
//!
//! `n_edges` evenly spaced edges on [-1, 1] (256 in OpenVLA) give `n_edges - 1` intervals whose
//! midpoints are the decoded values. With `k` the index inside the action vocabulary
//! (token = `vocab_end - n_edges + k`), OpenVLA's `d = vocab_end - token` is `n_edges - k`, and
//! the decoded value is `centers[clip(d - 1, 0, n_edges - 2)]`.

use crate::KernelError;
use crate::stats::check_len;

/// Binning plus per-dimension q01/q99 normalisation for one action space.
#[derive(Debug, Clone, PartialEq)]
pub struct BinCodec {
    n_edges: usize,
    edges: Vec<f32>,
    centers: Vec<f32>,
    q01: Vec<f32>,
    q99: Vec<f32>,
    mask: Vec<bool>,
}

/// OpenVLA's epsilon in the q01/q99 normaliser.
const NORM_EPS: f32 = 1e-8;

/// OpenVLA's BOUNDS_Q99 normalisation of one value to [-1, 1]: `2(x − q01)/(q99 − q01 + ε) − 1`,
/// clipped; a constant dimension (`q99 <= q01`) maps to 0. Shared by actions and proprio.
pub fn normalize_bounds_q99(x: f32, q01: f32, q99: f32) -> f32 {
    if q99 <= q01 {
        return 0.0;
    }
    (2.0 * (x - q01) / (q99 - q01 + NORM_EPS) - 1.0).clamp(-1.0, 1.0)
}

impl BinCodec {
    /// A codec with `n_edges` bin edges and the given statistics (all of length `action_dim`).
    /// `mask[d] == false` passes dimension `d` through unnormalised (the gripper in LIBERO).
    pub fn new(
        n_edges: usize,
        q01: Vec<f32>,
        q99: Vec<f32>,
        mask: Vec<bool>,
    ) -> Result<Self, KernelError> {
        const OP: &str = "BinCodec::new";
        if n_edges < 3 {
            return Err(KernelError::BadParameter {
                op: OP,
                name: "n_edges",
                value: n_edges as f64,
                reason: "needs at least 3 edges",
            });
        }
        check_len(OP, "q99", q01.len(), q99.len())?;
        check_len(OP, "mask", q01.len(), mask.len())?;
        for (d, (&lo, &hi)) in q01.iter().zip(&q99).enumerate() {
            if !lo.is_finite() || !hi.is_finite() || hi < lo {
                return Err(KernelError::BadParameter {
                    op: OP,
                    name: "q01/q99",
                    value: d as f64,
                    reason: "statistics must be finite with q99 >= q01 (value is the dimension)",
                });
            }
        }
        let step = 2.0 / (n_edges - 1) as f64;
        let edges: Vec<f32> = (0..n_edges)
            .map(|i| (-1.0 + step * i as f64) as f32)
            .collect();
        let centers = edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        Ok(Self {
            n_edges,
            edges,
            centers,
            q01,
            q99,
            mask,
        })
    }

    /// Number of action dimensions.
    pub fn action_dim(&self) -> usize {
        self.q01.len()
    }

    /// Number of bin edges (= size of the action vocabulary).
    pub fn n_edges(&self) -> usize {
        self.n_edges
    }

    /// Normalise one value of dimension `d` to [-1, 1] (BOUNDS_Q99; constant dims → 0).
    pub fn normalize(&self, d: usize, x: f32) -> f32 {
        if self.mask[d] {
            normalize_bounds_q99(x, self.q01[d], self.q99[d])
        } else {
            x
        }
    }

    /// Inverse of [`Self::normalize`] for values in [-1, 1].
    pub fn unnormalize(&self, d: usize, x_n: f32) -> f32 {
        if !self.mask[d] {
            return x_n;
        }
        let (lo, hi) = (self.q01[d], self.q99[d]);
        0.5 * (x_n + 1.0) * (hi - lo + NORM_EPS) + lo
    }

    /// `np.digitize(clip(x_n, -1, 1), edges)` → action-vocabulary index `k = n_edges - idx`.
    pub fn bin_of_normalized(&self, x_n: f32) -> u32 {
        let x = if x_n.is_nan() {
            0.0
        } else {
            x_n.clamp(-1.0, 1.0)
        };
        // digitize (right=False): number of edges <= x, in [1, n_edges].
        let idx = self.edges.partition_point(|&e| e <= x);
        (self.n_edges - idx) as u32
    }

    /// Decoded normalised value of action-vocabulary index `k`.
    pub fn value_of_bin(&self, k: u32) -> f32 {
        let d = self.n_edges as i64 - i64::from(k);
        let c = (d - 1).clamp(0, self.n_edges as i64 - 2);
        self.centers[c as usize]
    }

    /// Encode a chunk of raw actions (`rows × action_dim`) into bin indices.
    pub fn encode(&self, actions: &[f32]) -> Result<Vec<u32>, KernelError> {
        let dim = self.action_dim();
        if !actions.len().is_multiple_of(dim) {
            return Err(KernelError::LengthMismatch {
                op: "encode",
                what: "actions (multiple of action_dim)",
                expected: dim * (actions.len() / dim + 1),
                found: actions.len(),
            });
        }
        Ok(actions
            .iter()
            .enumerate()
            .map(|(i, &a)| self.bin_of_normalized(self.normalize(i % dim, a)))
            .collect())
    }

    /// CPU reference of [`crate::DecodeKernels::detokenize`].
    pub fn decode(&self, bins: &[u32]) -> Result<Vec<f32>, KernelError> {
        let dim = self.action_dim();
        if !bins.len().is_multiple_of(dim) {
            return Err(KernelError::LengthMismatch {
                op: "detokenize",
                what: "bins (multiple of action_dim)",
                expected: dim * (bins.len() / dim + 1),
                found: bins.len(),
            });
        }
        Ok(bins
            .iter()
            .enumerate()
            .map(|(i, &k)| self.unnormalize(i % dim, self.value_of_bin(k)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn libero_like() -> BinCodec {
        BinCodec::new(
            256,
            vec![-0.9, -0.8, -0.9, -0.1, -0.2, -0.3, 0.0],
            vec![0.9, 0.85, 0.95, 0.12, 0.2, 0.33, 1.0],
            vec![true, true, true, true, true, true, false],
        )
        .unwrap()
    }

    #[test]
    fn openvla_token_convention() {
        let c = libero_like();
        // x_n = 1.0 → digitize 256 → token vocab_end-256 → k = 0 → centre 254.
        assert_eq!(c.bin_of_normalized(1.0), 0);
        assert!((c.value_of_bin(0) - c.centers[254]).abs() < 1e-7);
        // x_n = -1.0 → digitize 1 → k = 255 → centre 0.
        assert_eq!(c.bin_of_normalized(-1.0), 255);
        assert!((c.value_of_bin(255) - c.centers[0]).abs() < 1e-7);
        // Gripper values used by LIBERO: 0 → offset 128, 1 → offset 0 (paper Tab. 6b).
        assert_eq!(c.bin_of_normalized(0.0), 128);
        assert_eq!(c.bin_of_normalized(1.0), 0);
        assert!(c.value_of_bin(128).abs() < 1e-6, "gripper 0 decodes to ~0");
    }

    #[test]
    fn bad_stats_are_rejected() {
        assert!(BinCodec::new(256, vec![1.0], vec![0.0], vec![true]).is_err());
        assert!(BinCodec::new(256, vec![f32::NAN], vec![0.0], vec![true]).is_err());
        assert!(BinCodec::new(256, vec![0.0], vec![1.0, 2.0], vec![true]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip_within_half_a_bin(xs in proptest::collection::vec(-1.0_f32..1.0, 7)) {
            let c = libero_like();
            // Map the unit-range draws into each dimension's [q01, q99].
            let actions: Vec<f32> = xs.iter().enumerate().map(|(d, &u)| {
                if c.mask[d] { c.q01[d] + 0.5 * (u + 1.0) * (c.q99[d] - c.q01[d]) } else { u }
            }).collect();
            let decoded = c.decode(&c.encode(&actions).unwrap()).unwrap();
            let half_bin_normalized = 1.0 / 255.0;
            for d in 0..7 {
                let err_n = (c.normalize(d, decoded[d]) - c.normalize(d, actions[d])).abs();
                prop_assert!(err_n <= half_bin_normalized + 1e-5, "dim {d}: {err_n}");
            }
        }
    }
}

//! The per-dimension scores of `ddvla eval open-loop` and the running sums they come from.

use serde::Serialize;

/// Scores of one action dimension.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DimScore {
    /// Mean |predicted − expert| over every action of the chunk (action units).
    pub mae: f64,
    /// The same over the chunk's first action only.
    pub mae_first: f64,
    /// Mean |predicted bin − expert bin|.
    pub bin_error: f64,
    /// Fraction of actions whose bin is exactly the expert's.
    pub exact_bin: f64,
    /// MAE of always predicting the scored expert actions' mean (action units).
    pub baseline_mae: f64,
    /// Mean predicted − expert (action units): a policy that drifts one way.
    pub bias: f64,
    /// The least-squares slope of the predicted on the expert action through the origin,
    /// Σ predicted·expert / Σ expert²: 1 moves as far as the expert, below 1 undershoots
    /// (stops short of a grasp, pushes too little), above 1 overshoots. NaN when every
    /// expert action of the dimension is 0.
    pub gain: f64,
}

/// Running sums over scored chunks.
pub(super) struct Accumulator {
    dim: usize,
    chunk: usize,
    abs: Vec<f64>,
    abs_first: Vec<f64>,
    signed: Vec<f64>,
    pred_dot_truth: Vec<f64>,
    truth_sq: Vec<f64>,
    bins: Vec<f64>,
    exact: Vec<u64>,
    truth: Vec<Vec<f32>>,
    pub(super) actions: u64,
    chunks: u64,
    pub(super) gripper_agree: u64,
}

impl Accumulator {
    pub(super) fn new(dim: usize, chunk: usize) -> Self {
        Self {
            dim,
            chunk,
            abs: vec![0.0; dim],
            abs_first: vec![0.0; dim],
            signed: vec![0.0; dim],
            pred_dot_truth: vec![0.0; dim],
            truth_sq: vec![0.0; dim],
            bins: vec![0.0; dim],
            exact: vec![0; dim],
            truth: vec![Vec::new(); dim],
            actions: 0,
            chunks: 0,
            gripper_agree: 0,
        }
    }

    pub(super) fn add(&mut self, pred: &[f32], truth: &[f32], pred_tok: &[u32], truth_tok: &[u32]) {
        for k in 0..self.chunk {
            for d in 0..self.dim {
                let i = k * self.dim + d;
                let (p, t) = (f64::from(pred[i]), f64::from(truth[i]));
                let err = (p - t).abs();
                self.abs[d] += err;
                self.signed[d] += p - t;
                self.pred_dot_truth[d] += p * t;
                self.truth_sq[d] += t * t;
                if k == 0 {
                    self.abs_first[d] += err;
                }
                let bin_err = (i64::from(pred_tok[i]) - i64::from(truth_tok[i])).unsigned_abs();
                self.bins[d] += bin_err as f64;
                self.exact[d] += u64::from(bin_err == 0);
                self.truth[d].push(truth[i]);
            }
            let g = k * self.dim + self.dim - 1;
            self.gripper_agree += u64::from((pred[g] >= 0.0) == (truth[g] >= 0.0));
            self.actions += 1;
        }
        self.chunks += 1;
    }

    pub(super) fn finish(self) -> Vec<DimScore> {
        let n = self.actions.max(1) as f64;
        (0..self.dim)
            .map(|d| {
                let t = &self.truth[d];
                let mean = t.iter().map(|&v| f64::from(v)).sum::<f64>() / t.len().max(1) as f64;
                let baseline = t.iter().map(|&v| (f64::from(v) - mean).abs()).sum::<f64>()
                    / t.len().max(1) as f64;
                DimScore {
                    mae: self.abs[d] / n,
                    mae_first: self.abs_first[d] / self.chunks.max(1) as f64,
                    bin_error: self.bins[d] / n,
                    exact_bin: self.exact[d] as f64 / n,
                    baseline_mae: baseline,
                    bias: self.signed[d] / n,
                    gain: if self.truth_sq[d] > 0.0 {
                        self.pred_dot_truth[d] / self.truth_sq[d]
                    } else {
                        f64::NAN
                    },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_zero_for_the_expert_and_measure_an_offset() {
        let (dim, chunk) = (3, 2);
        let truth = [0.1_f32, -0.2, -0.25, 0.3, 0.0, 1.0];
        let tok = [10_u32, 20, 30, 11, 21, 31];
        let mut exact = Accumulator::new(dim, chunk);
        exact.add(&truth, &truth, &tok, &tok);
        let s = exact.finish();
        assert!(
            s.iter()
                .all(|d| d.mae == 0.0 && d.bin_error == 0.0 && d.bias == 0.0)
        );
        assert!(s.iter().all(|d| (d.exact_bin - 1.0).abs() < 1e-12));
        assert!(s.iter().all(|d| (d.gain - 1.0).abs() < 1e-12));

        // Off by 0.5 everywhere and by 2 bins: the gripper flips sign on the first action.
        let pred: Vec<f32> = truth.iter().map(|v| v + 0.5).collect();
        let pred_tok: Vec<u32> = tok.iter().map(|t| t + 2).collect();
        let mut off = Accumulator::new(dim, chunk);
        off.add(&pred, &truth, &pred_tok, &tok);
        let agree = off.gripper_agree;
        let s = off.finish();
        for d in &s {
            assert!((d.mae - 0.5).abs() < 1e-6 && (d.mae_first - 0.5).abs() < 1e-6);
            assert!((d.bin_error - 2.0).abs() < 1e-12 && d.exact_bin == 0.0);
        }
        assert_eq!(agree, 1, "-0.25 + 0.5 flips, 1.0 + 0.5 does not");
        // The mean-action baseline of dimension 0 (0.1, 0.3): mean 0.2, MAE 0.1.
        assert!((s[0].baseline_mae - 0.1).abs() < 1e-6);
        assert!(s.iter().all(|d| (d.bias - 0.5).abs() < 1e-6));
        // Dimension 1 (-0.2, 0.0 → 0.3, 0.5): Σp·t = -0.06, Σt² = 0.04.
        assert!((s[1].gain + 1.5).abs() < 1e-6, "{}", s[1].gain);
    }

    #[test]
    fn the_gain_tells_an_undershoot_from_an_offset() {
        let (dim, chunk) = (2, 2);
        let truth = [0.2_f32, 0.0, -0.4, 0.0];
        let tok = [0_u32; 4];
        // Every move at 60% of the expert's: gain 0.6, bias toward zero; dimension 1 never
        // moves, so its gain is undefined.
        let pred: Vec<f32> = truth.iter().map(|v| 0.6 * v).collect();
        let mut short = Accumulator::new(dim, chunk);
        short.add(&pred, &truth, &tok, &tok);
        let s = short.finish();
        assert!((s[0].gain - 0.6).abs() < 1e-6, "{}", s[0].gain);
        assert!((s[0].bias - 0.04).abs() < 1e-6, "{}", s[0].bias);
        assert!(s[1].gain.is_nan() && s[1].bias == 0.0);
    }
}

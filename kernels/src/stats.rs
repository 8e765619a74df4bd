//! Per-row softmax, token choice and confidence (CPU reference).

use crate::KernelError;

/// How a decoding round scores a candidate token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfidenceMode {
    /// Probability of the *sampled* token (the released DD-VLA / MaskGIT code; default).
    #[default]
    SampledProb,
    /// Largest probability in the row (the paper's "max confidence").
    MaxProb,
    /// Gap between the two largest probabilities (the paper's "confidence gap").
    Margin,
}

/// Token-choice parameters of one round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature for the token *value*; `0` means argmax.
    pub temperature: f32,
    /// Which confidence the round ranks by.
    pub mode: ConfidenceMode,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            mode: ConfidenceMode::SampledProb,
        }
    }
}

/// What one row's softmax says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowStats {
    /// Chosen bin index (sampled, or argmax when the temperature is 0).
    pub sampled: u32,
    /// Probability of the chosen bin.
    pub p_sampled: f32,
    /// Index of the most probable bin.
    pub argmax: u32,
    /// Largest probability.
    pub p_max: f32,
    /// Largest minus second largest probability.
    pub margin: f32,
    /// Probability of the currently committed bin, when the row has one.
    pub p_current: Option<f32>,
    /// The score selected by [`ConfidenceMode`] for the chosen bin.
    pub confidence: f32,
}

impl RowStats {
    /// Confidence of an already committed token under `mode` (the remasking check).
    pub fn committed_confidence(&self, mode: ConfidenceMode) -> f32 {
        match mode {
            ConfidenceMode::SampledProb => self.p_current.unwrap_or(self.p_sampled),
            ConfidenceMode::MaxProb => self.p_max,
            ConfidenceMode::Margin => self.margin,
        }
    }
}

/// CPU reference of [`crate::DecodeKernels::row_stats`].
pub fn row_stats(
    logits: &[f32],
    n_bins: usize,
    params: &SamplingParams,
    uniforms: &[f32],
    current: &[Option<u32>],
) -> Result<Vec<RowStats>, KernelError> {
    const OP: &str = "row_stats";
    if n_bins == 0 || !logits.len().is_multiple_of(n_bins) {
        return Err(KernelError::LengthMismatch {
            op: OP,
            what: "logits (multiple of n_bins)",
            expected: n_bins.max(1) * (logits.len() / n_bins.max(1)).max(1),
            found: logits.len(),
        });
    }
    let rows = logits.len() / n_bins;
    check_len(OP, "uniforms", rows, uniforms.len())?;
    check_len(OP, "current", rows, current.len())?;
    if !(params.temperature >= 0.0 && params.temperature.is_finite()) {
        return Err(KernelError::BadParameter {
            op: OP,
            name: "temperature",
            value: f64::from(params.temperature),
            reason: "must be finite and >= 0",
        });
    }
    let mut probs = vec![0.0_f32; n_bins];
    let mut out = Vec::with_capacity(rows);
    for (r, row) in logits.chunks_exact(n_bins).enumerate() {
        if let Some((col, &value)) = row
            .iter()
            .enumerate()
            .find(|(_, v)| v.is_nan() || **v == f32::INFINITY)
        {
            return Err(KernelError::NonFinite {
                op: OP,
                row: r,
                col,
                value,
            });
        }
        let tau = if params.temperature > 0.0 {
            params.temperature
        } else {
            1.0
        };
        softmax_into(row, tau, &mut probs);
        let (argmax, p_max, p_second) = top_two(&probs);
        let sampled = if params.temperature > 0.0 {
            sample_inverse_cdf(&probs, uniforms[r])
        } else {
            argmax
        };
        let p_sampled = probs[sampled];
        let margin = p_max - p_second;
        let p_current = current[r].map(|c| probs.get(c as usize).copied().unwrap_or(0.0));
        let confidence = match params.mode {
            ConfidenceMode::SampledProb => p_sampled,
            ConfidenceMode::MaxProb => p_max,
            ConfidenceMode::Margin => margin,
        };
        out.push(RowStats {
            sampled: sampled as u32,
            p_sampled,
            argmax: argmax as u32,
            p_max,
            margin,
            p_current,
            confidence,
        });
    }
    Ok(out)
}

pub(crate) fn check_len(
    op: &'static str,
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), KernelError> {
    if expected == found {
        Ok(())
    } else {
        Err(KernelError::LengthMismatch {
            op,
            what,
            expected,
            found,
        })
    }
}

/// Numerically stable softmax of `row / tau` into `probs`.
fn softmax_into(row: &[f32], tau: f32, probs: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0_f64;
    for (p, &z) in probs.iter_mut().zip(row) {
        let e = ((z - max) / tau).exp();
        *p = e;
        sum += f64::from(e);
    }
    let inv = (1.0 / sum) as f32;
    for p in probs.iter_mut() {
        *p *= inv;
    }
}

/// (argmax, largest, second largest); ties resolve to the lower index.
fn top_two(probs: &[f32]) -> (usize, f32, f32) {
    let mut best = 0;
    let mut p1 = f32::NEG_INFINITY;
    let mut p2 = f32::NEG_INFINITY;
    for (i, &p) in probs.iter().enumerate() {
        if p > p1 {
            p2 = p1;
            p1 = p;
            best = i;
        } else if p > p2 {
            p2 = p;
        }
    }
    (best, p1, p2.max(0.0))
}

/// Categorical sample by inverse CDF: the first index whose cumulative mass exceeds `u`.
fn sample_inverse_cdf(probs: &[f32], u: f32) -> usize {
    let target = f64::from(u.clamp(0.0, 1.0));
    let mut cum = 0.0_f64;
    let mut last_positive = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last_positive = i;
        }
        cum += f64::from(p);
        if cum > target && p > 0.0 {
            return i;
        }
    }
    last_positive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_at_zero_temperature() {
        let logits = [0.0, 3.0, 1.0, 3.0];
        let p = SamplingParams {
            temperature: 0.0,
            mode: ConfidenceMode::MaxProb,
        };
        let s = row_stats(&logits, 4, &p, &[0.99], &[Some(2)]).unwrap();
        assert_eq!(s[0].sampled, 1, "ties go to the lower index");
        assert!((s[0].p_max - s[0].p_sampled).abs() < 1e-7);
        assert!(s[0].margin.abs() < 1e-6, "two equal maxima have no margin");
        let sum: f32 = [0.0_f32, 3.0, 1.0, 3.0]
            .iter()
            .map(|z| (z - 3.0).exp())
            .sum();
        assert!((s[0].p_current.unwrap() - (1.0_f32 - 3.0).exp() / sum).abs() < 1e-6);
    }

    #[test]
    fn inverse_cdf_covers_every_bin() {
        // Uniform distribution over 4 bins: u in quarters picks each bin once.
        let logits = [1.0; 4];
        let p = SamplingParams::default();
        let picks: Vec<u32> = [0.1, 0.3, 0.6, 0.9]
            .iter()
            .map(|&u| row_stats(&logits, 4, &p, &[u], &[None]).unwrap()[0].sampled)
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 3]);
    }

    #[test]
    fn masked_bins_are_never_sampled() {
        let logits = [f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY, 0.0];
        let p = SamplingParams::default();
        for u in [0.0, 0.25, 0.5, 0.75, 0.999_999] {
            let s = row_stats(&logits, 4, &p, &[u], &[None]).unwrap();
            assert!(
                s[0].sampled == 1 || s[0].sampled == 3,
                "u={u} picked {}",
                s[0].sampled
            );
        }
    }

    #[test]
    fn nan_is_an_error_naming_the_cell() {
        let logits = [0.0, 1.0, f32::NAN, 0.0];
        let err = row_stats(
            &logits,
            2,
            &SamplingParams::default(),
            &[0.5, 0.5],
            &[None, None],
        )
        .unwrap_err();
        assert!(
            matches!(err, KernelError::NonFinite { row: 1, col: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let err = row_stats(
            &[0.0; 8],
            4,
            &SamplingParams::default(),
            &[0.5],
            &[None, None],
        )
        .unwrap_err();
        assert!(matches!(
            err,
            KernelError::LengthMismatch {
                what: "uniforms",
                ..
            }
        ));
    }

    proptest::proptest! {
        #[test]
        fn probabilities_are_consistent(row in proptest::collection::vec(-20.0_f32..20.0, 2..64), u in 0.0_f32..1.0, t in 0.1_f32..3.0) {
            let n = row.len();
            let p = SamplingParams { temperature: t, mode: ConfidenceMode::Margin };
            let s = row_stats(&row, n, &p, &[u], &[Some(0)]).unwrap()[0];
            proptest::prop_assert!(s.p_sampled <= s.p_max + 1e-6);
            proptest::prop_assert!(s.margin >= 0.0 && s.margin <= s.p_max + 1e-6);
            proptest::prop_assert!((s.sampled as usize) < n);
            proptest::prop_assert!((s.confidence - s.margin).abs() < 1e-7);
        }
    }
}

//! Commit selection (top-k) and secondary remasking (CPU reference).

use crate::KernelError;
use crate::stats::check_len;

/// CPU reference of [`crate::DecodeKernels::top_k`]: the `k` highest scores among eligible
/// rows, highest first; ties go to the lower index. NaN scores are an error.
pub fn select_top_k(
    scores: &[f32],
    eligible: &[bool],
    k: usize,
) -> Result<Vec<usize>, KernelError> {
    const OP: &str = "top_k";
    check_len(OP, "eligible", scores.len(), eligible.len())?;
    if let Some((row, &value)) = scores.iter().enumerate().find(|(_, s)| s.is_nan()) {
        return Err(KernelError::NonFinite {
            op: OP,
            row,
            col: 0,
            value,
        });
    }
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&i| eligible[i]).collect();
    if k > idx.len() {
        return Err(KernelError::BadParameter {
            op: OP,
            name: "k",
            value: k as f64,
            reason: "larger than the number of eligible rows",
        });
    }
    // Stable sort keeps the lower index first among equal scores.
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx.truncate(k);
    Ok(idx)
}

/// Secondary remasking checks for tokens committed in earlier rounds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RemaskRule {
    /// Threshold check (paper v4): re-mask when the current confidence is below this.
    pub threshold: Option<f32>,
    /// Residual-drop check (paper v1–v3): re-mask when the confidence fell by more than this
    /// since the token was committed.
    pub drop_margin: Option<f32>,
}

/// Rows to re-mask: `eligible` rows (committed in an earlier round) that fail a check of
/// `rule`. `current` is each row's confidence under the latest logits, `at_commit` the
/// confidence it had when it was committed.
pub fn select_remask(
    eligible: &[bool],
    current: &[f32],
    at_commit: &[f32],
    rule: &RemaskRule,
) -> Result<Vec<usize>, KernelError> {
    const OP: &str = "remask";
    check_len(OP, "current", eligible.len(), current.len())?;
    check_len(OP, "at_commit", eligible.len(), at_commit.len())?;
    Ok((0..eligible.len())
        .filter(|&i| {
            eligible[i]
                && (rule.threshold.is_some_and(|eta| current[i] < eta)
                    || rule
                        .drop_margin
                        .is_some_and(|m| at_commit[i] - current[i] > m))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_respects_eligibility_and_ties() {
        let scores = [0.5, 0.9, 0.9, 0.1, 2.0];
        let eligible = [true, true, true, true, false];
        assert_eq!(select_top_k(&scores, &eligible, 2).unwrap(), vec![1, 2]);
        assert_eq!(
            select_top_k(&scores, &eligible, 0).unwrap(),
            Vec::<usize>::new()
        );
        assert!(select_top_k(&scores, &eligible, 5).is_err());
        assert!(select_top_k(&[f32::NAN], &[true], 1).is_err());
    }

    #[test]
    fn remask_checks() {
        let eligible = [true, true, false, true];
        let current = [0.2, 0.6, 0.0, 0.5];
        let at_commit = [0.3, 0.95, 0.9, 0.55];
        let thr = RemaskRule {
            threshold: Some(0.4),
            drop_margin: None,
        };
        assert_eq!(
            select_remask(&eligible, &current, &at_commit, &thr).unwrap(),
            vec![0]
        );
        let drop = RemaskRule {
            threshold: None,
            drop_margin: Some(0.2),
        };
        assert_eq!(
            select_remask(&eligible, &current, &at_commit, &drop).unwrap(),
            vec![1]
        );
        let none = RemaskRule::default();
        assert!(
            select_remask(&eligible, &current, &at_commit, &none)
                .unwrap()
                .is_empty()
        );
    }
}

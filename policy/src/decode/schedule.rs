//! The MaskGIT cosine schedule used by DD-VLA's released decoder.
//!
//! After round `s` (0-based) of `T`, `mask_len(s) = floor(L · clamp(cos(π/2 · (s+1)/T), 1e-6, 1))`
//! clamped to `[1, L-1]` tokens stay masked; the last round commits everything.

/// Tokens still masked after round `step` of `rounds` for a chunk of `total` tokens.
pub fn cosine_mask_len(total: usize, step: usize, rounds: usize) -> usize {
    if step + 1 >= rounds || total <= 1 {
        return 0;
    }
    let ratio = (step + 1) as f64 / rounds as f64;
    let gamma = (std::f64::consts::FRAC_PI_2 * ratio).cos().clamp(1e-6, 1.0);
    ((total as f64 * gamma).floor() as usize).clamp(1, total - 1)
}

/// New tokens committed in each round (without remasking).
pub fn commits_per_round(total: usize, rounds: usize) -> Vec<usize> {
    let mut masked = total;
    (0..rounds)
        .map(|s| {
            let after = cosine_mask_len(total, s, rounds).min(masked);
            let n = masked - after;
            masked = after;
            n
        })
        .collect()
}

/// Gumbel ranking-noise temperature of round `step`: `choice_temperature · (1 - (step+1)/T)`.
pub fn choice_temperature(base: f32, step: usize, rounds: usize) -> f32 {
    base * (1.0 - (step + 1) as f32 / rounds as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libero_schedule_matches_the_released_code() {
        assert_eq!(
            commits_per_round(56, 12),
            vec![1, 1, 3, 3, 4, 5, 5, 6, 7, 7, 7, 7]
        );
        let lens: Vec<usize> = (0..12).map(|s| cosine_mask_len(56, s, 12)).collect();
        assert_eq!(lens, vec![55, 54, 51, 48, 44, 39, 34, 28, 21, 14, 7, 0]);
    }

    #[test]
    fn bridge_schedule_matches_the_released_code() {
        let lens: Vec<usize> = (0..12).map(|s| cosine_mask_len(21, s, 12)).collect();
        assert_eq!(lens, vec![20, 20, 19, 18, 16, 14, 12, 10, 8, 5, 2, 0]);
        assert_eq!(
            commits_per_round(21, 12)[1],
            0,
            "round 2 commits nothing new"
        );
    }

    #[test]
    fn every_token_is_committed_for_any_length_and_rounds() {
        for total in 1..80 {
            for rounds in 1..20 {
                assert_eq!(
                    commits_per_round(total, rounds).iter().sum::<usize>(),
                    total
                );
            }
        }
        assert!((choice_temperature(1.0, 0, 12) - 11.0 / 12.0).abs() < 1e-6);
        assert!(choice_temperature(1.0, 11, 12).abs() < 1e-6);
    }
}

//! The training mask schedule (DD-VLA `apply_mask_diffusion`, MaskGIT cosine schedule).
//!
//! Per sample: `r ~ U[0, 1)`, `ratio = clamp(cos(π r / 2), 1e-6, 1)`,
//! `n = max(1, round(L · ratio))` of the `L` action positions are replaced by `[MASK]`,
//! chosen uniformly without replacement. `E[ratio] = 2/π ≈ 0.64`.

use rand::Rng;
use rand::seq::index;

/// Lower clamp of the mask ratio (released code).
const MIN_RATIO: f64 = 1e-6;

/// Mask ratio `clamp(cos(π r / 2), 1e-6, 1)` for `r` in `[0, 1)`.
pub fn mask_ratio(r: f64) -> f64 {
    (std::f64::consts::FRAC_PI_2 * r)
        .cos()
        .clamp(MIN_RATIO, 1.0)
}

/// Number of masked positions out of `len` for the draw `r`: `max(1, round(len · ratio))`
/// (never more than `len`; 0 only when `len` is 0).
pub fn mask_count(len: usize, r: f64) -> usize {
    if len == 0 {
        return 0;
    }
    let n = (len as f64 * mask_ratio(r)).round() as usize;
    n.clamp(1, len)
}

/// One sample's mask: which of the `len` action positions are `[MASK]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleMask {
    /// The uniform draw the count came from.
    pub r: f64,
    /// `masked[j]`: slot `j` is replaced by `[MASK]` and supervised.
    pub masked: Vec<bool>,
}

impl SampleMask {
    /// Draw a mask for `len` positions: `r`, then the count, then the positions.
    pub fn draw(len: usize, rng: &mut impl Rng) -> Self {
        let r: f64 = rng.random_range(0.0..1.0);
        let n = mask_count(len, r);
        let mut masked = vec![false; len];
        for j in index::sample(rng, len, n) {
            masked[j] = true;
        }
        Self { r, masked }
    }

    /// [`Self::draw`], except that with probability `all_masked` (one extra uniform draw,
    /// made only when `all_masked > 0`) every position is masked (`r = 0`, the top of the
    /// schedule). `all_masked == 0` draws exactly what [`Self::draw`] draws.
    pub fn draw_mixed(len: usize, all_masked: f64, rng: &mut impl Rng) -> Self {
        if all_masked > 0.0 && rng.random_range(0.0..1.0) < all_masked {
            return Self {
                r: 0.0,
                masked: vec![true; len],
            };
        }
        Self::draw(len, rng)
    }

    /// Number of masked positions.
    pub fn count(&self) -> usize {
        self.masked.iter().filter(|&&m| m).count()
    }

    /// Slot ids: `mask_id` where masked, the ground truth elsewhere.
    pub fn apply(&self, targets: &[u32], mask_id: u32) -> Vec<u32> {
        targets
            .iter()
            .zip(&self.masked)
            .map(|(&t, &m)| if m { mask_id } else { t })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn mixed_draws_mask_everything_at_the_asked_share_and_nothing_changes_at_zero() {
        let mut a = ChaCha8Rng::seed_from_u64(5);
        let mut b = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..50 {
            assert_eq!(
                SampleMask::draw_mixed(56, 0.0, &mut a),
                SampleMask::draw(56, &mut b)
            );
        }
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let n = 4000;
        let all = (0..n)
            .filter(|_| SampleMask::draw_mixed(56, 0.5, &mut rng).count() == 56)
            .count();
        // 0.5 of the draws, plus the schedule's own all-masked draws (r < ~0.08: ~4% of
        // the rest), within sampling noise.
        let share = all as f64 / f64::from(n);
        assert!((0.5..0.56).contains(&share), "{share}");
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert!((0..100).all(|_| SampleMask::draw_mixed(56, 1.0, &mut rng).count() == 56));
    }

    #[test]
    fn endpoints_of_the_schedule() {
        assert_eq!(mask_count(56, 0.0), 56);
        assert_eq!(mask_count(56, 0.999_999), 1);
        assert_eq!(mask_count(1, 0.9), 1);
        assert_eq!(mask_count(0, 0.3), 0);
    }

    #[test]
    fn same_seed_same_mask() {
        let a = SampleMask::draw(56, &mut ChaCha8Rng::seed_from_u64(3));
        let b = SampleMask::draw(56, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
        assert_eq!(a.count(), mask_count(56, a.r));
    }
}

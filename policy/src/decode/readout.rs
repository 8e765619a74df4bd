//! How a slot's action value is read from its bin distribution once a bin is chosen.
//!
//! OpenVLA-OFT and DD-VLA read the chosen bin's centre. [`window_mean`] reads instead the
//! probability-weighted mean of the bin centres within `half_width` bins of the chosen one:
//! below a bin's width where the model spreads its mass over neighbouring bins, and never a
//! blend of two distant modes (a gripper's open and closed ends stay apart).

use ddvla_kernels::BinCodec;

use crate::{PolicyError, Result};

/// The actions of a chunk read as window means: for slot `i` (row-major `chunk_len ×
/// action_dim`), the softmax of `logits[i * n_bins..][..n_bins]` restricted to the bins
/// within `half_width` of `bins[i]`, averaged over those bins' normalised centres and
/// unnormalised for dimension `i % action_dim`. `half_width` 0 gives the chosen bins' centres
/// (what [`BinCodec::decode`] gives).
pub fn window_mean(
    codec: &BinCodec,
    logits: &[f32],
    n_bins: usize,
    bins: &[u32],
    half_width: u32,
) -> Result<Vec<f32>> {
    if logits.len() != bins.len() * n_bins {
        return Err(PolicyError::config(
            "readout window",
            format!(
                "{} logits for {} slots of {n_bins} bins",
                logits.len(),
                bins.len()
            ),
        ));
    }
    let dim = codec.action_dim();
    bins.iter()
        .enumerate()
        .map(|(i, &chosen)| {
            let row = &logits[i * n_bins..(i + 1) * n_bins];
            let chosen = chosen as usize;
            if chosen >= n_bins {
                return Err(PolicyError::config(
                    "readout window",
                    format!("slot {i}: bin {chosen} outside the {n_bins} bins"),
                ));
            }
            let lo = chosen.saturating_sub(half_width as usize);
            let hi = (chosen + half_width as usize).min(n_bins - 1);
            // Softmax restricted to the window, stabilised by the window's largest logit.
            let top = row[lo..=hi]
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
            let (mut mass, mut sum) = (0.0f64, 0.0f64);
            for (k, &z) in row.iter().enumerate().take(hi + 1).skip(lo) {
                let p = f64::from((z - top).exp());
                mass += p;
                sum += p * f64::from(codec.value_of_bin(k as u32));
            }
            let value_n = if mass > 0.0 && mass.is_finite() {
                (sum / mass) as f32
            } else {
                codec.value_of_bin(chosen as u32)
            };
            Ok(codec.unnormalize(i % dim, value_n))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn codec() -> BinCodec {
        BinCodec::new(256, vec![-1.0, -2.0], vec![1.0, 2.0], vec![true, false]).unwrap()
    }

    fn one_hot_ish(n_bins: usize, peaks: &[(usize, f32)]) -> Vec<f32> {
        let mut row = vec![-30.0; n_bins];
        for &(k, z) in peaks {
            row[k] = z;
        }
        row
    }

    #[test]
    fn width_zero_reads_the_bin_centre() {
        let c = codec();
        let logits: Vec<f32> = (0..2 * 256).map(|i| ((i * 37) % 11) as f32).collect();
        let bins = [17, 200];
        let mean = window_mean(&c, &logits, 256, &bins, 0).unwrap();
        assert_eq!(mean, c.decode(&bins).unwrap());
    }

    #[test]
    fn two_equal_neighbours_read_their_midpoint() {
        let c = codec();
        let mut logits = one_hot_ish(256, &[(100, 5.0), (101, 5.0)]);
        logits.extend(one_hot_ish(256, &[(100, 5.0), (101, 5.0)]));
        let mean = window_mean(&c, &logits, 256, &[100, 100], 2).unwrap();
        let want = 0.5 * (c.value_of_bin(100) + c.value_of_bin(101));
        assert!((mean[0] - c.unnormalize(0, want)).abs() < 1e-5);
        // The unnormalised dimension passes the mean through.
        assert!((mean[1] - want).abs() < 1e-5);
        let centre = c.decode(&[100, 100]).unwrap();
        assert!(
            (mean[0] - centre[0]).abs() > 1e-4,
            "the window moved the value"
        );
    }

    #[test]
    fn a_far_mode_is_left_out() {
        let c = codec();
        // Mass split between bin 10 and bin 240: the window around 10 ignores 240.
        let mut logits = one_hot_ish(256, &[(10, 5.0), (240, 5.0)]);
        logits.extend(one_hot_ish(256, &[(10, 5.0)]));
        let mean = window_mean(&c, &logits, 256, &[10, 10], 4).unwrap();
        let centre = c.decode(&[10, 10]).unwrap();
        assert!((mean[0] - centre[0]).abs() < 1e-4);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let c = codec();
        assert!(window_mean(&c, &[0.0; 10], 256, &[1, 2], 1).is_err());
        assert!(window_mean(&c, &vec![0.0; 512], 256, &[1, 256], 1).is_err());
    }
}

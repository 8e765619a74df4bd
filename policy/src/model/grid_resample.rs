//! Bicubic resampling of a square grid of vectors: a ViT's learned position embeddings, one
//! vector per patch, taken to another patch grid when the image size changes (as ViT, DeiT
//! and timm's `resample_abs_pos_embed` do to fine-tune at a higher resolution).
//!
//! The kernel is PyTorch's `interpolate(mode="bicubic", align_corners=False)`: Keys' cubic
//! with a = −0.75, sample centres aligned (output cell `i` reads input coordinate
//! `(i + 0.5)·in/out − 0.5`), indices past the border clamped to it. It is separable, so
//! the grid is resampled along its rows, then along its columns.

/// Keys' cubic convolution parameter PyTorch uses.
const CUBIC_A: f64 = -0.75;

/// The four weights of the input samples at offsets −1, 0, 1, 2 from `floor(x)`, for a
/// fractional position `t` = `x − floor(x)` in [0, 1).
fn cubic_weights(t: f64) -> [f64; 4] {
    let a = CUBIC_A;
    // |x| ≤ 1: (a+2)|x|³ − (a+3)|x|² + 1; 1 < |x| < 2: a|x|³ − 5a|x|² + 8a|x| − 4a.
    let near = |x: f64| ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

/// For each of `out_len` output cells, the four input indices (clamped to `0..in_len`) and
/// their weights.
fn taps(in_len: usize, out_len: usize) -> Vec<([usize; 4], [f64; 4])> {
    let scale = in_len as f64 / out_len as f64;
    let last = in_len as i64 - 1;
    (0..out_len)
        .map(|i| {
            let x = (i as f64 + 0.5) * scale - 0.5;
            let base = x.floor();
            let weights = cubic_weights(x - base);
            let base = base as i64;
            let mut idx = [0usize; 4];
            for (k, slot) in idx.iter_mut().enumerate() {
                // `clamp` to 0..=last keeps the value non-negative, so the cast is exact.
                *slot = (base - 1 + k as i64).clamp(0, last) as usize;
            }
            (idx, weights)
        })
        .collect()
}

/// Resample `grid`, `side·side` rows of `dim` values in row-major patch order (row `r`,
/// column `c` at `r·side + c`), to `new_side·new_side` rows of `dim` values. `new_side ==
/// side` returns the grid unchanged. Both sides must be at least 1 and `grid.len()` must
/// be `side·side·dim` (the caller checks; a wrong length is answered with `None`).
pub fn resample_square_grid(
    grid: &[f32],
    side: usize,
    dim: usize,
    new_side: usize,
) -> Option<Vec<f32>> {
    if side == 0 || new_side == 0 || grid.len() != side * side * dim {
        return None;
    }
    if new_side == side {
        return Some(grid.to_vec());
    }
    let taps = taps(side, new_side);
    // Along columns: [side rows][new_side cols][dim].
    let mut wide = vec![0f64; side * new_side * dim];
    for r in 0..side {
        for (c, (idx, w)) in taps.iter().enumerate() {
            let out = &mut wide[(r * new_side + c) * dim..][..dim];
            for (&i, &wk) in idx.iter().zip(w) {
                let src = &grid[(r * side + i) * dim..][..dim];
                for (o, &s) in out.iter_mut().zip(src) {
                    *o += wk * f64::from(s);
                }
            }
        }
    }
    // Along rows: [new_side rows][new_side cols][dim].
    let mut out = vec![0f32; new_side * new_side * dim];
    for (r, (idx, w)) in taps.iter().enumerate() {
        for c in 0..new_side {
            let cell = &mut out[(r * new_side + c) * dim..][..dim];
            for (d, o) in cell.iter_mut().enumerate() {
                let v: f64 = idx
                    .iter()
                    .zip(w)
                    .map(|(&i, &wk)| wk * wide[(i * new_side + c) * dim + d])
                    .sum();
                *o = v as f32;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cubic_weights_sum_to_one_and_interpolate_the_samples() {
        for t in [0.0, 0.1, 0.25, 0.5, 0.9] {
            let w = cubic_weights(t);
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12, "t {t}: {w:?}");
        }
        let bits = |w: [f64; 4]| w.map(f64::to_bits);
        assert_eq!(bits(cubic_weights(0.0)), bits([0.0, 1.0, 0.0, 0.0]));
    }

    #[test]
    fn the_same_side_is_unchanged_and_bad_shapes_are_refused() {
        let grid: Vec<f32> = (0..2 * 2 * 3).map(|v| v as f32).collect();
        assert_eq!(resample_square_grid(&grid, 2, 3, 2).unwrap(), grid);
        assert!(resample_square_grid(&grid, 3, 3, 4).is_none());
        assert!(resample_square_grid(&grid, 2, 3, 0).is_none());
    }

    #[test]
    fn a_constant_grid_stays_constant() {
        let grid = vec![0.75f32; 8 * 8 * 2];
        let out = resample_square_grid(&grid, 8, 2, 12).unwrap();
        assert_eq!(out.len(), 12 * 12 * 2);
        assert!(out.iter().all(|v| (v - 0.75).abs() < 1e-6), "{out:?}");
    }

    /// OpenCV's `resize(…, INTER_CUBIC)` (the same kernel, an independent implementation)
    /// on seeded random grids, up and down: `tests/golden/grid_resample.json`, made by
    /// `tests/golden/make_grid_resample.py`.
    #[test]
    fn matches_opencv_bicubic() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/golden/grid_resample.json")).unwrap();
        let cases = doc["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 4);
        let floats = |v: &serde_json::Value| -> Vec<f32> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        };
        let size =
            |c: &serde_json::Value, k: &str| usize::try_from(c[k].as_u64().unwrap()).unwrap();
        for c in cases {
            let (side, dim, new_side) = (size(c, "side"), size(c, "dim"), size(c, "new_side"));
            let got = resample_square_grid(&floats(&c["grid"]), side, dim, new_side).unwrap();
            let want = floats(&c["resampled"]);
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() < 1e-5,
                    "{side}→{new_side} value {i}: {g} vs {w}"
                );
            }
        }
    }

    /// `[[0, 1], [2, 3]]` to 3×3, worked by hand: the centre cell reads coordinate 0.5 on
    /// both axes, where the taps (clamped to 0, 0, 1, 1) weigh both samples equally, so it
    /// is the mean, 1.5; the kernel is symmetric, so cells mirrored through the centre sum
    /// to 3. The corners overshoot (a = −0.75 rings): OpenCV gives −0.2604 at (0, 0).
    #[test]
    fn matches_the_worked_two_by_two_case() {
        let out = resample_square_grid(&[0.0, 1.0, 2.0, 3.0], 2, 1, 3).unwrap();
        assert!((out[4] - 1.5).abs() < 1e-6, "{out:?}");
        assert!((out[0] + 0.260_416_6).abs() < 1e-5, "{out:?}");
        // Symmetric under the grid's point reflection: v(r, c) + v(2−r, 2−c) = 3.
        for p in 0..9 {
            assert!((out[p] + out[8 - p] - 3.0).abs() < 1e-6, "{out:?}");
        }
    }
}

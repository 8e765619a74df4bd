//! An axis-angle orientation in one hemisphere, so that a model input does not jump where
//! the pose does not.
//!
//! LIBERO-style proprio gives the end effector's orientation as an axis-angle vector `θ·n`
//! with `θ ∈ [0, π]`. A gripper pointing down is a rotation of about π (about a horizontal
//! axis turned by half the yaw), exactly where that representation is discontinuous: a tilt
//! of a hair one way gives `≈ +π·n`, the other way `≈ −π·n`. In our long-suite
//! demonstrations the side it lands on follows the expert's deterministic motion, so a model
//! learns the sign as a cue for the task's phase; on frames recorded with small action noise
//! (DART, σ 0.05) the committed long policy's chunks miss the expert's by 0.150 where the
//! sign differs from the demonstrations' at that step, against 0.067 where it agrees
//! (`docs/results-preamble.md`). [`canonical_axis_angle`] picks, of the two vectors of a
//! rotation near π, the one with a non-negative x component: `θ·n` or `(2π − θ)·(−n)`, the
//! same rotation. The result is continuous for every pose whose rotation axis stays off the
//! y-z plane, which for a gripper pointing down means a yaw within ±π of the reset yaw.

/// Rotations below this angle (rad) are left as they are: only near π do the two
/// representations of one rotation lie far apart, and small rotations (a gripper pointing
/// up) would otherwise get flipped to angles near 2π.
pub const FLIP_FROM_RAD: f32 = std::f32::consts::FRAC_PI_2;

/// The axis-angle vector `v` (rad) of the same rotation in the x ≥ 0 hemisphere: unchanged
/// when its x component is non-negative or its angle is below [`FLIP_FROM_RAD`], otherwise
/// `(2π − θ)·(−n)`. Idempotent (a canonical vector is left as it is).
pub fn canonical_axis_angle(v: [f32; 3]) -> [f32; 3] {
    let angle = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if v[0] >= 0.0 || angle < FLIP_FROM_RAD || !angle.is_finite() {
        return v;
    }
    let scale = -(std::f32::consts::TAU - angle) / angle;
    [v[0] * scale, v[1] * scale, v[2] * scale]
}

/// Apply [`canonical_axis_angle`] to `proprio[at..at + 3]` in place (nothing when the
/// vector is shorter: the caller validated the index against the model's proprio length).
pub fn canonicalise_proprio(proprio: &mut [f32], at: usize) {
    if let Some(slot) = proprio.get_mut(at..at + 3) {
        let v = canonical_axis_angle([slot[0], slot[1], slot[2]]);
        slot.copy_from_slice(&v);
    }
}

#[cfg(test)]
#[allow(
    clippy::float_cmp,
    reason = "left-alone vectors must come back bit for bit"
)]
mod tests {
    use super::*;

    /// The rotation matrix of axis-angle `v` (Rodrigues), to check two vectors are one
    /// rotation.
    fn matrix(v: [f32; 3]) -> [[f64; 3]; 3] {
        let v = v.map(f64::from);
        let t = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        let n = v.map(|c| c / t);
        let (s, c) = t.sin_cos();
        let k = [[0.0, -n[2], n[1]], [n[2], 0.0, -n[0]], [-n[1], n[0], 0.0]];
        let mut r = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                let kk: f64 = (0..3).map(|m| k[i][m] * k[m][j]).sum();
                r[i][j] = f64::from(u8::from(i == j)) + s * k[i][j] + (1.0 - c) * kk;
            }
        }
        r
    }

    fn max_diff(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> f64 {
        (0..9)
            .map(|i| (a[i / 3][i % 3] - b[i / 3][i % 3]).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn the_two_sides_of_a_pointing_down_pose_become_one() {
        // Recorded proprio of one pose phase in a plain and a noisy episode (long task 9,
        // step 4): the raw x components are +3.139 and -3.136.
        let plain = [3.139_f32, 0.001, -0.03];
        let noisy = [-3.136_f32, 0.012, 0.022];
        assert_eq!(canonical_axis_angle(plain), plain);
        let c = canonical_axis_angle(noisy);
        assert!(c[0] > 3.1, "{c:?}");
        let gap = (0..3).map(|i| (c[i] - plain[i]).abs()).fold(0.0, f32::max);
        assert!(gap < 0.06, "{c:?} vs {plain:?}");
        assert!(
            max_diff(matrix(c), matrix(noisy)) < 1e-5,
            "the same rotation"
        );
    }

    #[test]
    fn a_sweep_through_the_flip_is_continuous_and_keeps_the_rotation() {
        // Tilt a pointing-down gripper (π about x, yawed) through the point where the raw
        // vector flips: the canonical one moves by about the tilt step, never by 2π.
        for yaw in [-1.2_f64, 0.0, 0.7] {
            let axis = [(yaw / 2.0).cos(), (yaw / 2.0).sin(), 0.0];
            let mut prev: Option<[f32; 3]> = None;
            for k in -20..=20 {
                let angle = std::f64::consts::PI + f64::from(k) * 0.005;
                // Raw LIBERO-style: θ in [0, π], so past π the axis flips.
                let (t, sign) = if angle > std::f64::consts::PI {
                    (std::f64::consts::TAU - angle, -1.0)
                } else {
                    (angle, 1.0)
                };
                #[expect(clippy::cast_possible_truncation, reason = "test values")]
                let raw = axis.map(|a| (a * t * sign) as f32);
                let c = canonical_axis_angle(raw);
                assert!(max_diff(matrix(c), matrix(raw)) < 1e-4);
                if let Some(p) = prev {
                    let step = (0..3).map(|i| (c[i] - p[i]).abs()).fold(0.0, f32::max);
                    assert!(step < 0.02, "yaw {yaw}, k {k}: {p:?} -> {c:?}");
                }
                prev = Some(c);
                assert_eq!(canonical_axis_angle(c), c, "idempotent");
            }
        }
    }

    #[test]
    fn small_rotations_and_odd_values_are_left_alone() {
        let small = [-0.3_f32, 0.2, 0.1];
        assert_eq!(canonical_axis_angle(small), small);
        let zero = [0.0_f32; 3];
        assert_eq!(canonical_axis_angle(zero), zero);
        let mut p = vec![0.4_f32, 0.0, 0.2, -3.1, 0.0, 0.05, 0.02, 0.02];
        canonicalise_proprio(&mut p, 3);
        assert!(
            p[3] > 3.1 && (p[5] + 0.05 * (std::f32::consts::TAU - 3.1004) / 3.1004).abs() < 1e-3
        );
        assert_eq!(&p[..3], &[0.4, 0.0, 0.2]);
        let mut short = vec![1.0_f32, 2.0];
        canonicalise_proprio(&mut short, 3);
        assert_eq!(short, [1.0, 2.0]);
    }
}

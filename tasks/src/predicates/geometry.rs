//! LIBERO's geometric tests as pure functions of positions, rotations and sizes.
//!
//! Sources (LIBERO, MIT, commit `4f0dd18`, `libero/libero/envs/`), summarised in
//! `../shared/docs/libero-protocol.md` §1.3:
//! - [`on_object`]: `object_states/base_object_states.py`, `ObjectState.check_ontop`;
//! - [`under`]: `objects/site_object.py`, `SiteObject.under` (called by
//!   `SiteObjectState.check_ontop`);
//! - [`in_box`]: `objects/site_object.py`, `SiteObject.in_box`, and the identical
//!   `TargetZone.in_box` in `objects/target_zones.py` (called by
//!   `SiteObjectState.check_contain`);
//! - [`up`]: `predicates/base_predicates.py`, `Up`.
//!
//! The arithmetic follows the numpy expressions term by term (same operations, same order)
//! and keeps LIBERO's quirks: `under` rotates the offset with `R`, not `Rᵀ`; `in_box` takes
//! `|R · size|` as the half extents and lowers the floor by 1 cm; all comparisons are strict
//! except `On`'s height test and `Up`.

/// A row-major 3×3 rotation matrix, as MuJoCo's `xmat`.
pub type Mat3 = [f64; 9];

/// `On(a, b)`, `b` an object: the centres must be closer than this in x/y (m), strictly.
/// `np.linalg.norm(this_object_position[:2] - other_object_position[:2]) < 0.03` in
/// `ObjectState.check_ontop`.
pub const ON_OBJECT_MAX_XY_DIST_M: f64 = 0.03;

/// `On(a, site)`: `a` may sit at most this far below the top face of the site box (m).
/// `total_size[2] - 0.005 < delta_position[2]` in `SiteObject.under`.
pub const UNDER_BELOW_TOP_M: f64 = 0.005;

/// `On(a, site)`: `a` must be less than this far above the top face of the site box (m).
/// The `other_height=0.10` default of `SiteObject.under`.
pub const UNDER_ABOVE_TOP_M: f64 = 0.10;

/// `In(a, site)`: the box's floor is lowered by this much (m). `lb[2] -= 0.01` in
/// `SiteObject.in_box` / `TargetZone.in_box`.
pub const IN_BOX_FLOOR_SLACK_M: f64 = 0.01;

/// `Up(a)`: the body (or site) must be at least this high in the world (m).
/// `arg1.get_geom_state()["pos"][2] >= 1.0` in `Up`.
pub const UP_MIN_Z_M: f64 = 1.0;

/// `m @ v` with numpy's summation order.
fn mat_vec(m: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [
        m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
        m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
        m[6] * v[0] + m[7] * v[1] + m[8] * v[2],
    ]
}

/// `On(a, b)` for an object or fixture `b` (`ObjectState.check_ontop` of `b` with `a`):
/// `p(b).z <= p(a).z`, the two objects touch, and `‖p(a).xy − p(b).xy‖ < 0.03`.
///
/// `a_pos` and `b_pos` are the root-body positions (`x_main`); `in_contact` is any contact
/// between their geoms. The distance is `sqrt(dx² + dy²)`, as `np.linalg.norm` computes it.
pub fn on_object(a_pos: [f64; 3], b_pos: [f64; 3], in_contact: bool) -> bool {
    let dx = b_pos[0] - a_pos[0];
    let dy = b_pos[1] - a_pos[1];
    b_pos[2] <= a_pos[2] && in_contact && (dx * dx + dy * dy).sqrt() < ON_OBJECT_MAX_XY_DIST_M
}

/// `SiteObject.under(site_pos, site_xmat, a_pos)`: whether `a_pos` lies in the slab just above
/// the site box. With `d = R · (a − p_site)` (LIBERO uses `R`, not `Rᵀ`; kept on purpose):
/// `size.z − 0.005 < d.z < size.z + 0.10`, `|d.x| < size.x` and `|d.y| < size.y`.
///
/// `site_size` is the site's size as LIBERO stores it (the MJCF `size`, or `(half_x, half_y,
/// 0.007)` for a table zone), which is MuJoCo's `site_size`.
pub fn under(site_pos: [f64; 3], site_xmat: &Mat3, site_size: [f64; 3], a_pos: [f64; 3]) -> bool {
    let offset = [
        a_pos[0] - site_pos[0],
        a_pos[1] - site_pos[1],
        a_pos[2] - site_pos[2],
    ];
    let d = mat_vec(site_xmat, offset);
    site_size[2] - UNDER_BELOW_TOP_M < d[2]
        && d[2] < site_size[2] + UNDER_ABOVE_TOP_M
        && d[0].abs() < site_size[0]
        && d[1].abs() < site_size[1]
}

/// `SiteObject.in_box(site_pos, site_xmat, a_pos)`: with `h = |R · size|` (component-wise
/// absolute value, LIBERO's approximation of the rotated box),
/// `p_site − h − (0, 0, 0.01) < a < p_site + h` in every component, strictly.
pub fn in_box(site_pos: [f64; 3], site_xmat: &Mat3, site_size: [f64; 3], a_pos: [f64; 3]) -> bool {
    let rotated = mat_vec(site_xmat, site_size);
    (0..3).all(|i| {
        let half = rotated[i].abs();
        let upper = site_pos[i] + half;
        let mut lower = site_pos[i] - half;
        if i == 2 {
            lower -= IN_BOX_FLOOR_SLACK_M;
        }
        a_pos[i] > lower && a_pos[i] < upper
    })
}

/// `Near(a, b)` (ddvla extension): x/y distance of the two bodies below this (m). SimplerEnv's
/// "move near" uses the objects' bounding boxes plus 0.10 m; for our objects (≤ 7 cm wide)
/// this fixed bound is close to that.
pub const NEAR_MAX_XY_DIST_M: f64 = 0.15;

/// `Near(a, b)`: `‖p(a).xy − p(b).xy‖ < 0.15`.
pub fn near(a_pos: [f64; 3], b_pos: [f64; 3]) -> bool {
    (a_pos[0] - b_pos[0]).hypot(a_pos[1] - b_pos[1]) < NEAR_MAX_XY_DIST_M
}

/// `Up(a)`: `p(a).z >= 1.0` (the body position of an instance, or a site's position).
pub fn up(pos: [f64; 3]) -> bool {
    pos[2] >= UP_MIN_Z_M
}

#[cfg(test)]
mod tests {
    use super::{Mat3, in_box, near, on_object, under, up};

    const I: Mat3 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    /// 90° about z: world x → y. Row-major.
    const RZ90: Mat3 = [0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    const EPS: f64 = 1e-9;

    #[test]
    fn on_object_height_contact_and_distance() {
        let b = [0.1, 0.2, 0.9];
        assert!(on_object([0.1, 0.2, 0.95], b, true));
        // Equal heights pass (`<=`), a lower `a` fails.
        assert!(on_object([0.1, 0.2, 0.9], b, true));
        assert!(!on_object([0.1, 0.2, 0.9 - EPS], b, true));
        // No contact, no On.
        assert!(!on_object([0.1, 0.2, 0.95], b, false));
        // x/y distance: strictly below 3 cm.
        assert!(on_object([0.1 + 0.03 - 1e-6, 0.2, 0.95], b, true));
        assert!(!on_object([0.1 + 0.03 + 1e-6, 0.2, 0.95], b, true));
        assert!(!on_object([0.1 + 0.0213, 0.2 + 0.0213, 0.95], b, true)); // 3.012 cm
        assert!(on_object([0.1 + 0.0212, 0.2 + 0.0212, 0.95], b, true)); // 2.998 cm
    }

    #[test]
    fn under_thresholds_on_an_axis_aligned_site() {
        let (p, size) = ([0.5, 0.0, 0.9], [0.1, 0.05, 0.007]);
        let at = |x: f64, y: f64, z: f64| under(p, &I, size, [0.5 + x, y, 0.9 + z]);
        assert!(at(0.0, 0.0, 0.05));
        // Height window (size.z − 0.005, size.z + 0.10), strict at both ends.
        assert!(at(0.0, 0.0, 0.007 - 0.005 + 1e-6));
        assert!(!at(0.0, 0.0, 0.007 - 0.005 - 1e-6));
        assert!(at(0.0, 0.0, 0.007 + 0.10 - 1e-6));
        assert!(!at(0.0, 0.0, 0.007 + 0.10 + 1e-6));
        // Footprint |d.x| < size.x, |d.y| < size.y.
        assert!(at(0.1 - 1e-6, 0.0, 0.05) && at(-0.1 + 1e-6, 0.0, 0.05));
        assert!(!at(0.1 + 1e-6, 0.0, 0.05) && !at(-0.1 - 1e-6, 0.0, 0.05));
        assert!(at(0.0, 0.05 - 1e-6, 0.05) && !at(0.0, 0.05 + 1e-6, 0.05));
    }

    #[test]
    fn under_rotates_with_r_not_r_transpose() {
        // Site rotated 90° about z, long side (0.1) along its local x = world y.
        let (p, size) = ([0.0; 3], [0.1, 0.02, 0.01]);
        assert!(
            !under(p, &RZ90, size, [0.05, 0.0, 0.05]),
            "|d.y| = 0.05 ≥ 0.02"
        );
        assert!(
            under(p, &RZ90, size, [0.0, 0.05, 0.05]),
            "|d.x| = 0.05 < 0.1"
        );
        // 90° about x: R · (0, δ, 0) = (0, 0, δ) while Rᵀ · (0, δ, 0) = (0, 0, −δ). LIBERO
        // uses R, so a point beside the site along +y counts as above it, and one above it
        // does not.
        let rx90: Mat3 = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0];
        assert!(under(p, &rx90, size, [0.0, 0.05, 0.0]));
        assert!(!under(p, &rx90, size, [0.0, -0.05, 0.0]));
        assert!(!under(p, &rx90, size, [0.0, 0.0, 0.05]));
    }

    #[test]
    fn in_box_thresholds_and_floor_slack() {
        let (p, size) = ([0.3, -0.2, 1.0], [0.065, 0.085, 0.035]);
        let at = |x: f64, y: f64, z: f64| in_box(p, &I, size, [0.3 + x, -0.2 + y, 1.0 + z]);
        assert!(at(0.0, 0.0, 0.0));
        assert!(at(0.065 - 1e-6, 0.0, 0.0) && !at(0.065 + 1e-6, 0.0, 0.0));
        assert!(at(-0.065 + 1e-6, 0.0, 0.0) && !at(-0.065 - 1e-6, 0.0, 0.0));
        assert!(at(0.0, 0.085 - 1e-6, 0.0) && !at(0.0, 0.085 + 1e-6, 0.0));
        // Top: strictly below p.z + 0.035; floor: strictly above p.z − 0.035 − 0.01.
        assert!(at(0.0, 0.0, 0.035 - 1e-6) && !at(0.0, 0.0, 0.035 + 1e-6));
        assert!(at(0.0, 0.0, -0.045 + 1e-6) && !at(0.0, 0.0, -0.045 - 1e-6));
    }

    #[test]
    fn in_box_uses_the_absolute_rotated_size() {
        // R · size for 90° about z swaps the x/y extents.
        let (p, size) = ([0.0; 3], [0.1, 0.02, 0.01]);
        assert!(in_box(p, &RZ90, size, [0.015, 0.09, 0.0]));
        assert!(!in_box(p, &RZ90, size, [0.09, 0.015, 0.0]));
        // 45° about z: |R · size| = (0.0566, 0.0849, ·), not the true bounding box.
        let c = std::f64::consts::FRAC_1_SQRT_2;
        let rz45: Mat3 = [c, -c, 0.0, c, c, 0.0, 0.0, 0.0, 1.0];
        let hx = (c * 0.1 - c * 0.02).abs();
        assert!(in_box(p, &rz45, size, [hx - 1e-6, 0.0, 0.0]));
        assert!(!in_box(p, &rz45, size, [hx + 1e-6, 0.0, 0.0]));
    }

    #[test]
    fn up_is_at_least_one_metre() {
        assert!(up([0.0, 0.0, 1.0]));
        assert!(!up([0.0, 0.0, 1.0 - EPS]));
    }

    #[test]
    fn near_is_within_15_cm_in_xy_whatever_the_height() {
        assert!(near([0.0, 0.0, 0.0], [0.149_999, 0.0, 0.5]));
        assert!(!near([0.0, 0.0, 0.0], [0.15, 0.0, 0.0]));
        assert!(!near([0.0, 0.0, 0.0], [0.11, 0.11, 0.0]));
    }
}

//! Computing `dataset_statistics.json` from transitions, as OpenVLA's
//! `get_dataset_statistics` does (per-dimension q01/q99, min, max, mean, std).

use std::collections::BTreeMap;

use super::{DatasetStatistics, DatasetStats, NormStats};
use crate::{PolicyError, Result};

/// Below this q99 − q01 spread a dimension is treated as constant and not normalised.
pub const MIN_SPREAD: f32 = 1e-6;

/// The `q`-th percentile (`q` in `[0, 100]`) of sorted `v` with linear interpolation between
/// the closest ranks (numpy's default `method="linear"`).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = (q / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

/// Statistics of `rows` (one vector per transition); `what` names the quantity in errors;
/// `pass_last`: leave the last dimension unnormalised (the gripper).
fn norm_stats(rows: &[&[f32]], what: &str, pass_last: bool) -> Result<NormStats> {
    let Some(first) = rows.first() else {
        return Err(PolicyError::bad_input(what, "no rows"));
    };
    let dim = first.len();
    if dim == 0 {
        return Err(PolicyError::bad_input(what, "row 0 has no values"));
    }
    for (i, r) in rows.iter().enumerate() {
        if r.len() != dim {
            return Err(PolicyError::bad_input(
                what,
                format!("row {i} has {} values, row 0 has {dim}", r.len()),
            ));
        }
        if let Some(d) = r.iter().position(|v| !v.is_finite()) {
            return Err(PolicyError::bad_input(
                what,
                format!("row {i} dimension {d} is {}", r[d]),
            ));
        }
    }
    let n = rows.len() as f64;
    let [mut q01, mut q99, mut min, mut max, mut mean, mut stdev] =
        std::array::from_fn(|_| Vec::with_capacity(dim));
    let mut mask = Vec::with_capacity(dim);
    let mut column = Vec::with_capacity(rows.len());
    for d in 0..dim {
        column.clear();
        column.extend(rows.iter().map(|r| f64::from(r[d])));
        column.sort_by(f64::total_cmp);
        let m = column.iter().sum::<f64>() / n;
        let var = column.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
        let (lo, hi) = (
            percentile(&column, 1.0) as f32,
            percentile(&column, 99.0) as f32,
        );
        q01.push(lo);
        q99.push(hi);
        min.push(column[0] as f32);
        max.push(column[column.len() - 1] as f32);
        mean.push(m as f32);
        stdev.push(var.sqrt() as f32);
        mask.push(!(hi - lo < MIN_SPREAD || (pass_last && d + 1 == dim)));
    }
    Ok(NormStats {
        q01,
        q99,
        mask: Some(mask),
        min: Some(min),
        max: Some(max),
        mean: Some(mean),
        std: Some(stdev),
    })
}

/// `dataset_statistics.json` contents for one dataset `key`, from its transitions: one action
/// vector and (optionally) one proprio vector per transition.
///
/// Per dimension: q01/q99 (numpy's default linear-interpolation percentile), min, max, mean and
/// (population, `ddof = 0`) std, computed in `f64`; `num_transitions` = number of action rows.
/// The normalisation mask is `false` for dimensions whose q99 − q01 is below [`MIN_SPREAD`]
/// (constant: not normalised) and, for actions, for the LAST dimension: the gripper is passed
/// through unnormalised, as OpenVLA's `action_normalization_mask` (LIBERO:
/// `[True] * 6 + [False]`) does. `proprio` may be empty (no proprio statistics); otherwise it
/// has one row per action row.
///
/// # Errors
/// [`PolicyError::BadInput`] for no action rows, rows of inconsistent length (naming the row),
/// a proprio row count that differs from the action row count, or a non-finite value (naming
/// the row and dimension).
pub fn dataset_statistics(
    actions: &[&[f32]],
    proprio: &[&[f32]],
    key: &str,
) -> Result<DatasetStatistics> {
    let action = norm_stats(actions, "action statistics", true)?;
    let proprio = if proprio.is_empty() {
        None
    } else if proprio.len() == actions.len() {
        Some(norm_stats(proprio, "proprio statistics", false)?)
    } else {
        return Err(PolicyError::bad_input(
            "proprio statistics",
            format!(
                "{} rows, but there are {} action rows",
                proprio.len(),
                actions.len()
            ),
        ));
    };
    let mut map = BTreeMap::new();
    map.insert(
        key.to_owned(),
        DatasetStats {
            action,
            proprio,
            num_transitions: Some(actions.len() as u64),
            num_trajectories: None,
        },
    );
    Ok(DatasetStatistics(map))
}

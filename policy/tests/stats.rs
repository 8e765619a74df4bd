//! Computing dataset statistics (numpy percentiles, masks, errors) and validating them.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_policy::PolicyError;
use ddvla_policy::stats::{DatasetStatistics, NormStats, dataset_statistics, percentile};

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() < 1e-5 * (1.0 + b.abs())
}

#[test]
fn percentiles_match_numpy_linear() {
    // np.percentile(np.arange(1, 101), [1, 99]) == [1.99, 99.01]
    let v: Vec<f64> = (1..=100).map(f64::from).collect();
    assert!((percentile(&v, 1.0) - 1.99).abs() < 1e-12);
    assert!((percentile(&v, 99.0) - 99.01).abs() < 1e-12);
    // np.percentile([1, 2, 3], [1, 99]) == [1.02, 2.98]
    assert!((percentile(&[1.0, 2.0, 3.0], 1.0) - 1.02).abs() < 1e-12);
    assert!((percentile(&[1.0, 2.0, 3.0], 99.0) - 2.98).abs() < 1e-12);
    assert!((percentile(&[4.0], 99.0) - 4.0).abs() < 1e-12);
    assert!((percentile(&[1.0, 5.0], 50.0) - 3.0).abs() < 1e-12);
}

#[test]
fn statistics_per_dimension_with_masks() {
    // dims: ramp, constant, gripper (last) — 101 transitions.
    let rows: Vec<Vec<f32>> = (0..=100)
        .map(|i| vec![i as f32 / 100.0, 0.5, if i % 2 == 0 { 0.0 } else { 1.0 }])
        .collect();
    let proprio: Vec<Vec<f32>> = (0..=100)
        .map(|i| vec![-(i as f32), 2.0 * i as f32])
        .collect();
    let a: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
    let p: Vec<&[f32]> = proprio.iter().map(Vec::as_slice).collect();
    let s = dataset_statistics(&a, &p, "demo").unwrap();
    let d = s.select(Some("demo")).unwrap();
    assert_eq!(d.num_transitions, Some(101));
    let act = &d.action;
    // np.percentile(np.arange(101) / 100, [1, 99]) == [0.01, 0.99]
    assert!(
        close(act.q01[0], 0.01) && close(act.q99[0], 0.99),
        "{act:?}"
    );
    assert!(close(act.min.as_ref().unwrap()[0], 0.0));
    assert!(close(act.max.as_ref().unwrap()[0], 1.0));
    assert!(close(act.mean.as_ref().unwrap()[0], 0.5));
    // np.std(np.arange(101) / 100) (ddof = 0)
    let std = ((0..=100)
        .map(|i| (f64::from(i) / 100.0 - 0.5).powi(2))
        .sum::<f64>()
        / 101.0)
        .sqrt();
    assert!(close(act.std.as_ref().unwrap()[0], std));
    assert!(close(act.q01[1], 0.5) && close(act.q99[1], 0.5));
    // Constant dimension and gripper are not normalised.
    assert_eq!(act.mask.as_deref(), Some(&[true, false, false][..]));
    act.validate(3, "action").unwrap();
    let pr = d.proprio.as_ref().unwrap();
    assert_eq!(
        pr.mask.as_deref(),
        Some(&[true, true][..]),
        "no gripper rule for proprio"
    );
    assert!(close(pr.q01[0], -99.0) && close(pr.q99[1], 198.0));
    // The computed file round-trips.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dataset_statistics.json");
    s.save(&path).unwrap();
    assert_eq!(DatasetStatistics::load(&path).unwrap(), s);
    // No proprio rows: no proprio statistics.
    let s = dataset_statistics(&a, &[], "demo").unwrap();
    assert!(s.select(None).unwrap().proprio.is_none());
}

fn bad_input(r: ddvla_policy::Result<DatasetStatistics>) -> String {
    match r {
        Err(e @ PolicyError::BadInput { .. }) => e.to_string(),
        other => panic!("expected BadInput, got {other:?}"),
    }
}

#[test]
fn bad_transitions_are_clear_errors() {
    let e = bad_input(dataset_statistics(&[], &[], "k"));
    assert!(e.contains("action") && e.contains("no rows"), "{e}");
    let (r0, r1, r2) = ([0.0, 1.0], [0.5, 1.0], [0.5]);
    let e = bad_input(dataset_statistics(&[&r0, &r1, &r2], &[], "k"));
    assert!(e.contains("row 2") && e.contains("1 values"), "{e}");
    let nan = [0.5, f32::NAN];
    let e = bad_input(dataset_statistics(&[&r0, &nan], &[], "k"));
    assert!(e.contains("row 1 dimension 1") && e.contains("NaN"), "{e}");
    let inf = [f32::INFINITY];
    let e = bad_input(dataset_statistics(&[&r0, &r1], &[&r2, &inf], "k"));
    assert!(
        e.contains("proprio") && e.contains("row 1") && e.contains("inf"),
        "{e}"
    );
    let e = bad_input(dataset_statistics(&[&r0, &r1], &[&r2], "k"));
    assert!(e.contains("proprio") && e.contains("1 rows"), "{e}");
}

#[test]
fn validate_rejects_a_normalised_constant_dimension() {
    let mut s = NormStats {
        q01: vec![-1.0, 0.3, 0.0],
        q99: vec![1.0, 0.3, 1.0],
        mask: Some(vec![true, true, false]),
        min: None,
        max: None,
        mean: None,
        std: None,
    };
    let e = s.validate(3, "action").unwrap_err().to_string();
    assert!(
        e.contains("dataset_statistics.action") && e.contains("dimension 1") && e.contains("q01"),
        "{e}"
    );
    // Absent mask = all normalised: the same error.
    s.mask = None;
    assert!(s.validate(3, "action").is_err());
    // Inverted bounds too.
    s.q01[1] = 0.5;
    s.mask = Some(vec![true, true, false]);
    assert!(s.validate(3, "action").is_err());
    // Unmasked, a constant dimension is fine (passed through).
    s.mask = Some(vec![true, false, false]);
    s.validate(3, "action").unwrap();
}

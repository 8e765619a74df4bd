//! Tests of the safety layer.
#![allow(clippy::float_cmp, clippy::unwrap_used)] // exact, representable values

use proptest::prelude::*;

use super::*;

const MS: u64 = 1_000_000;

fn config() -> SafetyConfig {
    SafetyConfig {
        lower: vec![-1.0, -1.0, -1.0, -1.0],
        upper: vec![1.0, 1.0, 1.0, 1.0],
        max_step: vec![0.25, 0.25, 0.25, 2.0],
        hold_value: vec![0.0, 0.0, 0.0, -1.0],
        hold_keep_last_dims: vec![3], // the gripper keeps its command
        max_observation_age_ms: 100.0,
        workspace: Some(Workspace {
            min_m: [0.2, -0.3, 0.0],
            max_m: [0.7, 0.3, 0.5],
            delta_dims: [0, 1, 2],
            metres_per_unit: 0.05,
        }),
    }
}

fn fresh(now_ms: u64) -> TickContext {
    TickContext {
        now: MonoNs(now_ms * MS),
        newest_observation: Some(MonoNs(now_ms * MS)),
        ee_position_m: Some([0.45, 0.0, 0.25]),
    }
}

#[test]
fn clamps_rate_limits_and_counts() {
    let mut s = SafetyLayer::new(config(), &[0.0, 0.0, 0.0, -1.0]).unwrap();
    let mut out = [0.0; 4];
    assert_eq!(
        s.filter(
            Proposal::Action(&[5.0, -0.1, 0.1, 1.0]),
            &fresh(0),
            &mut out
        ),
        None
    );
    assert_eq!(out, [0.25, -0.1, 0.1, 1.0]);
    let c = s.counts();
    assert_eq!((c.clamped, c.rate_limited), (1, 1));
}

#[test]
fn holds_for_every_fault_and_keeps_the_gripper() {
    let mut s = SafetyLayer::new(config(), &[0.0, 0.0, 0.0, -1.0]).unwrap();
    let mut out = [0.0; 4];
    s.filter(Proposal::Action(&[0.2, 0.0, 0.0, 1.0]), &fresh(0), &mut out);
    let cases: [(Proposal<'_>, TickContext, HoldReason); 5] = [
        (
            Proposal::Action(&[f32::NAN, 0.0, 0.0, 1.0]),
            fresh(1),
            HoldReason::NonFinite,
        ),
        (
            Proposal::Action(&[0.0, f32::INFINITY, 0.0, 1.0]),
            fresh(2),
            HoldReason::NonFinite,
        ),
        (Proposal::Nothing, fresh(3), HoldReason::NoAction),
        (Proposal::PolicyError, fresh(4), HoldReason::PolicyError),
        (
            Proposal::Action(&[0.1, 0.0, 0.0, 1.0]),
            TickContext {
                newest_observation: Some(MonoNs(0)),
                ..fresh(101)
            },
            HoldReason::StaleObservation,
        ),
    ];
    for (proposal, ctx, reason) in cases {
        assert_eq!(s.filter(proposal, &ctx, &mut out), Some(reason));
        assert_eq!(
            out,
            [0.0, 0.0, 0.0, 1.0],
            "{reason:?}: zero delta, gripper kept"
        );
    }
    s.estop();
    assert_eq!(
        s.filter(
            Proposal::Action(&[0.1, 0.0, 0.0, 1.0]),
            &fresh(200),
            &mut out
        ),
        Some(HoldReason::Estop)
    );
    s.clear_estop();
    assert_eq!(
        s.filter(
            Proposal::Action(&[0.1, 0.0, 0.0, 1.0]),
            &fresh(201),
            &mut out
        ),
        None
    );
    let c = s.counts();
    assert_eq!(
        (
            c.non_finite,
            c.no_action,
            c.policy_error,
            c.stale_observation,
            c.estop
        ),
        (2, 1, 1, 1, 1)
    );
    // No observation at all is stale too.
    let ctx = TickContext {
        newest_observation: None,
        ..fresh(300)
    };
    assert_eq!(
        s.filter(Proposal::Action(&[0.1, 0.0, 0.0, 1.0]), &ctx, &mut out),
        Some(HoldReason::StaleObservation)
    );
}

#[test]
fn position_deltas_stay_in_the_workspace() {
    let mut s = SafetyLayer::new(config(), &[0.0, 0.0, 0.0, -1.0]).unwrap();
    let mut out = [0.0; 4];
    let near_top = TickContext {
        ee_position_m: Some([0.45, 0.0, 0.49]),
        ..fresh(0)
    };
    s.filter(
        Proposal::Action(&[0.0, 0.0, 0.25, -1.0]),
        &near_top,
        &mut out,
    );
    assert!((f64::from(out[2]) * 0.05 - 0.01).abs() < 1e-6, "{out:?}");
    assert_eq!(s.counts().workspace, 1);
    // Moving back inside is allowed.
    s.filter(
        Proposal::Action(&[0.0, 0.0, 0.0, -1.0]),
        &near_top,
        &mut out,
    );
    s.filter(
        Proposal::Action(&[0.0, 0.0, -0.2, -1.0]),
        &near_top,
        &mut out,
    );
    assert!((out[2] + 0.2).abs() < 1e-6);
}

#[test]
fn bad_configs_are_errors() {
    let mut c = config();
    c.upper.pop();
    assert!(SafetyLayer::new(c, &[0.0; 4]).is_err());
    let mut c = config();
    c.max_step[0] = f32::NAN;
    assert!(
        SafetyLayer::new(c, &[0.0; 4])
            .unwrap_err()
            .to_string()
            .contains("max_step")
    );
    let mut c = config();
    c.hold_value[0] = 3.0;
    assert!(SafetyLayer::new(c, &[0.0; 4]).is_err());
    let mut c = config();
    c.hold_keep_last_dims = vec![9];
    assert!(SafetyLayer::new(c, &[0.0; 4]).is_err());
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        -3.0_f32..3.0,
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(1e30_f32),
    ]
}

proptest! {
    /// Whatever the model outputs and whenever observations arrive, every command is finite
    /// and inside the bounds, and consecutive policy commands move at most `max_step`.
    #[test]
    fn no_command_ever_leaves_the_limits(
        steps in proptest::collection::vec(
            (proptest::collection::vec(value(), 4), 0_u8..10, any::<bool>(), -0.2_f64..0.9),
            1..60,
        )
    ) {
        let cfg = config();
        let mut s = SafetyLayer::new(cfg.clone(), &[0.0, 0.0, 0.0, -1.0]).unwrap();
        let mut out = [0.0_f32; 4];
        let mut previous: Option<[f32; 4]> = None;
        for (i, (action, kind, stale, z)) in steps.into_iter().enumerate() {
            let now = MonoNs(i as u64 * 20 * MS);
            let ctx = TickContext {
                now,
                newest_observation: Some(if stale { MonoNs(0) } else { now }),
                ee_position_m: Some([0.45, 0.0, z]),
            };
            let proposal = match kind {
                0 => Proposal::Nothing,
                1 => Proposal::PolicyError,
                _ => Proposal::Action(&action),
            };
            let workspace_before = s.counts().workspace;
            let held = s.filter(proposal, &ctx, &mut out);
            for d in 0..4 {
                prop_assert!(out[d].is_finite());
                prop_assert!(out[d] >= cfg.lower[d] && out[d] <= cfg.upper[d], "{out:?}");
            }
            let workspace_cut = s.counts().workspace > workspace_before;
            if let (None, false, Some(p)) = (held, workspace_cut, previous) {
                for d in 0..4 {
                    prop_assert!((out[d] - p[d]).abs() <= cfg.max_step[d] + 1e-6);
                }
            }
            previous = Some(out);
        }
    }
}

//! The fused ops against their differentiable candle compositions: values and gradients.
#![allow(clippy::unwrap_used)] // tests

use candle_core::{Device, Tensor, Var};

use super::*;
use crate::train::test_support::{max_diff, randn};

/// Values and input gradients of `f` vs `slow` under a weighted-sum loss.
fn check(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor, slow: impl Fn(&[Tensor]) -> Tensor) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (a, b) = (f(&ts), slow(&ts));
    assert!(max_diff(&a, &b) < 1e-5, "values: {}", max_diff(&a, &b));
    let weights = randn(a.dims(), 5);
    let ga = (&a * &weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let gb = (&b * &weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for v in &vars {
        let (x, y) = (ga.get(v).unwrap(), gb.get(v).unwrap());
        assert!(max_diff(x, y) < 1e-4, "gradients: {}", max_diff(x, y));
    }
}

#[test]
fn rms_norm_matches_the_slow_composition() {
    check(
        &[randn(&[2, 5, 8], 1), randn(&[8], 2)],
        |t| rms_norm(&t[0], &t[1], 1e-5).unwrap(),
        |t| candle_nn::ops::rms_norm_slow(&t[0], &t[1], 1e-5).unwrap(),
    );
}

#[test]
fn rope_matches_the_slow_composition() {
    let (cos, sin) = (randn(&[5, 4], 3), randn(&[5, 4], 4));
    check(
        &[randn(&[2, 3, 5, 8], 1)],
        |t| rope(&t[0], &cos, &sin).unwrap(),
        |t| candle_nn::rotary_emb::rope_slow(&t[0], &cos, &sin).unwrap(),
    );
}

#[test]
fn masked_softmax_matches_the_slow_composition() {
    // Causal mask per batch row block: every row keeps its diagonal.
    let (b, r, s) = (2, 6, 3);
    let mask: Vec<f32> = (0..b * r * s)
        .map(|i| {
            if i % s <= (i / s) % s {
                0.0
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    let mask = Tensor::from_vec(mask, (b, 1, r, s), &Device::Cpu).unwrap();
    let slow = |x: &Tensor, m: Option<&Tensor>| {
        let x = m.map_or_else(|| x.clone(), |m| x.broadcast_add(m).unwrap());
        let max = x.max_keepdim(D::Minus1).unwrap().detach();
        let e = x.broadcast_sub(&max).unwrap().exp().unwrap();
        e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap()
    };
    check(
        &[randn(&[b, 2, r, s], 1)],
        |t| masked_softmax(&t[0], Some(&mask)).unwrap(),
        |t| slow(&t[0], Some(&mask)),
    );
    check(
        &[randn(&[b, 2, r, s], 2)],
        |t| masked_softmax(&t[0], None).unwrap(),
        |t| slow(&t[0], None),
    );
}

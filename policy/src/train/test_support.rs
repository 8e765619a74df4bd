//! Helpers shared by the training modules' unit tests.
#![allow(clippy::unwrap_used)] // tests

use candle_core::{Device, Tensor};

/// Deterministic values in [-1.5, 1.5) of `shape`, varying with `seed`.
pub(crate) fn randn(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let t = (i as u64)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed * 97)
                % 10_007;
            (t as f32 / 10_007.0 - 0.5) * 3.0
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Largest absolute element-wise difference.
pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

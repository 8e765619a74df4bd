//! Fused, multi-threaded CPU ops with a backward pass for the training twin of the backbone
//! ([`super::forward`]): RMSNorm, rotary embedding and the (masked) softmax of attention.
//!
//! candle's fast versions (`rms_norm`, `rope`, `softmax_last_dim`) have no backward pass,
//! and their differentiable `*_slow` forms are 5–10 elementwise ops each, every one a full
//! pass over the activations that allocates a tensor kept alive for the backward pass. Each
//! op here is one pass forward and one or two passes backward, over rows in parallel
//! (rayon). Other devices and dtypes fall back to the `*_slow` compositions. The unit tests
//! compare values and gradients against those compositions.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::Result;

/// Rows per rayon task (rows are 64–1024 floats here).
const ROWS_PER_TASK: usize = 64;

/// The contiguous f32 data of a CPU tensor argument.
fn slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("{op}: f32 only");
    };
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{op}: inputs must be contiguous");
    };
    Ok(&v[a..b])
}

fn last_dim(l: &Layout) -> candle_core::Result<usize> {
    l.dims()
        .last()
        .copied()
        .filter(|&n| n > 0)
        .ok_or_else(|| candle_core::Error::Msg("fused op: empty last dimension".into()))
}

/// Whether the fused CPU path applies.
fn fused(xs: &[&Tensor]) -> bool {
    xs.iter()
        .all(|x| x.device().is_cpu() && x.dtype() == DType::F32)
}

// ---------------------------------------------------------------- RMSNorm

struct RmsNorm {
    eps: f32,
}

fn inv_rms(x: &[f32], eps: f32) -> f32 {
    let ss: f32 = x.iter().map(|v| v * v).sum();
    1.0 / (ss / x.len() as f32 + eps).sqrt()
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "train-rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, w) = (slice(s1, l1, "rms_norm")?, slice(s2, l2, "rms_norm")?);
        let n = last_dim(l1)?;
        if w.len() != n {
            candle_core::bail!("rms_norm: weight of {} for rows of {n}", w.len());
        }
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n * ROWS_PER_TASK)
            .zip(x.par_chunks(n * ROWS_PER_TASK))
            .for_each(|(o, x)| {
                for (o, x) in o.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
                    let r = inv_rms(x, self.eps);
                    for ((o, &x), &w) in o.iter_mut().zip(x).zip(w) {
                        *o = x * r * w;
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dx = x.apply_op3_no_bwd(w, &grad, &RmsNormBwdX { eps: self.eps })?;
        let dw = x.apply_op2_no_bwd(&grad, &RmsNormBwdW { eps: self.eps })?;
        Ok((Some(dx), Some(dw)))
    }
}

/// `dx = r·(g·w − x·r²·mean(g·w·x))` with `r = 1/rms(x)`.
struct RmsNormBwdX {
    eps: f32,
}

impl CustomOp3 for RmsNormBwdX {
    fn name(&self) -> &'static str {
        "train-rms-norm-bwd-x"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = "rms_norm bwd";
        let (x, w, g) = (slice(s1, l1, op)?, slice(s2, l2, op)?, slice(s3, l3, op)?);
        let n = last_dim(l1)?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n * ROWS_PER_TASK)
            .zip(
                x.par_chunks(n * ROWS_PER_TASK)
                    .zip(g.par_chunks(n * ROWS_PER_TASK)),
            )
            .for_each(|(o, (x, g))| {
                for (o, (x, g)) in o
                    .chunks_exact_mut(n)
                    .zip(x.chunks_exact(n).zip(g.chunks_exact(n)))
                {
                    let r = inv_rms(x, self.eps);
                    let dot: f32 = x.iter().zip(g).zip(w).map(|((x, g), w)| g * w * x).sum();
                    let c = r * r * dot / n as f32;
                    for (((o, &x), &g), &w) in o.iter_mut().zip(x).zip(g).zip(w) {
                        *o = r * (g * w - x * c);
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `dw = Σ_rows g·x·r`.
struct RmsNormBwdW {
    eps: f32,
}

impl CustomOp2 for RmsNormBwdW {
    fn name(&self) -> &'static str {
        "train-rms-norm-bwd-w"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = "rms_norm bwd";
        let (x, g) = (slice(s1, l1, op)?, slice(s2, l2, op)?);
        let n = last_dim(l1)?;
        let dw = x
            .par_chunks(n * ROWS_PER_TASK)
            .zip(g.par_chunks(n * ROWS_PER_TASK))
            .map(|(x, g)| {
                let mut acc = vec![0f32; n];
                for (x, g) in x.chunks_exact(n).zip(g.chunks_exact(n)) {
                    let r = inv_rms(x, self.eps);
                    for ((a, &x), &g) in acc.iter_mut().zip(x).zip(g) {
                        *a += g * x * r;
                    }
                }
                acc
            })
            .reduce(
                || vec![0f32; n],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                    a
                },
            );
        Ok((CpuStorage::F32(dw), Shape::from(n)))
    }
}

/// RMSNorm over the last axis with weight `w` (differentiable in `x` and `w`).
pub(crate) fn rms_norm(x: &Tensor, w: &Tensor, eps: f32) -> Result<Tensor> {
    if fused(&[x, w]) {
        Ok(x.contiguous()?.apply_op2(w, RmsNorm { eps })?)
    } else {
        Ok(candle_nn::ops::rms_norm_slow(x, w, eps)?)
    }
}

// ---------------------------------------------------------------- RoPE

/// Non-interleaved rotary embedding of `[B, H, S, D]` with `cos`/`sin` `[S, D/2]`;
/// `sign = -1` applies the inverse rotation (the backward pass).
struct Rope {
    sign: f32,
}

impl CustomOp3 for Rope {
    fn name(&self) -> &'static str {
        "train-rope"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, cos, sin) = (
            slice(s1, l1, "rope")?,
            slice(s2, l2, "rope")?,
            slice(s3, l3, "rope")?,
        );
        let (_, _, s, d) = l1.shape().dims4()?;
        let half = d / 2;
        if d % 2 != 0 || cos.len() != s * half || sin.len() != s * half {
            candle_core::bail!("rope: tables do not match [{s}, {half}]");
        }
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(s * d)
            .zip(x.par_chunks(s * d))
            .for_each(|(o, x)| {
                for (p, (o, x)) in o.chunks_exact_mut(d).zip(x.chunks_exact(d)).enumerate() {
                    let (c, sn) = (&cos[p * half..][..half], &sin[p * half..][..half]);
                    let (x1, x2) = x.split_at(half);
                    let (o1, o2) = o.split_at_mut(half);
                    for i in 0..half {
                        let sn = self.sign * sn[i];
                        o1[i] = x1[i] * c[i] - x2[i] * sn;
                        o2[i] = x2[i] * c[i] + x1[i] * sn;
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let inverse = Rope { sign: -self.sign };
        let dx = grad.contiguous()?.apply_op3_no_bwd(cos, sin, &inverse)?;
        Ok((Some(dx), None, None))
    }
}

/// Rotary embedding of `x` `[B, H, S, D]` (halves layout, as `candle_nn::rotary_emb::rope`)
/// with `cos`/`sin` `[S, D/2]`; differentiable in `x`.
pub(crate) fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    if fused(&[x, cos, sin]) {
        Ok(x.contiguous()?
            .apply_op3(&cos.contiguous()?, &sin.contiguous()?, Rope { sign: 1.0 })?)
    } else {
        Ok(candle_nn::rotary_emb::rope_slow(x, cos, sin)?)
    }
}

// ---------------------------------------------------------------- softmax

/// Softmax over the last axis of `[B, H, R, S]` scores plus an additive mask `[B, 1, R, S]`.
struct MaskedSoftmax;

fn softmax_row(o: &mut [f32], x: &[f32], m: Option<&[f32]>) {
    match m {
        Some(m) => o
            .iter_mut()
            .zip(x)
            .zip(m)
            .for_each(|((o, x), m)| *o = x + m),
        None => o.copy_from_slice(x),
    }
    let max = o.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for v in o.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in o.iter_mut() {
        *v /= sum;
    }
}

fn softmax_fwd(
    x: &[f32],
    l: &Layout,
    mask: Option<&[f32]>,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let n = last_dim(l)?;
    let (b, h, r, _) = l.shape().dims4()?;
    if mask.is_some_and(|m| m.len() != b * r * n) {
        candle_core::bail!("softmax: mask does not match [{b}, 1, {r}, {n}]");
    }
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(n * ROWS_PER_TASK)
        .zip(x.par_chunks(n * ROWS_PER_TASK))
        .enumerate()
        .for_each(|(t, (o, x))| {
            for (i, (o, x)) in o.chunks_exact_mut(n).zip(x.chunks_exact(n)).enumerate() {
                let row = t * ROWS_PER_TASK + i;
                let m = mask.map(|m| {
                    let mrow = (row / (h * r)) * r + row % r;
                    &m[mrow * n..][..n]
                });
                softmax_row(o, x, m);
            }
        });
    Ok((CpuStorage::F32(out), l.shape().clone()))
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "train-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        softmax_fwd(
            slice(s1, l1, "softmax")?,
            l1,
            Some(slice(s2, l2, "softmax")?),
        )
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _mask: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((
            Some(res.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxBwd)?),
            None,
        ))
    }
}

struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "train-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        softmax_fwd(slice(s, l, "softmax")?, l, None)
    }

    fn bwd(&self, _x: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            res.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxBwd)?,
        ))
    }
}

/// `dx = y·(g − Σ g·y)` per row, from the softmax output `y` and its gradient `g`.
struct SoftmaxBwd;

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "train-softmax-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (y, g) = (slice(s1, l1, "softmax bwd")?, slice(s2, l2, "softmax bwd")?);
        let n = last_dim(l1)?;
        let mut out = vec![0f32; y.len()];
        out.par_chunks_mut(n * ROWS_PER_TASK)
            .zip(
                y.par_chunks(n * ROWS_PER_TASK)
                    .zip(g.par_chunks(n * ROWS_PER_TASK)),
            )
            .for_each(|(o, (y, g))| {
                for (o, (y, g)) in o
                    .chunks_exact_mut(n)
                    .zip(y.chunks_exact(n).zip(g.chunks_exact(n)))
                {
                    let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
                    for ((o, &y), &g) in o.iter_mut().zip(y).zip(g) {
                        *o = y * (g - dot);
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Softmax over the last axis of `scores` `[B, H, R, S]` after adding `mask` `[B, 1, R, S]`
/// (broadcast over heads; `-inf` blocks). Every row must keep one finite entry.
/// Differentiable in `scores`.
pub(crate) fn masked_softmax(scores: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let mut args = vec![scores];
    args.extend(mask);
    if fused(&args) {
        let x = scores.contiguous()?;
        return Ok(match mask {
            Some(m) => x.apply_op2(&m.contiguous()?, MaskedSoftmax)?,
            None => x.apply_op1(Softmax)?,
        });
    }
    let x = match mask {
        Some(m) => scores.broadcast_add(m)?,
        None => scores.clone(),
    };
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let sum = e.sum_keepdim(D::Minus1)?;
    Ok(e.broadcast_div(&sum)?)
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;

//! AdamW with inspectable state, and global gradient-norm clipping.
//!
//! The update is candle's [`candle_nn::AdamW`] formula, op for op (decoupled weight decay
//! `θ ← θ(1 − lr·λ) − lr·m̂/(√v̂ + ε)`, bias-corrected moments); a unit test checks that both
//! produce bit-identical parameters. It is re-implemented only because candle keeps the
//! moments in private fields, so its state cannot be saved: here the moments are named after
//! their variables and round-trip through safetensors, which makes `resume` exact.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::{PolicyError, Result};

/// AdamW hyper-parameters (the learning rate comes from the schedule each step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamWParams {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Decoupled weight decay λ (applied to every trained variable).
    pub weight_decay: f64,
}

impl Default for AdamWParams {
    /// PyTorch's and candle's defaults.
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

struct Slot {
    name: String,
    var: Var,
    m: Var,
    v: Var,
}

/// AdamW over named variables.
pub struct AdamW {
    slots: Vec<Slot>,
    step_t: u64,
    params: AdamWParams,
}

impl AdamW {
    /// An optimiser over `vars` (name, variable) with zero moments.
    pub fn new(vars: Vec<(String, Var)>, params: AdamWParams) -> Result<Self> {
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                let m = Var::zeros(var.shape(), var.dtype(), var.device())?;
                let v = Var::zeros(var.shape(), var.dtype(), var.device())?;
                Ok(Slot { name, var, m, v })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            step_t: 0,
            params,
        })
    }

    /// Updates taken so far (the bias-correction step).
    pub fn steps(&self) -> u64 {
        self.step_t
    }

    /// The optimised variables.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.slots.iter().map(|s| (s.name.as_str(), &s.var))
    }

    /// One update with learning rate `lr`; variables without a gradient are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.step_t += 1;
        let p = &self.params;
        let lr_lambda = lr * p.weight_decay;
        let t = i32::try_from(self.step_t).unwrap_or(i32::MAX);
        let scale_m = 1f64 / (1f64 - p.beta1.powi(t));
        let scale_v = 1f64 / (1f64 - p.beta2.powi(t));
        for s in &self.slots {
            let Some(g) = grads.get(&s.var) else {
                continue;
            };
            let next_m = ((s.m.as_tensor() * p.beta1)? + (g * (1.0 - p.beta1))?)?;
            let next_v = ((s.v.as_tensor() * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
            let m_hat = (&next_m * scale_m)?;
            let v_hat = (&next_v * scale_v)?;
            let next_theta = (s.var.as_tensor() * (1f64 - lr_lambda))?;
            let adjusted = (m_hat / (v_hat.sqrt()? + p.eps)?)?;
            let next_theta = (next_theta - (adjusted * lr)?)?;
            s.m.set(&next_m)?;
            s.v.set(&next_v)?;
            s.var.set(&next_theta)?;
        }
        Ok(())
    }

    /// The moments as `m.<name>` / `v.<name>` tensors (for safetensors).
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::with_capacity(2 * self.slots.len());
        for s in &self.slots {
            out.insert(format!("m.{}", s.name), s.m.as_tensor().clone());
            out.insert(format!("v.{}", s.name), s.v.as_tensor().clone());
        }
        out
    }

    /// Restore the moments saved by [`Self::state_tensors`] and the step counter.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, step_t: u64) -> Result<()> {
        for s in &self.slots {
            for (kind, dst) in [("m", &s.m), ("v", &s.v)] {
                let key = format!("{kind}.{}", s.name);
                let src = tensors.get(&key).ok_or_else(|| {
                    PolicyError::config("train.optimizer", format!("state lacks `{key}`"))
                })?;
                if src.dims() != dst.dims() {
                    return Err(PolicyError::config(
                        "train.optimizer",
                        format!(
                            "`{key}` has shape {:?}, expected {:?}",
                            src.dims(),
                            dst.dims()
                        ),
                    ));
                }
                dst.set(&src.to_dtype(dst.dtype())?.to_device(dst.device())?)?;
            }
        }
        self.step_t = step_t;
        Ok(())
    }
}

/// Global L2 norm of the gradients of `vars` (missing gradients count as zero).
pub fn grad_norm<'a>(grads: &GradStore, vars: impl Iterator<Item = &'a Var>) -> Result<f64> {
    let mut sum = 0f64;
    for var in vars {
        if let Some(g) = grads.get(var) {
            sum += f64::from(
                g.sqr()?
                    .sum_all()?
                    .to_dtype(candle_core::DType::F32)?
                    .to_scalar::<f32>()?,
            );
        }
    }
    Ok(sum.sqrt())
}

/// Scale every gradient of `vars` by `max_norm / norm` when `norm > max_norm` (PyTorch's
/// `clip_grad_norm_`, with its `1e-6` guard).
pub fn clip_grads<'a>(
    grads: &mut GradStore,
    vars: impl Iterator<Item = &'a Var>,
    norm: f64,
    max_norm: f64,
) -> Result<()> {
    if norm <= max_norm {
        return Ok(());
    }
    let coef = max_norm / (norm + 1e-6);
    for var in vars {
        if let Some(g) = grads.remove(var) {
            grads.insert(var, (g * coef)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::Optimizer;

    #[test]
    fn matches_candle_adamw_bit_for_bit() {
        let dev = Device::Cpu;
        let init = Tensor::new(&[[0.5f32, -1.0, 2.0], [0.1, 0.0, -0.3]], &dev).unwrap();
        let a = Var::from_tensor(&init).unwrap();
        let b = Var::from_tensor(&init).unwrap();
        let params = AdamWParams::default();
        let mut ours = AdamW::new(vec![("w".into(), a.clone())], params.clone()).unwrap();
        let mut theirs = candle_nn::AdamW::new(
            vec![b.clone()],
            candle_nn::ParamsAdamW {
                lr: 0.01,
                beta1: params.beta1,
                beta2: params.beta2,
                eps: params.eps,
                weight_decay: params.weight_decay,
            },
        )
        .unwrap();
        for _ in 0..5 {
            let ga = (a.as_tensor().sqr().unwrap().sum_all().unwrap())
                .backward()
                .unwrap();
            ours.step(&ga, 0.01).unwrap();
            let gb = (b.as_tensor().sqr().unwrap().sum_all().unwrap())
                .backward()
                .unwrap();
            theirs.step(&gb).unwrap();
        }
        let x: Vec<f32> = a.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let y: Vec<f32> = b.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(x, y);
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let dev = Device::Cpu;
        let a = Var::from_tensor(&Tensor::new(&[3f32, 4.0], &dev).unwrap()).unwrap();
        // d/dx (x·x)/2 = x → gradient (3, 4), norm 5.
        let mut g = ((a.as_tensor().sqr().unwrap().sum_all().unwrap()) * 0.5)
            .unwrap()
            .backward()
            .unwrap();
        let n = grad_norm(&g, std::iter::once(&a)).unwrap();
        assert!((n - 5.0).abs() < 1e-6);
        clip_grads(&mut g, std::iter::once(&a), n, 1.0).unwrap();
        let n = grad_norm(&g, std::iter::once(&a)).unwrap();
        assert!((n - 1.0).abs() < 1e-5, "{n}");
    }
}

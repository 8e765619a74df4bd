//! Exponential moving average of the trained weights (Polyak averaging), the smoothing that
//! Diffusion Policy and most behaviour-cloning recipes evaluate instead of the last step's
//! weights: checkpoints taken a few hundred steps apart can differ by tens of points on a
//! suite, and the average of the recent weights is less sensitive to where training stops.
//!
//! After update `n` (counted from 0) the shadow is `s ← d·s + (1 − d)·θ` with
//! `d = min(decay, (1 + n) / (10 + n))`: the warm-up of timm's `ModelEmaV2` and Diffusion
//! Policy, so an average started late (on a resumed run) is not dominated by the weights
//! it started from.

use std::collections::HashMap;

use candle_core::{Tensor, Var};

use crate::{PolicyError, Result};

/// Name prefix of the shadow tensors in `ema.safetensors`.
const PREFIX: &str = "ema.";

/// The moving average of a fixed set of named variables.
pub struct WeightEma {
    decay: f64,
    updates: u64,
    shadow: Vec<(String, Tensor)>,
}

/// Check an EMA decay from a config.
pub(crate) fn validate_decay(decay: f64) -> Result<()> {
    if decay.is_finite() && decay > 0.0 && decay < 1.0 {
        Ok(())
    } else {
        Err(PolicyError::config(
            "train.ema_decay",
            format!("is {decay}, must be in (0, 1) (e.g. 0.999)"),
        ))
    }
}

impl WeightEma {
    /// An average starting at the current values of `vars`.
    pub fn new<'a>(decay: f64, vars: impl Iterator<Item = (&'a str, &'a Var)>) -> Result<Self> {
        validate_decay(decay)?;
        let shadow = vars
            .map(|(name, var)| Ok((name.to_owned(), var.as_tensor().detach().copy()?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            decay,
            updates: 0,
            shadow,
        })
    }

    /// The configured decay (the upper bound of the warmed-up decay).
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// Change the decay; the average and its update count stay.
    pub fn set_decay(&mut self, decay: f64) -> Result<()> {
        validate_decay(decay)?;
        self.decay = decay;
        Ok(())
    }

    /// Updates folded in so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The decay the next update uses.
    pub fn next_decay(&self) -> f64 {
        let n = self.updates as f64;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// Fold in the current values of `vars` (the same variables, in the same order, as
    /// [`Self::new`] was given).
    pub fn update<'a>(&mut self, vars: impl Iterator<Item = (&'a str, &'a Var)>) -> Result<()> {
        let vars: Vec<_> = vars.collect();
        // Checked before anything changes: an error leaves the average as it was.
        self.check_vars(&vars)?;
        let d = self.next_decay();
        for ((_, s), (_, var)) in self.shadow.iter_mut().zip(&vars) {
            // Detached: an op on a variable records its inputs for backprop, so each shadow
            // would hold the previous one and the average would grow by a model per step.
            let theta = var.as_tensor().detach();
            *s = (s.affine(d, 0.0)? + theta.affine(1.0 - d, 0.0)?)?.detach();
        }
        self.updates += 1;
        Ok(())
    }

    /// Set `vars` (the variables of [`Self::new`], in order) to the average and return
    /// their own values, for [`restore`] to put back.
    pub fn swap_in<'a>(
        &self,
        vars: impl Iterator<Item = (&'a str, &'a Var)>,
    ) -> Result<Vec<Tensor>> {
        let vars: Vec<_> = vars.collect();
        self.check_vars(&vars)?;
        let mut own = Vec::with_capacity(vars.len());
        for ((_, var), (_, avg)) in vars.iter().zip(&self.shadow) {
            own.push(var.as_tensor().detach().copy()?);
            var.set(avg)?;
        }
        Ok(own)
    }

    /// `vars` must be the averaged variables, in the same order.
    fn check_vars(&self, vars: &[(&str, &Var)]) -> Result<()> {
        if vars.len() != self.shadow.len() {
            return Err(PolicyError::config(
                "train.ema",
                format!(
                    "{} variables, the average holds {}",
                    vars.len(),
                    self.shadow.len()
                ),
            ));
        }
        match self
            .shadow
            .iter()
            .zip(vars)
            .enumerate()
            .find(|(_, ((name, _), (var_name, _)))| name != var_name)
        {
            Some((i, ((name, _), (var_name, _)))) => Err(PolicyError::config(
                "train.ema",
                format!("variable {i} is `{var_name}`, the average holds `{name}`"),
            )),
            None => Ok(()),
        }
    }

    /// The averaged values by variable name.
    pub fn weights(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.shadow.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The average as `ema.<name>` tensors (for safetensors; the update count is saved by
    /// the caller).
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        self.shadow
            .iter()
            .map(|(n, t)| (format!("{PREFIX}{n}"), t.clone()))
            .collect()
    }

    /// Restore an average saved by [`Self::state_tensors`] after `updates` updates.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, updates: u64) -> Result<()> {
        for (name, dst) in &mut self.shadow {
            let key = format!("{PREFIX}{name}");
            let src = tensors.get(&key).ok_or_else(|| {
                PolicyError::config("train.ema", format!("the saved average lacks `{key}`"))
            })?;
            if src.dims() != dst.dims() {
                return Err(PolicyError::config(
                    "train.ema",
                    format!(
                        "`{key}` has shape {:?}, expected {:?}",
                        src.dims(),
                        dst.dims()
                    ),
                ));
            }
            *dst = src.to_dtype(dst.dtype())?.to_device(dst.device())?;
        }
        self.updates = updates;
        Ok(())
    }
}

/// Put back the values [`WeightEma::swap_in`] returned.
pub fn restore<'a>(vars: impl Iterator<Item = (&'a str, &'a Var)>, own: &[Tensor]) -> Result<()> {
    for ((_, var), value) in vars.zip(own) {
        var.set(value)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests
mod tests {
    use super::*;
    use candle_core::Device;

    fn values(t: &Tensor) -> Vec<f32> {
        t.to_vec1().unwrap()
    }

    #[test]
    fn the_average_follows_the_warmed_up_decay() {
        let w = Var::from_slice(&[0f32, 10.0], 2, &Device::Cpu).unwrap();
        let mut ema = WeightEma::new(0.5, std::iter::once(("w", &w))).unwrap();
        // Update 0: d = min(0.5, 1/10) = 0.1 → 0.1·0 + 0.9·θ.
        w.set(&Tensor::new(&[1f32, 20.0], &Device::Cpu).unwrap())
            .unwrap();
        assert!((ema.next_decay() - 0.1).abs() < 1e-12);
        ema.update(std::iter::once(("w", &w))).unwrap();
        let s = values(ema.weights().next().unwrap().1);
        assert!(
            (s[0] - 0.9).abs() < 1e-6 && (s[1] - 19.0).abs() < 1e-5,
            "{s:?}"
        );
        // Update 8: d = min(0.5, 9/18) = 0.5, and the decay stays at 0.5 after that.
        ema.updates = 8;
        assert!((ema.next_decay() - 0.5).abs() < 1e-12);
        ema.updates = 1000;
        assert!((ema.next_decay() - 0.5).abs() < 1e-12);
        ema.update(std::iter::once(("w", &w))).unwrap();
        let s = values(ema.weights().next().unwrap().1);
        assert!(
            (s[0] - 0.95).abs() < 1e-6 && (s[1] - 19.5).abs() < 1e-5,
            "{s:?}"
        );
        assert_eq!(ema.updates(), 1001);
        // The average records no backprop graph: it would chain every update's shadow.
        assert!(!ema.weights().next().unwrap().1.track_op());
        // The variable itself is untouched by the average.
        assert_eq!(values(w.as_tensor()), vec![1.0, 20.0]);
    }

    #[test]
    fn state_round_trips_and_mismatches_are_errors() {
        let w = Var::from_slice(&[3f32, 4.0], 2, &Device::Cpu).unwrap();
        let mut a = WeightEma::new(0.9, std::iter::once(("w", &w))).unwrap();
        w.set(&Tensor::new(&[5f32, 6.0], &Device::Cpu).unwrap())
            .unwrap();
        a.update(std::iter::once(("w", &w))).unwrap();
        let mut b = WeightEma::new(0.9, std::iter::once(("w", &w))).unwrap();
        b.load_state(&a.state_tensors(), a.updates()).unwrap();
        assert_eq!(b.updates(), 1);
        assert_eq!(
            values(b.weights().next().unwrap().1),
            values(a.weights().next().unwrap().1)
        );

        let other = Var::from_slice(&[1f32, 2.0], 2, &Device::Cpu).unwrap();
        let e = a
            .update(std::iter::once(("v", &other)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`v`") && e.contains("`w`"), "{e}");
        let e = a.update(std::iter::empty()).unwrap_err().to_string();
        assert!(e.contains("0 variables"), "{e}");
        let e = b.load_state(&HashMap::new(), 1).unwrap_err().to_string();
        assert!(e.contains("ema.w"), "{e}");
        for bad in [0.0, 1.0, f64::NAN, -0.5] {
            assert!(WeightEma::new(bad, std::iter::once(("w", &w))).is_err());
        }
    }
}

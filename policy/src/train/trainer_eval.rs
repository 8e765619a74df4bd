//! The [`Trainer`]'s evaluations: losses of fixed batches (the weights or their average),
//! the keypose error, and the training pass's action logits (to check them against the
//! inference model).

use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::loss::{PassInput, batch_hidden};
use super::objective::SlotFill;
use super::{Batch, Trainer};
use crate::observation::Observation;
use crate::{PolicyError, Result};

impl Trainer {
    /// The loss of `batch` under masks drawn from `seed` (the trainer's own mask stream and
    /// weights are untouched): a fixed-mask evaluation to compare weights over time. The
    /// autoregressive and parallel objectives draw no masks (`seed` is unused). Every sample
    /// sees its proprio (no proprio dropout), as at inference.
    pub fn eval_loss(&self, batch: &Batch, seed: u64) -> Result<f32> {
        let prepared = self.prepare_batch(batch)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let plans = self.plans(&prepared, &mut rng, 0.0);
        Ok(self
            .loss(&prepared, &plans)?
            .ce
            .detach()
            .to_scalar::<f32>()?)
    }

    /// The keypose error (mean squared, of standardised positions) of `batch` with the
    /// current weights; `None` when the run has no keypose loss. Draws no masks from the
    /// trainer's stream (the diffusion objective's come from a fixed seed).
    pub fn eval_keypose(&self, batch: &Batch) -> Result<Option<f32>> {
        if self.keypose_head.is_none() {
            return Ok(None);
        }
        let prepared = self.prepare_batch(batch)?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let plans = self.plans(&prepared, &mut rng, 0.0);
        let loss = self.loss(&prepared, &plans)?;
        loss.keypose
            .map(|k| Ok(k.detach().to_scalar::<f32>()?))
            .transpose()
    }

    /// The mean of [`Self::eval_loss`] over `batches` (batch `i` under seed `i`), with the
    /// weight average in place of the weights when `average` is set (`None` then if the run
    /// keeps no average). The weights are put back before this returns, error or not.
    pub fn eval_losses(&mut self, batches: &[Batch], average: bool) -> Result<Option<f32>> {
        self.mean_over(batches, average, |t, b, i| t.eval_loss(b, i).map(Some))
    }

    /// The mean of [`Self::eval_keypose`] over `batches`, with the weight average in place
    /// of the weights when `average` is set; `None` without a keypose loss (or, with
    /// `average`, without an average).
    pub fn eval_keyposes(&mut self, batches: &[Batch], average: bool) -> Result<Option<f32>> {
        if self.keypose_head.is_none() {
            return Ok(None);
        }
        self.mean_over(batches, average, |t, b, _| t.eval_keypose(b))
    }

    /// The mean of `score` over `batches` (`None` when any is `None`), with the weights or,
    /// when `average` is set, their average (put back before this returns, error or not).
    fn mean_over(
        &mut self,
        batches: &[Batch],
        average: bool,
        score: impl Fn(&Self, &Batch, u64) -> Result<Option<f32>>,
    ) -> Result<Option<f32>> {
        let mean = |t: &Self| -> Result<Option<f32>> {
            let mut sum = 0.0;
            for (i, b) in batches.iter().enumerate() {
                let Some(v) = score(t, b, i as u64)? else {
                    return Ok(None);
                };
                sum += v;
            }
            Ok(Some(sum / batches.len().max(1) as f32))
        };
        if !average {
            return mean(self);
        }
        let Some(ema) = &self.ema else {
            return Ok(None);
        };
        let own = ema.swap_in(self.opt.vars())?;
        let score = mean(self);
        super::ema::restore(self.opt.vars(), &own)?;
        score
    }

    /// Action logits `[L, n_bins]` of the training forward pass for `obs` with `slot_ids` in
    /// the slots, under [`Self::attention_mode`] and the model's logit shift (to check it
    /// against [`VlaModel::logits_full`]).
    pub fn action_logits(&self, obs: &Observation, slot_ids: &[u32]) -> Result<Tensor> {
        let l = self.model.config().action_tokens;
        if slot_ids.len() != l {
            return Err(PolicyError::bad_input(
                "action slots",
                format!("{} ids, expected {l}", slot_ids.len()),
            ));
        }
        let inputs = self.inputs(obs)?;
        let slots = SlotFill::Tokens(slot_ids.to_vec());
        let pass = PassInput {
            inputs: &inputs,
            slots: &slots,
            mode: self.attention_mode(),
            shift: self.model.config().file.logit_shift,
            hide_proprio: false,
        };
        let h = batch_hidden(&self.model, &self.net, self.vision.as_ref(), &[pass])?;
        let rows = h.states.narrow(0, h.first[0], l)?;
        let cfg = self.model.config();
        Ok(self
            .net
            .action_logits(&rows, cfg.action_token_begin, cfg.file.action.n_bins)?
            .detach())
    }
}

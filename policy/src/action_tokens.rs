//! The action tokenizer: OpenVLA binning (256 edges, 255 centres,
//! `token = vocab_end - digitize(x)`), q01/q99 normalisation with a per-dimension mask
//! (the gripper passes through), chunks of `H × D` tokens.

use ddvla_kernels::BinCodec;

use crate::model::Config;
use crate::stats::NormStats;
use crate::{PolicyError, Result};

/// Maps action chunks to token ids and back.
#[derive(Debug, Clone)]
pub struct ActionTokenizer {
    codec: BinCodec,
    begin: u32,
    chunk_len: usize,
}

impl ActionTokenizer {
    /// For the model in `cfg` with the dataset's action statistics.
    pub fn new(cfg: &Config, stats: &NormStats) -> Result<Self> {
        let a = &cfg.file.action;
        stats.validate(a.action_dim, "action")?;
        let codec = BinCodec::new(
            a.n_bins,
            stats.q01.clone(),
            stats.q99.clone(),
            stats.mask_or_all(),
        )?;
        Ok(Self {
            codec,
            begin: cfg.action_token_begin,
            chunk_len: a.chunk_len,
        })
    }

    /// The bin codec (used by the decode kernels).
    pub fn codec(&self) -> &BinCodec {
        &self.codec
    }

    /// First action token id.
    pub fn token_begin(&self) -> u32 {
        self.begin
    }

    /// Actions per chunk.
    pub fn chunk_len(&self) -> usize {
        self.chunk_len
    }

    /// Dimensions per action.
    pub fn action_dim(&self) -> usize {
        self.codec.action_dim()
    }

    /// Whether `id` is an action token.
    pub fn is_action_token(&self, id: u32) -> bool {
        (self.begin..self.begin + self.codec.n_edges() as u32).contains(&id)
    }

    /// Raw actions (`H × D`, row-major) → token ids.
    pub fn encode(&self, actions: &[f32]) -> Result<Vec<u32>> {
        let expected = self.chunk_len * self.action_dim();
        if actions.len() != expected {
            return Err(PolicyError::bad_input(
                "action chunk",
                format!("{} values, expected {expected}", actions.len()),
            ));
        }
        if let Some(i) = actions.iter().position(|v| !v.is_finite()) {
            return Err(PolicyError::bad_input(
                "action chunk",
                format!("value {i} is {}", actions[i]),
            ));
        }
        Ok(self
            .codec
            .encode(actions)?
            .into_iter()
            .map(|k| self.begin + k)
            .collect())
    }

    /// Token ids → raw actions (`H × D`). Non-action ids are an error.
    pub fn decode(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let bins = tokens
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                if self.is_action_token(t) {
                    Ok(t - self.begin)
                } else {
                    Err(PolicyError::bad_input(
                        "action tokens",
                        format!("slot {i} holds non-action id {t}"),
                    ))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.codec.decode(&bins)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::presets;
    use crate::stats::DatasetStatistics;
    use proptest::prelude::*;

    fn tokenizer() -> ActionTokenizer {
        let cfg = presets::preset("tiny").unwrap();
        let mut stats = DatasetStatistics::identity(7, 8)
            .select(None)
            .unwrap()
            .action
            .clone();
        stats.q01 = vec![-0.9375, -0.8, -0.9, -0.1, -0.2, -0.3, 0.0];
        stats.q99 = vec![0.9375, 0.85, 0.95, 0.12, 0.2, 0.33, 1.0];
        ActionTokenizer::new(&cfg, &stats).unwrap()
    }

    #[test]
    fn tokens_sit_at_the_end_of_the_text_vocabulary() {
        let t = tokenizer();
        let ids = t.encode(&[0.0; 56]).unwrap();
        assert!(ids.iter().all(|&i| t.is_action_token(i)));
        assert!(t.decode(&[2; 56]).is_err(), "STOP is not an action");
        assert!(t.encode(&[f32::NAN; 56]).is_err());
        assert!(t.encode(&[0.0; 55]).is_err());
    }

    proptest! {
        #[test]
        fn chunk_round_trip_error_is_at_most_half_a_bin(u in proptest::collection::vec(-1.0_f32..=1.0, 56)) {
            let t = tokenizer();
            let c = t.codec();
            let actions: Vec<f32> = u.iter().enumerate().map(|(i, &x)| {
                let d = i % 7;
                if d == 6 { x } else { c.unnormalize(d, x) }
            }).collect();
            let back = t.decode(&t.encode(&actions).unwrap()).unwrap();
            for (i, (a, b)) in actions.iter().zip(&back).enumerate() {
                let d = i % 7;
                let err = (c.normalize(d, *a) - c.normalize(d, *b)).abs();
                prop_assert!(err <= 1.0 / 255.0 + 1e-5, "slot {i}: {a} -> {b}");
            }
        }
    }
}

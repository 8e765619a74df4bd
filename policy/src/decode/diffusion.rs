//! DD-VLA masked discrete diffusion decoding (adaptive-order remasking).
//!
//! Start with every slot `[MASK]`; each of `T` rounds runs the model, picks a token and a
//! confidence per masked slot, and commits the best-ranked ones so that the cosine schedule's
//! count stays masked; the last round commits everything. Ranking adds annealed Gumbel noise
//! `choice_temperature · (1 - (s+1)/T)` to `ln(confidence)` (released code). Options: the
//! paper's confidence modes, a sampling-temperature decay, secondary remasking (threshold
//! check, residual-drop check; never after the last round), Fast-dLLM threshold commits, the
//! prefix KV cache (exact under `prefix` attention, approximate under `bidirectional`), and
//! a deadline that commits everything from the current logits when the next round would
//! overrun.

use std::time::Duration;

use ddvla_kernels::{ConfidenceMode, RemaskRule, RowStats, SamplingParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::schedule::{choice_temperature, cosine_mask_len};
use super::{
    DecodeContext, DecodeOutput, DecodeTrace, Decoder, RoundTrace, SlotEvent, finish, host_logits,
};
use crate::Result;
use crate::kv_cache::KvCache;
use crate::model::{AttentionMode, SlotInput};

/// How many tokens a round commits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CommitRule {
    /// The cosine schedule (released code).
    #[default]
    Schedule,
    /// Fast-dLLM: every masked slot with confidence ≥ `threshold`, at least one; decoding ends
    /// early when all slots are committed.
    Threshold {
        /// Confidence threshold in (0, 1].
        threshold: f32,
    },
}

/// Direction of the round index in the remasking threshold `η = scale · (1 - t/T)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ThresholdDirection {
    /// `t = s + 1` counts up: η decreases from `scale·(1-1/T)` to 0.
    #[default]
    Forward,
    /// `t = T - s` counts down (the paper's Eq. 6 indexing): η increases from 0.
    Reverse,
}

/// Secondary remasking of tokens committed in earlier rounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RemaskConfig {
    /// Threshold check (paper v4): scale of `η(t) = scale · (1 - t/T)` (0.5 in the paper).
    pub threshold_scale: Option<f32>,
    /// Index direction of the threshold check.
    pub threshold_direction: ThresholdDirection,
    /// Residual-drop check (paper v1–v3): re-mask when confidence fell by more than this.
    pub drop_margin: Option<f32>,
}

/// Prefix KV cache across rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMode {
    /// Every round is a full pass (released code).
    #[default]
    None,
    /// Round 0 is a full pass; later rounds recompute only the suffix from the last prompt
    /// token. Exact, so only allowed under `prefix`/`causal` attention (an error under
    /// `bidirectional`, where the prefix sees the action slots).
    Prefix,
    /// The same, also under `bidirectional` attention, where it is approximate (Fast-dLLM
    /// style: the cached prefix keys/values are stale w.r.t. the updated slots). Traces of
    /// such decodes carry `approximate_cache = true`.
    ApproximatePrefix,
}

/// Settings of [`MaskedDiffusion`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiffusionConfig {
    /// Refinement rounds T.
    pub rounds: usize,
    /// Ranking confidence.
    #[serde(with = "confidence_serde")]
    pub confidence: ConfidenceMode,
    /// Token sampling temperature (0 = argmax; released code: 1).
    pub temperature: f32,
    /// Decay the sampling temperature linearly to 0 over the rounds (paper Table 8).
    pub temperature_decay: bool,
    /// Gumbel ranking-noise scale, annealed to 0 (released code: 1).
    pub choice_temperature: f32,
    /// Commit rule.
    pub commit: CommitRule,
    /// Secondary remasking.
    pub remask: RemaskConfig,
    /// KV cache mode.
    pub cache: CacheMode,
    /// Attention mode override (default: the model's).
    pub attention: Option<AttentionMode>,
    /// RNG seed.
    pub seed: u64,
}

impl Default for DiffusionConfig {
    fn default() -> Self {
        Self {
            rounds: 12,
            confidence: ConfidenceMode::SampledProb,
            temperature: 1.0,
            temperature_decay: false,
            choice_temperature: 1.0,
            commit: CommitRule::Schedule,
            remask: RemaskConfig::default(),
            cache: CacheMode::None,
            attention: None,
            seed: 0,
        }
    }
}

mod confidence_serde {
    use ddvla_kernels::ConfidenceMode;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `with` signature
    pub fn serialize<S: Serializer>(m: &ConfidenceMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match m {
            ConfidenceMode::MaxProb => "max-prob",
            ConfidenceMode::Margin => "margin",
            ConfidenceMode::SampledProb => "sampled-prob",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ConfidenceMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "sampled-prob" => Ok(ConfidenceMode::SampledProb),
            "max-prob" => Ok(ConfidenceMode::MaxProb),
            "margin" => Ok(ConfidenceMode::Margin),
            other => Err(serde::de::Error::custom(format!(
                "unknown confidence mode {other:?} (sampled-prob, max-prob, margin)"
            ))),
        }
    }
}

/// The DD-VLA decoder. Owns its RNG (seeded once) and learned round-cost estimates.
pub struct MaskedDiffusion {
    cfg: DiffusionConfig,
    rng: ChaCha8Rng,
    full_round_cost: Option<Duration>,
    suffix_round_cost: Option<Duration>,
    cache: Option<KvCache>,
}

/// Mutable state of one decode.
struct State {
    bins: Vec<Option<u32>>,
    commit_conf: Vec<f32>,
    committed_round: Vec<usize>,
}

impl MaskedDiffusion {
    /// A decoder with `cfg`.
    pub fn new(cfg: DiffusionConfig) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            cfg,
            full_round_cost: None,
            suffix_round_cost: None,
            cache: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &DiffusionConfig {
        &self.cfg
    }

    fn eta(&self, step: usize) -> Option<f32> {
        let scale = self.cfg.remask.threshold_scale?;
        let t = self.cfg.rounds as f32;
        let idx = match self.cfg.remask.threshold_direction {
            ThresholdDirection::Forward => (step + 1) as f32,
            ThresholdDirection::Reverse => t - step as f32,
        };
        Some(scale * (1.0 - idx / t))
    }

    fn sampling_temperature(&self, step: usize) -> f32 {
        if self.cfg.temperature_decay {
            self.cfg.temperature * (1.0 - (step + 1) as f32 / self.cfg.rounds as f32)
        } else {
            self.cfg.temperature
        }
    }

    /// How many masked slots this round commits.
    fn commit_count(&self, stats: &[RowStats], masked: &[bool], step: usize, last: bool) -> usize {
        let n_masked = masked.iter().filter(|m| **m).count();
        if last {
            return n_masked;
        }
        match self.cfg.commit {
            CommitRule::Schedule => {
                n_masked.saturating_sub(cosine_mask_len(masked.len(), step, self.cfg.rounds))
            }
            CommitRule::Threshold { threshold } => {
                let above = stats
                    .iter()
                    .zip(masked)
                    .filter(|(s, m)| **m && s.confidence >= threshold)
                    .count();
                above.max(1).min(n_masked)
            }
        }
    }

    fn forward(
        &mut self,
        ctx: &DecodeContext<'_>,
        ids: &[u32],
        step: usize,
        mode: AttentionMode,
    ) -> Result<(Vec<f32>, bool)> {
        let slots = SlotInput::Tokens(ids);
        let (logits, cached) = match self.cfg.cache {
            CacheMode::Prefix | CacheMode::ApproximatePrefix if step > 0 => {
                let cache = self.cache.get_or_insert_with(|| ctx.model.new_cache());
                (
                    ctx.model.logits_suffix(ctx.prefix, slots, mode, cache)?,
                    true,
                )
            }
            CacheMode::Prefix | CacheMode::ApproximatePrefix => {
                let cache = self.cache.get_or_insert_with(|| ctx.model.new_cache());
                (
                    ctx.model
                        .logits_full(ctx.prefix, slots, mode, Some(cache))?,
                    false,
                )
            }
            CacheMode::None => (ctx.model.logits_full(ctx.prefix, slots, mode, None)?, false),
        };
        Ok((host_logits(&logits)?, cached))
    }

    /// Whether the next round would overrun the budget.
    fn would_overrun(&self, ctx: &DecodeContext<'_>, this_round: Duration) -> bool {
        let Some(budget) = ctx.budget else {
            return false;
        };
        let next = match self.cfg.cache {
            CacheMode::Prefix | CacheMode::ApproximatePrefix => self.suffix_round_cost,
            CacheMode::None => self.full_round_cost,
        }
        .unwrap_or(this_round);
        ctx.clock.elapsed() + next > budget
    }

    fn learn_cost(&mut self, cached: bool, d: Duration) {
        let slot = if cached {
            &mut self.suffix_round_cost
        } else {
            &mut self.full_round_cost
        };
        // Exponential average that reacts quickly to slow rounds (never under-estimate much).
        *slot = Some(match *slot {
            Some(prev) if d < prev => prev.mul_f64(0.7) + d.mul_f64(0.3),
            _ => d,
        });
    }

    /// Commit the chosen slots and re-mask failing earlier commits; returns the round trace.
    fn apply_round(
        &mut self,
        ctx: &DecodeContext<'_>,
        st: &mut State,
        stats: &[RowStats],
        step: usize,
        last: bool,
    ) -> Result<RoundTrace> {
        let l = st.bins.len();
        let masked: Vec<bool> = st.bins.iter().map(Option::is_none).collect();
        let n_commit = self.commit_count(stats, &masked, step, last);
        // Threshold commits rank by confidence alone (Fast-dLLM); the schedule adds Gumbel noise.
        let noise = match self.cfg.commit {
            CommitRule::Schedule => {
                choice_temperature(self.cfg.choice_temperature, step, self.cfg.rounds)
            }
            CommitRule::Threshold { .. } => 0.0,
        };
        let scores: Vec<f32> = stats
            .iter()
            .map(|s| {
                let u: f32 = self.rng.random_range(f32::EPSILON..1.0);
                let gumbel = -(-u.ln()).ln();
                s.confidence.max(1e-30).ln() + noise * gumbel
            })
            .collect();
        let chosen = ctx.kernels.top_k(&scores, &masked, n_commit)?;
        let mut committed = Vec::with_capacity(chosen.len());
        for &i in &chosen {
            st.bins[i] = Some(stats[i].sampled);
            st.commit_conf[i] = stats[i].confidence;
            st.committed_round[i] = step;
            committed.push(SlotEvent {
                slot: i,
                bin: stats[i].sampled,
                confidence: stats[i].confidence,
            });
        }
        let mut remasked = Vec::new();
        let rule = RemaskRule {
            threshold: self.eta(step),
            drop_margin: self.cfg.remask.drop_margin,
        };
        if !last && (rule.threshold.is_some() || rule.drop_margin.is_some()) {
            let earlier: Vec<bool> = (0..l)
                .map(|i| !masked[i] && st.committed_round[i] < step)
                .collect();
            let current: Vec<f32> = stats
                .iter()
                .map(|s| s.committed_confidence(self.cfg.confidence))
                .collect();
            for i in ctx
                .kernels
                .remask(&earlier, &current, &st.commit_conf, &rule)?
            {
                remasked.push(SlotEvent {
                    slot: i,
                    bin: st.bins[i].unwrap_or(0),
                    confidence: current[i],
                });
                st.bins[i] = None;
            }
        }
        Ok(RoundTrace {
            round: step,
            committed,
            remasked,
            masked_after: st.bins.iter().filter(|b| b.is_none()).count(),
            cached_pass: false,
            duration_us: 0,
        })
    }
}

impl Decoder for MaskedDiffusion {
    fn name(&self) -> &'static str {
        match self.cfg.cache {
            CacheMode::None => "diffusion",
            CacheMode::Prefix | CacheMode::ApproximatePrefix => "diffusion-cached",
        }
    }

    fn decode(&mut self, ctx: &DecodeContext<'_>) -> Result<DecodeOutput> {
        let _span = tracing::debug_span!("diffusion_decode", rounds = self.cfg.rounds).entered();
        let model_cfg = ctx.model.config();
        let l = model_cfg.action_tokens;
        let n_bins = model_cfg.file.action.n_bins;
        let mask_id = model_cfg.file.tokens.mask_token_id;
        let begin = model_cfg.action_token_begin;
        let mode = self.cfg.attention.unwrap_or(model_cfg.file.attention_mode);
        let rounds = self.cfg.rounds.max(1);
        if self.cfg.cache == CacheMode::Prefix && mode == AttentionMode::Bidirectional {
            return Err(crate::PolicyError::config(
                "decoder.cache",
                "prefix is exact only under prefix or causal attention; the model attends \
                 bidirectionally, so choose approximate-prefix (or none)",
            ));
        }
        let mut trace = DecodeTrace {
            decoder: self.name().to_owned(),
            approximate_cache: self.cfg.cache == CacheMode::ApproximatePrefix
                && mode == AttentionMode::Bidirectional,
            ..DecodeTrace::default()
        };
        let mut st = State {
            bins: vec![None; l],
            commit_conf: vec![0.0; l],
            committed_round: vec![0; l],
        };
        for step in 0..rounds {
            let t0 = ctx.clock.elapsed();
            let ids: Vec<u32> = st
                .bins
                .iter()
                .map(|b| b.map_or(mask_id, |k| begin + k))
                .collect();
            let (logits, cached) = self.forward(ctx, &ids, step, mode)?;
            trace.forward_passes += 1;
            let uniforms: Vec<f32> = (0..l).map(|_| self.rng.random::<f32>()).collect();
            let params = SamplingParams {
                temperature: self.sampling_temperature(step),
                mode: self.cfg.confidence,
            };
            let stats = ctx
                .kernels
                .row_stats(&logits, n_bins, &params, &uniforms, &st.bins)?;
            let last = step + 1 == rounds;
            let mut round = self.apply_round(ctx, &mut st, &stats, step, last)?;
            round.cached_pass = cached;
            let took = ctx.clock.elapsed().saturating_sub(t0);
            round.duration_us = took.as_micros() as u64;
            self.learn_cost(cached, took);
            let all_done = round.masked_after == 0;
            let capped = ctx.round_cap.is_some_and(|cap| step + 1 >= cap);
            if !last && !all_done && (capped || self.would_overrun(ctx, took)) {
                // Anytime mode: commit every remaining slot from this round's logits.
                for (i, b) in st.bins.iter_mut().enumerate() {
                    if b.is_none() {
                        *b = Some(stats[i].sampled);
                        round.committed.push(SlotEvent {
                            slot: i,
                            bin: stats[i].sampled,
                            confidence: stats[i].confidence,
                        });
                    }
                }
                round.masked_after = 0;
                trace.deadline_hit = true;
                trace.rounds.push(round);
                break;
            }
            trace.rounds.push(round);
            if all_done {
                break;
            }
        }
        let bins: Vec<u32> = st.bins.iter().map(|b| b.unwrap_or(0)).collect();
        finish(ctx, &bins, trace)
    }
}

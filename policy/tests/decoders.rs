//! Decoder behaviour on the `tiny` preset with random weights.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{observation, tiny_config, tiny_policy};
use ddvla_policy::decode::{
    self, Autoregressive, AutoregressiveConfig, CacheMode, CommitRule, DecoderKind,
    DiffusionConfig, MaskedDiffusion, Parallel, ParallelConfig, RemaskConfig, StartedAt, Stopwatch,
    schedule,
};
use ddvla_policy::model::{AttentionMode, SlotInput};

#[test]
fn diffusion_commits_follow_the_schedule_and_fill_every_slot() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let obs = observation(policy.model().config());
    let mut dec = MaskedDiffusion::new(DiffusionConfig::default());
    let out = policy.act(&obs, &mut dec, None).unwrap();
    assert_eq!(out.tokens.len(), 56);
    assert_eq!(out.actions.len(), 56);
    assert!(
        out.tokens
            .iter()
            .all(|&t| policy.action_tokenizer().is_action_token(t))
    );
    let per_round: Vec<usize> = out.trace.rounds.iter().map(|r| r.committed.len()).collect();
    assert_eq!(per_round, schedule::commits_per_round(56, 12));
    assert_eq!(out.trace.forward_passes, 12);
    assert_eq!(out.trace.rounds.last().unwrap().masked_after, 0);
    // Each slot committed exactly once.
    let mut seen = vec![0; 56];
    for r in &out.trace.rounds {
        for e in &r.committed {
            seen[e.slot] += 1;
        }
    }
    assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
}

#[test]
fn seeded_decoding_is_deterministic_and_seed_dependent() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let obs = observation(policy.model().config());
    let run = |seed| {
        let mut dec = MaskedDiffusion::new(DiffusionConfig {
            seed,
            ..DiffusionConfig::default()
        });
        policy.act(&obs, &mut dec, None).unwrap().tokens
    };
    assert_eq!(run(7), run(7));
    assert_ne!(
        run(7),
        run(8),
        "random weights are near-uniform, so seeds must differ"
    );
}

#[test]
fn secondary_remasking_never_happens_in_the_last_round_and_all_slots_end_committed() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let obs = observation(policy.model().config());
    // A random model's confidences are ~1/256, far under η, so the threshold check fires in
    // every round but the last; drop-margin at 0 fires on any decrease.
    let cfg = DiffusionConfig {
        remask: RemaskConfig {
            threshold_scale: Some(0.5),
            drop_margin: Some(0.0),
            ..RemaskConfig::default()
        },
        ..DiffusionConfig::default()
    };
    let out = policy
        .act(&obs, &mut MaskedDiffusion::new(cfg), None)
        .unwrap();
    let rounds = &out.trace.rounds;
    assert_eq!(rounds.len(), 12);
    assert!(
        rounds[1..11].iter().any(|r| !r.remasked.is_empty()),
        "remasking must fire"
    );
    assert!(rounds.last().unwrap().remasked.is_empty());
    assert_eq!(rounds.last().unwrap().masked_after, 0);
    assert!(
        out.tokens
            .iter()
            .all(|&t| policy.action_tokenizer().is_action_token(t))
    );
    // Round 0 has nothing earlier to re-mask.
    assert!(rounds[0].remasked.is_empty());
}

#[test]
fn threshold_commits_finish_early_when_confident() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let obs = observation(policy.model().config());
    // Threshold 0: every masked slot qualifies in round 0.
    let cfg = DiffusionConfig {
        commit: CommitRule::Threshold { threshold: 0.0 },
        ..DiffusionConfig::default()
    };
    let out = policy
        .act(&obs, &mut MaskedDiffusion::new(cfg), None)
        .unwrap();
    assert_eq!(out.trace.forward_passes, 1);
    // Threshold 1: one per round, the last round commits the rest.
    let cfg = DiffusionConfig {
        commit: CommitRule::Threshold { threshold: 1.0 },
        ..DiffusionConfig::default()
    };
    let out = policy
        .act(&obs, &mut MaskedDiffusion::new(cfg), None)
        .unwrap();
    let per_round: Vec<usize> = out.trace.rounds.iter().map(|r| r.committed.len()).collect();
    assert_eq!(per_round, [vec![1; 11], vec![45]].concat());
}

#[test]
fn cached_and_uncached_logits_agree_under_prefix_attention() {
    let policy = tiny_policy(AttentionMode::Prefix);
    let model = policy.model();
    let prefix = policy.encode(&observation(model.config())).unwrap();
    let mask = model.config().file.tokens.mask_token_id;
    let begin = model.config().action_token_begin;
    // Some slots committed, some masked.
    let ids: Vec<u32> = (0..56)
        .map(|i| {
            if i % 3 == 0 {
                begin + (i * 7) % 256
            } else {
                mask
            }
        })
        .collect();
    let mut cache = model.new_cache();
    let full0 = model
        .logits_full(
            &prefix,
            SlotInput::Tokens(&ids),
            AttentionMode::Prefix,
            Some(&mut cache),
        )
        .unwrap();
    assert_eq!(cache.len(), model.suffix_start(&prefix));
    let ids2: Vec<u32> = ids
        .iter()
        .enumerate()
        .map(|(i, &t)| if i % 5 == 1 { begin + 3 } else { t })
        .collect();
    let cached = model
        .logits_suffix(
            &prefix,
            SlotInput::Tokens(&ids2),
            AttentionMode::Prefix,
            &mut cache,
        )
        .unwrap();
    let uncached = model
        .logits_full(
            &prefix,
            SlotInput::Tokens(&ids2),
            AttentionMode::Prefix,
            None,
        )
        .unwrap();
    let diff = common::max_abs_diff(&cached, &uncached);
    assert!(diff < 1e-4, "max |cached - uncached| = {diff}");
    let moved = common::max_abs_diff(&full0, &uncached);
    assert!(
        moved > 1e-4,
        "changing slots must change logits (got {moved})"
    );
    // Under bidirectional attention the cache is approximate and the decoder says so.
    let bi = tiny_policy(AttentionMode::Bidirectional);
    let mut dec = decode::build(DecoderKind::DiffusionCached, 0);
    let out = bi
        .act(&observation(bi.model().config()), dec.as_mut(), None)
        .unwrap();
    assert!(out.trace.approximate_cache);
    assert!(out.trace.rounds[1..].iter().all(|r| r.cached_pass));
    let out = policy
        .act(&observation(model.config()), dec.as_mut(), None)
        .unwrap();
    assert!(!out.trace.approximate_cache);
}

#[test]
fn cached_diffusion_decodes_the_same_tokens_as_uncached_under_prefix_attention() {
    let policy = tiny_policy(AttentionMode::Prefix);
    let obs = observation(policy.model().config());
    let run = |cache| {
        let cfg = DiffusionConfig {
            cache,
            seed: 3,
            ..DiffusionConfig::default()
        };
        policy
            .act(&obs, &mut MaskedDiffusion::new(cfg), None)
            .unwrap()
            .tokens
    };
    assert_eq!(run(CacheMode::None), run(CacheMode::Prefix));
    assert_eq!(run(CacheMode::None), run(CacheMode::ApproximatePrefix));
    // The exact cache is refused where it would not be exact.
    let bi = tiny_policy(AttentionMode::Bidirectional);
    let cfg = DiffusionConfig {
        cache: CacheMode::Prefix,
        ..DiffusionConfig::default()
    };
    let err = bi
        .act(&obs, &mut MaskedDiffusion::new(cfg), None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("approximate-prefix"), "{err}");
}

#[test]
fn autoregressive_with_and_without_cache_produce_identical_tokens() {
    let policy = tiny_policy(AttentionMode::Causal);
    let obs = observation(policy.model().config());
    let run = |use_cache| {
        let mut dec = Autoregressive::new(AutoregressiveConfig {
            use_cache,
            ..AutoregressiveConfig::default()
        });
        policy.act(&obs, &mut dec, None).unwrap()
    };
    let (a, b) = (run(true), run(false));
    assert_eq!(a.tokens, b.tokens);
    assert_eq!(a.trace.forward_passes, 56);
}

#[test]
fn parallel_is_one_pass() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let mut dec = decode::build(DecoderKind::Parallel, 0);
    let out = policy
        .act(&observation(policy.model().config()), dec.as_mut(), None)
        .unwrap();
    assert_eq!(out.trace.forward_passes, 1);
    assert_eq!(out.tokens.len(), 56);
}

#[test]
fn parallel_sampling_is_seeded_and_argmax_at_temperature_zero() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let obs = observation(policy.model().config());
    let decode_with = |temperature: f32, seed: u64| {
        let mut dec = Parallel::new(ParallelConfig {
            temperature,
            seed,
            ..ParallelConfig::default()
        });
        policy.act(&obs, &mut dec, None).unwrap().tokens
    };
    let argmax = decode_with(0.0, 0);
    // Temperature 0 ignores the seed: every seed decodes the argmax.
    assert_eq!(decode_with(0.0, 7), argmax);
    // Sampling: the same seed draws the same bins, and at a high temperature over random
    // weights' flat logits some of the 56 slots leave the argmax and seeds disagree.
    let hot = decode_with(5.0, 1);
    assert_eq!(decode_with(5.0, 1), hot);
    assert_ne!(hot, argmax);
    assert_ne!(decode_with(5.0, 2), hot);
    assert!(
        hot.iter()
            .all(|&t| policy.action_tokenizer().is_action_token(t))
    );
}

#[test]
fn parallel_readout_window_keeps_the_tokens_and_reads_between_bin_centres() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let obs = observation(policy.model().config());
    let decode_with = |readout_window_bins: Option<u32>| {
        let mut dec = Parallel::new(ParallelConfig {
            readout_window_bins,
            ..ParallelConfig::default()
        });
        policy.act(&obs, &mut dec, None).unwrap()
    };
    let centres = decode_with(None);
    // A window of 0 bins is the chosen bin alone: the centres, to the bit.
    let zero = decode_with(Some(0));
    assert_eq!(
        (&zero.actions, &zero.tokens),
        (&centres.actions, &centres.tokens)
    );
    let wide = decode_with(Some(8));
    assert_eq!(wide.tokens, centres.tokens, "the chosen bins do not change");
    // Random weights spread mass over neighbouring bins, so the means leave the centres but
    // stay within the window's reach of them (8 bins of 2/255 normalised, times the range).
    let codec = policy.action_tokenizer().codec();
    let dim = codec.action_dim();
    let mut moved = 0;
    for (i, (&w, &c)) in wide.actions.iter().zip(&centres.actions).enumerate() {
        assert!(w.is_finite());
        let reach =
            (codec.unnormalize(i % dim, 8.0 * 2.0 / 255.0) - codec.unnormalize(i % dim, 0.0)).abs();
        assert!((w - c).abs() <= reach + 1e-5, "slot {i}: {w} vs centre {c}");
        if (w - c).abs() > 1e-6 {
            moved += 1;
        }
    }
    assert!(moved > wide.actions.len() / 2, "only {moved} values moved");
}

/// A mock clock that advances a fixed step each time it is read.
struct TickClock {
    now_us: AtomicU64,
    step_us: u64,
}

impl Stopwatch for TickClock {
    fn elapsed(&self) -> Duration {
        Duration::from_micros(self.now_us.fetch_add(self.step_us, Ordering::SeqCst))
    }
}

#[test]
fn deadline_commits_everything_from_the_current_logits() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let prefix = policy
        .encode(&observation(policy.model().config()))
        .unwrap();
    // Each clock read advances 1 ms; a round reads it twice plus once for the overrun check.
    let clock = TickClock {
        now_us: AtomicU64::new(0),
        step_us: 1000,
    };
    let mut dec = MaskedDiffusion::new(DiffusionConfig::default());
    let out = policy
        .decode(&prefix, &mut dec, Some(Duration::from_millis(8)), &clock)
        .unwrap();
    assert!(out.trace.deadline_hit);
    let rounds = out.trace.rounds.len();
    assert!((1..12).contains(&rounds), "ran {rounds} rounds");
    assert_eq!(out.trace.forward_passes, rounds);
    assert_eq!(out.trace.rounds.last().unwrap().masked_after, 0);
    assert!(
        out.tokens
            .iter()
            .all(|&t| policy.action_tokenizer().is_action_token(t))
    );
    // A zero budget still returns a full chunk after one round.
    let clock = StartedAt::now();
    let out = policy
        .decode(&prefix, &mut dec, Some(Duration::ZERO), &clock)
        .unwrap();
    assert_eq!(out.trace.forward_passes, 1);
    assert_eq!(out.tokens.len(), 56);
    // A generous budget runs every round.
    let out = policy
        .decode(&prefix, &mut dec, Some(Duration::from_hours(1)), &clock)
        .unwrap();
    assert!(!out.trace.deadline_hit);
    assert_eq!(out.trace.forward_passes, 12);
}

#[test]
fn a_round_cap_reproduces_a_deadline_cut_chunk() {
    // What `ddvla replay` does for a chunk the run's deadline cut short: the same seed with
    // the recorded round count gives the same tokens, on any clock.
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let prefix = policy
        .encode(&observation(policy.model().config()))
        .unwrap();
    let clock = TickClock {
        now_us: AtomicU64::new(0),
        step_us: 1000,
    };
    let mut dec = MaskedDiffusion::new(DiffusionConfig::default());
    let cut = policy
        .decode(&prefix, &mut dec, Some(Duration::from_millis(8)), &clock)
        .unwrap();
    assert!(cut.trace.deadline_hit);
    let rounds = cut.trace.rounds.len();
    let mut dec = MaskedDiffusion::new(DiffusionConfig::default());
    let replayed = policy
        .decode_capped(&prefix, &mut dec, None, Some(rounds), &StartedAt::now())
        .unwrap();
    assert_eq!(replayed.tokens, cut.tokens);
    assert_eq!(replayed.trace.rounds.len(), rounds);
    assert!(replayed.trace.deadline_hit);
    // Without the cap every round runs and the chunk differs.
    let mut dec = MaskedDiffusion::new(DiffusionConfig::default());
    let full = policy
        .decode(&prefix, &mut dec, None, &StartedAt::now())
        .unwrap();
    assert_eq!(full.trace.rounds.len(), 12);
    assert_ne!(full.tokens, cut.tokens);
}

#[test]
fn config_round_trips_through_json() {
    let cfg = tiny_config(AttentionMode::Prefix);
    let json = serde_json::to_string(&cfg.file).unwrap();
    let back: ddvla_policy::model::ConfigFile = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cfg.file);
    let dc: DiffusionConfig =
        serde_json::from_str(r#"{"confidence": "margin", "rounds": 8}"#).unwrap();
    assert_eq!(dc.rounds, 8);
    assert!(serde_json::from_str::<DiffusionConfig>(r#"{"confidence": "best"}"#).is_err());
}

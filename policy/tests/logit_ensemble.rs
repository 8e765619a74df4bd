//! Logit ensembles of parallel-decoded policies on the `tiny` preset with random weights.
#![allow(clippy::unwrap_used)] // a failure is the test failing

mod common;

use candle_core::Device;
use common::{observation, tiny_config, tiny_policy};
use ddvla_policy::Policy;
use ddvla_policy::decode::{Parallel, ParallelConfig};
use ddvla_policy::model::{AttentionMode, Config, ConfigFile, SlotInput, presets};

/// `policy`'s single-pass log-probabilities for the observation, `slots × bins`.
fn log_probs(policy: &Policy, obs: &ddvla_policy::observation::Observation) -> Vec<Vec<f32>> {
    let cfg = policy.model().config();
    let prefix = policy.encode(obs).unwrap();
    let mask = vec![cfg.file.tokens.mask_token_id; cfg.action_tokens];
    let logits = policy
        .model()
        .logits_full(
            &prefix,
            SlotInput::Tokens(&mask),
            cfg.file.attention_mode,
            None,
        )
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    logits
        .chunks_exact(cfg.file.action.n_bins)
        .map(|row| {
            let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = row.iter().map(|x| (x - top).exp()).sum::<f32>().ln() + top;
            row.iter().map(|x| x - log_sum).collect()
        })
        .collect()
}

fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (k, x) in row.iter().enumerate() {
        if *x > row[best] {
            best = k;
        }
    }
    best as u32
}

#[test]
fn a_policy_alone_decodes_as_the_parallel_decoder() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let obs = observation(policy.model().config());
    let mut dec = Parallel::new(ParallelConfig::default());
    let plain = policy.act(&obs, &mut dec, None).unwrap();
    let alone = policy.act_logit_ensemble(&[], &obs).unwrap();
    assert_eq!(alone.tokens, plain.tokens);
    assert_eq!(alone.actions, plain.actions);
    assert_eq!(alone.trace.forward_passes, 1);
}

#[test]
fn members_vote_with_their_mean_log_probabilities() {
    // Three independently initialised policies: their argmaxes disagree on random weights.
    let policies: Vec<Policy> = (0..3)
        .map(|seed| {
            Policy::random_with_seed(
                tiny_config(AttentionMode::Bidirectional),
                100 + seed,
                &Device::Cpu,
            )
            .unwrap()
        })
        .collect();
    let obs = observation(policies[0].model().config());
    let each: Vec<Vec<Vec<f32>>> = policies.iter().map(|p| log_probs(p, &obs)).collect();
    let begin = policies[0].action_tokenizer().token_begin();
    let expected: Vec<u32> = (0..each[0].len())
        .map(|slot| {
            let n_bins = each[0][slot].len();
            let mean: Vec<f32> = (0..n_bins)
                .map(|k| each.iter().map(|m| m[slot][k]).sum::<f32>() / 3.0)
                .collect();
            begin + argmax(&mean)
        })
        .collect();
    let out = policies[0]
        .act_logit_ensemble(&policies[1..], &obs)
        .unwrap();
    assert_eq!(out.tokens, expected);
    assert_eq!(out.trace.forward_passes, 3);
    // Not a copy of any one member's choice.
    let firsts: Vec<u32> = each[0].iter().map(|row| begin + argmax(row)).collect();
    assert_ne!(out.tokens, firsts);
    // The actions are the chosen bins, decoded by the first member's tokenizer.
    let bins: Vec<u32> = out.tokens.iter().map(|t| t - begin).collect();
    assert_eq!(
        out.actions,
        policies[0]
            .action_tokenizer()
            .codec()
            .decode(&bins)
            .unwrap()
    );
}

#[test]
fn members_with_another_action_layout_are_refused() {
    let policy = tiny_policy(AttentionMode::Bidirectional);
    let mut file: ConfigFile = presets::tiny();
    file.action.chunk_len = 4;
    let other = Policy::random(Config::new(file).unwrap(), &Device::Cpu).unwrap();
    let obs = observation(&tiny_config(AttentionMode::Bidirectional));
    let err = policy
        .act_logit_ensemble(&[other], &obs)
        .unwrap_err()
        .to_string();
    assert!(err.contains("member 1"), "{err}");
}

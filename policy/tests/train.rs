//! Masked-token fine-tuning: mask schedule, overfitting one batch, training-forward parity
//! with the inference model, checkpoint round trips, determinism and input errors.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::checkpoint;
use ddvla_policy::model::{AttentionMode, Config, SlotInput};
use ddvla_policy::observation::prepare;
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::text::PromptTokenizer;
use ddvla_policy::train::{
    Batch, LrSchedule, Sample, SampleMask, TrainConfig, Trainer, files, mask_count,
};
use ddvla_policy::{Policy, PolicyError};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn cfg() -> Config {
    common::tiny_config(AttentionMode::Bidirectional)
}

fn stats(cfg: &Config) -> DatasetStatistics {
    DatasetStatistics::identity(cfg.file.action.action_dim, cfg.file.proprio_dim)
}

fn train_cfg(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        lr: LrSchedule {
            peak_lr: 3e-3,
            min_lr: 3e-4,
            warmup_steps: 2,
            total_steps: 40,
        },
        ..TrainConfig::default()
    }
}

fn trainer(seed: u64) -> Trainer {
    let c = cfg();
    Trainer::new(c.clone(), stats(&c), None, train_cfg(seed), &Device::Cpu).unwrap()
}

/// A deterministic chunk: smooth arm deltas in (-1, 1), gripper 0/1.
fn chunk(cfg: &Config, phase: f32) -> Vec<f32> {
    let a = &cfg.file.action;
    (0..a.chunk_len * a.action_dim)
        .map(|i| {
            let (t, d) = (i / a.action_dim, i % a.action_dim);
            if d + 1 == a.action_dim {
                if t < a.chunk_len / 2 { 0.0 } else { 1.0 }
            } else {
                0.8 * (phase + 0.7 * t as f32 + 1.3 * d as f32).sin()
            }
        })
        .collect()
}

fn batch(cfg: &Config) -> Batch {
    let mut second = common::observation(cfg);
    "open the top drawer".clone_into(&mut second.instruction);
    second.images[0] = common::frame(cfg.file.vision.image_size, 9);
    Batch {
        samples: vec![
            Sample {
                observation: common::observation(cfg),
                actions: chunk(cfg, 0.0),
                keyposes: Vec::new(),
            },
            Sample {
                observation: second,
                actions: chunk(cfg, 2.0),
                keyposes: Vec::new(),
            },
        ],
    }
}

proptest! {
    #[test]
    fn mask_counts_follow_the_cosine_schedule(r in 0.0_f64..1.0, len in 1_usize..300) {
        let n = mask_count(len, r);
        let ratio = (std::f64::consts::FRAC_PI_2 * r).cos().clamp(1e-6, 1.0);
        prop_assert_eq!(n, ((len as f64 * ratio).round() as usize).max(1));
        prop_assert!((1..=len).contains(&n));
        // Non-increasing in r.
        prop_assert!(mask_count(len, (r + 0.01).min(0.999_999)) <= n);
    }

    #[test]
    fn drawn_masks_have_the_scheduled_count(seed in any::<u64>(), len in 1_usize..200) {
        let m = SampleMask::draw(len, &mut ChaCha8Rng::seed_from_u64(seed));
        prop_assert!((0.0..1.0).contains(&m.r));
        prop_assert_eq!(m.masked.len(), len);
        prop_assert_eq!(m.count(), mask_count(len, m.r));
    }
}

#[test]
fn mean_mask_ratio_is_two_over_pi_and_positions_are_uniform() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (draws, len) = (4000, 56);
    let mut per_slot = vec![0_usize; len];
    let mut total = 0;
    for _ in 0..draws {
        let m = SampleMask::draw(len, &mut rng);
        total += m.count();
        for (c, &b) in per_slot.iter_mut().zip(&m.masked) {
            *c += usize::from(b);
        }
    }
    let mean = total as f64 / (draws * len) as f64;
    assert!((mean - 2.0 / std::f64::consts::PI).abs() < 0.02, "{mean}");
    let expect = total as f64 / len as f64;
    for (j, &c) in per_slot.iter().enumerate() {
        assert!(
            (c as f64 - expect).abs() < 0.1 * expect,
            "slot {j}: {c} vs {expect}"
        );
    }
}

#[test]
fn training_forward_matches_the_inference_model() {
    for mode in [
        AttentionMode::Bidirectional,
        AttentionMode::Prefix,
        AttentionMode::Causal,
    ] {
        let c = common::tiny_config(mode);
        let t = Trainer::new(c.clone(), stats(&c), None, train_cfg(0), &Device::Cpu).unwrap();
        let obs = common::observation(&c);
        let targets = t.action_tokenizer().encode(&chunk(&c, 0.5)).unwrap();
        let mask = SampleMask::draw(targets.len(), &mut ChaCha8Rng::seed_from_u64(4));
        let ids = mask.apply(&targets, c.file.tokens.mask_token_id);
        let ours = t.action_logits(&obs, &ids).unwrap();
        let stats = stats(&c);
        let s = stats.select(None).unwrap();
        let inputs = prepare(
            &c,
            &obs,
            s.proprio.as_ref(),
            &PromptTokenizer::byte_level(&c).unwrap(),
            &Device::Cpu,
        )
        .unwrap();
        let prefix = t.model().encode_prefix(&inputs).unwrap();
        let theirs = t
            .model()
            .logits_full(&prefix, SlotInput::Tokens(&ids), mode, None)
            .unwrap();
        assert_eq!(ours.dims(), theirs.dims());
        let d = common::max_abs_diff(&ours, &theirs);
        assert!(d < 1e-4, "{mode:?}: max diff {d}");
    }
}

#[test]
fn a_few_steps_overfit_one_batch() {
    let c = cfg();
    let b = batch(&c);
    let mut tc = train_cfg(0);
    tc.lr = LrSchedule {
        peak_lr: 1e-2,
        min_lr: 1e-3,
        warmup_steps: 2,
        total_steps: 60,
    };
    // With the towers frozen, they must not move (trained towers: `train_vision.rs`).
    tc.train_vision = false;
    let mut t = Trainer::new(c.clone(), stats(&c), None, tc, &Device::Cpu).unwrap();
    let weight = |t: &Trainer, name: &str| {
        let data = t.varmap().data().lock().unwrap();
        let v = data.get(name).unwrap_or_else(|| panic!("{name}"));
        v.as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let watched = [
        "language_model.model.layers.0.self_attn.q_proj.weight",
        "language_model.model.layers.0.input_layernorm.weight",
        "language_model.model.embed_tokens.weight",
        "projector.fc1.weight",
        "proprio_projector.fc1.weight",
        "language_model.lm_head.weight",
    ];
    let frozen = "vision_backbone.featurizer.blocks.0.attn.qkv.weight";
    let initial: Vec<Vec<f32>> = watched.iter().map(|n| weight(&t, n)).collect();
    let frozen_initial = t
        .varmap()
        .data()
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n.starts_with("vision_backbone."))
        .map(|(n, v)| {
            (
                n.clone(),
                v.as_tensor()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap(),
            )
        })
        .collect::<Vec<_>>();
    assert!(!frozen_initial.is_empty(), "{frozen}");
    let before = t.eval_loss(&b, 99).unwrap();
    let mut last = None;
    for _ in 0..60 {
        let s = t.step(&b).unwrap();
        assert!(s.loss.is_finite() && s.grad_norm.is_finite() && s.grad_norm > 0.0);
        assert!(s.supervised >= 2 + 2, "≥ 1 masked slot + STOP per sample");
        last = Some(s);
    }
    let after = t.eval_loss(&b, 99).unwrap();
    assert_eq!(t.steps(), 60);
    assert_eq!(last.unwrap().step, 60);
    assert!(after < 0.5 * before, "loss {before} → {after}");
    // Gradients reach the whole language model and the projectors; vision stays frozen.
    for (name, init) in watched.iter().zip(&initial) {
        assert_ne!(&weight(&t, name), init, "{name} did not change");
    }
    for (name, init) in &frozen_initial {
        assert_eq!(&weight(&t, name), init, "{name} changed");
    }
    eprintln!("overfit: eval loss {before} -> {after}");
    // The trained model's action logits moved towards the targets: more argmax hits.
    let targets = t.action_tokenizer().encode(&b.samples[0].actions).unwrap();
    let all_masked = vec![c.file.tokens.mask_token_id; targets.len()];
    let logits = t
        .action_logits(&b.samples[0].observation, &all_masked)
        .unwrap();
    let hits = logits
        .argmax(1)
        .unwrap()
        .to_vec1::<u32>()
        .unwrap()
        .iter()
        .zip(&targets)
        .filter(|(k, tgt)| **k + c.action_token_begin == **tgt)
        .count();
    eprintln!("argmax hits {hits}/{}", targets.len());
    assert!(
        hits > targets.len() / 4,
        "{hits}/{} argmax hits (loss {before} → {after})",
        targets.len()
    );
}

#[test]
fn save_then_load_reproduces_logits_exactly_and_resume_continues_exactly() {
    let c = cfg();
    let b = batch(&c);
    let mut t = trainer(5);
    for _ in 0..2 {
        t.step(&b).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    for f in [files::OPTIMIZER, files::STATE, checkpoint::files::TOKENIZER] {
        assert!(dir.path().join(f).exists(), "{f}");
    }

    // Logits of the reloaded model are bit-identical.
    let loaded = checkpoint::load_model(dir.path(), &Device::Cpu).unwrap();
    let obs = common::observation(&c);
    let st = stats(&c);
    let inputs = prepare(
        &c,
        &obs,
        st.select(None).unwrap().proprio.as_ref(),
        &PromptTokenizer::byte_level(&c).unwrap(),
        &Device::Cpu,
    )
    .unwrap();
    let ids = vec![c.file.tokens.mask_token_id; c.action_tokens];
    let mode = c.file.attention_mode;
    let a = t
        .model()
        .logits_full(
            &t.model().encode_prefix(&inputs).unwrap(),
            SlotInput::Tokens(&ids),
            mode,
            None,
        )
        .unwrap();
    let l = loaded
        .logits_full(
            &loaded.encode_prefix(&inputs).unwrap(),
            SlotInput::Tokens(&ids),
            mode,
            None,
        )
        .unwrap();
    assert_eq!(
        a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        l.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    );
    // The directory is a complete policy checkpoint.
    assert!(
        Policy::from_checkpoint(dir.path(), None, &Device::Cpu)
            .unwrap()
            .is_trained()
    );

    // A save goes through a staging folder that does not outlive it.
    let staging = dir.path().join(files::STAGING);
    assert!(!staging.exists());
    // A later save killed while writing leaves half-written files in staging only: the
    // checkpoint in the folder stays whole, and resuming continues exactly where the saved
    // trainer is.
    std::fs::create_dir(&staging).unwrap();
    let weights = std::fs::read(dir.path().join(checkpoint::files::WEIGHTS)).unwrap();
    std::fs::write(
        staging.join(checkpoint::files::WEIGHTS),
        &weights[..weights.len() / 2],
    )
    .unwrap();
    let mut r = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(r.steps(), 2);
    for _ in 0..2 {
        let x = t.step(&b).unwrap();
        let y = r.step(&b).unwrap();
        assert_eq!(x, y);
    }
    // The next save replaces the stale staging folder and lands whole.
    r.save(dir.path()).unwrap();
    assert!(!staging.exists());
    assert_eq!(
        Trainer::resume(dir.path(), &Device::Cpu).unwrap().steps(),
        4
    );
}

#[test]
fn same_seed_same_losses() {
    let c = cfg();
    let b = batch(&c);
    let run = |seed| {
        let mut t = trainer(seed);
        (0..3)
            .map(|_| {
                let s = t.step(&b).unwrap();
                (s.loss, s.grad_norm, s.supervised)
            })
            .collect::<Vec<_>>()
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert_ne!(a, run(12));
}

#[test]
fn bad_batches_are_clear_errors_and_change_nothing() {
    let c = cfg();
    let mut t = trainer(0);
    let message = |b: &Batch, t: &mut Trainer| match t.step(b) {
        Err(e @ PolicyError::BadInput { .. }) => e.to_string(),
        other => panic!("expected BadInput, got {other:?}"),
    };

    let e = message(&Batch::default(), &mut t);
    assert!(e.contains("batch") && e.contains("empty"), "{e}");

    let mut b = batch(&c);
    b.samples[1].actions.pop();
    let e = message(&b, &mut t);
    assert!(e.contains("sample 1") && e.contains("55 values"), "{e}");

    let mut b = batch(&c);
    b.samples[0].actions[10] = f32::NAN;
    let e = message(&b, &mut t);
    assert!(e.contains("sample 0") && e.contains("NaN"), "{e}");

    let mut b = batch(&c);
    b.samples[0].observation.images.clear();
    let e = message(&b, &mut t);
    assert!(e.contains("images"), "{e}");

    assert_eq!(t.steps(), 0);
    // A good batch still gives the same first step as a fresh trainer (no RNG consumed).
    let b = batch(&c);
    assert_eq!(t.step(&b).unwrap(), trainer(0).step(&b).unwrap());
}

#[test]
fn bad_configs_are_rejected() {
    let c = cfg();
    let mut tc = train_cfg(0);
    tc.lr.min_lr = 1.0;
    assert!(matches!(
        Trainer::new(c.clone(), stats(&c), None, tc, &Device::Cpu),
        Err(PolicyError::Config { .. })
    ));
    let mut tc = train_cfg(0);
    tc.max_grad_norm = Some(f64::NAN);
    assert!(Trainer::new(c.clone(), stats(&c), None, tc, &Device::Cpu).is_err());
    // Statistics of the wrong action dimension.
    assert!(
        Trainer::new(
            c,
            DatasetStatistics::identity(3, 8),
            None,
            train_cfg(0),
            &Device::Cpu
        )
        .is_err()
    );
}

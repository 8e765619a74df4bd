//! One training objective per decoder: each objective overfits two fixed samples so that ITS
//! decoder (greedy) returns the training targets; the AR objective's teacher-forced logits are
//! the AR decoder's step logits; resume and old trainer states.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use candle_core::Device;
use ddvla_policy::Policy;
use ddvla_policy::decode::{
    Autoregressive, AutoregressiveConfig, Decoder, DecoderKind, DiffusionConfig, EmptySlots,
    MaskedDiffusion, Parallel, ParallelConfig,
};
use ddvla_policy::model::{AttentionMode, Config};
use ddvla_policy::observation::prepare;
use ddvla_policy::stats::DatasetStatistics;
use ddvla_policy::text::PromptTokenizer;
use ddvla_policy::train::{Batch, LrSchedule, Objective, Sample, TrainConfig, Trainer, files};

fn cfg() -> Config {
    common::tiny_config(AttentionMode::Bidirectional)
}

fn stats(cfg: &Config) -> DatasetStatistics {
    DatasetStatistics::identity(cfg.file.action.action_dim, cfg.file.proprio_dim)
}

fn train_cfg(objective: Objective, steps: u64) -> TrainConfig {
    TrainConfig {
        seed: 3,
        lr: LrSchedule {
            peak_lr: 1e-2,
            min_lr: 1e-3,
            warmup_steps: 2,
            total_steps: steps,
        },
        objective,
        // These tests compare objectives and decoders at the peak LR of 1e-2 on two samples:
        // the vision towers stay frozen here (as when they were written); training them is
        // tested in `train_vision.rs` and end to end in the root crate's `tests/train.rs`.
        train_vision: false,
        ..TrainConfig::default()
    }
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

/// Overfit `batch` with `tc`, check the loss fell, save, and decode every sample with the
/// decoder `make` builds: the tokens must be the targets.
fn overfit_then_decode(tc: TrainConfig, steps: u64, make: impl Fn() -> Box<dyn Decoder>) {
    let c = cfg();
    let b = batch(&c);
    let objective = tc.objective;
    let mut t = Trainer::new(c.clone(), stats(&c), None, tc, &Device::Cpu).unwrap();
    let before = t.eval_loss(&b, 7).unwrap();
    for _ in 0..steps {
        let s = t.step(&b).unwrap();
        assert!(s.loss.is_finite(), "{objective:?}: {s:?}");
    }
    let after = t.eval_loss(&b, 7).unwrap();
    eprintln!("{objective:?}: eval loss {before} -> {after}");
    assert!(
        after < 0.1 * before,
        "{objective:?}: loss {before} -> {after}"
    );
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    let policy = Policy::from_checkpoint(dir.path(), None, &Device::Cpu).unwrap();
    for (i, s) in b.samples.iter().enumerate() {
        let targets = t.action_tokenizer().encode(&s.actions).unwrap();
        let mut decoder = make();
        let out = policy.act(&s.observation, decoder.as_mut(), None).unwrap();
        let wrong = out
            .tokens
            .iter()
            .zip(&targets)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            wrong,
            0,
            "{objective:?} / {}: sample {i}: {wrong}/{} tokens differ",
            decoder.name(),
            targets.len()
        );
    }
}

#[test]
fn diffusion_objective_trains_the_diffusion_decoder() {
    overfit_then_decode(train_cfg(Objective::Diffusion, 200), 200, || {
        Box::new(MaskedDiffusion::new(DiffusionConfig {
            temperature: 0.0,
            choice_temperature: 0.0,
            ..DiffusionConfig::default()
        }))
    });
}

#[test]
fn autoregressive_objective_trains_the_autoregressive_decoder() {
    overfit_then_decode(train_cfg(Objective::Autoregressive, 60), 60, || {
        Box::new(Autoregressive::new(AutoregressiveConfig::default()))
    });
}

#[test]
fn parallel_objective_trains_the_parallel_decoder() {
    overfit_then_decode(train_cfg(Objective::Parallel, 60), 60, || {
        Box::new(Parallel::new(ParallelConfig::default()))
    });
}

#[test]
fn parallel_objective_with_zero_slots_trains_the_oft_decoder() {
    let tc = TrainConfig {
        parallel_slots: EmptySlots::Zeros,
        ..train_cfg(Objective::Parallel, 120)
    };
    overfit_then_decode(tc, 120, || {
        Box::new(Parallel::new(ParallelConfig {
            empty_slots: EmptySlots::Zeros,
            ..ParallelConfig::default()
        }))
    });
}

#[test]
fn teacher_forced_rows_are_the_autoregressive_decoder_steps() {
    let c = cfg();
    let t = Trainer::new(
        c.clone(),
        stats(&c),
        None,
        train_cfg(Objective::Autoregressive, 10),
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(t.attention_mode(), AttentionMode::Causal);
    let obs = common::observation(&c);
    let targets = t.action_tokenizer().encode(&chunk(&c, 0.3)).unwrap();
    let ours = t.action_logits(&obs, &targets).unwrap();
    let st = stats(&c);
    let inputs = prepare(
        &c,
        &obs,
        st.select(None).unwrap().proprio.as_ref(),
        &PromptTokenizer::byte_level(&c).unwrap(),
        &Device::Cpu,
    )
    .unwrap();
    let prefix = t.model().encode_prefix(&inputs).unwrap();
    for j in [0, 1, 17, targets.len() - 1] {
        let step = t.model().logits_next(&prefix, &targets[..j], None).unwrap();
        let row = ours.get(j).unwrap();
        let d = common::max_abs_diff(&row, &step);
        assert!(d < 1e-4, "slot {j}: max diff {d}");
    }
}

#[test]
fn resume_continues_a_non_default_objective_exactly() {
    let c = cfg();
    let b = batch(&c);
    let mut t = Trainer::new(
        c.clone(),
        stats(&c),
        None,
        train_cfg(Objective::Autoregressive, 10),
        &Device::Cpu,
    )
    .unwrap();
    t.step(&b).unwrap();
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    let state = std::fs::read_to_string(dir.path().join(files::STATE)).unwrap();
    assert!(
        state.contains("\"objective\": \"autoregressive\""),
        "{state}"
    );
    let mut r = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(r.objective(), Objective::Autoregressive);
    for _ in 0..2 {
        assert_eq!(t.step(&b).unwrap(), r.step(&b).unwrap());
    }
}

#[test]
fn checkpoints_name_the_decoder_their_objective_trains() {
    let c = cfg();
    assert_eq!(c.file.decoder, None, "presets say nothing");
    let dir = tempfile::tempdir().unwrap();
    let saved_decoder = |objective, init: Option<&std::path::Path>, out: &std::path::Path| {
        let t = match init {
            None => Trainer::new(
                c.clone(),
                stats(&c),
                None,
                train_cfg(objective, 4),
                &Device::Cpu,
            ),
            Some(d) => Trainer::from_checkpoint(d, None, train_cfg(objective, 4), &Device::Cpu),
        }
        .unwrap();
        t.save(out).unwrap();
        Policy::from_checkpoint(out, None, &Device::Cpu)
            .unwrap()
            .model()
            .config()
            .file
            .decoder
    };
    let (diffusion, parallel, ar) = (
        dir.path().join("diffusion"),
        dir.path().join("parallel"),
        dir.path().join("ar"),
    );
    assert_eq!(
        saved_decoder(Objective::Diffusion, None, &diffusion),
        Some(DecoderKind::Diffusion)
    );
    // A fine-tune with another objective names that objective's decoder.
    assert_eq!(
        saved_decoder(Objective::Parallel, Some(&diffusion), &parallel),
        Some(DecoderKind::Parallel)
    );
    assert_eq!(
        saved_decoder(Objective::Autoregressive, Some(&parallel), &ar),
        Some(DecoderKind::Ar)
    );
    // A config.json from before the field loads as "not said".
    let path = diffusion.join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let old = text.replace(",\n  \"decoder\": \"diffusion\"", "");
    assert_ne!(old, text, "{text}");
    std::fs::write(&path, old).unwrap();
    let loaded = Policy::from_checkpoint(&diffusion, None, &Device::Cpu).unwrap();
    assert_eq!(loaded.model().config().file.decoder, None);
}

#[test]
fn version_1_trainer_states_resume_with_the_diffusion_objective() {
    let c = cfg();
    let b = batch(&c);
    let mut t = Trainer::new(
        c.clone(),
        stats(&c),
        None,
        train_cfg(Objective::Diffusion, 10),
        &Device::Cpu,
    )
    .unwrap();
    t.step(&b).unwrap();
    let dir = tempfile::tempdir().unwrap();
    t.save(dir.path()).unwrap();
    // Rewrite the state as version 1 wrote it: no objective, no parallel_slots.
    let path = dir.path().join(files::STATE);
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state["version"] = 1.into();
    let train = state["train"].as_object_mut().unwrap();
    assert!(train.remove("objective").is_some());
    assert!(train.remove("parallel_slots").is_some());
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    let mut r = Trainer::resume(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(r.objective(), Objective::Diffusion);
    assert!(
        !r.config().train_vision,
        "version 1 trained with the towers frozen"
    );
    assert_eq!(t.step(&b).unwrap(), r.step(&b).unwrap());
    // A future version is refused by name.
    state["version"] = 99.into();
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    let e = Trainer::resume(dir.path(), &Device::Cpu).err().unwrap();
    assert!(e.to_string().contains("trainer_state.version"), "{e}");
}

#[test]
fn objective_configs_parse_and_check() {
    let tc: TrainConfig = serde_json::from_str(r#"{"objective": "parallel"}"#).unwrap();
    assert_eq!(tc.objective, Objective::Parallel);
    assert_eq!(
        serde_json::from_str::<TrainConfig>("{}").unwrap().objective,
        Objective::Diffusion
    );
    assert!(serde_json::from_str::<TrainConfig>(r#"{"objective": "ar"}"#).is_err());
    let bad = TrainConfig {
        attention: Some(AttentionMode::Bidirectional),
        ..train_cfg(Objective::Autoregressive, 10)
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("train.attention") && e.contains("causal"), "{e}");
    let ok = TrainConfig {
        attention: Some(AttentionMode::Causal),
        ..train_cfg(Objective::Autoregressive, 10)
    };
    ok.validate().unwrap();
    // All-masked samples: a share in [0, 1], for the diffusion objective only.
    let mixed = |objective, share| TrainConfig {
        all_masked_fraction: share,
        ..train_cfg(objective, 10)
    };
    mixed(Objective::Diffusion, 0.5).validate().unwrap();
    for (objective, share) in [
        (Objective::Diffusion, 1.5),
        (Objective::Diffusion, f64::NAN),
        (Objective::Parallel, 0.5),
    ] {
        let e = mixed(objective, share).validate().unwrap_err().to_string();
        assert!(e.contains("train.all_masked_fraction"), "{e}");
    }
}

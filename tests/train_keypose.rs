//! The keypose loss (`[train.keypose]`): every sample carries the end-effector positions at
//! the episode's next gripper events, standardised over the training split; a run trains
//! with it, logs it to `keypose.csv` and refuses to resume under another setting.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

mod common;
use common::run::{fail, load_twice, ok, quick_train_config, record_random_object, train};

/// Two random-action episodes of object task 0, 16 steps each (random gripper commands:
/// many events).
fn record(out: &Path) {
    record_random_object(out, "0", 2, 16);
}

/// The keypose loss on the next `n` gripper events.
fn events(n: usize) -> ddvla_policy::train::KeyposeConfig {
    ddvla_policy::train::KeyposeConfig {
        events: n,
        ..Default::default()
    }
}

#[test]
fn samples_carry_the_next_events_positions_standardised() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let (plain, mut ds) = load_twice(&demos);
    assert!(plain.sample((0, 0), None, 0).unwrap().keyposes.is_empty());
    let scale = ds.set_keyposes(&events(2), None).unwrap();
    assert!(scale.std_m.iter().all(|&s| s >= 1e-3));
    let mut per_axis = [(0.0f64, 0.0f64); 3];
    let mut n = 0.0;
    for &(e, t) in &ds.train {
        let s = ds.sample((e, t), None, 0).unwrap();
        assert_eq!(s.keyposes.len(), 6, "two events, x y z each");
        for p in s.keyposes.chunks_exact(3) {
            for a in 0..3 {
                per_axis[a].0 += f64::from(p[a]);
                per_axis[a].1 += f64::from(p[a]).powi(2);
            }
            n += 1.0;
        }
    }
    for (a, (sum, sq)) in per_axis.iter().enumerate() {
        let mean = sum / n;
        assert!(mean.abs() < 1e-3, "axis {a}: mean {mean}");
        let var = sq / n - mean * mean;
        assert!(var < 1.0 + 1e-3, "axis {a}: variance {var}");
    }
    // At the last step nothing is ahead: both events are where the episode ends, which is
    // that step's own end-effector position.
    let last = ds.train.iter().filter(|&&(e, _)| e == 0).count() - 1;
    let s = ds.sample((0, last), None, 0).unwrap();
    let ee = &plain
        .sample((0, last), None, 0)
        .unwrap()
        .observation
        .proprio[..3];
    for (a, &x) in ee.iter().enumerate() {
        let z = (x - scale.mean_m[a]) / scale.std_m[a];
        assert!((s.keyposes[a] - z).abs() < 1e-4, "axis {a}");
        assert!((s.keyposes[3 + a] - z).abs() < 1e-4, "axis {a}");
    }
    // Augmentation changes the frames, not the targets.
    let aug = ddvla_policy::train::augment::AugmentConfig::default();
    assert_eq!(ds.sample((1, 3), Some(&aug), 5).unwrap().keyposes, {
        ds.sample((1, 3), None, 0).unwrap().keyposes
    });
}

#[test]
fn a_run_trains_with_the_keypose_loss_and_keeps_its_setting() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let out = d.path().join("run");
    let toml = |keypose: &str| {
        quick_train_config("preset = \"compact\"", "", &demos, &out) + "[train.keypose]\n" + keypose
    };
    let o = train(&d.path().join("bad.toml"), &toml("events = 0\n"));
    fail(&o, &["train.keypose.events"]);
    let o = train(
        &d.path().join("ok.toml"),
        &toml("events = 2\nweight = 0.5\n"),
    );
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("keypose loss (weight 0.5)"), "{stdout}");
    let log = std::fs::read_to_string(out.join("keypose.csv")).unwrap();
    let rows: Vec<&str> = log.lines().collect();
    assert_eq!(rows[0], "step,loss,val_loss,average_val_loss");
    assert_eq!(rows.len(), 3, "{log}");
    let loss: f32 = rows[2].split(',').nth(1).unwrap().parse().unwrap();
    assert!(loss.is_finite() && loss > 0.0, "{log}");
    assert!(out.join("keypose_scale.json").is_file());
    // The head's error on recorded frames, as open loop reports it, with swapped images
    // too; a checkpoint without a head is refused, naming the setting.
    let open_loop = |policy: &Path, swap: bool| {
        let mut c = common::run::ddvla();
        c.args([
            "eval",
            "open-loop",
            "--split",
            "all",
            "--samples",
            "6",
            "--keypose",
        ])
        .arg("--policy")
        .arg(policy)
        .arg("--demos")
        .arg(&demos);
        if swap {
            c.arg("--swap-images");
        }
        c.output().unwrap()
    };
    for swap in [false, true] {
        let o = open_loop(&out, swap);
        ok(&o);
        let text = String::from_utf8_lossy(&o.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("keypose error: "))
            .unwrap_or_else(|| panic!("{text}"));
        let mse: f64 = line["keypose error: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(mse.is_finite() && mse > 0.0, "{line}");
    }
    // A snapshot two folders down (`RUN/step-N/ema`, no train.toml of its own) finds the
    // run's config and scale.
    let snap = out.join("step-000002").join("ema");
    std::fs::create_dir_all(&snap).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "dataset_statistics.json",
    ] {
        std::fs::copy(out.join(f), snap.join(f)).unwrap();
    }
    ok(&open_loop(&snap, false));
    std::fs::remove_file(out.join("keypose_scale.json")).unwrap();
    fail(&open_loop(&out, false), &["keypose_scale.json"]);
    // Resuming under another keypose setting is refused, naming it.
    let more = toml("events = 1\nweight = 0.5\n").replace("steps = 2\n", "steps = 4\n");
    let o = train(&d.path().join("other.toml"), &more);
    fail(&o, &["[train.keypose]"]);
}

#[test]
fn object_targets_are_the_recorded_positions_and_train_the_scene_head() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let (plain, mut ds) = load_twice(&demos);
    let objects = ddvla_policy::train::KeyposeConfig {
        target: ddvla_policy::train::KeyposeTarget::Objects,
        objects: 2,
        ..Default::default()
    };
    let scale = ds.set_keyposes(&objects, None).unwrap();
    // Each sample's targets are the first two recorded objects where its frame was taken,
    // standardised by the split's scale.
    let idx = ddvla::demos::read_index(&demos).unwrap();
    let ep = ddvla::demos::load_episode(&demos, &idx.episodes[0]).unwrap();
    assert_eq!(ep.objects.len(), ep.actions.len());
    for t in [0, 5, ep.actions.len() - 1] {
        let s = ds.sample((0, t), None, 0).unwrap();
        assert_eq!(s.keyposes.len(), 6);
        for (k, (&z, &raw)) in s.keyposes.iter().zip(&ep.objects[t][..6]).enumerate() {
            let a = k % 3;
            assert!(
                (z - (raw - scale.mean_m[a]) / scale.std_m[a]).abs() < 1e-4,
                "step {t} value {k}"
            );
        }
    }
    assert!(plain.sample((0, 0), None, 0).unwrap().keyposes.is_empty());
    // A run with the scene-token head trains; without trained towers it is refused.
    let out = d.path().join("run");
    let toml = |vision: &str| {
        quick_train_config("preset = \"compact\"", "", &demos, &out)
            .replace("[train]\n", &format!("[train]\n{vision}"))
            + "[train.keypose]\ntarget = \"objects\"\ninput = \"scene_tokens\"\n"
    };
    fail(
        &train(
            &d.path().join("frozen.toml"),
            &toml("train_vision = false\n"),
        ),
        &["train.keypose.input", "train_vision"],
    );
    let o = train(&d.path().join("scene.toml"), &toml("train_vision = true\n"));
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("the head reading SceneTokens")
            && stdout.contains("the first 2 recorded objects"),
        "{stdout}"
    );
    let log = std::fs::read_to_string(out.join("keypose.csv")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
}

#[test]
fn objects_from_pinch_targets_train_the_hand_head() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let (_, mut ds) = load_twice(&demos);
    let from_pinch = ddvla_policy::train::KeyposeConfig {
        target: ddvla_policy::train::KeyposeTarget::ObjectsFromPinch,
        objects: 2,
        input: ddvla_policy::train::KeyposeInput::HandTokens,
        ..Default::default()
    };
    let scale = ds.set_keyposes(&from_pinch, None).unwrap();
    // Each sample's targets are the first two recorded objects less the end effector's
    // position at its step, standardised by the split's scale.
    let idx = ddvla::demos::read_index(&demos).unwrap();
    let ep = ddvla::demos::load_episode(&demos, &idx.episodes[0]).unwrap();
    for t in [0, 5, ep.actions.len() - 1] {
        let s = ds.sample((0, t), None, 0).unwrap();
        assert_eq!(s.keyposes.len(), 6);
        for (k, &z) in s.keyposes.iter().enumerate() {
            let a = k % 3;
            let raw = ep.objects[t][k] - ep.proprio[t][a];
            assert!(
                (z - (raw - scale.mean_m[a]) / scale.std_m[a]).abs() < 1e-4,
                "step {t} value {k}"
            );
        }
    }
    let out = d.path().join("run");
    let toml = quick_train_config("preset = \"compact\"", "", &demos, &out)
        .replace("[train]\n", "[train]\ntrain_vision = true\n")
        + "[train.keypose]\ntarget = \"objects_from_pinch\"\ninput = \"hand_tokens\"\n";
    let o = train(&d.path().join("hand.toml"), &toml);
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("the head reading HandTokens") && stdout.contains("from the end effector"),
        "{stdout}"
    );
    let log = std::fs::read_to_string(out.join("keypose.csv")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
}

//! The shipped checkpoints: the README main job's policy
//! (`checkpoints/compact-libero-spatial-parallel-50`, the parallel-objective fine-tune) loads
//! as a trained policy with the inference centre crop its training used, names the parallel
//! decoder as its own, and runs under `ddvla eval` with it (rendered frames → crop → one
//! argmax pass → actions); the DD-VLA stage-2 checkpoint it was fine-tuned from
//! (`checkpoints/compact-libero-spatial`) still loads and defaults to diffusion decoding; the
//! object suite's policy (`checkpoints/compact-libero-object`), the goal suite's
//! (`checkpoints/compact-libero-goal-parallel-5-push-dagger-mix`) and the long suite's
//! (`checkpoints/compact-libero-long-parallel-4-passes`) load and run the same way.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use ddvla_policy::Policy;
use ddvla_policy::decode::DecoderKind;

fn checkpoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-spatial-parallel-50")
}

fn stage2() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-spatial")
}

/// Load `dir` and check what every shipped checkpoint must be: trained, two 128² cameras,
/// the 90% centre crop, under the 50 MB limit, with the given provenance files beside it.
fn check_shipped(dir: &Path, provenance: &[&str]) -> Policy {
    let policy = Policy::from_checkpoint(dir, None, &Device::Cpu).unwrap();
    assert!(policy.is_trained());
    let file = &policy.model().config().file;
    assert_eq!(file.num_images_in_input, 2);
    assert_eq!(file.vision.image_size, 128);
    assert!((file.center_crop_area.unwrap() - 0.9).abs() < 1e-6);
    for f in provenance {
        assert!(dir.join(f).exists(), "{}: {f} missing", dir.display());
    }
    let size = std::fs::metadata(dir.join("model.safetensors"))
        .unwrap()
        .len();
    assert!(size < 50 << 20, "{size} bytes: over the 50 MB limit");
    policy
}

#[test]
fn the_default_checkpoint_loads_trained_with_its_crop_decoder_and_provenance() {
    // How it was made travels with it: both parallel stages' configs and loss curves (the
    // DD-VLA stages' are in the stage-2 checkpoint's folder).
    let policy = check_shipped(
        &checkpoint(),
        &[
            "train.toml",
            "loss.csv",
            "parallel-train.toml",
            "parallel-loss.csv",
            "README.md",
        ],
    );
    assert_eq!(
        policy.model().config().file.decoder,
        Some(DecoderKind::Parallel)
    );
    let dd_vla = check_shipped(
        &stage2(),
        &[
            "train.toml",
            "loss.csv",
            "stage1-train.toml",
            "stage1-loss.csv",
            "README.md",
        ],
    );
    // Saved before checkpoints named their decoder: diffusion, what it was trained for.
    assert_eq!(dd_vla.model().config().file.decoder, None);
    assert_eq!(
        ddvla::eval_cli::checkpoint_decoder(stage2().to_str().unwrap()).unwrap(),
        DecoderKind::Diffusion
    );
    // Both use the same action statistics (the fine-tunes keep stage 1's).
    let stats = |d: PathBuf| std::fs::read(d.join("dataset_statistics.json")).unwrap();
    assert_eq!(stats(checkpoint()), stats(stage2()));
}

/// A suite's shipped policy fine-tuned from the default one: loads trained with its
/// provenance files, names the parallel decoder, keeps the default's action statistics, and
/// runs an episode of `suite`'s task `task` under `ddvla eval`.
fn check_suite_policy(dir: &Path, provenance: &[&str], suite: &str, task: &str) {
    let policy = check_shipped(dir, provenance);
    assert_eq!(
        policy.model().config().file.decoder,
        Some(DecoderKind::Parallel)
    );
    let stats = |d: &Path| std::fs::read(d.join("dataset_statistics.json")).unwrap();
    assert_eq!(stats(dir), stats(&checkpoint()));
    eval_one_episode(dir, suite, task);
}

#[test]
fn the_object_suites_checkpoint_loads_and_runs_an_episode() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-object");
    let mut provenance = vec!["README.md".to_owned()];
    for stage in 1..=3 {
        provenance.push(format!("stage{stage}-train.toml"));
        provenance.push(format!("stage{stage}-loss.csv"));
    }
    let provenance: Vec<&str> = provenance.iter().map(String::as_str).collect();
    // The milk task, which the earlier stages never solved.
    check_suite_policy(&dir, &provenance, "libero_style_object", "7");
}

#[test]
fn the_goal_suites_checkpoint_loads_and_runs_an_episode() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("checkpoints/compact-libero-goal-parallel-5-push-dagger-mix");
    // A run's weight average: its config and both loss curves travel with it. The plate
    // push, which the goal policies before it seldom solved.
    check_suite_policy(
        &dir,
        &["README.md", "train.toml", "loss.csv", "ema_loss.csv"],
        "libero_style_goal",
        "5",
    );
}

#[test]
fn the_long_suites_checkpoint_loads_and_runs_an_episode() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("checkpoints/compact-libero-long-parallel-4-passes");
    // A snapshot's weight average: the run's config and both loss curves up to it travel
    // with it. The drawer and the bowl on top, which the committed third stage never solved.
    check_suite_policy(
        &dir,
        &["README.md", "train.toml", "loss.csv", "ema_loss.csv"],
        "libero_style_long",
        "9",
    );
}

#[test]
fn the_default_checkpoint_runs_an_episode_under_eval() {
    eval_one_episode(&checkpoint(), "libero_style_spatial", "0");
}

/// `ddvla eval` of checkpoint `dir` on one 16-step episode of `suite`'s task `task`, with the
/// checkpoint's own decoder: two policy calls, a trained parallel model.
fn eval_one_episode(dir: &Path, suite: &str, task: &str) {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["eval", "--suite", suite, "--tasks", task])
        .args(["--episodes-per-task", "1", "--max-steps", "16", "--policy"])
        .arg(dir)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    let episodes = results["episodes"].as_array().unwrap();
    assert_eq!(episodes.len(), 1);
    assert_eq!(
        episodes[0]["timing"]["policy_calls"], 2,
        "16 steps = two 8-action chunks"
    );
    let md = std::fs::read_to_string(out.path().join("results.md")).unwrap();
    assert!(!md.contains("UNTRAINED"), "{md}");
    // No --decoder: the checkpoint's own.
    assert!(md.contains(" Parallel execute=chunk"), "{md}");
}

#[test]
fn rollouts_of_the_default_checkpoint_record_with_the_chosen_decoder() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("rollouts");
    let o = record_rollout(&out, "12", &["--decoder", "parallel", "--execute", "4"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("index.json")).unwrap()).unwrap();
    let episodes = index["episodes"].as_array().unwrap();
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0]["steps"], 12);
    // The command line (decoder and execute horizon included) is the recording's provenance.
    let created_by = index["created_by"].as_str().unwrap();
    assert!(
        created_by.contains("--decoder parallel --execute 4"),
        "{created_by}"
    );
    let none = d.path().join("none");
    let ckpt = checkpoint();
    let ckpt = ckpt.to_str().unwrap();
    let cases: [(&[&str], &str); 11] = [
        // An unknown decoder is refused by the argument parser, before any episode runs.
        (&["--decoder", "beam"], "beam"),
        // So are zero rounds or a zero execute horizon (not quietly raised to 1).
        (&["--rounds", "0"], "at least 1"),
        (&["--execute", "0"], "at least 1"),
        (
            &["--policy", ckpt, "--ensemble", "NaN"],
            "not a finite number",
        ),
        (
            &["--policy", "random", "--ensemble", "0.01"],
            "apply to checkpoint policies",
        ),
        // Decoding flags given for the expert or random actions would be ignored.
        (
            &["--policy", "expert", "--remask"],
            "apply to checkpoint policies",
        ),
        (
            &["--policy", "random", "--execute", "4"],
            "apply to checkpoint policies",
        ),
        // So would flags the chosen decoder does not read.
        (
            &["--policy", ckpt, "--decoder", "ar", "--remask"],
            "diffusion decoders only",
        ),
        (
            &["--policy", ckpt, "--decoder", "parallel", "--rounds", "4"],
            "diffusion decoders only",
        ),
        // Also when the decoder is the checkpoint's default, not named on the command line.
        (
            &["--policy", ckpt, "--rounds", "4"],
            "the checkpoint's default decoder",
        ),
        // And temperatures that are not finite numbers of 0 or more.
        (
            &[
                "--policy",
                ckpt,
                "--decoder",
                "parallel",
                "--temperature",
                "nan",
            ],
            "not a finite number",
        ),
    ];
    for (args, said) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_ddvla"))
            .args(["demos", "record", "--suite", "libero_style_spatial"])
            .args(args)
            .arg("--out")
            .arg(&none)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(said), "{args:?}: {err}");
        assert!(!none.exists(), "{args:?} wrote {}", none.display());
    }
}

/// `ddvla demos record` of one rollout of the default checkpoint on spatial task 1,
/// `max_steps` long, with `extra` flags, into `dir`.
fn record_rollout(dir: &Path, max_steps: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args([
            "demos",
            "record",
            "--suite",
            "libero_style_spatial",
            "--tasks",
            "1",
            "--episodes-per-task",
            "1",
            "--keep-failures",
            "--max-steps",
            max_steps,
        ])
        .args(extra)
        .arg("--policy")
        .arg(checkpoint())
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}

/// The actions of one recorded rollout of the default checkpoint (task 1, 16 steps).
fn rollout_actions(dir: &Path, extra: &[&str]) -> Vec<Vec<f32>> {
    let o = record_rollout(dir, "16", extra);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let idx = ddvla::demos::read_index(dir).unwrap();
    ddvla::demos::load_episode(dir, &idx.episodes[0])
        .unwrap()
        .actions
}

#[test]
fn temporal_ensembling_averages_overlapping_chunks_only() {
    let d = tempfile::tempdir().unwrap();
    let plain = rollout_actions(&d.path().join("plain"), &[]);
    // A chunk every 8 steps: no two chunks overlap, so the actions are the chunks' own.
    let apart = rollout_actions(
        &d.path().join("apart"),
        &["--ensemble", "0.5", "--execute", "8"],
    );
    assert_eq!(plain, apart);
    // A chunk every 2 steps: from step 2 on, each action is a mean over overlapping chunks.
    let overlap = rollout_actions(
        &d.path().join("overlap"),
        &["--ensemble", "0.5", "--execute", "2"],
    );
    assert_eq!(overlap.len(), 16);
    assert_eq!(
        overlap[..2],
        plain[..2],
        "the first chunk alone covers steps 0 and 1"
    );
    assert_ne!(overlap, plain);
}

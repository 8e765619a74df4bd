//! End-to-end: `ddvla train` on recorded demonstrations (tiny preset): the loss falls, an
//! interrupted run resumes to the same weights as an uninterrupted one, `ddvla eval
//! open-loop` scores the checkpoint on its demonstrations, and bad datasets or statistics give
//! clear errors.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

mod common;
use common::run::{ddvla, fail, ok, record_random_object};

fn record(out: &Path) {
    record_random_object(out, "0", 3, 24);
}

fn config(dir: &Path, demos: &Path, out: &str, steps: u64) -> std::path::PathBuf {
    let text = format!(
        "[model]\npreset = \"tiny\"\n[data]\ndemos = [\"{}\"]\ncameras = [\"agentview\"]\n\
         successful_only = false\nval_fraction = 0.3\n[data.augment]\n[train]\nseed = 3\n\
         [train.lr]\npeak_lr = 1e-3\nmin_lr = 1e-3\nwarmup_steps = 0\ntotal_steps = 100\n\
         [run]\nsteps = {steps}\nbatch_size = 4\nout = \"{}\"\nsave_every = 2\neval_every = 2\n",
        demos.display(),
        dir.join(out).display()
    );
    let path = dir.join(format!("{out}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn losses(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("loss.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit_once(',').unwrap().0.to_owned()) // drop samples/s
        .collect()
}

#[test]
fn training_lowers_the_loss_and_resumes_exactly() {
    let d = tempfile::tempdir().unwrap();
    let demos = d.path().join("demos");
    record(&demos);
    let straight = config(d.path(), &demos, "straight", 8);
    ok(&ddvla()
        .args(["train", "--config"])
        .arg(&straight)
        .output()
        .unwrap());
    let resumed = config(d.path(), &demos, "resumed", 8);
    ok(&ddvla()
        .args(["train", "--max-steps-now", "5", "--config"])
        .arg(&resumed)
        .output()
        .unwrap());
    // A process killed between checkpoints leaves rows past the saved step (5): the resumed
    // run redoes those steps and drops the stale rows.
    let csv = d.path().join("resumed").join("loss.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("6,9.5,,1.0,1e-3,1.0\n7,9.25,,1.0,1e-3,1.0\n");
    std::fs::write(&csv, text).unwrap();
    // The resumed run starts a weight average (the one setting a resume takes from the
    // file): it changes no update, and lands as a policy checkpoint of its own.
    let toml = std::fs::read_to_string(&resumed).unwrap();
    // It also keeps a policy snapshot every 4 steps from now on (step 8; step 4 passed
    // before, without it).
    std::fs::write(
        &resumed,
        toml.replace("seed = 3\n", "seed = 3\nema_decay = 0.9\n")
            .replace("save_every = 2\n", "save_every = 2\nkeep_every = 4\n"),
    )
    .unwrap();
    let o = ddvla()
        .args(["train", "--config"])
        .arg(&resumed)
        .output()
        .unwrap();
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("None → Some(0.9) from step 5"), "{stdout}");
    let ema = d.path().join("resumed").join("ema");
    assert!(ema.join("model.safetensors").exists() && ema.join("config.json").exists());
    // Its validation loss is logged at the evaluation steps after it started (every 2).
    let ema_log = std::fs::read_to_string(d.path().join("resumed").join("ema_loss.csv")).unwrap();
    let rows: Vec<&str> = ema_log.lines().collect();
    assert_eq!(rows[0], "step,val_loss");
    let steps: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r.split(',').next().unwrap())
        .collect();
    assert_eq!(steps, ["6", "8"], "{ema_log}");
    let (a, b) = (
        losses(&d.path().join("straight")),
        losses(&d.path().join("resumed")),
    );
    assert_eq!(a.len(), 8);
    assert_eq!(a, b, "a resumed run repeats the uninterrupted one");
    let w = |run: &str| std::fs::read(d.path().join(run).join("model.safetensors")).unwrap();
    assert!(w("straight") == w("resumed"), "same weights after resume");
    snapshot_holds_the_final_weights(&d.path().join("resumed"));
    let loss = |row: &str| row.split(',').nth(1).unwrap().parse::<f32>().unwrap();
    assert!(loss(&a[7]) < loss(&a[0]), "loss falls: {a:?}");
    // The checkpoint centre-crops at inference what the training random crop covered
    // (`[data.augment]` defaults: 90% of the area).
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("straight").join("config.json")).unwrap(),
    )
    .unwrap();
    assert!(
        (config["center_crop_area"].as_f64().unwrap() - 0.9).abs() < 1e-6,
        "{config}"
    );

    open_loop_scores_the_checkpoint(d.path(), &d.path().join("straight"));

    // The checkpoint runs in `ddvla eval`; a statistics file with q01 == q99 on a normalised
    // dimension is refused with the dimension named.
    let ckpt = d.path().join("straight");
    let stats_path = ckpt.join("dataset_statistics.json");
    let mut stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats_path).unwrap()).unwrap();
    let action = &mut stats["ddvla_demos"]["action"];
    action["q99"][0] = action["q01"][0].clone();
    action["mask"][0] = serde_json::Value::Bool(true);
    std::fs::write(&stats_path, stats.to_string()).unwrap();
    let o = ddvla()
        .args([
            "eval",
            "--suite",
            "libero_style_object",
            "--episodes-per-task",
            "1",
            "--tasks",
            "0",
        ])
        .arg("--policy")
        .arg(&ckpt)
        .arg("--out")
        .arg(d.path().join("ev"))
        .output()
        .unwrap();
    fail(&o, &["q01", "dimension 0"]);
}

/// `keep_every = 4` on a run of 8 steps resumed at 5: one snapshot, at step 8, holding the
/// run's final weights and average, whole (no staging folder left).
fn snapshot_holds_the_final_weights(run: &Path) {
    let kept: Vec<String> = std::fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("step-"))
        .collect();
    assert_eq!(kept, ["step-000008"]);
    for file in [
        "model.safetensors",
        "ema/model.safetensors",
        "config.json",
        "tokenizer.json",
    ] {
        let (in_run, in_snapshot) = (
            std::fs::read(run.join(file)).unwrap(),
            std::fs::read(run.join("step-000008").join(file)).unwrap(),
        );
        assert!(
            in_run == in_snapshot,
            "{file} differs between the run and its snapshot"
        );
    }
    assert!(run.join("step-000008/dataset_statistics.json").is_file());
}

/// `ddvla eval open-loop --split train --samples 4 EXTRA --policy CKPT`: its JSON scores
/// (written as `DIR/NAME.json`), the report checked to cover every dimension.
fn open_loop_json(dir: &Path, ckpt: &Path, name: &str, extra: &[&str]) -> serde_json::Value {
    let json = dir.join(format!("{name}.json"));
    let o = ddvla()
        .args(["eval", "open-loop", "--split", "train", "--samples", "4"])
        .args(extra)
        .arg("--policy")
        .arg(ckpt)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("| 6 |") && stdout.contains("gripper"),
        "{stdout}"
    );
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

/// `ddvla eval open-loop` on a checkpoint's own training split: every dimension scored,
/// finite, repeatable; the split needs the run's `train.toml`.
fn open_loop_scores_the_checkpoint(dir: &Path, ckpt: &Path) {
    let scores = |name: &str, extra: &[&str]| open_loop_json(dir, ckpt, name, extra);
    let a = scores("ol_a", &[]);
    assert_eq!(a["samples"], 4);
    let dims = a["dims"].as_array().unwrap();
    assert_eq!(dims.len(), 7, "{a}");
    for d in dims {
        for key in ["mae", "mae_first", "bin_error", "exact_bin", "baseline_mae"] {
            let v = d[key].as_f64().unwrap();
            assert!(v.is_finite() && v >= 0.0, "{key} = {v}");
        }
        assert!(d["exact_bin"].as_f64().unwrap() <= 1.0);
    }
    assert_eq!(a, scores("ol_b", &[]), "seeded decoding repeats");
    open_loop_swaps_images_and_spreads_tokens(dir, ckpt, &a);
    // Per-frame rows (`--frames`): one per scored frame, naming its episode file and step;
    // their motion errors average to the report's motion dimensions' MAE.
    let csv = dir.join("frames.csv");
    let with_frames = scores("ol_frames", &["--frames", csv.to_str().unwrap()]);
    assert_eq!(with_frames, a, "--frames changes nothing else");
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 4, "{text}");
    let motion_mean = dims[..6]
        .iter()
        .map(|d| d["mae"].as_f64().unwrap())
        .sum::<f64>()
        / 6.0;
    let rows_mean = rows
        .iter()
        .map(|r| {
            assert!(r[0].ends_with(".mcap\""), "{r:?}");
            assert!(r[1].parse::<usize>().is_ok() && r.len() == 5 + 14, "{r:?}");
            r[2].parse::<f64>().unwrap()
        })
        .sum::<f64>()
        / 4.0;
    assert!(
        (rows_mean - motion_mean).abs() < 1e-3,
        "{rows_mean} vs {motion_mean}"
    );
    // The scene camera's tokens (`--dump-tokens`): one row per scored frame, listed beside
    // with its next two gripper events' positions; the scores unchanged.
    let dump = dir.join("tokens.f32");
    let with_dump = scores("ol_dump", &["--dump-tokens", dump.to_str().unwrap()]);
    assert_eq!(with_dump, a, "--dump-tokens changes nothing else");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("config.json")).unwrap()).unwrap();
    let side = cfg["vision"]["image_size"].as_u64().unwrap()
        / cfg["vision"]["patch_size"].as_u64().unwrap();
    let hidden = cfg["text"]["hidden_size"].as_u64().unwrap();
    let bytes = std::fs::metadata(&dump).unwrap().len();
    assert_eq!(
        bytes,
        4 * side * side * hidden * 4,
        "4 frames of patches × hidden f32"
    );
    let listed = std::fs::read_to_string(dir.join("tokens.f32.csv")).unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 5, "{listed}");
    for l in &lines[1..] {
        let cells: Vec<&str> = l.split(',').collect();
        assert_eq!(cells.len(), 8, "{l}");
        assert!(
            cells[2..]
                .iter()
                .all(|c| c.parse::<f32>().unwrap().is_finite())
        );
    }
    let greedy = scores(
        "ol_greedy",
        &["--temperature", "0", "--instruction", "pick it up"],
    );
    assert_eq!(greedy["instruction_override"], "pick it up");
    assert!(
        greedy["decoder"]
            .as_str()
            .unwrap()
            .ends_with("temperature=0"),
        "{greedy}"
    );

    // Without the run's train.toml there is no split to score.
    let bare = dir.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "dataset_statistics.json",
    ] {
        std::fs::copy(ckpt.join(f), bare.join(f)).unwrap();
    }
    let o = ddvla()
        .args(["eval", "open-loop", "--split", "val", "--policy"])
        .arg(&bare)
        .output()
        .unwrap();
    fail(&o, &["train.toml", "--split all"]);
}

/// `--swap-images` and `--token-spread` on the same checkpoint as `a` (its scores
/// without them): marked in the scores, refused with one frame, the spread finite.
fn open_loop_swaps_images_and_spreads_tokens(dir: &Path, ckpt: &Path, a: &serde_json::Value) {
    // Another frame's images, the frame's own proprio and instruction: scored and marked.
    let swapped = open_loop_json(dir, ckpt, "ol_swap", &["--swap-images"]);
    assert_eq!(swapped["images_swapped"], true);
    assert_eq!(a["images_swapped"], false);
    assert_eq!(swapped["samples"], 4);
    let o = ddvla()
        .args(["eval", "open-loop", "--split", "train", "--samples", "1"])
        .arg("--swap-images")
        .arg("--policy")
        .arg(ckpt)
        .output()
        .unwrap();
    fail(&o, &["--swap-images needs at least 2 scored frames"]);
    assert!(a.get("image_token_spread").is_none(), "only when asked");
    // The image tokens' spread per camera: finite, positive (random frames differ).
    let spread = open_loop_json(dir, ckpt, "ol_spread", &["--token-spread"]);
    let cams = spread["image_token_spread"].as_array().unwrap();
    assert_eq!(cams.len(), 1, "one camera, agentview: {spread}");
    for c in cams {
        for key in ["spread", "grey_distance", "mean_token_norm"] {
            let v = c[key].as_f64().unwrap();
            assert!(v.is_finite() && v > 0.0, "{key} = {v}");
        }
    }
    assert_eq!(spread["dims"], a["dims"], "--token-spread changes no score");
}

#[test]
fn bad_datasets_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    // No dataset at all.
    let cfg = config(d.path(), &d.path().join("none"), "none", 2);
    let o = ddvla()
        .args(["train", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    fail(&o, &["index.json"]);
    // A corrupt episode file.
    let demos = d.path().join("demos");
    record(&demos);
    let idx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demos.join("index.json")).unwrap()).unwrap();
    let file = idx["episodes"][1]["file"].as_str().unwrap().to_owned();
    std::fs::write(demos.join(&file), b"not an mcap file").unwrap();
    let cfg = config(d.path(), &demos, "corrupt", 2);
    let o = ddvla()
        .args(["train", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    fail(&o, &[&file]);
    // A suite filter that selects nothing.
    let only_goal = d.path().join("only_goal.toml");
    let text = std::fs::read_to_string(config(d.path(), &demos, "only_goal", 2)).unwrap();
    std::fs::write(
        &only_goal,
        text.replace("[data]\n", "[data]\nsuites = [\"libero_style_goal\"]\n"),
    )
    .unwrap();
    let o = ddvla()
        .args(["train", "--config"])
        .arg(&only_goal)
        .output()
        .unwrap();
    fail(&o, &["no training episodes", "libero_style_goal"]);
    // Inconsistent action dimensions between the index and the episodes.
    let mut idx2 = idx.clone();
    idx2["action_dim"] = serde_json::json!(6);
    idx2["episodes"] = serde_json::json!([idx["episodes"][0].clone()]);
    std::fs::write(demos.join("index.json"), idx2.to_string()).unwrap();
    let o = ddvla()
        .args(["train", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    fail(&o, &["7-D action", "6-D"]);
    // An empty index.
    idx2["episodes"] = serde_json::json!([]);
    std::fs::write(demos.join("index.json"), idx2.to_string()).unwrap();
    let o = ddvla()
        .args(["train", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    fail(&o, &["no episodes"]);
    // A bad config.
    std::fs::write(d.path().join("bad.toml"), "[model]\npreset = \"tiny\"\n").unwrap();
    let o = ddvla()
        .args(["train", "--config"])
        .arg(d.path().join("bad.toml"))
        .output()
        .unwrap();
    fail(&o, &["bad.toml"]);
}

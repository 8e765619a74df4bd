//! End-to-end: the `ddvla` binary's commands run and write real outputs.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::process::Command;

mod common;
use common::launch_train_config;
use common::run::ddvla;

#[test]
fn sim_render_writes_a_real_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("agentview.png");
    let status = ddvla()
        .args([
            "sim",
            "render",
            "--camera",
            "agentview",
            "--size",
            "64",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        bytes.len() > 1000,
        "a 64x64 scene PNG is not tiny ({} bytes)",
        bytes.len()
    );
}

#[test]
fn sim_render_unknown_camera_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = ddvla()
        .args(["sim", "render", "--camera", "ceiling", "--out"])
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ceiling") && err.contains("agentview"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// Run `ddvla bench policy --preset tiny --iters 1 --warmup 0` with `extra` arguments and
/// return its JSON report.
fn bench_policy_tiny(extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let status = ddvla()
        .args([
            "bench", "policy", "--preset", "tiny", "--iters", "1", "--warmup", "0",
        ])
        .args(extra)
        .arg("--json")
        .arg(&json)
        .status()
        .unwrap();
    assert!(status.success());
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

#[test]
fn bench_policy_tiny_writes_json() {
    let report = bench_policy_tiny(&[]);
    let names: Vec<&str> = report["decoders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ar", "parallel", "diffusion", "diffusion-cached"]);
    assert_eq!(report["trained"], false);
    assert_eq!(report["decoders"][2]["forward_passes"], 12);
    assert_eq!(report["decoders"][2]["rounds"], 12);
    assert!(report["decoders"][0]["rounds"].is_null());
    assert!((report["decoders"][0]["speedup_over_ar"].as_f64().unwrap() - 1.0).abs() < 1e-9);
}

#[test]
fn bench_policy_runs_the_diffusion_decoders_at_each_round_count() {
    let report = bench_policy_tiny(&["--decoders", "parallel,diffusion", "--rounds", "4,2"]);
    let rows: Vec<(String, Option<u64>, u64)> = report["decoders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["rounds"].as_u64(),
                d["forward_passes"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("parallel".to_owned(), None, 1),
        ("diffusion".to_owned(), Some(4), 4),
        ("diffusion".to_owned(), Some(2), 2),
    ];
    assert_eq!(rows, expected);
    // Without an AR row there is nothing to compare against.
    assert!(report["decoders"][1]["speedup_over_ar"].is_null());
    // Zero rounds is refused by the parser.
    let out = ddvla()
        .args(["bench", "policy", "--preset", "tiny", "--rounds", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
}

#[test]
fn sim_render_without_gl_is_a_clear_error() {
    // glvnd finds no EGL vendor through this path: the same as a machine without EGL.
    let dir = tempfile::tempdir().unwrap();
    let out = ddvla()
        .env(
            "__EGL_VENDOR_LIBRARY_FILENAMES",
            "/nonexistent/egl_vendor.json",
        )
        .args(["sim", "render", "--out"])
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("EGL") && err.contains("libegl1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn tasks_check_bddl_accepts_libero_files_and_names_broken_ones() {
    let libero =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/libero_bddl/libero_spatial");
    assert!(
        libero.exists(),
        "run scripts/setup.sh (fetches LIBERO's BDDL files)"
    );
    let out = ddvla()
        .args(["tasks", "check-bddl"])
        .arg(&libero)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("10 files, 10 ok, 0 failed"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.bddl");
    std::fs::write(
        &broken,
        "(define (problem p)\n  (:domain robosuite)\n  (:objects a - bowl\n",
    )
    .unwrap();
    let out = ddvla()
        .args(["tasks", "check-bddl"])
        .arg(&broken)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("broken.bddl:"), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn launch_configs_parse() {
    // The shipped robot config loads with its documented values (typed, unknown fields
    // rejected), and the ROS 2 launch file is valid Python.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let robot = ddvla::serve::config::ServeConfig::load(&root.join("launch/robot.toml")).unwrap();
    // No decoder named: a checkpoint runs its own, random weights diffusion-cached.
    assert_eq!(robot.policy.decoder, None);
    assert_eq!(robot.topics.cameras.len(), 2);
    assert!(robot.safety.workspace.is_some());
    ddvla::serve::config::PolicyServerConfig::load(&root.join("launch/policy-server.toml"))
        .unwrap();
    assert_eq!(
        robot.input.proprio,
        Some(ddvla::serve::config::ProprioSource::JointStates)
    );
    assert_eq!(robot.topics.proprio, "/ddvla/proprio");
    assert!(!robot.rerun.enabled(), "no live view unless asked");
    let replay = ddvla::serve::config::ServeConfig::load(&root.join("launch/replay.toml")).unwrap();
    assert!(replay.record.is_some());
    // Task mode picks the proprio topic when the config leaves it unset.
    assert_eq!(replay.input.proprio, None);
    let sim = ddvla::serve::config::ServeConfig::load(&root.join("launch/sim-eval.toml")).unwrap();
    assert_eq!(sim.input.proprio, None);
    assert_eq!(sim.rerun.queue, 1024);
    let train = launch_train_config("train-small.toml");
    assert_eq!(train.model.preset.as_deref(), Some("small"));
    assert!(train.data.augment.is_some());
    let compact = launch_train_config("train-compact.toml");
    assert_eq!(compact.model.preset.as_deref(), Some("compact"));
    assert!(compact.train.train_vision);
    // Stage 2 fine-tunes stage 1's output on one suite, with its split and statistics.
    let spatial = launch_train_config("train-compact-spatial.toml");
    assert_eq!(
        spatial.model.init_checkpoint.as_deref(),
        Some(compact.run.out.as_path())
    );
    assert_eq!(
        spatial.data.suites.as_deref(),
        Some(&["libero_style_spatial".to_owned()][..])
    );
    assert_eq!(spatial.data.unnorm_key, compact.data.unnorm_key);
    assert_eq!(spatial.train.seed, compact.train.seed);
    assert!(spatial.data.val_fraction.to_bits() == compact.data.val_fraction.to_bits());
    // The AR and parallel models (the decoder comparison) fine-tune the shipped stage-2
    // checkpoint on its data, split, augmentation and statistics with their own objective;
    // the two differ from each other in the objective, the step budget and the output
    // folder only.
    let shipped = root.join("checkpoints/compact-libero-spatial");
    let mut pair = Vec::new();
    for (file, objective) in [
        (
            "train-compact-spatial-ar.toml",
            ddvla_policy::train::Objective::Autoregressive,
        ),
        (
            "train-compact-spatial-parallel.toml",
            ddvla_policy::train::Objective::Parallel,
        ),
    ] {
        let mut other = launch_train_config(file);
        assert_eq!(other.train.objective, objective, "{file}");
        let init = other.model.init_checkpoint.clone().unwrap();
        assert!(
            root.join(&init).join("model.safetensors").is_file(),
            "{file}"
        );
        assert_eq!(root.join(init), shipped, "{file}");
        assert_eq!(other.data, spatial.data, "{file}");
        assert_eq!(other.train.seed, spatial.train.seed, "{file}");
        assert_eq!(
            other.train.train_vision, spatial.train.train_vision,
            "{file}"
        );
        assert_ne!(other.run.out, spatial.run.out, "{file}");
        other.train.objective = spatial.train.objective;
        other.run.out = spatial.run.out.clone();
        assert_eq!(other.run.steps, other.train.lr.total_steps, "{file}");
        other.run.steps = 0;
        other.train.lr.total_steps = 0;
        pair.push(other);
    }
    assert_eq!(pair[0], pair[1]);
    // The 50-demonstration experiment fine-tunes stage 2's output with its statistics key.
    let more = launch_train_config("train-compact-spatial-50.toml");
    assert_eq!(
        more.model.init_checkpoint.as_deref(),
        Some(spatial.run.out.as_path())
    );
    assert_eq!(more.data.unnorm_key, spatial.data.unnorm_key);
    assert_ne!(more.run.out, spatial.run.out);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[control]\nrate_hz = -1\n[safety]\nlower=[0.0]\nupper=[1.0]\nmax_step=[1.0]\nhold_value=[0.0]\nhold_keep_last_dims=[]\nmax_observation_age_ms=1.0\n").unwrap();
    let err = ddvla::serve::config::ServeConfig::load(&bad).unwrap_err();
    assert!(format!("{err:#}").contains("rate_hz"), "{err:#}");
    let out = Command::new("python3")
        .args(["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(root.join("launch/ddvla.launch.py"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn launch_configs_name_themselves_in_their_commands() {
    // A config copied from another keeps naming the original in its `--config launch/…`
    // line; every launch config's command must name the file it is in.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("launch");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices("--config launch/") {
            let rest = &text[at + "--config launch/".len()..];
            let named = &rest[..rest.find(".toml").unwrap() + ".toml".len()];
            assert_eq!(named, name, "{name} names launch/{named}");
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} commands found");
}

#[test]
fn replay_rrd_without_the_rerun_feature_is_a_clear_error() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = ddvla()
        .args(["replay", "missing.mcap", "--rrd", "out.rrd", "--config"])
        .arg(root.join("launch/robot.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--features rerun"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[cfg(not(feature = "rerun"))]
#[test]
fn serve_rrd_without_the_rerun_feature_is_a_clear_error() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for flag in [["--rrd", "out.rrd"], ["--connect", "127.0.0.1:9876"]] {
        let out = ddvla()
            .args(["serve", "--max-ticks", "1", "--sim", "tabletop"])
            .args(flag)
            .arg("--config")
            .arg(root.join("launch/sim-eval.toml"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--features rerun"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

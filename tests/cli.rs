//! End-to-end: the `ddvla` binary's commands run and write real outputs.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::process::Command;

fn ddvla() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ddvla"))
}

/// The training config `launch/<name>`, read with the real config type.
fn launch_train_config(name: &str) -> ddvla::train_cli::TrainFile {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    ddvla::train_cli::TrainFile::read(&root.join("launch").join(name)).unwrap()
}

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

#[cfg(not(feature = "rerun"))]
#[test]
fn the_default_policy_config_continues_the_parallel_run() {
    let spatial = launch_train_config("train-compact-spatial.toml");
    // The parallel model's 50-demonstration stage continues the parallel run with its
    // objective on stage 2's demonstrations plus new ones, same suite, key and split seed.
    let parallel = launch_train_config("train-compact-spatial-parallel.toml");
    let parallel_50 = launch_train_config("train-compact-spatial-parallel-50.toml");
    assert_eq!(
        parallel_50.model.init_checkpoint.as_deref(),
        Some(parallel.run.out.as_path())
    );
    assert_eq!(
        parallel_50.train.objective,
        ddvla_policy::train::Objective::Parallel
    );
    assert_eq!(parallel_50.data.demos[0], spatial.data.demos[0]);
    assert!(parallel_50.data.demos.len() > 1);
    assert_eq!(parallel_50.data.suites, spatial.data.suites);
    assert_eq!(parallel_50.data.unnorm_key, spatial.data.unnorm_key);
    assert_eq!(parallel_50.train.seed, spatial.train.seed);
    assert_eq!(parallel_50.run.steps, parallel_50.train.lr.total_steps);
    assert_ne!(parallel_50.run.out, parallel.run.out);
    // Its next stage continues the shipped copy of it on the same data, keeping an average.
    let next = launch_train_config("train-compact-spatial-parallel-50-2.toml");
    let shipped = std::path::Path::new("checkpoints/compact-libero-spatial-parallel-50");
    assert_eq!(next.model.init_checkpoint.as_deref(), Some(shipped));
    assert_eq!(next.data.demos, parallel_50.data.demos);
    assert_eq!(next.data.suites, parallel_50.data.suites);
    assert_eq!(next.data.unnorm_key, parallel_50.data.unnorm_key);
    assert_eq!(next.train.seed, parallel_50.train.seed);
    assert_eq!(next.train.objective, parallel_50.train.objective);
    assert!(next.train.ema_decay.is_some());
    assert_eq!(next.run.steps, next.train.lr.total_steps);
    assert_ne!(next.run.out, parallel_50.run.out);
    // Its DART stage is that next stage but for the DART episodes added, half the peak
    // learning rate and its own output folder.
    let mut dart = launch_train_config("train-compact-spatial-parallel-50-3-dart.toml");
    let added: Vec<_> = dart.data.demos.drain(next.data.demos.len()..).collect();
    assert_eq!(
        added,
        [
            ".cache/demos/libero_style_spatial_dart_a",
            ".cache/demos/libero_style_spatial_dart_b"
        ]
        .map(std::path::PathBuf::from)
    );
    assert_eq!(dart.train.lr.peak_lr, next.train.lr.peak_lr / 2.0);
    assert_eq!(dart.train.lr.min_lr, next.train.lr.min_lr / 2.0);
    assert_ne!(dart.run.out, next.run.out);
    assert_ne!(dart.run.out, parallel_50.run.out);
    dart.train.lr = next.train.lr.clone();
    dart.run.out = next.run.out.clone();
    assert_eq!(dart, next);
}

#[cfg(not(feature = "rerun"))]
#[test]
fn the_other_suites_configs_start_from_the_default_policy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let spatial = launch_train_config("train-compact-spatial.toml");
    // The object, goal and long suites' policies start from the shipped default with the
    // same recipe, each on its own suite's demonstrations and into its own folder.
    let mut outs = Vec::new();
    for suite in ["object", "goal", "long"] {
        let name = format!("train-compact-{suite}-parallel.toml");
        let config = launch_train_config(&name);
        let init = config.model.init_checkpoint.clone().unwrap();
        assert_eq!(
            init,
            std::path::Path::new("checkpoints/compact-libero-spatial-parallel-50")
        );
        assert!(root.join(&init).join("model.safetensors").is_file());
        assert_eq!(
            config.train.objective,
            ddvla_policy::train::Objective::Parallel
        );
        let suite_name = format!("libero_style_{suite}");
        assert_eq!(
            config.data.suites.as_deref(),
            Some(&[suite_name.clone()][..])
        );
        for demos in &config.data.demos {
            assert!(
                demos.to_string_lossy().contains(&suite_name),
                "{name}: {}",
                demos.display()
            );
        }
        assert_eq!(config.data.unnorm_key, spatial.data.unnorm_key);
        assert_eq!(config.run.steps, config.train.lr.total_steps);
        outs.push(config.run.out);
    }
    // The later stages (2 and 3 on each suite) each continue the stage before
    // on the same data and split.
    for (suite, last_stage) in [("object", 3), ("goal", 3), ("long", 3)] {
        let stages: Vec<_> = std::iter::once(format!("train-compact-{suite}-parallel.toml"))
            .chain((2..=last_stage).map(|k| format!("train-compact-{suite}-parallel-{k}.toml")))
            .map(|name| launch_train_config(&name))
            .collect();
        for pair in stages.windows(2) {
            let (before, next) = (&pair[0], &pair[1]);
            assert_eq!(
                next.model.init_checkpoint.as_deref(),
                Some(before.run.out.as_path())
            );
            assert_eq!(next.data.demos, before.data.demos);
            assert_eq!(next.data.suites, before.data.suites);
            assert_eq!(next.train.seed, before.train.seed);
            assert_eq!(next.train.objective, before.train.objective);
            assert_eq!(next.run.steps, next.train.lr.total_steps);
            outs.push(next.run.out.clone());
        }
    }
    // The object suite's DART stage is its third stage with the DART episodes added: the
    // same start, schedule and everything else, another output folder.
    let third = launch_train_config("train-compact-object-parallel-3.toml");
    let mut dart = launch_train_config("train-compact-object-parallel-3-dart.toml");
    let added: Vec<_> = dart.data.demos.drain(third.data.demos.len()..).collect();
    assert_eq!(
        added,
        [
            ".cache/demos/libero_style_object_dart_a",
            ".cache/demos/libero_style_object_dart_b"
        ]
        .map(std::path::PathBuf::from)
    );
    outs.push(dart.run.out.clone());
    dart.run.out = third.run.out.clone();
    assert_eq!(dart, third);
    // The goal suite's fourth stage starts from its third stage's soup (the policy
    // pick_snapshot.sh picked) and adds the DART episodes, at half the peak learning rate.
    let third = launch_train_config("train-compact-goal-parallel-3.toml");
    let mut fourth = launch_train_config("train-compact-goal-parallel-4-dart.toml");
    assert_eq!(
        fourth.model.init_checkpoint,
        Some(third.run.out.join("soup"))
    );
    let added: Vec<_> = fourth.data.demos.drain(third.data.demos.len()..).collect();
    assert_eq!(
        added,
        [
            ".cache/demos/libero_style_goal_dart_a",
            ".cache/demos/libero_style_goal_dart_b"
        ]
        .map(std::path::PathBuf::from)
    );
    assert_eq!(fourth.train.lr.peak_lr, third.train.lr.peak_lr / 2.0);
    assert_eq!(fourth.train.lr.min_lr, third.train.lr.min_lr / 2.0);
    outs.push(fourth.run.out.clone());
    fourth.model.init_checkpoint = third.model.init_checkpoint.clone();
    fourth.train.lr = third.train.lr.clone();
    fourth.run.out = third.run.out.clone();
    assert_eq!(fourth, third);
    outs.sort();
    outs.dedup();
    assert_eq!(outs.len(), 11);
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

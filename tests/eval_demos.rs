//! End-to-end: `ddvla eval` (sharded runs merged equal one run, `--record` keeps every
//! episode), `ddvla demos record` and the dataset reader, bad datasets give clear errors.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;

use ddvla::demos::{load_episode, read_index};
use ddvla_tasks::eval::EvalResults;

mod common;
use common::run::ddvla;

fn run(args: &[&str], out: &Path) {
    let o = ddvla().args(args).arg("--out").arg(out).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `ddvla demos record --policy random --keep-failures ARGS --out OUT`.
fn record_random(args: &[&str], out: &Path) -> std::process::Output {
    ddvla()
        .args(["demos", "record", "--policy", "random", "--keep-failures"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn results(dir: &Path) -> EvalResults {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn sharded_eval_merged_equals_one_run() {
    let d = tempfile::tempdir().unwrap();
    let base = [
        "eval",
        "--suite",
        "libero_style_object",
        "--policy",
        "random",
        "--episodes-per-task",
        "3",
        "--tasks",
        "0,4",
        "--max-steps",
        "30",
    ];
    run(&base, &d.path().join("full"));
    for i in 0..2 {
        let shard = format!("{i}/2");
        let mut args = base.to_vec();
        args.extend(["--shard", &shard]);
        run(&args, &d.path().join(format!("s{i}")));
    }
    let o = ddvla()
        .args(["eval", "merge"])
        .arg(d.path().join("s1"))
        .arg(d.path().join("s0/results.json"))
        .arg("--out")
        .arg(d.path().join("merged"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (full, merged) = (
        results(&d.path().join("full")),
        results(&d.path().join("merged")),
    );
    assert_eq!(full.episodes.len(), 6);
    assert!(full.same_outcome(&merged), "{full:?}\n{merged:?}");
    // Every episode says what it left undone: random actions for 30 steps solve nothing, and
    // the goal is about the task's object (alphabet soup, ketchup).
    for e in &full.episodes {
        let o = e.outcome.as_ref().unwrap();
        assert!(!e.success);
        assert_eq!(o.unmet.len(), 1, "{o:?}");
        assert!(
            o.unmet[0].starts_with("(in ") && o.unmet[0].contains("basket"),
            "{o:?}"
        );
        let object = if e.task_index == 0 {
            "alphabet_soup"
        } else {
            "ketchup"
        };
        assert!(
            o.goal_objects.len() == 1 && o.goal_objects[0].starts_with(object),
            "{o:?}"
        );
    }
    let md = std::fs::read_to_string(d.path().join("merged/results.md")).unwrap();
    assert!(
        md.contains("| **average** |")
            && md.contains("MuJoCo 3.17.0")
            && md.contains("| failures |")
            && md.contains("; unmet (in "),
        "{md}"
    );
    // A shard merged twice is refused.
    let o = ddvla()
        .args(["eval", "merge"])
        .arg(d.path().join("s0"))
        .arg(d.path().join("s0"))
        .arg("--out")
        .arg(d.path().join("bad"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("twice"));
}

#[test]
fn eval_rejects_bad_options_with_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["--suite", "nope", "--policy", "random"],
            "no suite \"nope\"",
        ),
        (
            vec![
                "--suite",
                "libero_style_goal",
                "--policy",
                "random",
                "--shard",
                "2/2",
            ],
            "--shard",
        ),
        (
            vec![
                "--suite",
                "libero_style_goal",
                "--policy",
                "random",
                "--episodes-per-task",
                "51",
            ],
            "1..=50",
        ),
        (
            vec![
                "--suite",
                "libero_style_goal",
                "--policy",
                "random",
                "--first-episode",
                "45",
                "--episodes-per-task",
                "6",
            ],
            "--first-episode 45 with --episodes-per-task 6 must stay within the 50 init states",
        ),
        (
            vec![
                "--suite",
                "libero_style_goal",
                "--policy",
                "/no/such/checkpoint",
            ],
            "/no/such/checkpoint",
        ),
    ] {
        let o = ddvla()
            .arg("eval")
            .args(&args)
            .arg("--out")
            .arg(d.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(needle),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_later_set_of_init_states_runs_those_episodes() {
    let d = tempfile::tempdir().unwrap();
    let args = [
        "eval",
        "--suite",
        "libero_style_spatial",
        "--policy",
        "random",
        "--tasks",
        "3",
        "--max-steps",
        "5",
        "--first-episode",
        "48",
        "--episodes-per-task",
        "2",
    ];
    run(&args, &d.path().join("late"));
    let r = results(&d.path().join("late"));
    let episodes: Vec<usize> = r.episodes.iter().map(|e| e.episode).collect();
    assert_eq!(episodes, [48, 49]);
    assert_eq!(r.meta.first_episode, 48);
    // Each episode keeps the seed it has in a run from state 0.
    assert_eq!(
        r.episodes[0].seed,
        ddvla_tasks::eval::episode_seed(7, 3, 48)
    );
    let md = std::fs::read_to_string(d.path().join("late/results.md")).unwrap();
    assert!(
        md.contains("2 episodes per task (init states 48–49)"),
        "{md}"
    );
    // In a report, the same policy on LIBERO's states 0..N and on later states gets two rows.
    let early: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !["--first-episode", "48"].contains(a))
        .collect();
    run(&early, &d.path().join("early"));
    let o = ddvla()
        .args(["eval", "report"])
        .arg(d.path())
        .arg("--out")
        .arg(d.path().join("report.md"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read_to_string(d.path().join("report.md")).unwrap();
    assert!(
        report.contains("\n| random | ") && report.contains("\n| random init states 48–49 | "),
        "{report}"
    );
}

#[test]
fn recorded_demos_read_back_step_for_step() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("demos");
    let o = record_random(
        &[
            "--suite",
            "libero_style_spatial",
            "--tasks",
            "2",
            "--episodes-per-task",
            "1",
        ],
        &out,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let idx = read_index(&out).unwrap();
    assert_eq!(idx.episodes.len(), 1);
    assert_eq!(
        (idx.action_dim, idx.proprio_dim, idx.image_size),
        (7, 8, 128)
    );
    let ep = &idx.episodes[0];
    assert!(!ep.success, "random actions do not solve the task");
    assert_eq!(
        ep.instruction,
        "pick up the black bowl from table center and place it on the plate"
    );
    let e = load_episode(&out, ep).unwrap();
    assert_eq!(e.instruction, ep.instruction);
    assert_eq!(e.actions.len(), ep.steps as usize);
    assert_eq!(e.frames.len(), e.actions.len());
    let rgb = e.frames[5][1].to_rgb8().unwrap();
    assert_eq!((rgb.width, rgb.height), (128, 128));
    assert!(
        e.actions
            .iter()
            .all(|a| a.len() == 7 && a.iter().all(|v| v.abs() <= 1.0))
    );
    // Every step has where the movable objects were, the goal's object (the bowl) first.
    assert!(ep.objects.len() >= 2, "{:?}", ep.objects);
    assert!(ep.objects[0].contains("bowl"), "{:?}", ep.objects);
    assert_eq!(e.objects.len(), e.actions.len());
    for at in &e.objects {
        assert_eq!(at.len(), 3 * ep.objects.len());
        // On the table (its top at z ≈ 0.1 m): within a metre of the origin.
        assert!(
            at.chunks(3)
                .all(|p| p[0].abs() < 1.0 && p[1].abs() < 1.0 && (0.05..0.5).contains(&p[2])),
            "{at:?} of {:?}",
            ep.objects
        );
    }
    // The objects differ from each other (each its own body).
    assert_ne!(e.objects[0][..3], e.objects[0][3..6]);
    // A manifest entry naming another number of objects than the file holds is refused.
    let mut wrong = ep.clone();
    wrong.objects.push("extra_1".into());
    let err = format!("{:#}", load_episode(&out, &wrong).unwrap_err());
    assert!(err.contains("object positions of step 0"), "{err}");

    // A truncated episode file is an error naming the file.
    let path = out.join(&ep.file);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = format!("{:#}", load_episode(&out, ep).unwrap_err());
    assert!(err.contains(&ep.file), "{err}");
    // An index of another format, or without episodes, is refused.
    std::fs::write(out.join("index.json"), "{\"format\": \"x\"}").unwrap();
    assert!(read_index(&out).is_err());
    assert!(read_index(d.path()).is_err());
}

#[test]
fn an_evaluation_records_every_episode_for_replay() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("rollouts");
    let args = [
        "eval",
        "--suite",
        "libero_style_object",
        "--policy",
        "random",
        "--episodes-per-task",
        "2",
        "--tasks",
        "3",
        "--max-steps",
        "20",
        "--record",
        rec.to_str().unwrap(),
    ];
    run(&args, &d.path().join("r"));
    let r = results(&d.path().join("r"));
    // Failures are kept: each evaluated episode is there, with its outcome and every step.
    let idx = read_index(&rec).unwrap();
    assert_eq!(idx.episodes.len(), 2);
    for (ep, res) in idx.episodes.iter().zip(&r.episodes) {
        assert_eq!(
            (ep.task_index, ep.episode, ep.steps, ep.success),
            (3, res.episode, 20, res.success)
        );
        let e = load_episode(&rec, ep).unwrap();
        assert_eq!((e.actions.len(), e.frames.len()), (20, 20));
    }
    // Recording into the same folder again is refused, naming it; the recording stays.
    let o = ddvla()
        .args(args)
        .arg("--out")
        .arg(d.path().join("r2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("holds a recording already"),
        "{err}"
    );
    assert_eq!(read_index(&rec).unwrap().episodes.len(), 2);
    // A shard of several records into its own folder under it, so shards given the same
    // arguments keep each other's episodes.
    let mut sharded = args.to_vec();
    sharded.extend(["--shard", "1/2"]);
    run(&sharded, &d.path().join("r3"));
    let shard = read_index(&rec.join("shard-1-of-2")).unwrap();
    assert_eq!(shard.episodes.len(), 1);
    assert_eq!(shard.episodes[0].episode, 1);
}

#[test]
fn an_interrupted_recording_keeps_its_finished_episodes() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("demos");
    let mut child = ddvla()
        .args([
            "demos",
            "record",
            "--suite",
            "libero_style_object",
            "--policy",
            "random",
            "--episodes-per-task",
            "50",
            "--max-steps",
            "10",
            "--keep-failures",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let index = out.join("index.json");
    let start = std::time::Instant::now();
    while !index.exists() && start.elapsed() < std::time::Duration::from_mins(2) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let idx = read_index(&out).unwrap();
    assert!(!idx.episodes.is_empty() && idx.episodes.len() < 500);
    assert_eq!(idx.proprio_dim, 8);
    for ep in &idx.episodes {
        let e = load_episode(&out, ep).unwrap();
        assert_eq!(e.actions.len(), ep.steps as usize);
    }
}

#[test]
fn a_resumed_recording_equals_an_uninterrupted_one() {
    let d = tempfile::tempdir().unwrap();
    let record = |out: &Path, extra: &[&str]| {
        let args = [
            "--suite",
            "libero_style_spatial",
            "--tasks",
            "1",
            "--episodes-per-task",
            "3",
            "--max-steps",
            "6",
        ];
        record_random(&[&args[..], extra].concat(), out)
    };
    let (whole, cut) = (d.path().join("whole"), d.path().join("cut"));
    for out in [&whole, &cut] {
        let o = record(out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // Interrupt `cut` after its first episode: the index lists one, the third file is half.
    let mut idx = read_index(&cut).unwrap();
    let last = idx.episodes[2].file.clone();
    idx.episodes.truncate(1);
    std::fs::write(cut.join("index.json"), serde_json::to_string(&idx).unwrap()).unwrap();
    let bytes = std::fs::read(cut.join(&last)).unwrap();
    std::fs::write(cut.join(&last), &bytes[..bytes.len() / 3]).unwrap();

    // Recording into it again without --resume is refused and keeps the episode.
    let o = record(&cut, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--resume"), "{err}");
    assert_eq!(read_index(&cut).unwrap().episodes.len(), 1);
    // So is resuming with another seed (other init states).
    let o = record(&cut, &["--resume", "--seed", "5"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("seed"), "{err}");
    // ... or with the scripted expert, whose episodes carry goals the random ones lack.
    let o = ddvla()
        .args(["demos", "record", "--policy", "expert", "--keep-failures"])
        .args(["--suite", "libero_style_spatial", "--tasks", "1"])
        .args([
            "--episodes-per-task",
            "3",
            "--max-steps",
            "6",
            "--resume",
            "--out",
        ])
        .arg(&cut)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("expert goals"), "{err}");
    assert_eq!(read_index(&cut).unwrap().episodes.len(), 1);

    let o = record(&cut, &["--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (read_index(&whole).unwrap(), read_index(&cut).unwrap());
    assert_eq!(a.episodes, b.episodes);
    for ep in &a.episodes {
        let (x, y) = (
            load_episode(&whole, ep).unwrap(),
            load_episode(&cut, ep).unwrap(),
        );
        assert_eq!(
            (x.actions, x.proprio),
            (y.actions, y.proprio),
            "{}",
            ep.file
        );
    }
}

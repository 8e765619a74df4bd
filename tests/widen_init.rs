//! `ddvla tasks widen-init`: the copy of a suite it writes loads, every movable object's
//! start region grows by the requested margin on each side while fixtures, regions on
//! instances and goal regions stay, its init states still sample and settle, and it refuses
//! to overwrite a folder or to widen by nothing.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use std::collections::HashSet;
use std::path::Path;
use std::process::Output;

use ddvla_tasks::bddl::Atom;
use ddvla_tasks::scene::generate_init_states;
use ddvla_tasks::suite::{Suite, builtin_dir};

mod common;
use common::run::{ddvla, fail, ok};

const SUITE: &str = "libero_style_long";

/// `ddvla tasks widen-init` of the built-in long suite into `out_dir`.
fn widen(out_dir: &Path, by: &str) -> Output {
    ddvla()
        .args(["tasks", "widen-init", "--suite", SUITE, "--by", by, "--out"])
        .arg(out_dir)
        .output()
        .unwrap()
}

#[test]
fn the_widened_copy_loads_and_samples_with_wider_regions_only() {
    let d = tempfile::tempdir().unwrap();
    ok(&widen(d.path(), "0.03"));
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [SUITE], "the suite alone, no staging folder left");
    let base = Suite::load(&builtin_dir(), SUITE).unwrap();
    let wide = Suite::load(d.path(), SUITE).unwrap();
    assert_eq!(base.tasks.len(), wide.tasks.len());
    let (mut widened, mut goal_regions_kept) = (0, 0);
    for (b, w) in base.tasks.iter().zip(&wide.tasks) {
        assert_eq!(b.name, w.name);
        assert_eq!(b.problem.goal, w.problem.goal);
        let named = |atoms: &[Atom]| -> HashSet<String> {
            atoms
                .iter()
                .filter_map(|a| a.args.last().cloned())
                .collect()
        };
        let (starts, goals) = (named(&b.problem.init), named(&b.problem.goal));
        let (br, wr) = (&b.problem.regions, &w.problem.regions);
        assert_eq!(br.len(), wr.len(), "{}", b.name);
        for (rb, rw) in br.iter().zip(wr) {
            assert_eq!(
                (&rb.name, &rb.target, &rb.yaw_rotation),
                (&rw.name, &rw.target, &rw.yaw_rotation)
            );
            // Fixtures start in zero-extent regions; a goal region (the long suite's "to the
            // right of the plate") keeps its size, or success would change.
            let extent = rb.ranges.iter().any(|r| r[2] > r[0] || r[3] > r[1]);
            let movable = extent && starts.contains(&rb.key()) && !goals.contains(&rb.key());
            goal_regions_kept += usize::from(extent && goals.contains(&rb.key()));
            for (x, y) in rb.ranges.iter().zip(&rw.ranges) {
                let by = if movable { 0.03 } else { 0.0 };
                let expected = [x[0] - by, x[1] - by, x[2] + by, x[3] + by];
                for (e, got) in expected.iter().zip(y) {
                    assert!(
                        (e - got).abs() < 1e-9,
                        "{}/{}: {x:?} -> {y:?}",
                        b.name,
                        rb.name
                    );
                }
            }
            widened += usize::from(movable);
        }
    }
    assert!(widened >= 2 * base.tasks.len(), "{widened} regions widened");
    assert!(
        goal_regions_kept >= 1,
        "the long suite has a goal region on the table"
    );
    // Both moka pots, ±4 cm now: the scene still samples and settles.
    let task = wide
        .tasks
        .iter()
        .find(|t| t.name.contains("moka_pots"))
        .unwrap();
    let states = generate_init_states(&wide, task, 2, 6000).unwrap();
    assert_eq!(states.states.len(), 2);
}

#[test]
fn an_existing_folder_or_no_margin_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join(SUITE);
    fail(&widen(d.path(), "0"), &["--by"]);
    fail(&widen(d.path(), "NaN"), &["--by"]);
    assert!(!out.exists());
    std::fs::create_dir(&out).unwrap();
    fail(&widen(d.path(), "0.02"), &["never overwritten"]);
}

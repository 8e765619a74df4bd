//! `scripts/widen_init_regions.py`: the copy of a suite it writes loads, every movable
//! object's table region grows by the requested margin on each side while fixtures and regions
//! on objects stay, its init states still sample and settle, and it refuses to overwrite a
//! folder or to widen by nothing. Needs `python3` and `scripts/setup.sh`.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ddvla_tasks::scene::generate_init_states;
use ddvla_tasks::suite::{Suite, builtin_dir};

const SUITE: &str = "libero_style_long";

fn widen(out: &Path, by: &str) -> Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/widen_init_regions.py");
    Command::new("python3")
        .arg(script)
        .arg(builtin_dir().join(SUITE))
        .arg(out)
        .args(["--by", by])
        .output()
        .unwrap()
}

#[test]
fn the_widened_copy_loads_and_samples_with_wider_regions_only() {
    let d = tempfile::tempdir().unwrap();
    let o = widen(&d.path().join(SUITE), "0.03");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let base = Suite::load(&builtin_dir(), SUITE).unwrap();
    let wide = Suite::load(d.path(), SUITE).unwrap();
    assert_eq!(base.tasks.len(), wide.tasks.len());
    let mut widened = 0;
    for (b, w) in base.tasks.iter().zip(&wide.tasks) {
        assert_eq!(b.name, w.name);
        let (br, wr) = (&b.problem.regions, &w.problem.regions);
        assert_eq!(br.len(), wr.len(), "{}", b.name);
        for (rb, rw) in br.iter().zip(wr) {
            assert_eq!(
                (&rb.name, &rb.target, &rb.yaw_rotation),
                (&rw.name, &rw.target, &rw.yaw_rotation)
            );
            let movable =
                rb.target == "main_table" && rb.ranges.iter().any(|r| r[2] > r[0] || r[3] > r[1]);
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
    let o = widen(&out, "0");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--by"));
    assert!(!out.exists());
    std::fs::create_dir(&out).unwrap();
    let o = widen(&out, "0.02");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("never overwritten"));
}

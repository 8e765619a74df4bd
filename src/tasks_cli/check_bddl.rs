//! `ddvla tasks check-bddl PATH...`: parse BDDL files (or every `.bddl` under folders) and
//! resolve their goals against LIBERO's predicates; errors name the file and line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ddvla_tasks::bddl::parse_file;
use ddvla_tasks::predicates::Goal;

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("reading {}", path.display()))?;
        entries.sort();
        for entry in entries {
            if entry.is_dir() || entry.extension().is_some_and(|e| e == "bddl") {
                collect(&entry, out)?;
            }
        }
    } else if path.exists() {
        out.push(path.to_owned());
    } else {
        bail!("{}: no such file or folder", path.display());
    }
    Ok(())
}

/// Check every file; print one line per file; fail if any file is bad.
pub fn check_bddl(paths: &[PathBuf]) -> Result<()> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    if files.is_empty() {
        bail!("no .bddl files under {paths:?}");
    }
    let mut bad = 0;
    for file in &files {
        let result = parse_file(file)
            .map_err(anyhow::Error::from)
            .and_then(|p| Goal::new(&p).map(|_| p).map_err(anyhow::Error::from));
        match result {
            Ok(problem) => println!(
                "ok   {}: {:?} ({} objects, {} goal atoms)",
                file.display(),
                problem.language,
                problem.objects.len(),
                problem.goal.len()
            ),
            Err(e) => {
                bad += 1;
                println!("FAIL {e}");
            }
        }
    }
    println!(
        "{} files, {} ok, {bad} failed",
        files.len(),
        files.len() - bad
    );
    if bad > 0 {
        bail!("{bad} of {} BDDL files failed", files.len());
    }
    Ok(())
}

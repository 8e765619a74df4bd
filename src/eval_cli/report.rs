//! `ddvla eval report`: one table over many runs — success per suite for every policy
//! (rows) and the mean chunk latency, from their `results.json` files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ddvla_tasks::eval::EvalResults;

/// Read every `results.json` under `paths` (files or folders, searched recursively).
pub fn collect(paths: &[PathBuf]) -> Result<Vec<(PathBuf, EvalResults)>> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn walk(p: &Path, out: &mut Vec<(PathBuf, EvalResults)>) -> Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("reading {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() || e.file_name().is_some_and(|n| n == "results.json") {
                walk(&e, out)?;
            }
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    let r: EvalResults = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a ddvla results.json", p.display()))?;
    out.push((p.to_owned(), r));
    Ok(())
}

/// The Markdown report.
pub fn markdown(runs: &[(PathBuf, EvalResults)]) -> String {
    let suites: Vec<String> = {
        let mut s: Vec<String> = runs.iter().map(|(_, r)| r.meta.suite.clone()).collect();
        s.sort();
        s.dedup();
        s
    };
    // policy → suite → (success rate, episodes, chunk latency s)
    let mut table: BTreeMap<String, BTreeMap<String, (f64, usize, f64)>> = BTreeMap::new();
    for (_, r) in runs {
        table.entry(r.meta.label()).or_default().insert(
            r.meta.suite.clone(),
            (
                r.average_success_rate,
                r.episodes.len(),
                r.timing.mean_policy_call_s,
            ),
        );
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| policy | {} | average | chunk latency |\n|---|{}---|---|",
        suites.join(" | "),
        "---|".repeat(suites.len())
    );
    for (policy, row) in &table {
        let cells: Vec<String> = suites
            .iter()
            .map(|su| {
                row.get(su).map_or_else(
                    || "—".to_owned(),
                    |(rate, n, _)| format!("{:.1}% ({n})", 100.0 * rate),
                )
            })
            .collect();
        let rates: Vec<f64> = row.values().map(|v| v.0).collect();
        let avg = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
        let lat: Vec<f64> = row.values().map(|v| v.2).filter(|l| *l > 0.0).collect();
        let latency = if lat.is_empty() {
            "—".to_owned()
        } else {
            format!("{:.2} ms", 1e3 * lat.iter().sum::<f64>() / lat.len() as f64)
        };
        let _ = writeln!(
            s,
            "| {policy} | {} | {:.1}% | {latency} |",
            cells.join(" | "),
            100.0 * avg
        );
    }
    let _ = writeln!(
        s,
        "\nCells: average of the per-task success rates (episodes run)."
    );
    for (path, r) in runs {
        let _ = writeln!(
            s,
            "\n<details><summary>{} — {} ({})</summary>\n",
            r.meta.suite,
            r.meta.label(),
            path.display()
        );
        s.push_str(&r.markdown());
        s.push_str("\n</details>\n");
    }
    s
}

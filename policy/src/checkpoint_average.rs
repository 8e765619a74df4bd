//! The uniform average of several checkpoints of one model (a "model soup", Wortsman et al.,
//! 2022): the snapshots of a fine-tuning run, whose closed-loop success can differ by tens of
//! points from one to the next, averaged weight by weight into one checkpoint folder.
//!
//! A weighted average of a fine-tune with the checkpoint it started from is WiSE-FT
//! (Wortsman et al., 2022): `--weights 1,1` halfway between them, `2,1` a third of the way.
//!
//! Only checkpoints of the same model average meaningfully: the inputs must agree on the
//! configuration, the text tokenizer, the action statistics and every tensor's name, shape
//! and dtype, or nothing is written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor};

use crate::checkpoint::files;
use crate::error::io_at;
use crate::new_folder::write_new_folder;
use crate::{PolicyError, Result};

/// File written beside the averaged weights naming the checkpoints they came from.
pub const AVERAGED_FROM: &str = "averaged_from.json";

fn mismatch(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoints to average", reason)
}

/// Read `dir/name` as JSON (for a comparison that ignores formatting).
fn json(dir: &Path, name: &str) -> Result<serde_json::Value> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(io_at(&path))?;
    serde_json::from_str(&text).map_err(|source| PolicyError::Json { path, source })
}

/// Average the weights of the checkpoint folders `inputs` (at least two) into `out`, a new
/// folder (refused if it exists), with the first input's configuration, tokenizer and
/// statistics, and [`AVERAGED_FROM`] listing the inputs. Each tensor is averaged in f32 and
/// stored in its own dtype.
pub fn average_checkpoints(inputs: &[PathBuf], out: &Path) -> Result<()> {
    average(inputs, None, out)
}

/// Like [`average_checkpoints`], but input `i` weighs `weights[i]` (finite, above 0, one per
/// input; normalised by their sum), and [`AVERAGED_FROM`] lists each input with its weight.
pub fn weighted_average_checkpoints(inputs: &[PathBuf], weights: &[f64], out: &Path) -> Result<()> {
    if weights.len() != inputs.len() {
        return Err(mismatch(format!(
            "{} weights for {} checkpoints: give one per checkpoint",
            weights.len(),
            inputs.len()
        )));
    }
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
        return Err(mismatch(format!(
            "weight {w}: every weight must be a finite number above 0"
        )));
    }
    average(inputs, Some(weights), out)
}

/// The (weighted, when `weights` is given) average of `inputs` into `out`.
fn average(inputs: &[PathBuf], weights: Option<&[f64]>, out: &Path) -> Result<()> {
    let _span = tracing::info_span!("average_checkpoints", n = inputs.len()).entered();
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let Some((first, rest)) = inputs.split_first() else {
        return Err(mismatch("none given: name at least two".into()));
    };
    if rest.is_empty() {
        return Err(mismatch(format!(
            "only {} given: name at least two",
            first.display()
        )));
    }
    if out.exists() {
        return Err(mismatch(format!(
            "output {} already exists: averaging never overwrites",
            out.display()
        )));
    }
    check_side_files(first, rest)?;
    // Sums in f32, by name (ordered, so the first mismatch reported is the same every run).
    let mut sums: BTreeMap<String, (DType, Tensor)> = BTreeMap::new();
    for (name, t) in load_weights(first)? {
        let sum = (t.to_dtype(DType::F32)? * weight(0))?;
        sums.insert(name, (t.dtype(), sum));
    }
    for (i, dir) in rest.iter().enumerate() {
        add_weights(&mut sums, first, dir, weight(i + 1))?;
    }
    let n: f64 = (0..inputs.len()).map(weight).sum();
    let mut averaged = HashMap::with_capacity(sums.len());
    for (name, (dtype, sum)) in sums {
        let mean = (sum / n)?;
        if mean
            .flatten_all()?
            .to_vec1::<f32>()?
            .iter()
            .any(|v| !v.is_finite())
        {
            return Err(PolicyError::NonFiniteWeights {
                path: out.join(files::WEIGHTS),
                tensor: name,
            });
        }
        averaged.insert(name, mean.to_dtype(dtype)?);
    }
    write_average(&averaged, inputs, weights, out)
}

/// The configuration, tokenizer and statistics of every input in `rest` equal `first`'s.
fn check_side_files(first: &Path, rest: &[PathBuf]) -> Result<()> {
    for name in files::SIDE_FILES {
        let want = json(first, name)?;
        for other in rest {
            if json(other, name)? != want {
                return Err(mismatch(format!(
                    "{} differs from {}: not checkpoints of one model",
                    other.join(name).display(),
                    first.join(name).display()
                )));
            }
        }
    }
    Ok(())
}

/// The tensors of `dir`'s weights file, by name.
fn load_weights(dir: &Path) -> Result<BTreeMap<String, Tensor>> {
    Ok(crate::checkpoint::load_weight_tensors(dir)?
        .into_iter()
        .collect())
}

/// Add `dir`'s weights times `weight` to `sums` (made from `first`), after checking they hold
/// the same tensors.
fn add_weights(
    sums: &mut BTreeMap<String, (DType, Tensor)>,
    first: &Path,
    dir: &Path,
    weight: f64,
) -> Result<()> {
    let weights = load_weights(dir)?;
    let path = dir.join(files::WEIGHTS);
    if weights.len() != sums.len() {
        return Err(mismatch(format!(
            "{} holds {} tensors, {} holds {}",
            path.display(),
            weights.len(),
            first.join(files::WEIGHTS).display(),
            sums.len()
        )));
    }
    for (name, t) in weights {
        let Some((dtype, sum)) = sums.get_mut(&name) else {
            return Err(mismatch(format!(
                "{}: tensor `{name}` is not in {}",
                path.display(),
                first.display()
            )));
        };
        if t.dtype() != *dtype || t.dims() != sum.dims() {
            return Err(mismatch(format!(
                "{}: tensor `{name}` is {:?} {:?}, in {} {:?} {:?}",
                path.display(),
                t.dtype(),
                t.dims(),
                first.display(),
                dtype,
                sum.dims()
            )));
        }
        *sum = sum.add(&(t.to_dtype(DType::F32)? * weight)?)?;
    }
    Ok(())
}

/// Write the averaged weights, the first input's side files and [`AVERAGED_FROM`] into `out`
/// (which appears only once all of them are written).
fn write_average(
    averaged: &HashMap<String, Tensor>,
    inputs: &[PathBuf],
    weights: Option<&[f64]>,
    out: &Path,
) -> Result<()> {
    let from: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let record = match weights {
        None => serde_json::json!({ "uniform_average_of": from }),
        Some(w) => {
            let weighted: Vec<serde_json::Value> = from
                .iter()
                .zip(w)
                .map(|(c, w)| serde_json::json!({ "checkpoint": c, "weight": w }))
                .collect();
            serde_json::json!({ "weighted_average_of": weighted })
        }
    };
    write_new_folder("checkpoints to average", out, |staging| {
        candle_core::safetensors::save(averaged, staging.join(files::WEIGHTS))?;
        for name in files::SIDE_FILES {
            let to = staging.join(name);
            std::fs::copy(inputs[0].join(name), &to).map_err(io_at(&to))?;
        }
        let to = staging.join(AVERAGED_FROM);
        let text = serde_json::to_string_pretty(&record).map_err(|source| PolicyError::Json {
            path: out.join(AVERAGED_FROM),
            source,
        })?;
        std::fs::write(&to, text).map_err(io_at(&to))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// A checkpoint folder holding `tensors` and the three side files with `config`.
    fn write(dir: &Path, tensors: &[(&str, Tensor)], config: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let map: HashMap<String, Tensor> = tensors
            .iter()
            .map(|(n, t)| ((*n).to_owned(), t.clone()))
            .collect();
        candle_core::safetensors::save(&map, dir.join(files::WEIGHTS)).unwrap();
        std::fs::write(dir.join(files::CONFIG), config).unwrap();
        std::fs::write(dir.join(files::TOKENIZER), "{\"t\": 1}").unwrap();
        std::fs::write(dir.join(files::STATISTICS), "{\"s\": [0.5]}").unwrap();
    }

    type Case = (
        &'static str,
        Vec<(&'static str, Tensor)>,
        &'static str,
        &'static str,
    );

    fn t(v: &[f32]) -> Tensor {
        Tensor::new(v, &Device::Cpu).unwrap()
    }

    #[test]
    fn averages_each_tensor_and_keeps_side_files() {
        let d = tempfile::tempdir().unwrap();
        let (a, b, c) = (d.path().join("a"), d.path().join("b"), d.path().join("c"));
        write(&a, &[("w", t(&[1.0, 2.0])), ("x", t(&[0.0]))], "{\"k\": 1}");
        // Formatting differs, content does not: still one model.
        write(
            &b,
            &[("w", t(&[3.0, 4.0])), ("x", t(&[3.0]))],
            "{ \"k\" : 1 }",
        );
        write(&c, &[("w", t(&[5.0, 9.0])), ("x", t(&[6.0]))], "{\"k\": 1}");
        let out = d.path().join("soup");
        average_checkpoints(&[a.clone(), b, c], &out).unwrap();
        let got = candle_core::safetensors::load(out.join(files::WEIGHTS), &Device::Cpu).unwrap();
        assert_eq!(got["w"].to_vec1::<f32>().unwrap(), [3.0, 5.0]);
        assert_eq!(got["x"].to_vec1::<f32>().unwrap(), [3.0]);
        for f in files::SIDE_FILES {
            assert_eq!(
                std::fs::read(out.join(f)).unwrap(),
                std::fs::read(a.join(f)).unwrap()
            );
        }
        let from = std::fs::read_to_string(out.join(AVERAGED_FROM)).unwrap();
        assert!(from.contains(&a.display().to_string()), "{from}");
    }

    #[test]
    fn weighted_average_weighs_each_input_and_records_the_weights() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        write(&a, &[("w", t(&[0.0, 3.0]))], "{\"k\": 1}");
        write(&b, &[("w", t(&[3.0, 0.0]))], "{\"k\": 1}");
        let out = d.path().join("wise");
        weighted_average_checkpoints(&[a.clone(), b.clone()], &[2.0, 1.0], &out).unwrap();
        let got = candle_core::safetensors::load(out.join(files::WEIGHTS), &Device::Cpu).unwrap();
        assert_eq!(got["w"].to_vec1::<f32>().unwrap(), [1.0, 2.0]);
        let from: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(AVERAGED_FROM)).unwrap())
                .unwrap();
        assert_eq!(from["weighted_average_of"][0]["weight"], 2.0);
        assert_eq!(
            from["weighted_average_of"][1]["checkpoint"],
            b.display().to_string()
        );
        // Bad weights are refused before anything is read or written.
        for (weights, says) in [
            (&[1.0][..], "1 weights for 2 checkpoints"),
            (&[1.0, 0.0][..], "weight 0"),
            (&[1.0, -1.0][..], "weight -1"),
            (&[1.0, f64::NAN][..], "weight NaN"),
        ] {
            let out = d.path().join("bad");
            let e = weighted_average_checkpoints(&[a.clone(), b.clone()], weights, &out)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{weights:?}: {e}");
            assert!(!out.exists());
        }
    }

    #[test]
    fn refuses_what_is_not_one_model_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        write(&a, &[("w", t(&[1.0, 2.0]))], "{\"k\": 1}");
        // (case, the second checkpoint's tensors, its config, what the error says)
        let cases: [Case; 4] = [
            (
                "config",
                vec![("w", t(&[1.0, 2.0]))],
                "{\"k\": 2}",
                "differs",
            ),
            ("shape", vec![("w", t(&[1.0]))], "{\"k\": 1}", "is F32 [1]"),
            ("name", vec![("v", t(&[1.0, 2.0]))], "{\"k\": 1}", "`v`"),
            (
                "count",
                vec![("w", t(&[1.0, 2.0])), ("v", t(&[0.0]))],
                "{\"k\": 1}",
                "holds 2 tensors",
            ),
        ];
        for (what, tensors, config, says) in cases {
            let b = d.path().join(what);
            write(&b, &tensors, config);
            let out = d.path().join(format!("{what}-out"));
            let e = average_checkpoints(&[a.clone(), b], &out)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{what}: {e}");
            assert!(!out.exists(), "{what}: output written");
        }
        let out = d.path().join("out");
        let one = average_checkpoints(std::slice::from_ref(&a), &out).unwrap_err();
        assert!(one.to_string().contains("at least two"), "{one}");
        std::fs::create_dir_all(&out).unwrap();
        let exists = average_checkpoints(&[a.clone(), a.clone()], &out).unwrap_err();
        assert!(exists.to_string().contains("already exists"), "{exists}");
        let missing = average_checkpoints(&[a.clone(), d.path().join("nope")], &d.path().join("o"))
            .unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}

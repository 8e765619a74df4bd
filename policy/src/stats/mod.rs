//! `dataset_statistics.json`: per-dataset q01/q99 normalisation statistics (OpenVLA layout:
//! `{ "<dataset>": { "action": {q01, q99, mask, …}, "proprio": {…} } }`), and computing them
//! from transitions ([`dataset_statistics`]).

mod compute;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::io_at;
use crate::{PolicyError, Result};

pub use compute::{MIN_SPREAD, dataset_statistics, percentile};

/// Statistics of one vector quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// 1st percentile per dimension.
    pub q01: Vec<f32>,
    /// 99th percentile per dimension.
    pub q99: Vec<f32>,
    /// Which dimensions are normalised (absent: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<Vec<bool>>,
    /// Minimum per dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Vec<f32>>,
    /// Maximum per dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Vec<f32>>,
    /// Mean per dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<f32>>,
    /// Standard deviation per dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<Vec<f32>>,
}

impl NormStats {
    /// The normalisation mask, all-true when absent.
    pub fn mask_or_all(&self) -> Vec<bool> {
        self.mask
            .clone()
            .unwrap_or_else(|| vec![true; self.q01.len()])
    }

    /// Check lengths against `dim`, finiteness, and that every normalised (masked) dimension
    /// has `q01 < q99` (a constant dimension must be unmasked); `what` names the quantity in
    /// errors.
    pub fn validate(&self, dim: usize, what: &str) -> Result<()> {
        let bad =
            |reason: String| PolicyError::config(format!("dataset_statistics.{what}"), reason);
        if self.q01.len() != dim || self.q99.len() != dim {
            return Err(bad(format!(
                "q01/q99 have {}/{} entries, the model needs {dim}",
                self.q01.len(),
                self.q99.len()
            )));
        }
        if self.mask.as_ref().is_some_and(|m| m.len() != dim) {
            return Err(bad(format!("mask has the wrong length (need {dim})")));
        }
        if self.q01.iter().chain(&self.q99).any(|v| !v.is_finite()) {
            return Err(bad("contains non-finite values".into()));
        }
        let mask = self.mask_or_all();
        if let Some(d) = (0..dim).find(|&d| mask[d] && self.q01[d] >= self.q99[d]) {
            return Err(bad(format!(
                "dimension {d} is normalised (mask true) but q01 {} >= q99 {}: a constant \
                 dimension must have mask false",
                self.q01[d], self.q99[d]
            )));
        }
        Ok(())
    }

    /// q01/q99 normalisation to [-1, 1] (masked dims; constant dims → 0).
    pub fn normalize(&self, x: &[f32]) -> Vec<f32> {
        let mask = self.mask_or_all();
        x.iter()
            .enumerate()
            .map(|(d, &v)| {
                if mask[d] {
                    ddvla_kernels::normalize_bounds_q99(v, self.q01[d], self.q99[d])
                } else {
                    v
                }
            })
            .collect()
    }
}

/// Statistics of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// Action statistics.
    pub action: NormStats,
    /// Proprioception statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proprio: Option<NormStats>,
    /// Transitions in the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_transitions: Option<u64>,
    /// Trajectories in the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_trajectories: Option<u64>,
}

/// The whole file: dataset name → statistics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatasetStatistics(pub BTreeMap<String, DatasetStats>);

impl DatasetStatistics {
    /// Load `dataset_statistics.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_at(path))?;
        serde_json::from_str(&text).map_err(|source| PolicyError::Json {
            path: path.to_owned(),
            source,
        })
    }

    /// Write it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|source| PolicyError::Json {
            path: path.to_owned(),
            source,
        })?;
        std::fs::write(path, text).map_err(io_at(path))
    }

    /// The statistics under `key`, or the only entry when `key` is `None`.
    pub fn select(&self, key: Option<&str>) -> Result<&DatasetStats> {
        let names = || self.0.keys().cloned().collect::<Vec<_>>().join(", ");
        match key {
            Some(k) => self.0.get(k).ok_or_else(|| {
                PolicyError::config(
                    "unnorm_key",
                    format!("{k:?} not in statistics (have: {})", names()),
                )
            }),
            None if self.0.len() == 1 => Ok(self
                .0
                .values()
                .next()
                .ok_or_else(|| PolicyError::config("unnorm_key", "empty"))?),
            None => Err(PolicyError::config(
                "unnorm_key",
                format!(
                    "statistics hold {} datasets ({}); name one",
                    self.0.len(),
                    names()
                ),
            )),
        }
    }

    /// Identity-like statistics (q01 = -1, q99 = 1, last dim passed through) for untrained
    /// random-weight models, which have no training data to take statistics from.
    pub fn identity(action_dim: usize, proprio_dim: usize) -> Self {
        let stats = |dim: usize, mask_last: bool| NormStats {
            q01: vec![-1.0; dim],
            q99: vec![1.0; dim],
            mask: Some((0..dim).map(|d| !(mask_last && d + 1 == dim)).collect()),
            min: None,
            max: None,
            mean: None,
            std: None,
        };
        let mut map = BTreeMap::new();
        map.insert(
            "untrained".to_owned(),
            DatasetStats {
                action: stats(action_dim, true),
                proprio: Some(stats(proprio_dim, false)),
                num_transitions: None,
                num_trajectories: None,
            },
        );
        Self(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_names_the_path() {
        let err = DatasetStatistics::load(Path::new("/nope/dataset_statistics.json")).unwrap_err();
        assert!(
            err.to_string().contains("/nope/dataset_statistics.json"),
            "{err}"
        );
    }

    #[test]
    fn openvla_layout_parses_and_selects() {
        let json = r#"{"libero_spatial_no_noops": {"action": {"q01": [-1, 0], "q99": [1, 1],
            "mask": [true, false], "mean": [0, 0]}, "proprio": {"q01": [0], "q99": [1]},
            "num_transitions": 10, "num_trajectories": 2}}"#;
        let s: DatasetStatistics = serde_json::from_str(json).unwrap();
        let e = s.select(None).unwrap();
        e.action.validate(2, "action").unwrap();
        assert!(e.action.validate(3, "action").is_err());
        assert_eq!(e.proprio.as_ref().unwrap().normalize(&[0.75]), vec![0.5]);
        assert!(
            s.select(Some("bridge"))
                .unwrap_err()
                .to_string()
                .contains("libero_spatial_no_noops")
        );
    }
}

//! A checkpoint that reads an axis-angle triple of its proprio in one hemisphere
//! (`config.json`'s `proprio_axis_angle_at`, [`crate::proprio_rotation`]). Only the config
//! changes: the weights, tokenizer and statistics are copied, so the new checkpoint sees the
//! same inputs as the old one wherever the vector's x component is non-negative and the
//! flipped vector elsewhere, until a fine-tune adapts it. Its statistics still normalise the
//! recorded range (x in ±π), within which the canonical values lie.

use std::path::Path;

use crate::checkpoint::{files, write_with_config};
use crate::model::ConfigFile;
use crate::{PolicyError, Result};

fn refuse(reason: String) -> PolicyError {
    PolicyError::bad_input("checkpoint proprio-axis-angle", reason)
}

/// Write into `out` (a new folder, refused if it exists) the checkpoint `input` with
/// proprio values `at..at + 3` read as a canonical axis-angle vector. Refused, writing
/// nothing, when the model has no proprio input, those values are not robot proprio
/// values, or the input already reads a triple that way. The written folder is checked to
/// load before it appears.
pub fn set_proprio_axis_angle(input: &Path, at: usize, out: &Path) -> Result<()> {
    let _span = tracing::info_span!("set_proprio_axis_angle", at).entered();
    let old = ConfigFile::load(&input.join(files::CONFIG))?;
    if let Some(was) = old.proprio_axis_angle_at {
        return Err(refuse(format!(
            "{} reads proprio values {was}..{} as an axis angle already",
            input.display(),
            was + 3
        )));
    }
    let mut new = old;
    new.proprio_axis_angle_at = Some(at);
    write_with_config("checkpoint proprio-axis-angle", input, &new, out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checkpoint_fixture::{observation, tiny_checkpoint};
    use crate::model::presets;

    fn act(dir: &Path, proprio: Vec<f32>) -> Vec<f32> {
        crate::checkpoint_fixture::act(dir, &observation(proprio))
    }

    #[test]
    fn the_flipped_vector_acts_as_its_canonical_twin() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        tiny_checkpoint(&old);
        let dim = presets::tiny().proprio_dim;
        assert!(dim >= 3, "the tiny preset has {dim} proprio values");
        set_proprio_axis_angle(&old, 0, &new).unwrap();
        let cfg = ConfigFile::load(&new.join(files::CONFIG)).unwrap();
        assert_eq!(cfg.proprio_axis_angle_at, Some(0));
        let mut pos = vec![0.1_f32; dim];
        pos[..3].copy_from_slice(&[3.1, 0.02, -0.03]);
        let mut neg = pos.clone();
        neg[..3].copy_from_slice(&crate::proprio_rotation::canonical_axis_angle([
            -3.1, -0.02, 0.03,
        ]));
        let mut raw_neg = pos.clone();
        raw_neg[..3].copy_from_slice(&[-3.1, -0.02, 0.03]);
        // The new checkpoint gives the raw flipped vector the canonical one's actions; the
        // old one gives it the raw vector's, and a positive-x vector the same either way.
        assert_eq!(act(&new, raw_neg.clone()), act(&old, neg));
        assert_eq!(act(&new, pos.clone()), act(&old, pos));
        assert_ne!(act(&new, raw_neg.clone()), act(&old, raw_neg));
    }

    #[test]
    fn bad_requests_are_refused_without_writing() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        tiny_checkpoint(&old);
        let dim = presets::tiny().proprio_dim;
        let err = set_proprio_axis_angle(&old, dim - 2, &new).unwrap_err();
        assert!(err.to_string().contains("proprio_axis_angle_at"), "{err}");
        assert!(!new.exists());
        set_proprio_axis_angle(&old, 0, &new).unwrap();
        let again = root.path().join("again");
        let err = set_proprio_axis_angle(&new, 0, &again).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        let err = set_proprio_axis_angle(&old, 0, &new).unwrap_err();
        assert!(err.to_string().contains("never overwritten"), "{err}");
        assert!(!again.exists());
    }
}

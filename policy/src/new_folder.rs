//! Writing a new output folder all at once: the files go into a hidden staging folder beside
//! it, renamed into place only when every file is written, so a failure part way (a full
//! disk, a bad input found late) leaves no half-written folder that a later run would take
//! for a checkpoint or refuse to overwrite.

use std::path::{Path, PathBuf};

use crate::error::io_at;
use crate::{PolicyError, Result};

/// The staging folder for `out`: `.NAME.partial` beside it (on the same file system, so the
/// final rename is atomic).
fn staging_for(out: &Path) -> Result<PathBuf> {
    let name = out.file_name().ok_or_else(|| {
        PolicyError::bad_input(
            "output folder",
            format!("{} names no folder", out.display()),
        )
    })?;
    let mut staged = std::ffi::OsString::from(".");
    staged.push(name);
    staged.push(".partial");
    Ok(out.with_file_name(staged))
}

/// Create the new folder `out` (refused if it exists, with `what` naming the command in the
/// error) holding what `write` puts into the folder it is given. On an error from `write`,
/// nothing is left at `out` and the staging folder is removed. A staging folder left by an
/// earlier run that was killed is removed first.
pub fn write_new_folder(
    what: &str,
    out: &Path,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    if out.exists() {
        return Err(PolicyError::bad_input(
            what,
            format!("output {} already exists: never overwritten", out.display()),
        ));
    }
    let staging = staging_for(out)?;
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io_at(&staging))?;
    let written = write(&staging).and_then(|()| std::fs::rename(&staging, out).map_err(io_at(out)));
    if written.is_err() {
        // Best effort: the error being returned says what went wrong; a staging folder that
        // cannot be removed is removed by the next run's start.
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Copy each of `names` that is a file in `from` into `to` (a checkpoint's optional side
/// files: statistics, tokenizer); a name missing from `from` is skipped.
pub(crate) fn copy_present_files(from: &Path, to: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        let (src, dst) = (from.join(name), to.join(name));
        if src.is_file() {
            std::fs::copy(&src, &dst).map_err(io_at(&dst))?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_folder_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ckpt");
        write_new_folder("test", &out, |d| {
            std::fs::write(d.join("a"), "1").map_err(io_at(d))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(out.join("a")).unwrap(), "1");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the folder itself: {left:?}");
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ckpt");
        let err = write_new_folder("test", &out, |d| {
            std::fs::write(d.join("a"), "1").map_err(io_at(d))?;
            Err(PolicyError::bad_input("second file", "cannot be written"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("second file"), "{err}");
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn refuses_an_existing_output_and_clears_a_stale_staging_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ckpt");
        std::fs::create_dir_all(&out).unwrap();
        let err = write_new_folder("export", &out, |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        std::fs::remove_dir_all(&out).unwrap();
        let stale = dir.path().join(".ckpt.partial");
        std::fs::create_dir_all(&stale).unwrap();
        std::fs::write(stale.join("old"), "x").unwrap();
        write_new_folder("export", &out, |_| Ok(())).unwrap();
        assert!(!stale.exists());
        assert!(!out.join("old").exists());
    }
}

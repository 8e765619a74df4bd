//! The camera image size a suite renders at: `--image-size` when given, else the size a
//! model policy reads (a checkpoint's `config.json`, a preset's), else the suite's own. A
//! model reads exactly one size, so a checkpoint fine-tuned at another resolution
//! (`ddvla checkpoint resize-images`) is evaluated and recorded at its size without a flag.

use std::path::Path;

use anyhow::{Context, Result};
use ddvla_policy::checkpoint::files;
use ddvla_policy::model::{ConfigFile, presets};
use ddvla_tasks::suite::Suite;

/// The image side (px) the policy `spec` reads: `None` for `expert` and `random`, which read
/// no frames.
pub fn policy_image_size(spec: &str) -> Result<Option<u32>> {
    if matches!(spec, "expert" | "random") {
        return Ok(None);
    }
    let px = if let Some(preset) = spec.strip_prefix("random:") {
        presets::preset(preset)?.file.vision.image_size
    } else {
        let path = Path::new(spec).join(files::CONFIG);
        ConfigFile::load(&path)
            .with_context(|| format!("reading the checkpoint {spec}"))?
            .vision
            .image_size
    };
    Ok(Some(u32::try_from(px).with_context(|| {
        format!("{spec}: image size {px} px is out of range")
    })?))
}

/// `suite` set to render at `image_size` px (`None`: as it is), checked against the suite
/// contract's bounds.
pub fn render_at(mut suite: Suite, image_size: Option<u32>) -> Result<Suite> {
    if let Some(px) = image_size {
        suite.file.contract.image_size = px;
        suite
            .file
            .contract
            .validate(&suite.dir.join("suite.toml"))
            .with_context(|| format!("rendering {} at {px} px", suite.file.name))?;
    }
    Ok(suite)
}

/// The size to render at for `spec`: the flag's when given, else the policy's own.
pub fn render_size(flag: Option<u32>, spec: &str) -> Result<Option<u32>> {
    match flag {
        Some(px) => Ok(Some(px)),
        None => policy_image_size(spec),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_model_reads_its_own_size_and_the_flag_wins() {
        assert_eq!(policy_image_size("expert").unwrap(), None);
        assert_eq!(policy_image_size("random").unwrap(), None);
        assert_eq!(policy_image_size("random:compact").unwrap(), Some(128));
        let tmp = tempfile::tempdir().unwrap();
        let mut file = presets::compact();
        file.vision.image_size = 192;
        file.save(&tmp.path().join(files::CONFIG)).unwrap();
        let spec = tmp.path().to_str().unwrap();
        assert_eq!(policy_image_size(spec).unwrap(), Some(192));
        assert_eq!(render_size(None, spec).unwrap(), Some(192));
        assert_eq!(render_size(Some(128), spec).unwrap(), Some(128));
        let err = policy_image_size(tmp.path().join("none").to_str().unwrap()).unwrap_err();
        assert!(
            format!("{err:#}").contains("reading the checkpoint"),
            "{err:#}"
        );
    }

    #[test]
    fn the_suite_renders_at_the_size_within_its_bounds() {
        let dir = crate::tasks_cli::suites_dir(None);
        let suite = Suite::load(&dir, "libero_style_spatial").unwrap();
        assert_eq!(suite.file.contract.image_size, 128);
        let same = render_at(suite.clone(), None).unwrap();
        assert_eq!(same.file.contract.image_size, 128);
        let big = render_at(suite.clone(), Some(192)).unwrap();
        assert_eq!(big.file.contract.image_size, 192);
        let err = render_at(suite, Some(4096)).unwrap_err();
        assert!(format!("{err:#}").contains("image_size"), "{err:#}");
    }
}

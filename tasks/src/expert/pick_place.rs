//! Pick-and-place: approach above the grasp point, descend, close until the fingers stop,
//! carry at a height that clears everything on the way, lower until the object is just above
//! its resting pose at the target, open, retreat. A missed grasp or a slip re-grasps.

use std::f64::consts::PI;

use nalgebra::{Vector2, Vector3};

use super::motion::{DRIFT_CARRY_M, DRIFT_EMPTY_M, STILL_M, Target, via, wrap, yaw_for_axis};
use super::world::{CABINET_FRONT_M, World, fail};
use crate::eval::EvalError;

/// Height above the grasp point where the descent starts (m).
const HOVER_M: f64 = 0.06;
/// The object is released this far above its resting pose (m).
const DROP_M: f64 = 0.008;
/// Gripper opening radius around the pinch, for clearance (m).
const OPEN_REACH_M: f64 = 0.045;
/// Fully closed driver joint: nothing between the fingers.
const EMPTY_GRIP: f64 = 0.75;
/// Following: fully closed on nothing stalls at ~0.797, on a bowl's rim at ~0.754 (measured
/// on the spatial suite's rollouts), so a grip above `EMPTY_GRIP` may still hold something.
const FOLLOW_EMPTY_GRIP: f64 = 0.775;
/// Tries before the skill gives up (the plan is redone at the end).
const MAX_ATTEMPTS: u32 = 4;

/// Following: fingers stalled at least this closed (and short of empty) near the object = holding.
const HOLD_GRIP: f64 = 0.2;
/// Following: margin (m) around the object's footprint and height where a stalled grip holds it.
const IN_HAND_M: f64 = 0.03;

/// Where the object goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PlaceAt {
    /// Resting on a region site (fixture, object or table zone): `(On obj site)`.
    OnSite(String),
    /// Inside a region box (basket, drawer): `(In obj site)`.
    InSite(String),
    /// On top of another object: `(On obj other)`.
    OnObject(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Approach,
    Descend,
    Close,
    Carry,
    Lower,
    Release,
    Retreat,
    Reopen,
}

/// The pick-and-place state machine.
#[derive(Debug, Clone)]
pub(crate) struct PickPlace {
    obj: String,
    at: PlaceAt,
    /// This object's slot among `slots` objects going to the same region.
    slot: usize,
    slots: usize,
    phase: Phase,
    /// Steps spent in the phase.
    t: u32,
    attempts: u32,
    grip_prev: f64,
    ee_prev: Vector3<f64>,
    /// Consecutive steps the end effector moved less than [`STILL_M`] (carrying).
    still: u32,
    obj_prev: Vector3<f64>,
    yaw: f64,
    /// Gripper yaw while carrying and placing (frozen with the spot).
    place_yaw: f64,
    /// Object origin − pinch right after the grasp.
    held: Vector3<f64>,
    /// Where the object's origin goes (frozen when carrying starts).
    spot: Option<Vector3<f64>>,
    release_at: Vector3<f64>,
    /// Labelling someone else's rollout: the phase follows the state (see [`Self::follow`]).
    follow: bool,
    /// Where the first attempt aims, from the object's grasp point (world xy, m): zero for
    /// the expert's own grasps (see [`Self::missing_first_grasp_by`]).
    first_miss_m: Vector2<f64>,
}

impl PickPlace {
    /// Put `obj` at `at`.
    pub fn new(obj: &str, at: PlaceAt) -> Self {
        Self {
            obj: obj.to_owned(),
            at,
            slot: 0,
            slots: 1,
            phase: Phase::Approach,
            t: 0,
            attempts: 0,
            grip_prev: 0.0,
            ee_prev: Vector3::zeros(),
            still: 0,
            obj_prev: Vector3::zeros(),
            yaw: f64::NAN,
            place_yaw: f64::NAN,
            held: Vector3::zeros(),
            spot: None,
            release_at: Vector3::zeros(),
            follow: false,
            first_miss_m: Vector2::zeros(),
        }
    }

    /// Aim the first attempt `miss_m` (world xy, m) off the grasp point: recording how the
    /// expert recovers from a grasp that lands off the object's centre (a bowl pinched by its
    /// rim, a box caught at its edge), the state a policy's imprecise grasps lead to. What
    /// the fingers closed on decides what follows, as after any grasp: nothing (re-grasp,
    /// on target), or something (carry it as held). Later attempts aim where the expert's
    /// own do.
    pub fn missing_first_grasp_by(mut self, miss_m: Vector2<f64>) -> Self {
        self.first_miss_m = miss_m;
        self
    }

    /// Follow the state instead of assuming the expert's own actions were executed (DAgger
    /// labelling): each step the phase is first brought in line with what the gripper is
    /// doing — the object held between closed fingers while the skill still approaches means
    /// it was grasped (go to `Close`, which moves on to `Carry` once the fingers settle); the
    /// open gripper already over the grasp point below the hover height means the descent is
    /// under way. Timeouts that would act wherever the arm is (close after 30 steps of
    /// descent, release after 60 of lowering, give up after four misses) are off, so a label
    /// never says "close" above the object only because time ran out.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// Finger joint above which nothing is between the fingers.
    fn empty_grip(&self) -> f64 {
        if self.follow {
            FOLLOW_EMPTY_GRIP
        } else {
            EMPTY_GRIP
        }
    }

    /// `self.t > limit`, never when following.
    fn timed_out(&self, limit: u32) -> bool {
        !self.follow && self.t > limit
    }

    /// Following: the fingers have stopped part-way closed (blocked by something, not
    /// closing on air or opening) with the pinch inside the object's footprint and height,
    /// wherever on it the grasp is.
    fn holding(&self, w: &World<'_>) -> Result<bool, EvalError> {
        let ee = w.ee;
        let obj = w.pos(&self.obj)?;
        let reach = w.catalog(&self.obj)?.footprint_radius_m + IN_HAND_M;
        let within = (obj.xy() - ee.pos.xy()).norm() < reach
            && ee.pos.z > w.bottom_z(&self.obj)? - IN_HAND_M
            && ee.pos.z < w.top_z(&self.obj)? + IN_HAND_M;
        let part_closed = ee.grip > HOLD_GRIP && ee.grip < self.empty_grip();
        let stalled = (ee.grip - self.grip_prev).abs() < 0.003;
        Ok(within && part_closed && stalled)
    }

    /// Following: move the phase to what the state shows (see [`Self::follow`]).
    fn sync(&mut self, w: &World<'_>) -> Result<(), EvalError> {
        let ee = w.ee;
        match self.phase {
            Phase::Approach | Phase::Descend | Phase::Reopen if self.holding(w)? => {
                if self.yaw.is_nan() {
                    self.yaw = ee.yaw();
                }
                self.go(Phase::Close);
            }
            Phase::Approach if !self.yaw.is_nan() && ee.grip < HOLD_GRIP => {
                let (gp, _) = self.grasp_point(w)?;
                let over = (gp.xy() - ee.pos.xy()).norm() < 0.012;
                let below_hover = ee.pos.z < gp.z + HOVER_M + 0.012 && ee.pos.z > gp.z;
                if over && below_hover && wrap(self.yaw - ee.yaw()).abs() < 0.08 {
                    self.go(Phase::Descend);
                }
            }
            _ => {}
        }
        if self.phase != Phase::Close {
            self.grip_prev = ee.grip;
        }
        Ok(())
    }

    /// The same skill as slot `slot` of `slots` objects going to the same region.
    pub fn with_slot(mut self, slot: usize, slots: usize) -> Self {
        self.slot = slot;
        self.slots = slots;
        self
    }

    /// What it is doing, for logs.
    pub fn label(&self) -> String {
        format!(
            "pick_place {} ({} tries): {:?}",
            self.obj, self.attempts, self.phase
        )
    }

    fn go(&mut self, phase: Phase) {
        self.phase = phase;
        self.t = 0;
        self.still = 0;
    }

    /// The next target, or `None` when done.
    pub fn step(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        if self.follow {
            self.sync(w)?;
        }
        self.t += 1;
        let ee = w.ee;
        let out = match self.phase {
            Phase::Approach => self.approach(w)?,
            Phase::Descend => {
                let (gp, _) = self.grasp_point(w)?;
                if (ee.pos - gp).norm() < 0.006 || self.timed_out(30) {
                    self.go(Phase::Close);
                    self.grip_prev = ee.grip;
                }
                Some(Target::new(gp, self.yaw, -1.0).at(0.6))
            }
            Phase::Close => self.close(w)?,
            Phase::Carry => self.carry(w)?,
            Phase::Lower => self.lower(w)?,
            Phase::Release => {
                if (ee.grip < 0.15 && self.t > 3) || self.t > 14 {
                    self.go(Phase::Retreat);
                }
                Some(Target::new(self.release_at, self.place_yaw, -1.0))
            }
            Phase::Retreat => {
                let up = self.release_at + Vector3::new(0.0, 0.0, 0.08);
                if (ee.pos - up).norm() < 0.02 || self.t > 40 {
                    return Ok(None);
                }
                Some(Target::new(up, self.place_yaw, -1.0))
            }
            Phase::Reopen => {
                if ee.grip < 0.1 && self.t > 4 {
                    self.attempts += 1;
                    self.yaw = f64::NAN;
                    self.spot = None;
                    self.go(Phase::Approach);
                }
                let up = Vector3::new(ee.pos.x, ee.pos.y, ee.pos.z.max(self.ee_prev.z) + 0.01);
                Some(Target::new(up, ee.yaw(), -1.0).at(0.4))
            }
        };
        self.ee_prev = ee.pos;
        if self.attempts >= MAX_ATTEMPTS && !self.follow {
            return Ok(None);
        }
        Ok(out)
    }

    fn approach(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        if self.yaw.is_nan() {
            self.yaw = self.choose_yaw(w)?;
        }
        let (gp, _) = self.grasp_point(w)?;
        let hover = gp + Vector3::new(0.0, 0.0, HOVER_M);
        let z_safe = w.clearance_z(hover.xy(), &[&self.obj], 0.01, OPEN_REACH_M)?;
        let ee = w.ee;
        let yaw_ok = wrap(self.yaw - ee.yaw()).abs() < 0.08;
        if ((ee.pos - hover).norm() < 0.012 && yaw_ok) || self.timed_out(200) {
            self.go(Phase::Descend);
        }
        Ok(Some(Target::new(
            via(ee.pos, hover, z_safe, DRIFT_EMPTY_M),
            self.yaw,
            -1.0,
        )))
    }

    fn close(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        let (gp, _) = self.grasp_point(w)?;
        let ee = w.ee;
        let settled = self.t > 6 && (ee.grip - self.grip_prev).abs() < 0.002;
        self.grip_prev = ee.grip;
        if settled || self.t > 25 {
            if ee.grip > self.empty_grip() {
                self.go(Phase::Reopen);
            } else {
                self.held = w.pos(&self.obj)? - ee.pos;
                self.go(Phase::Carry);
            }
        }
        // Following, the grasp may be anywhere on the object: close where the fingers are.
        let at = if self.follow { ee.pos } else { gp };
        Ok(Some(Target::new(at, self.yaw, 1.0)))
    }

    /// Pinch target that puts the object's origin at `obj_goal`, given how it hangs now.
    fn ee_for(&self, w: &World<'_>, obj_goal: Vector3<f64>) -> Result<Vector3<f64>, EvalError> {
        Ok(obj_goal - (w.pos(&self.obj)? - w.ee.pos))
    }

    /// The object dropped in the hand or out of it (swinging about the finger axis is not a
    /// slip: objects gripped above their centre of mass do that).
    fn slipped(&self, w: &World<'_>) -> Result<bool, EvalError> {
        let d = w.pos(&self.obj)? - w.ee.pos - self.held;
        Ok(d.z < -0.025 || d.xy().norm() > 0.05 || w.ee.grip > EMPTY_GRIP + 0.03)
    }

    fn carry(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        let spot = self.spot(w)?;
        if self.slipped(w)? {
            self.go(Phase::Reopen);
            return Ok(Some(Target::new(w.ee.pos, self.place_yaw, -1.0)));
        }
        let goal = self.ee_for(w, spot + Vector3::new(0.0, 0.0, 0.04))?;
        let hang = w.ee.pos.z - w.bottom_z(&self.obj)?;
        let reach = w.catalog(&self.obj)?.footprint_radius_m;
        let z_safe = w.clearance_z(goal.xy(), &[&self.obj], hang, reach)?;
        // Stuck short of the goal (the held object against a rim, a pose out of reach): lower
        // from there after a few still steps. Waiting out the timer held a still pose for up
        // to 75 steps (the long suite's basket tasks), which a policy cannot tell from the
        // lowering after it.
        self.still = if (w.ee.pos - self.ee_prev).norm() < STILL_M {
            self.still + 1
        } else {
            0
        };
        let stuck = !self.follow && self.t > 8 && self.still >= 3;
        if (w.ee.pos - goal).norm() < 0.012 || stuck || self.timed_out(250) {
            self.go(Phase::Lower);
        }
        Ok(Some(Target::new(
            via(w.ee.pos, goal, z_safe, DRIFT_CARRY_M),
            self.place_yaw,
            1.0,
        )))
    }

    fn lower(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        if self.slipped(w)? {
            self.go(Phase::Reopen);
            return Ok(Some(Target::new(w.ee.pos, self.place_yaw, -1.0)));
        }
        let spot = self.spot(w)?;
        let goal = self.ee_for(w, spot)?;
        let obj = w.pos(&self.obj)?;
        let there = (obj - spot).norm() < 0.005;
        let stalled = self.t > 8 && (w.ee.pos - self.ee_prev).norm() < 0.0008;
        // Let a swinging object come to rest before letting go.
        let steady = (obj - self.obj_prev).norm() < 0.001;
        self.obj_prev = obj;
        if ((there || stalled) && steady) || self.timed_out(60) {
            self.release_at = w.ee.pos;
            self.go(Phase::Release);
        }
        Ok(Some(Target::new(goal, self.place_yaw, 1.0).at(0.5)))
    }

    /// World grasp point and the grasp's natural yaw.
    fn grasp_point(&self, w: &World<'_>) -> Result<(Vector3<f64>, Option<f64>), EvalError> {
        let g = w
            .catalog(&self.obj)?
            .grasp
            .ok_or_else(|| fail(format!("{} has no grasp", self.obj)))?;
        let rot = w.rot(&self.obj)?;
        let mut p = w.pos(&self.obj)? + rot * Vector3::from(g.center_body_m);
        if self.attempts == 0 && !self.follow {
            p.x += self.first_miss_m.x;
            p.y += self.first_miss_m.y;
        }
        let yaw = g.close_axis_body.map(|[x, y]| {
            let a = rot * Vector3::new(x, y, 0.0);
            yaw_for_axis(a.y.atan2(a.x))
        });
        Ok((p, yaw))
    }

    /// The grasp's yaw; for round objects, fingers closing across the direction of the
    /// nearest neighbour (so the open fingers miss it).
    fn choose_yaw(&self, w: &World<'_>) -> Result<f64, EvalError> {
        if let (_, Some(y)) = self.grasp_point(w)? {
            return Ok(y);
        }
        let me = w.pos(&self.obj)?.xy();
        let mut best: Option<(f64, Vector2<f64>)> = None;
        for (inst, o) in &w.scene.instances {
            if *inst == self.obj {
                continue;
            }
            let d = w.pos(inst)?.xy() - me;
            let gap = d.norm() - o.footprint_radius_m;
            if gap < 0.08 && best.is_none_or(|(g, _)| gap < g) {
                best = Some((gap, d));
            }
        }
        Ok(best.map_or(0.0, |(_, d)| yaw_for_axis(d.y.atan2(d.x) + 0.5 * PI)))
    }

    /// Where the object's origin should come to rest (+ the drop), frozen once computed.
    fn spot(&mut self, w: &World<'_>) -> Result<Vector3<f64>, EvalError> {
        if let Some(s) = self.spot {
            return Ok(s);
        }
        let me = w.catalog(&self.obj)?;
        let s = match &self.at {
            PlaceAt::OnObject(other) => {
                let p = w.pos(other)?;
                p + Vector3::new(
                    0.0,
                    0.0,
                    w.catalog(other)?.top_offset_m + me.bottom_offset_m,
                )
            }
            PlaceAt::OnSite(site) | PlaceAt::InSite(site) => {
                let s = w.site(site)?;
                let table_zone = site.starts_with(crate::scene::WORKSPACE);
                let floor = match (&self.at, table_zone) {
                    (_, true) => w.table_z(),
                    (PlaceAt::InSite(_), false) => s.pos.z - s.size.z,
                    _ => s.pos.z + s.size.z,
                };
                let mut xy = s.pos.xy() + self.slot_offset(s.size);
                if let Some((cabinet, _)) = w.part(site) {
                    let front = w.pos(cabinet)?.x - CABINET_FRONT_M;
                    xy.x = xy.x.min(front - me.footprint_radius_m - 0.03);
                } else if !table_zone && self.slots < 2 && matches!(self.at, PlaceAt::OnSite(_)) {
                    // On a wide fixture top, the side nearer the robot (easier to reach high).
                    let room = s.size.x.min(s.size.y) - me.footprint_radius_m - 0.015;
                    xy -= xy.normalize() * room.max(0.0);
                }
                Vector3::new(xy.x, xy.y, floor + me.bottom_offset_m)
            }
        };
        let s = s + Vector3::new(0.0, 0.0, DROP_M);
        self.spot = Some(s);
        // Objects sharing a region go in with their narrow side along the row.
        let (_, grasp_axis) = self.grasp_point(w)?;
        self.place_yaw = match (grasp_axis, self.slots > 1, &self.at) {
            (Some(_), true, PlaceAt::OnSite(site) | PlaceAt::InSite(site)) => {
                let half = w.site(site)?.size;
                let row = if half.y > half.x + 1e-6 {
                    0.5 * PI
                } else {
                    0.0
                };
                yaw_for_axis(row)
            }
            _ => self.yaw,
        };
        Ok(s)
    }

    /// Objects sharing a region stand apart along its longer side.
    fn slot_offset(&self, half: Vector3<f64>) -> Vector2<f64> {
        if self.slots < 2 {
            return Vector2::zeros();
        }
        let along_y = half.y > half.x + 1e-6;
        let long = if along_y { half.y } else { half.x };
        let d = 0.045_f64.min(long - 0.015);
        let k = self.slot as f64 - 0.5 * (self.slots - 1) as f64;
        let off = 2.0 * d * k / (self.slots - 1).max(1) as f64;
        if along_y {
            Vector2::new(0.0, off)
        } else {
            Vector2::new(off, 0.0)
        }
    }
}

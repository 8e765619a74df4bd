//! Skills on articulated parts and pushing: drawers (grasp the handle bar and pull toward the
//! robot, or push the closed fingers against it), the stove knob (sweep the lever tip toward
//! −y) and pushing the plate across the table with the closed gripper.

use nalgebra::{Vector2, Vector3};

use super::motion::{DRIFT_EMPTY_M, STILL_M, Target, via, wrap};
use super::world::World;
use crate::eval::EvalError;

/// Pinch offset behind a drawer's handle bar when pulling (m): the closed fingers (22 mm
/// across) hook 6 mm behind the bar (radius 7 mm), and the gripper's base (9 cm across)
/// stays 6 mm in front of the drawer front, 75 mm behind the bar.
const HOOK_BEHIND_M: f64 = 0.024;
/// Height above the bar where the fingers start down (m): low enough to pass under the bar
/// of the drawer above (which is off to the other side).
const DRAWER_HOVER_M: f64 = 0.06;
/// Pinch offset in front of the bar when pushing (m).
const PUSH_FRONT_M: f64 = 0.022;
/// Pinch height relative to the bar (m): fingertips a little below its axis.
const BAR_DZ_M: f64 = -0.004;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Approach,
    Descend,
    Work,
    Release,
    Retreat,
}

impl Phase {
    /// Before the contact: the skill has not touched its part yet.
    fn before_contact(self) -> bool {
        matches!(self, Self::Approach | Self::Descend)
    }
}

/// Following (DAgger labelling): whether another policy's gripper at `ee` is over the
/// skill's start point `start` (within `tol_m` horizontally, its own approach tolerance) no
/// higher than `hover_m` above it, so the descent starts from wherever it came down instead
/// of the approach first going back up.
fn over_start(ee: &Vector3<f64>, start: &Vector3<f64>, hover_m: f64, tol_m: f64) -> bool {
    (ee.xy() - start.xy()).norm() < tol_m && ee.z < start.z + hover_m + tol_m
}

/// Open (pull) or close (push) a drawer with the closed fingers: they come down vertically
/// into the slot behind the handle bar (or in front of it) and pull (push) along x.
#[derive(Debug, Clone)]
pub(crate) struct Drawer {
    joint: String,
    handle: String,
    open: bool,
    /// Joint value to reach: past `open_qpos` when opening, `closed_qpos` when closing.
    goal_q: f64,
    phase: Phase,
    t: u32,
    leave_from: Vector3<f64>,
    /// Labelling another policy's rollout: the phase follows the state ([`Drawer::follow`]).
    follow: bool,
}

impl Drawer {
    /// Open (`open`) or close the drawer with joint `joint`, handle site `handle`.
    pub fn new(joint: &str, handle: &str, open: bool, goal_q: f64) -> Self {
        Self {
            joint: joint.to_owned(),
            handle: handle.to_owned(),
            open,
            goal_q,
            phase: Phase::Approach,
            t: 0,
            leave_from: Vector3::zeros(),
            follow: false,
        }
    }

    /// Follow the state (DAgger labelling): a drawer another policy already moved to its goal
    /// before this skill touched it is done, and a gripper already over the handle starts
    /// down from there, instead of the skill running its own sequence first.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// The drawer's joint.
    pub fn joint(&self) -> &str {
        &self.joint
    }

    /// What it is doing, for logs.
    pub fn label(&self) -> String {
        format!("drawer {} open={}: {:?}", self.joint, self.open, self.phase)
    }

    fn go(&mut self, phase: Phase) {
        self.phase = phase;
        self.t = 0;
    }

    /// Where the pinch meets the handle: behind the bar when pulling, in front when pushing.
    fn contact(&self, w: &World<'_>) -> Result<Vector3<f64>, EvalError> {
        let h = w.site(&self.handle)?.pos;
        let dx = if self.open {
            HOOK_BEHIND_M
        } else {
            -PUSH_FRONT_M
        };
        Ok(h + Vector3::new(dx, 0.0, BAR_DZ_M))
    }

    fn done(&self, w: &World<'_>) -> Result<bool, EvalError> {
        let q = w.joint(&self.joint)?;
        Ok(if self.open {
            q <= self.goal_q
        } else {
            q >= self.goal_q
        })
    }

    /// The next target, or `None` when done.
    pub fn step(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        self.t += 1;
        let ee = w.ee;
        let c = self.contact(w)?;
        let yaw = 0.0;
        if self.follow {
            // Moved to its goal by the other policy: nothing left to do here.
            if self.phase.before_contact() && self.done(w)? {
                return Ok(None);
            }
            if self.phase == Phase::Approach && over_start(&ee.pos, &c, DRAWER_HOVER_M, 0.004) {
                self.go(Phase::Descend);
            }
        }
        Ok(match self.phase {
            Phase::Approach => {
                let above = c + Vector3::new(0.0, 0.0, DRAWER_HOVER_M);
                // Over the cabinet: the bars of other drawers stick out in front of it.
                let z_safe = w.clearance_z(above.xy(), &[], 0.01, 0.02)?;
                let e = ee.pos - above;
                let yaw_ok = wrap(yaw - ee.yaw()).abs() < 0.05;
                let timed_out = !self.follow && self.t > 200;
                if (e.xy().norm() < 0.004 && e.z.abs() < 0.015 && yaw_ok) || timed_out {
                    self.go(Phase::Descend);
                }
                Some(Target::new(
                    via(ee.pos, above, z_safe, DRIFT_EMPTY_M),
                    yaw,
                    1.0,
                ))
            }
            Phase::Descend => {
                if (ee.pos - c).norm() < 0.005 || self.t > 40 {
                    self.go(Phase::Work);
                }
                Some(Target::new(c, yaw, 1.0).at(0.5))
            }
            Phase::Work => {
                if self.done(w)? || self.t > 120 {
                    self.leave_from = ee.pos;
                    self.go(Phase::Release);
                }
                let dir = if self.open { -0.04 } else { 0.04 };
                Some(Target::new(c + Vector3::new(dir, 0.0, 0.0), yaw, 1.0))
            }
            Phase::Release => {
                // Back off toward the robot (after a push the bar is right behind the fingers).
                let back =
                    self.leave_from + Vector3::new(if self.open { 0.0 } else { -0.04 }, 0.0, 0.0);
                if (ee.pos - back).norm() < 0.01 || self.t > 20 {
                    self.leave_from = back;
                    self.go(Phase::Retreat);
                }
                Some(Target::new(back, yaw, 1.0).at(0.5))
            }
            Phase::Retreat => {
                let up = self.leave_from + Vector3::new(0.0, 0.0, 0.06);
                if (ee.pos - up).norm() < 0.015 || self.t > 40 {
                    return Ok(None);
                }
                Some(Target::new(up, yaw, 1.0))
            }
        })
    }
}

/// Turn the stove knob on: the closed fingertips beside the lever sweep it about the hinge.
#[derive(Debug, Clone)]
pub(crate) struct Knob {
    joint: String,
    tip: String,
    /// Body of the knob (the hinge axis).
    hinge: String,
    goal_q: f64,
    phase: Phase,
    t: u32,
    leave_from: Vector3<f64>,
    /// Labelling another policy's rollout: the phase follows the state ([`Knob::follow`]).
    follow: bool,
}

/// Radius on the lever where the fingers push (m).
const KNOB_PUSH_R_M: f64 = 0.033;
/// How far ahead of the lever the fingers aim (rad).
const KNOB_LEAD_RAD: f64 = 0.45;
/// Height above the lever's start point where the fingers start down (m).
const KNOB_HOVER_M: f64 = 0.05;

impl Knob {
    /// Turn joint `joint` (lever tip site `tip`, knob body `hinge`) to at least `goal_q`.
    pub fn new(joint: &str, tip: &str, hinge: &str, goal_q: f64) -> Self {
        Self {
            joint: joint.to_owned(),
            tip: tip.to_owned(),
            hinge: hinge.to_owned(),
            goal_q,
            phase: Phase::Approach,
            t: 0,
            leave_from: Vector3::zeros(),
            follow: false,
        }
    }

    /// Follow the state (DAgger labelling): a knob another policy already turned on before
    /// this skill touched it is done (not approached again to be turned), and a gripper
    /// already over the lever's start point starts down from there.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// What it is doing, for logs.
    pub fn label(&self) -> String {
        format!("knob {}: {:?}", self.joint, self.phase)
    }

    fn go(&mut self, phase: Phase) {
        self.phase = phase;
        self.t = 0;
    }

    /// The point at `lead` rad ahead of the lever, `side` m behind it (against the sweep).
    fn around(&self, w: &World<'_>, lead: f64, side: f64) -> Result<Vector3<f64>, EvalError> {
        let h = w.env.body_pos(&self.hinge)?;
        let tip = w.site(&self.tip)?.pos;
        let d = Vector2::new(tip.x - h[0], tip.y - h[1]).normalize();
        let a = d.y.atan2(d.x) + lead;
        let r = Vector2::new(a.cos(), a.sin());
        // The sweep (q increasing) turns the lever counter-clockwise: tangent z × r.
        let t = Vector2::new(-r.y, r.x);
        let p = Vector2::new(h[0], h[1]) + r * KNOB_PUSH_R_M - t * side;
        Ok(Vector3::new(p.x, p.y, tip.z))
    }

    /// The next target, or `None` when done.
    pub fn step(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        self.t += 1;
        let ee = w.ee;
        let yaw = 0.0;
        if self.follow {
            if self.phase.before_contact() && w.joint(&self.joint)? >= self.goal_q {
                return Ok(None);
            }
            if self.phase == Phase::Approach
                && over_start(&ee.pos, &self.around(w, 0.0, 0.022)?, KNOB_HOVER_M, 0.012)
            {
                self.go(Phase::Descend);
            }
        }
        Ok(match self.phase {
            Phase::Approach => {
                let start = self.around(w, 0.0, 0.022)?;
                let above = start + Vector3::new(0.0, 0.0, KNOB_HOVER_M);
                let z_safe = w.clearance_z(above.xy(), &[], 0.01, 0.02)?;
                if (ee.pos - above).norm() < 0.012 || (!self.follow && self.t > 200) {
                    self.go(Phase::Descend);
                }
                Some(Target::new(
                    via(ee.pos, above, z_safe, DRIFT_EMPTY_M),
                    yaw,
                    1.0,
                ))
            }
            Phase::Descend => {
                let start = self.around(w, 0.0, 0.022)?;
                if (ee.pos - start).norm() < 0.006 || self.t > 30 {
                    self.go(Phase::Work);
                }
                Some(Target::new(start, yaw, 1.0).at(0.5))
            }
            Phase::Work => {
                if w.joint(&self.joint)? >= self.goal_q || self.t > 100 {
                    self.leave_from = ee.pos;
                    self.go(Phase::Retreat);
                }
                let p = self.around(w, KNOB_LEAD_RAD, 0.0)?;
                Some(Target::new(p, yaw, 1.0).at(0.4))
            }
            Phase::Release | Phase::Retreat => {
                let up = self.leave_from + Vector3::new(0.0, 0.0, 0.07);
                if (ee.pos - up).norm() < 0.015 || self.t > 40 {
                    return Ok(None);
                }
                Some(Target::new(up, yaw, 1.0))
            }
        })
    }
}

/// Push an object lying on the table (the plate) into a table region with the closed gripper.
#[derive(Debug, Clone)]
pub(crate) struct Push {
    obj: String,
    site: String,
    phase: Phase,
    t: u32,
    leave_from: Vector3<f64>,
    /// The end effector's position at the previous step (m, world), to see it stall.
    last_ee_m: Vector3<f64>,
    /// Labelling another policy's rollout: the phase follows the state ([`Push::follow`]).
    follow: bool,
}

/// The pinch height above the table while pushing (m): the fingertips clear the table by a
/// millimetre or two and meet the 15 mm plate's side. Lower than that is out of reach (the
/// fingertips meet the table with the pinch 18 mm up): at 9 mm the descent ended stalled on the
/// table still asking for z −0.41, the push pressed down, and a policy trained on those labels
/// pressed there for the whole episode (`docs/results-preamble.md`). At 20 mm the descent's
/// z actions fall to ~0 as it arrives and the push is level.
const PUSH_Z_M: f64 = 0.02;
/// How far behind the plate's rim the descent comes down (m).
const PUSH_BEHIND_M: f64 = 0.025;
/// Height above the point behind the plate where the descent starts (m).
const PUSH_HOVER_M: f64 = 0.05;
/// Plate centre to region centre at which the push is done (m).
const PUSH_DONE_M: f64 = 0.012;
/// The gripper this far off the line through the plate (m) has lost it: release, go round.
const PUSH_OFF_LINE_M: f64 = 0.025;
/// Following: slack on the pushing pose's height and reach (m).
const PUSH_LOW_M: f64 = 0.015;

impl Push {
    /// Push `obj` into table region `site`.
    pub fn new(obj: &str, site: &str) -> Self {
        Self {
            obj: obj.to_owned(),
            site: site.to_owned(),
            phase: Phase::Approach,
            t: 0,
            leave_from: Vector3::zeros(),
            last_ee_m: Vector3::zeros(),
            follow: false,
        }
    }

    /// Follow the state (DAgger labelling): a plate another policy already pushed into its
    /// region before this skill touched it is done, a gripper already low against the
    /// plate's back pushes on (also after a release the policy did not make), and one over
    /// the start point behind the plate starts down from there, instead of the skill first
    /// going up to its approach pose.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// Following: whether the gripper at `ee` is in pushing position: at push height
    /// (`push_z_m`), on the line through the plate at `p` toward the region (`u`), against
    /// the back of its rim (radius `r`).
    fn pushing_pose(
        ee: &Vector3<f64>,
        p: Vector2<f64>,
        u: Vector2<f64>,
        r: f64,
        push_z_m: f64,
    ) -> bool {
        let rel = ee.xy() - p;
        let along = rel.dot(&u);
        ee.z < push_z_m + PUSH_LOW_M
            && rel.perp(&u).abs() < PUSH_OFF_LINE_M
            && along > -(r + PUSH_BEHIND_M + PUSH_LOW_M)
            && along < -(r - PUSH_LOW_M)
    }

    /// What it is doing, for logs.
    pub fn label(&self) -> String {
        format!("push {}: {:?}", self.obj, self.phase)
    }

    fn go(&mut self, phase: Phase) {
        self.phase = phase;
        self.t = 0;
    }

    /// Object x/y, unit direction to the region centre, distance.
    fn line(&self, w: &World<'_>) -> Result<(Vector2<f64>, Vector2<f64>, f64), EvalError> {
        let p = w.pos(&self.obj)?.xy();
        let to = w.site(&self.site)?.pos.xy() - p;
        let dist = to.norm();
        let u = if dist > 1e-6 { to / dist } else { Vector2::x() };
        Ok((p, u, dist))
    }

    /// The next target, or `None` when done.
    pub fn step(&mut self, w: &World<'_>) -> Result<Option<Target>, EvalError> {
        self.t += 1;
        let ee = w.ee;
        let moved_m = (ee.pos - std::mem::replace(&mut self.last_ee_m, ee.pos)).norm();
        let (p, u, dist) = self.line(w)?;
        let r = w.catalog(&self.obj)?.footprint_radius_m;
        let z = w.table_z() + PUSH_Z_M;
        let behind = p - u * (r + PUSH_BEHIND_M);
        let behind = Vector3::new(behind.x, behind.y, z);
        let yaw = 0.0;
        if self.follow {
            if self.phase.before_contact() && dist < PUSH_DONE_M {
                return Ok(None);
            }
            if matches!(
                self.phase,
                Phase::Approach | Phase::Descend | Phase::Release
            ) && Self::pushing_pose(&ee.pos, p, u, r, z)
            {
                self.go(Phase::Work);
            } else if self.phase == Phase::Approach
                && over_start(&ee.pos, &behind, PUSH_HOVER_M, 0.012)
            {
                self.go(Phase::Descend);
            }
        }
        Ok(match self.phase {
            Phase::Approach => {
                let above = behind + Vector3::new(0.0, 0.0, PUSH_HOVER_M);
                let z_safe = w.clearance_z(above.xy(), &[], 0.01, 0.02)?;
                if (ee.pos - above).norm() < 0.012 || (!self.follow && self.t > 200) {
                    self.go(Phase::Descend);
                }
                Some(Target::new(
                    via(ee.pos, above, z_safe, DRIFT_EMPTY_M),
                    yaw,
                    1.0,
                ))
            }
            Phase::Descend => {
                // The fingers met the table (or the plate's rim) above the pinch height.
                // Waiting out the timer there held a still pose for ~25 steps labelled
                // "press down", and a policy trained on it pressed down there for ever.
                let stalled = self.t > 3 && moved_m < STILL_M;
                if (ee.pos - behind).norm() < 0.006 || stalled || self.t > 30 {
                    self.go(Phase::Work);
                }
                Some(Target::new(behind, yaw, 1.0).at(0.5))
            }
            Phase::Work => {
                // Off the line through the plate (it turned or slid sideways): go round again.
                let off = (ee.pos.xy() - p).perp(&u).abs();
                if dist < PUSH_DONE_M || self.t > 150 {
                    self.leave_from = ee.pos;
                    self.go(Phase::Retreat);
                } else if off > PUSH_OFF_LINE_M {
                    self.go(Phase::Release);
                }
                let ahead = p - u * (r - 0.01).max(0.0) + u * dist.min(0.04);
                let pushing = Vector3::new(ahead.x, ahead.y, z);
                Some(Target::new(pushing, yaw, 1.0).at(0.35))
            }
            Phase::Release => {
                let up = Vector3::new(ee.pos.x, ee.pos.y, z + 0.06);
                if (ee.pos - up).norm() < 0.015 {
                    self.go(Phase::Approach);
                }
                Some(Target::new(up - u.push(0.0) * 0.01, yaw, 1.0))
            }
            Phase::Retreat => {
                let up = self.leave_from + Vector3::new(0.0, 0.0, 0.07);
                if (ee.pos - up).norm() < 0.015 || self.t > 40 {
                    return Ok(None);
                }
                Some(Target::new(up, yaw, 1.0))
            }
        })
    }
}

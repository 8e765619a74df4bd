//! Drawers for the Google-like arm: closed fingers come down behind the handle bar and pull
//! it along −x past the open value, or in front of it and push along +x until it closes;
//! then back off, lift and stay.

use nalgebra::Vector3;

use super::Scene;
use super::arm::Target;
use crate::eval::EvalError;

/// Fingers this far behind (+x, pulling) or in front of (−x, pushing) the bar (m).
const BEHIND_M: f64 = 0.03;
const FRONT_M: f64 = 0.035;
/// How far ahead of the handle the tool is led while moving it (m).
const LEAD_M: f64 = 0.06;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Above,
    Down,
    Move,
    Back,
}

/// Open or close one drawer.
#[derive(Debug, Clone)]
pub(crate) struct Drawer {
    joint: String,
    handle: String,
    open: bool,
    /// Joint value to reach (past it: done).
    goal_q: f64,
    phase: Phase,
    t: u32,
    /// Tool point when the drawer got there.
    done_at: Vector3<f64>,
}

impl Drawer {
    /// Move drawer `joint` (handle site `handle`) until it passes `goal_q`.
    pub fn new(joint: &str, handle: &str, open: bool, goal_q: f64) -> Self {
        Self {
            joint: joint.to_owned(),
            handle: handle.to_owned(),
            open,
            goal_q,
            phase: Phase::Above,
            t: 0,
            done_at: Vector3::zeros(),
        }
    }

    fn go(&mut self, phase: Phase) {
        self.phase = phase;
        self.t = 0;
    }

    /// The next target.
    pub fn step(&mut self, s: &Scene<'_>) -> Result<Target, EvalError> {
        self.t += 1;
        let ee = s.pose.pos;
        let (h, _) = s.site(&self.handle)?;
        let off = if self.open { BEHIND_M } else { -FRONT_M };
        let at = Vector3::new(h.x + off, h.y, h.z);
        Ok(match self.phase {
            Phase::Above => {
                let goal = at + Vector3::new(0.0, 0.0, 0.08);
                if (ee - goal).norm() < 0.015 || self.t > 12 {
                    self.go(Phase::Down);
                }
                Target::new(goal, 0.0, true)
            }
            Phase::Down => {
                if (ee - at).norm() < 0.01 || self.t > 8 {
                    self.go(Phase::Move);
                }
                Target::new(at, 0.0, true).at(0.05)
            }
            Phase::Move => {
                let q = s.env.joint_qpos(&self.joint)?[0];
                let there = if self.open {
                    q <= self.goal_q
                } else {
                    q >= self.goal_q
                };
                if there || self.t > 30 {
                    self.done_at = ee;
                    self.go(Phase::Back);
                }
                let lead = if self.open { -LEAD_M } else { LEAD_M };
                Target::new(at + Vector3::new(lead, 0.0, 0.0), 0.0, true).at(0.05)
            }
            Phase::Back => {
                let back = if self.open { 0.0 } else { -0.05 };
                let goal = self.done_at + Vector3::new(back, 0.0, 0.1);
                let first = Vector3::new(goal.x, goal.y, self.done_at.z);
                let target = if self.t <= 2 && !self.open {
                    first
                } else {
                    goal
                };
                Target::new(target, 0.0, true)
            }
        })
    }
}

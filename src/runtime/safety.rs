//! The safety layer: always on, between the chunk scheduler and the actuators.
//!
//! Every tick it turns what the scheduler proposes (an action, nothing, or a policy error)
//! into the command that goes out, which is always finite, inside the per-dimension bounds,
//! within the maximum step change from the previous command, and inside the workspace box
//! for end-effector targets. Stale observations, a missing action, a policy error and an
//! e-stop give the configured hold. Every intervention is counted; entering a hold is logged.
//! No allocation per tick.

use serde::{Deserialize, Serialize};

use super::time::MonoNs;

/// An axis-aligned box for end-effector position targets (robot base frame, metres).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    /// Lower corner (x, y, z).
    pub min_m: [f64; 3],
    /// Upper corner (x, y, z).
    pub max_m: [f64; 3],
    /// Action dimensions holding the x, y, z position delta.
    pub delta_dims: [usize; 3],
    /// Metres per unit of delta action (the controller's output scale).
    pub metres_per_unit: f64,
}

/// Safety limits; validated by [`SafetyLayer::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// Per-dimension lower bound of a command.
    pub lower: Vec<f32>,
    /// Per-dimension upper bound of a command.
    pub upper: Vec<f32>,
    /// Per-dimension largest change from one command to the next.
    pub max_step: Vec<f32>,
    /// Command sent while holding (dims not in `hold_keep_last_dims`).
    pub hold_value: Vec<f32>,
    /// Dimensions that keep their last command while holding (e.g. the gripper, or every
    /// joint under position control).
    pub hold_keep_last_dims: Vec<usize>,
    /// Hold when the newest observation is older than this (ms).
    pub max_observation_age_ms: f64,
    /// End-effector workspace box, for delta end-effector control.
    pub workspace: Option<Workspace>,
}

/// Why a command is the hold command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// The e-stop is latched.
    Estop,
    /// The newest observation is too old (or there is none).
    StaleObservation,
    /// No action covers this tick (the policy is late or stalled).
    NoAction,
    /// The policy failed (crashed, timed out, returned garbage).
    PolicyError,
    /// The proposed action had NaN or infinite values.
    NonFinite,
}

/// What the scheduler proposes for this tick.
#[derive(Debug, Clone, Copy)]
pub enum Proposal<'a> {
    /// An action of `dim` values.
    Action(&'a [f32]),
    /// Nothing covers this tick.
    Nothing,
    /// The policy reported an error.
    PolicyError,
}

/// The state the layer checks against.
#[derive(Debug, Clone, Copy, Default)]
pub struct TickContext {
    /// Now.
    pub now: MonoNs,
    /// Receive time of the newest observation, if any.
    pub newest_observation: Option<MonoNs>,
    /// Current end-effector position (base frame, m), when known.
    pub ee_position_m: Option<[f64; 3]>,
}

/// Interventions counted since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SafetyCounts {
    /// Ticks held because of the e-stop.
    pub estop: u64,
    /// Ticks held for a stale observation.
    pub stale_observation: u64,
    /// Ticks held for want of an action.
    pub no_action: u64,
    /// Ticks held after a policy error.
    pub policy_error: u64,
    /// Actions rejected for NaN/inf values.
    pub non_finite: u64,
    /// Actions with at least one value clamped to the bounds.
    pub clamped: u64,
    /// Actions with at least one value limited by the maximum step.
    pub rate_limited: u64,
    /// Actions whose position delta was shortened to stay in the workspace.
    pub workspace: u64,
}

/// A bad safety configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("safety config: {0}")]
pub struct SafetyConfigError(String);

/// The safety layer.
#[derive(Debug, Clone)]
pub struct SafetyLayer {
    config: SafetyConfig,
    last: Vec<f32>,
    estop: bool,
    holding: Option<HoldReason>,
    counts: SafetyCounts,
}

impl SafetyLayer {
    /// Check the config (lengths agree, bounds ordered and finite, steps positive, hold
    /// inside bounds) and start from `initial` (clamped into bounds), e.g. the hold command.
    pub fn new(config: SafetyConfig, initial: &[f32]) -> Result<Self, SafetyConfigError> {
        let dim = config.lower.len();
        let bad = |what: String| Err(SafetyConfigError(what));
        for (name, len) in [
            ("upper", config.upper.len()),
            ("max_step", config.max_step.len()),
            ("hold_value", config.hold_value.len()),
            ("initial command", initial.len()),
        ] {
            if len != dim {
                return bad(format!("{name} has {len} values, lower has {dim}"));
            }
        }
        for i in 0..dim {
            let (lo, hi) = (config.lower[i], config.upper[i]);
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return bad(format!(
                    "dim {i}: bounds [{lo}, {hi}] are not finite and ordered"
                ));
            }
            if !(config.max_step[i].is_finite() && config.max_step[i] > 0.0) {
                return bad(format!(
                    "dim {i}: max_step {} must be > 0",
                    config.max_step[i]
                ));
            }
            if !(lo..=hi).contains(&config.hold_value[i]) {
                return bad(format!(
                    "dim {i}: hold value {} outside the bounds",
                    config.hold_value[i]
                ));
            }
        }
        if let Some(&d) = config.hold_keep_last_dims.iter().find(|&&d| d >= dim) {
            return bad(format!("hold_keep_last_dims has {d}, action dim is {dim}"));
        }
        if !(config.max_observation_age_ms.is_finite() && config.max_observation_age_ms > 0.0) {
            return bad("max_observation_age_ms must be > 0".into());
        }
        if let Some(w) = &config.workspace {
            let ordered = (0..3).all(|i| w.min_m[i].is_finite() && w.min_m[i] <= w.max_m[i]);
            let scale_ok = w.metres_per_unit.is_finite() && w.metres_per_unit > 0.0;
            if !ordered || w.delta_dims.iter().any(|&d| d >= dim) || !scale_ok {
                return bad("workspace box, delta dims or scale invalid".into());
            }
        }
        let last = initial
            .iter()
            .zip(config.lower.iter().zip(&config.upper))
            .map(|(v, (lo, hi))| {
                if v.is_finite() {
                    v.clamp(*lo, *hi)
                } else {
                    *lo
                }
            })
            .collect();
        Ok(Self {
            config,
            last,
            estop: false,
            holding: None,
            counts: SafetyCounts::default(),
        })
    }

    /// Latch the e-stop (held until [`SafetyLayer::clear_estop`]).
    pub fn estop(&mut self) {
        if !self.estop {
            tracing::error!("e-stop: holding until cleared");
        }
        self.estop = true;
    }

    /// Clear the e-stop.
    pub fn clear_estop(&mut self) {
        if self.estop {
            tracing::warn!("e-stop cleared");
        }
        self.estop = false;
    }

    /// Whether the e-stop is latched.
    pub fn estopped(&self) -> bool {
        self.estop
    }

    /// Interventions so far.
    pub fn counts(&self) -> SafetyCounts {
        self.counts
    }

    /// The last command emitted.
    pub fn last_command(&self) -> &[f32] {
        &self.last
    }

    /// Turn the proposal into the command written to `out` (length `dim`). Returns the hold
    /// reason when the command is the hold command.
    pub fn filter(
        &mut self,
        proposal: Proposal<'_>,
        ctx: &TickContext,
        out: &mut [f32],
    ) -> Option<HoldReason> {
        let reason = self.hold_reason(proposal, ctx);
        match (reason, proposal) {
            (None, Proposal::Action(action)) => self.limit(action, ctx, out),
            (Some(reason), _) => self.hold(reason, out),
            (None, _) => self.hold(HoldReason::NoAction, out),
        }
        self.last.copy_from_slice(out);
        reason
    }

    fn hold_reason(&self, proposal: Proposal<'_>, ctx: &TickContext) -> Option<HoldReason> {
        let max_age_ns = (self.config.max_observation_age_ms * 1e6) as u64;
        if self.estop {
            Some(HoldReason::Estop)
        } else if ctx
            .newest_observation
            .is_none_or(|t| ctx.now.0.saturating_sub(t.0) > max_age_ns)
        {
            Some(HoldReason::StaleObservation)
        } else {
            match proposal {
                Proposal::Nothing => Some(HoldReason::NoAction),
                Proposal::PolicyError => Some(HoldReason::PolicyError),
                Proposal::Action(a) if a.len() != self.last.len() => Some(HoldReason::PolicyError),
                Proposal::Action(a) if a.iter().any(|v| !v.is_finite()) => {
                    Some(HoldReason::NonFinite)
                }
                Proposal::Action(_) => None,
            }
        }
    }

    fn hold(&mut self, reason: HoldReason, out: &mut [f32]) {
        let c = &mut self.counts;
        *match reason {
            HoldReason::Estop => &mut c.estop,
            HoldReason::StaleObservation => &mut c.stale_observation,
            HoldReason::NoAction => &mut c.no_action,
            HoldReason::PolicyError => &mut c.policy_error,
            HoldReason::NonFinite => &mut c.non_finite,
        } += 1;
        if self.holding != Some(reason) {
            tracing::warn!(?reason, "safety: holding");
        }
        self.holding = Some(reason);
        out.copy_from_slice(&self.config.hold_value);
        for &d in &self.config.hold_keep_last_dims {
            out[d] = self.last[d];
        }
    }

    fn limit(&mut self, action: &[f32], ctx: &TickContext, out: &mut [f32]) {
        if self.holding.take().is_some() {
            tracing::info!("safety: resuming policy actions");
        }
        let cfg = &self.config;
        let (mut clamped, mut rate_limited) = (false, false);
        for i in 0..out.len() {
            let bounded = action[i].clamp(cfg.lower[i], cfg.upper[i]);
            clamped |= bounded.to_bits() != action[i].to_bits();
            let step = cfg.max_step[i];
            let limited = bounded.clamp(self.last[i] - step, self.last[i] + step);
            rate_limited |= limited.to_bits() != bounded.to_bits();
            // Both limits at once: stay inside the bounds even if `last` sat outside them.
            out[i] = limited.clamp(cfg.lower[i], cfg.upper[i]);
        }
        self.counts.clamped += u64::from(clamped);
        self.counts.rate_limited += u64::from(rate_limited);
        if let (Some(w), Some(ee)) = (&cfg.workspace, ctx.ee_position_m)
            && keep_in_workspace(w, ee, out)
        {
            self.counts.workspace += 1;
            for &d in &w.delta_dims {
                out[d] = out[d].clamp(cfg.lower[d], cfg.upper[d]);
            }
        }
    }
}

/// Shorten the position delta in `out` so `ee + delta` stays inside the box (per axis,
/// towards zero; a target already outside may only move back in). Returns whether it changed.
#[allow(clippy::needless_range_loop)] // three parallel per-axis arrays
fn keep_in_workspace(w: &Workspace, ee_m: [f64; 3], out: &mut [f32]) -> bool {
    let mut changed = false;
    for axis in 0..3 {
        let d = w.delta_dims[axis];
        let delta_m = f64::from(out[d]) * w.metres_per_unit;
        let target = ee_m[axis] + delta_m;
        let fixed_m = if target > w.max_m[axis] && delta_m > 0.0 {
            (w.max_m[axis] - ee_m[axis]).max(0.0)
        } else if target < w.min_m[axis] && delta_m < 0.0 {
            (w.min_m[axis] - ee_m[axis]).min(0.0)
        } else {
            continue;
        };
        out[d] = (fixed_m / w.metres_per_unit) as f32;
        changed = true;
    }
    changed
}

#[cfg(test)]
#[path = "safety_tests.rs"]
mod tests;

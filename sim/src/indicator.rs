//! State indicators: visual-only geoms shown in camera images while a joint is at or past a
//! value, e.g. a stove's burner glowing while its knob is on (LIBERO's `FlatStove` likewise
//! shows a flame site when turned on). The indicator geoms sit in a geom group that MuJoCo
//! hides by default (3, 4 or 5; the tasks crate uses [`STOVE_GLOW_GEOM_GROUP`]), so the
//! scene looks exactly as without them while every indicator is off; the physics never sees
//! them (they are massless and collide with nothing, as their MJCF must declare).

use mujoco_rs::prelude::*;

use crate::error::{Result, SimError};

/// The geom group of the flat stove's burner glow (`sim/objects/flat_stove.xml`).
pub const STOVE_GLOW_GEOM_GROUP: usize = 5;

/// Geom groups that MuJoCo's default visual options hide (3 holds the Panda's collision
/// meshes, so indicators use 4 or 5 in our scenes).
const HIDDEN_GEOM_GROUPS: std::ops::RangeInclusive<usize> = 3..=5;

/// Show the geoms of `geom_group` while joint `joint`'s position is `>= shown_from`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateIndicator {
    /// A hinge or slide joint of the scene, e.g. `flat_stove_1_knob_joint`.
    pub joint: String,
    /// Joint position (rad or m) from which the indicator shows.
    pub shown_from: f64,
    /// The hidden geom group holding the indicator's geoms. Indicators that share a group
    /// show together (any of them on shows the group).
    pub geom_group: usize,
}

/// Indicators resolved against a model: where each joint's position lives in `qpos`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResolvedIndicators {
    /// `(qpos address, shown_from, geom group)`.
    entries: Vec<(usize, f64, usize)>,
}

impl ResolvedIndicators {
    /// Check `indicators` against `model`: the joint exists and is a hinge or slide, the
    /// threshold is finite, and the group is hidden by default and holds at least one geom.
    pub(crate) fn new(model: &MjModel, indicators: &[StateIndicator]) -> Result<Self> {
        let entries = indicators
            .iter()
            .map(|ind| {
                let fail = |reason: String| SimError::Config {
                    field: "indicators",
                    reason: format!("indicator of joint {}: {reason}", ind.joint),
                };
                let joint = model
                    .name_to_id(MjtObjBase::mjOBJ_JOINT, &ind.joint)
                    .ok_or_else(|| fail("no such joint in the scene".into()))?;
                let kind = model.jnt_type()[joint];
                if !matches!(kind, MjtJoint::mjJNT_HINGE | MjtJoint::mjJNT_SLIDE) {
                    return Err(fail(format!("a {kind:?} joint; needs a hinge or slide")));
                }
                if !ind.shown_from.is_finite() {
                    return Err(fail(format!("shown_from {} is not finite", ind.shown_from)));
                }
                if !HIDDEN_GEOM_GROUPS.contains(&ind.geom_group) {
                    return Err(fail(format!(
                        "geom group {} is visible by default; use one of {HIDDEN_GEOM_GROUPS:?}",
                        ind.geom_group
                    )));
                }
                let in_group = model
                    .geom_group()
                    .iter()
                    .any(|&g| usize::try_from(g).ok() == Some(ind.geom_group));
                if !in_group {
                    return Err(fail(format!("no geom in group {}", ind.geom_group)));
                }
                Ok((
                    model.jnt_qposadr()[joint] as usize,
                    ind.shown_from,
                    ind.geom_group,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { entries })
    }

    /// Set `geomgroup` (MuJoCo's per-group visibility flags) for the joint positions `qpos`:
    /// each indicator group is shown when any of its indicators is on, hidden otherwise.
    pub(crate) fn apply(&self, qpos: &[f64], geomgroup: &mut [u8; 6]) {
        for &(_, _, group) in &self.entries {
            geomgroup[group] = 0;
        }
        for &(adr, shown_from, group) in &self.entries {
            if qpos.get(adr).is_some_and(|&q| q >= shown_from) {
                geomgroup[group] = 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<mujoco><worldbody>
        <body><joint name="knob" type="hinge"/><geom size="0.01" mass="0.1"/></body>
        <body><joint name="free" type="free"/><geom size="0.01" mass="0.1"/></body>
        <geom name="glow" size="0.02" group="5" contype="0" conaffinity="0"/>
      </worldbody></mujoco>"#;

    fn indicator(joint: &str, group: usize) -> StateIndicator {
        StateIndicator {
            joint: joint.into(),
            shown_from: 0.5,
            geom_group: group,
        }
    }

    #[test]
    fn the_group_shows_from_the_threshold_on() {
        let model = MjModel::from_xml_string(XML).unwrap();
        let r = ResolvedIndicators::new(&model, &[indicator("knob", 5)]).unwrap();
        let mut groups = [1, 1, 1, 0, 0, 1];
        r.apply(&[0.499], &mut groups);
        assert_eq!(groups, [1, 1, 1, 0, 0, 0]);
        r.apply(&[0.5], &mut groups);
        assert_eq!(groups, [1, 1, 1, 0, 0, 1]);
    }

    #[test]
    fn bad_indicators_are_named() {
        let model = MjModel::from_xml_string(XML).unwrap();
        let err = |ind| {
            ResolvedIndicators::new(&model, &[ind])
                .unwrap_err()
                .to_string()
        };
        assert!(err(indicator("nope", 5)).contains("no such joint"));
        assert!(err(indicator("free", 5)).contains("hinge or slide"));
        assert!(err(indicator("knob", 2)).contains("visible by default"));
        assert!(err(indicator("knob", 4)).contains("no geom in group 4"));
        let mut nan = indicator("knob", 5);
        nan.shown_from = f64::NAN;
        assert!(err(nan).contains("not finite"));
    }
}

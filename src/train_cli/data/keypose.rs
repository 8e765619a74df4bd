//! The keypose loss's targets (`[train.keypose]`, `ddvla_policy::train::keypose`): for each
//! step of a demonstration, the end-effector position at each of the next gripper events —
//! the steps where the gripper command changes between open and closed (the executed one, in
//! an expert-labelled episode) — standardised per axis over the training split.
//!
//! An event is the first step of a new gripper state, strictly after the sample's step; past
//! the episode's last event the target is its last step's position (where it ends).
//!
//! With `target = "objects"` the targets are instead the positions of the recording's first
//! `objects` movable objects at each step (`/ddvla/objects`, the goal's objects first),
//! standardised the same way (per axis, all objects pooled).

use anyhow::{Result, bail, ensure};
use ddvla_policy::train::{KeyposeConfig, KeyposeTarget};
use serde::{Deserialize, Serialize};

use super::Dataset;

/// Whether a gripper command (an action, the gripper its last value) closes the gripper.
pub fn closes(action: &[f32]) -> bool {
    action.last().is_some_and(|&g| g > 0.0)
}

/// The first steps of each new gripper state after step 0 (`closes` differs from the step
/// before).
pub fn gripper_events(commands: &[Vec<f32>]) -> Vec<usize> {
    (1..commands.len())
        .filter(|&t| closes(&commands[t]) != closes(&commands[t - 1]))
        .collect()
}

/// Per step, the raw (world-frame, metres) end-effector positions at the next `events`
/// gripper events, `events × 3` values; `ee` holds each step's position (the proprio's first
/// three values).
pub fn raw_targets(ee: &[[f32; 3]], events_at: &[usize], events: usize) -> Vec<Vec<f32>> {
    let last = ee.len().saturating_sub(1);
    (0..ee.len())
        .map(|t| {
            // `events_at` is ascending: the events strictly after `t` start here.
            let next = events_at.partition_point(|&e| e <= t);
            (0..events)
                .flat_map(|k| ee[events_at.get(next + k).copied().unwrap_or(last)])
                .collect()
        })
        .collect()
}

/// Per-axis mean and standard deviation of keypose targets (x, y, z of every event pooled),
/// to standardise them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KeyposeScale {
    /// Mean position (m, world).
    pub mean_m: [f32; 3],
    /// Standard deviation per axis (m); at least 1 mm.
    pub std_m: [f32; 3],
}

impl KeyposeScale {
    /// The scale that leaves positions as they are (metres, world).
    pub const RAW: Self = Self {
        mean_m: [0.0; 3],
        std_m: [1.0; 3],
    };

    /// The scale of `targets` (rows of `events × 3` values); an error when there are none or
    /// one is not finite.
    pub fn of(targets: &[&[f32]]) -> Result<Self> {
        let mut sum = [0.0f64; 3];
        let mut sq = [0.0f64; 3];
        let mut n = 0usize;
        for row in targets {
            for p in row.chunks_exact(3) {
                ensure!(
                    p.iter().all(|v| v.is_finite()),
                    "a keypose target {p:?} is not finite (the demonstrations' proprio)"
                );
                for a in 0..3 {
                    sum[a] += f64::from(p[a]);
                    sq[a] += f64::from(p[a]).powi(2);
                }
                n += 1;
            }
        }
        ensure!(n > 0, "no keypose targets in the training split");
        let n = n as f64;
        let mean = sum.map(|s| s / n);
        let std = [0, 1, 2].map(|a| (sq[a] / n - mean[a].powi(2)).max(0.0).sqrt().max(1e-3));
        Ok(Self {
            mean_m: mean.map(|m| m as f32),
            std_m: std.map(|s| s as f32),
        })
    }

    /// `raw` (rows of x, y, z in metres) standardised.
    pub fn standardise(&self, raw: &[f32]) -> Vec<f32> {
        raw.chunks_exact(3)
            .flat_map(|p| (0..3).map(move |a| (p[a] - self.mean_m[a]) / self.std_m[a]))
            .collect()
    }
}

impl Dataset {
    /// Give every sample the keypose loss's targets (`k.target`): the end-effector positions
    /// (the proprio's first three values) at the next `k.events` gripper events
    /// ([`gripper_events`], [`raw_targets`]), or the first `k.objects` recorded objects'
    /// positions ([`object_targets`]); standardised by `scale` or, when `None`, by the
    /// training split's. Returns the scale used. An error when a proprio has fewer than three
    /// values, or an episode has no (or too few) recorded objects.
    pub fn set_keyposes(
        &mut self,
        k: &KeyposeConfig,
        scale: Option<KeyposeScale>,
    ) -> Result<KeyposeScale> {
        let raw = match k.target {
            KeyposeTarget::GripperEvents => self.event_targets(k.events)?,
            KeyposeTarget::Objects => self
                .episodes
                .iter()
                .map(|ep| object_targets(&ep.objects, k.objects, &ep.file))
                .collect::<Result<Vec<_>>>()?,
            KeyposeTarget::ObjectsFromPinch => self
                .episodes
                .iter()
                .map(|ep| {
                    let rows = object_targets(&ep.objects, k.objects, &ep.file)?;
                    from_pinch(rows, &ep.proprio, &ep.file)
                })
                .collect::<Result<Vec<_>>>()?,
        };
        let scale = if let Some(s) = scale {
            s
        } else {
            let train_episodes: std::collections::BTreeSet<usize> =
                self.train.iter().map(|&(e, _)| e).collect();
            let rows: Vec<&[f32]> = train_episodes
                .iter()
                .flat_map(|&e| raw[e].iter().map(Vec::as_slice))
                .collect();
            KeyposeScale::of(&rows)?
        };
        self.keyposes = raw
            .iter()
            .map(|steps| steps.iter().map(|r| scale.standardise(r)).collect())
            .collect();
        Ok(scale)
    }

    /// Per episode, per step, the raw gripper-event targets.
    fn event_targets(&self, events: usize) -> Result<Vec<Vec<Vec<f32>>>> {
        let mut raw = Vec::with_capacity(self.episodes.len());
        for ep in &self.episodes {
            let ee = ep
                .proprio
                .iter()
                .map(|p| match p.as_slice() {
                    [x, y, z, ..] => Ok([*x, *y, *z]),
                    _ => bail!(
                        "{}: a proprio of {} values has no end-effector position for the \
                         keypose targets",
                        ep.file,
                        p.len()
                    ),
                })
                .collect::<Result<Vec<_>>>()?;
            let commands = if ep.executed.is_empty() {
                &ep.actions
            } else {
                &ep.executed
            };
            raw.push(raw_targets(&ee, &gripper_events(commands), events));
        }
        Ok(raw)
    }
}

/// Each step's object positions (`rows`, x, y, z per object) made relative to that step's
/// end effector (the proprio's first three values); an error naming `file` when a proprio
/// has no position or the counts differ.
pub fn from_pinch(rows: Vec<Vec<f32>>, proprio: &[Vec<f32>], file: &str) -> Result<Vec<Vec<f32>>> {
    ensure!(
        rows.len() == proprio.len(),
        "{file}: {} object rows for {} proprio vectors",
        rows.len(),
        proprio.len()
    );
    rows.into_iter()
        .zip(proprio)
        .enumerate()
        .map(|(t, (mut row, p))| {
            let Some(ee) = p.get(..3) else {
                bail!(
                    "{file}: step {t}: a proprio of {} values has no position",
                    p.len()
                );
            };
            for (i, v) in row.iter_mut().enumerate() {
                *v -= ee[i % 3];
            }
            Ok(row)
        })
        .collect()
}

/// Per step, the first `count` objects' positions of an episode's recorded `objects` (rows of
/// x, y, z per object); an error naming `file` when it has none or fewer.
pub fn object_targets(objects: &[Vec<f32>], count: usize, file: &str) -> Result<Vec<Vec<f32>>> {
    ensure!(
        !objects.is_empty(),
        "{file}: no object positions recorded (a recording made before /ddvla/objects): \
         [train.keypose] target = \"objects\" needs demonstrations recorded again"
    );
    objects
        .iter()
        .enumerate()
        .map(|(t, row)| {
            ensure!(
                row.len() >= 3 * count,
                "{file}: step {t} records {} objects, [train.keypose] objects = {count}",
                row.len() / 3
            );
            Ok(row[..3 * count].to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(g: f32) -> Vec<f32> {
        vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, g]
    }

    #[test]
    fn events_are_the_gripper_switches() {
        let c: Vec<Vec<f32>> = [-1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0]
            .iter()
            .map(|&g| cmd(g))
            .collect();
        assert_eq!(gripper_events(&c), [2, 5]);
        assert!(gripper_events(&[cmd(-1.0)]).is_empty());
        assert!(gripper_events(&[]).is_empty());
    }

    #[test]
    fn targets_look_ahead_and_end_at_the_last_step() {
        let ee: Vec<[f32; 3]> = (0..7).map(|t| [t as f32, 0.0, 1.0]).collect();
        let t = raw_targets(&ee, &[2, 5], 2);
        assert_eq!(t.len(), 7);
        assert_eq!(t[0], [2.0, 0.0, 1.0, 5.0, 0.0, 1.0]);
        // At an event's own step the next one is ahead.
        assert_eq!(t[2], [5.0, 0.0, 1.0, 6.0, 0.0, 1.0]);
        assert_eq!(t[6], [6.0, 0.0, 1.0, 6.0, 0.0, 1.0]);
    }

    #[test]
    fn object_targets_take_the_first_objects_or_say_why_not() {
        let rec = vec![
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            vec![7.0, 8.0, 9.0, 0.0, 0.0, 0.0],
        ];
        let t = object_targets(&rec, 1, "ep").unwrap();
        assert_eq!(t, [vec![1.0, 2.0, 3.0], vec![7.0, 8.0, 9.0]]);
        assert_eq!(object_targets(&rec, 2, "ep").unwrap(), rec);
        let err = format!("{:#}", object_targets(&rec, 3, "ep").unwrap_err());
        assert!(err.contains("ep: step 0 records 2 objects"), "{err}");
        let err = format!("{:#}", object_targets(&[], 1, "old.mcap").unwrap_err());
        assert!(err.contains("old.mcap: no object positions"), "{err}");
    }

    #[test]
    fn scale_standardises() {
        let rows: Vec<Vec<f32>> = vec![vec![0.0, 1.0, 5.0], vec![2.0, 1.0, 5.0]];
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let s = KeyposeScale::of(&refs).unwrap();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(close(&s.mean_m, &[1.0, 1.0, 5.0]), "{:?}", s.mean_m);
        assert!(close(&s.std_m, &[1.0, 1e-3, 1e-3]), "{:?}", s.std_m);
        assert!(close(&s.standardise(&[2.0, 1.0, 5.0]), &[1.0, 0.0, 0.0]));
        assert!(KeyposeScale::of(&[]).is_err());
        assert!(KeyposeScale::of(&[&[f32::NAN, 0.0, 0.0]]).is_err());
    }
}

//! `ddvla eval open-loop --frames CSV`: one row per scored frame, so the frames where the
//! decoded chunk leaves the expert's can be found (a phase change, a grasp, a recovery from a
//! push) and opened in the episode (`scripts/episode_path.py`), instead of one average.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// A CSV of per-frame open-loop scores.
pub struct FrameLog {
    out: std::io::BufWriter<std::fs::File>,
    path: String,
    dim: usize,
    chunk: usize,
}

/// One frame's scores, from the decoded and the expert's chunk (row-major, `chunk × dim`).
#[derive(Debug, Clone, PartialEq)]
pub struct FrameScore {
    /// Mean |predicted − expert| over the chunk's actions and every dimension but the last
    /// (the gripper), in action units.
    pub mae_motion: f64,
    /// The same over the chunk's first action only.
    pub mae_motion_first: f64,
    /// Fraction of the chunk's actions whose gripper command has the expert's sign.
    pub gripper_agreement: f64,
}

/// Score one frame (`dim` ≥ 2: motion dimensions then the gripper).
pub fn frame_score(pred: &[f32], truth: &[f32], dim: usize, chunk: usize) -> FrameScore {
    let motion = dim.saturating_sub(1).max(1);
    let (mut sum, mut first, mut agree) = (0.0, 0.0, 0usize);
    for k in 0..chunk {
        for d in 0..motion {
            let i = k * dim + d;
            let err = (f64::from(pred[i]) - f64::from(truth[i])).abs();
            sum += err;
            if k == 0 {
                first += err;
            }
        }
        let g = k * dim + dim - 1;
        agree += usize::from((pred[g] >= 0.0) == (truth[g] >= 0.0));
    }
    FrameScore {
        mae_motion: sum / (motion * chunk).max(1) as f64,
        mae_motion_first: first / motion as f64,
        gripper_agreement: agree as f64 / chunk.max(1) as f64,
    }
}

impl FrameLog {
    /// Create `path` with its header for `dim`-D actions in chunks of `chunk`.
    pub fn create(path: &Path, dim: usize, chunk: usize) -> Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("creating the frame log {}", path.display()))?;
        let mut log = Self {
            out: std::io::BufWriter::new(file),
            path: path.display().to_string(),
            dim,
            chunk,
        };
        let pred: Vec<String> = (0..dim).map(|d| format!("pred_{d}")).collect();
        let expert: Vec<String> = (0..dim).map(|d| format!("expert_{d}")).collect();
        log.line(&format!(
            "episode,step,mae_motion,mae_motion_first,gripper_agreement,{},{}",
            pred.join(","),
            expert.join(",")
        ))?;
        Ok(log)
    }

    /// Append the frame at `step` of `episode` (its first actions as the last columns).
    pub fn add(&mut self, episode: &str, step: usize, pred: &[f32], truth: &[f32]) -> Result<()> {
        let s = frame_score(pred, truth, self.dim, self.chunk);
        let first = |a: &[f32]| -> String {
            a[..self.dim]
                .iter()
                .map(|v| format!("{v:.4}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        // A comma or quote in a path would break the row: quote the field.
        let episode = format!("\"{}\"", episode.replace('"', "\"\""));
        self.line(&format!(
            "{episode},{step},{:.4},{:.4},{:.3},{},{}",
            s.mae_motion,
            s.mae_motion_first,
            s.gripper_agreement,
            first(pred),
            first(truth)
        ))
    }

    /// Flush to disk.
    pub fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .with_context(|| format!("writing the frame log {}", self.path))
    }

    fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}").with_context(|| format!("writing the frame log {}", self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_scores_its_motion_and_gripper_apart() {
        // Two actions of (x, y, gripper): off by 0.2 in x on the first, the gripper flipped on
        // the second.
        let truth = [0.1_f32, -0.2, 1.0, 0.3, 0.0, 1.0];
        let pred = [0.3_f32, -0.2, 1.0, 0.3, 0.0, -1.0];
        let s = frame_score(&pred, &truth, 3, 2);
        assert!((s.mae_motion - 0.05).abs() < 1e-6, "{s:?}");
        assert!((s.mae_motion_first - 0.1).abs() < 1e-6, "{s:?}");
        assert!((s.gripper_agreement - 0.5).abs() < 1e-12);
        assert_eq!(
            frame_score(&truth, &truth, 3, 2),
            FrameScore {
                mae_motion: 0.0,
                mae_motion_first: 0.0,
                gripper_agreement: 1.0
            }
        );
    }

    #[test]
    fn the_log_has_a_header_and_one_row_per_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames.csv");
        let mut log = FrameLog::create(&path, 3, 2).unwrap();
        log.add(
            "demos/a,b.mcap",
            7,
            &[0.3, -0.2, 1.0, 0.3, 0.0, -1.0],
            &[0.1, -0.2, 1.0, 0.3, 0.0, 1.0],
        )
        .unwrap();
        log.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "episode,step,mae_motion,mae_motion_first,gripper_agreement,pred_0,pred_1,pred_2,\
             expert_0,expert_1,expert_2"
        );
        assert_eq!(
            lines[1],
            "\"demos/a,b.mcap\",7,0.0500,0.1000,0.500,0.3000,-0.2000,1.0000,0.1000,-0.2000,1.0000"
        );
        assert_eq!(lines.len(), 2);
    }
}

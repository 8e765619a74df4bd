//! `ddvla bench sim`: physics, control and rendering rates on the tabletop Panda scene.

use std::time::Instant;

use anyhow::{Context, Result};
use ddvla_sim::{Env, EnvConfig};
use serde::Serialize;

/// Results.
#[derive(Debug, Clone, Serialize)]
pub struct SimBenchReport {
    /// Scene name.
    pub scene: String,
    /// Raw `mj_step` per second replaying the control run's recorded controls (same
    /// trajectory, no controller, no rendering).
    pub physics_steps_per_s: f64,
    /// `Env::step` per second without cameras (25 substeps + OSC each).
    pub control_steps_per_s: f64,
    /// Physics substeps per control step.
    pub substeps: usize,
    /// `control_steps_per_s × substeps / physics_steps_per_s` (target ≥ 0.9).
    pub control_over_physics: f64,
    /// Frames per second per configuration: (cameras, size, fps).
    pub render: Vec<RenderRate>,
    /// `release` or `debug`.
    pub build_profile: &'static str,
}

/// One render measurement.
#[derive(Debug, Clone, Serialize)]
pub struct RenderRate {
    /// Cameras rendered per observation.
    pub cameras: usize,
    /// Image side (px).
    pub size: u32,
    /// Frames per second (all cameras of one observation count as that many frames).
    pub frames_per_s: f64,
}

/// Run the benchmark on `scene_name`.
pub fn run_sim_bench(
    scene_name: &str,
    control_steps: usize,
    frames: usize,
    ctrl_log_out: Option<&std::path::Path>,
) -> Result<SimBenchReport> {
    let mut env = Env::new(EnvConfig {
        scene: scene_name.to_owned(),
        cameras: vec![],
        ..EnvConfig::default()
    })?;
    // Five interleaved rounds of (controlled run, raw replay of its controls); the best of
    // each side is kept, which is robust to the noisy neighbours of a shared VM.
    let mut best_control_s = f64::INFINITY;
    let mut best_raw_s = f64::INFINITY;
    let mut recorded = None;
    for _ in 0..5 {
        env.reset(0)?;
        let (qpos0, qvel0) = env.qpos_qvel();
        env.start_ctrl_log();
        let t = Instant::now();
        for i in 0..control_steps {
            let s = (i as f32 * 0.1).sin() * 0.3;
            let g = if i % 40 < 20 { 1.0 } else { -1.0 };
            env.step(&[s, -s, 0.0, 0.0, 0.0, 0.0, g])?;
        }
        best_control_s = best_control_s.min(t.elapsed().as_secs_f64());
        let log = env.take_ctrl_log();
        // Raw mj_step over the very same trajectory (same seed, same recorded controls).
        best_raw_s = best_raw_s.min(env.replay_raw(0, &log)?.as_secs_f64());
        recorded = Some((qpos0, qvel0, log));
    }
    let (qpos0, qvel0, log) = recorded.context("no round ran")?;
    let control_steps_per_s = control_steps as f64 / best_control_s;
    let physics_steps_per_s = log.len() as f64 / best_raw_s;
    if let Some(path) = ctrl_log_out {
        let doc =
            serde_json::json!({"scene": scene_name, "qpos0": qpos0, "qvel0": qvel0, "ctrl": log});
        std::fs::write(path, doc.to_string())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let substeps = env.substeps() as f64;
    let mut render = Vec::new();
    for size in [128_u32, 224] {
        for cams in [
            vec!["agentview".to_owned()],
            vec!["agentview".to_owned(), "handcam_rgb".to_owned()],
        ] {
            let n = cams.len();
            let mut env = Env::new(EnvConfig {
                scene: scene_name.to_owned(),
                cameras: cams,
                image_size: size,
                ..EnvConfig::default()
            })?;
            env.reset(0)?;
            let t = Instant::now();
            for _ in 0..frames {
                env.observe()?;
            }
            render.push(RenderRate {
                cameras: n,
                size,
                frames_per_s: (frames * n) as f64 / t.elapsed().as_secs_f64(),
            });
        }
    }
    Ok(SimBenchReport {
        scene: scene_name.to_owned(),
        physics_steps_per_s,
        control_steps_per_s,
        control_over_physics: control_steps_per_s * substeps / physics_steps_per_s,
        substeps: env.substeps(),
        render,
        build_profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    })
}

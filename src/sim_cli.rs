//! `ddvla sim render` and `ddvla sim run`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use ddvla_sim::{CameraFrame, Env, EnvConfig};

/// Write an RGB frame as PNG.
pub fn write_png(frame: &CameraFrame, path: &Path) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        frame.width as u32,
        frame.height as u32,
    );
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().context("writing PNG header")?;
    writer
        .write_image_data(&frame.rgb)
        .context("writing PNG data")?;
    writer.finish().context("finishing PNG")?;
    Ok(())
}

/// Render one frame of `camera` in `scene` after `reset(seed)`.
pub fn render(scene: &str, camera: &str, size: u32, seed: u64, out: &Path) -> Result<()> {
    let cfg = EnvConfig {
        scene: scene.to_owned(),
        cameras: vec![camera.to_owned()],
        image_size: size,
        ..EnvConfig::default()
    };
    let mut env = Env::new(cfg).context("building the simulation")?;
    let obs = env.reset(seed)?;
    let frame = obs.images.first().context("no frame rendered")?;
    write_png(frame, out)?;
    println!(
        "wrote {} ({}x{}, camera {camera}, scene {scene})",
        out.display(),
        frame.width,
        frame.height
    );
    Ok(())
}

/// Run a scripted motion (a slow circle with the gripper cycling) and report timing.
pub fn run(scene: &str, steps: usize, cameras: &[String], size: u32) -> Result<()> {
    let cfg = EnvConfig {
        scene: scene.to_owned(),
        cameras: cameras.to_vec(),
        image_size: size,
        ..EnvConfig::default()
    };
    let mut env = Env::new(cfg).context("building the simulation")?;
    env.reset(0)?;
    let t0 = Instant::now();
    let mut last = None;
    for i in 0..steps {
        let phase = i as f32 * 0.2;
        let grip = if (i / 20) % 2 == 0 { -1.0 } else { 1.0 };
        last = Some(env.step(&[
            0.3 * phase.cos(),
            0.3 * phase.sin(),
            0.0,
            0.0,
            0.0,
            0.0,
            grip,
        ])?);
    }
    let secs = t0.elapsed().as_secs_f64();
    let steps_per_s = steps as f64 / secs;
    println!(
        "{steps} control steps ({} physics substeps each, {} camera(s) at {size}px) in {secs:.2} s: \
         {steps_per_s:.1} control steps/s, {:.0} physics steps/s",
        env.substeps(),
        cameras.len(),
        steps_per_s * env.substeps() as f64
    );
    if let Some(obs) = last {
        let p = obs.proprio.ee_pos;
        println!(
            "final ee_pos = [{:.3}, {:.3}, {:.3}] m at t = {:.2} s",
            p[0], p[1], p[2], obs.time_s
        );
    }
    Ok(())
}

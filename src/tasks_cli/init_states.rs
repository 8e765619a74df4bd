//! `ddvla tasks init-states` and `ddvla tasks render`.

use std::path::Path;

use anyhow::{Context, Result};
use ddvla_sim::Env;
use ddvla_tasks::scene::{TaskScene, generate_init_states};
use ddvla_tasks::suite::{InitStates, Suite};

/// Generate and write the init states of `suite` (one task or all).
pub fn generate(
    dir: &Path,
    suite: &str,
    task: Option<&str>,
    count: Option<usize>,
    seed: u64,
) -> Result<()> {
    let s = Suite::load(dir, suite)?;
    let count = count.unwrap_or(s.file.protocol.init_states);
    let tasks: Vec<_> = match task {
        Some(t) => vec![s.task(t)?],
        None => s.tasks.iter().collect(),
    };
    for t in tasks {
        let start = std::time::Instant::now();
        let states = generate_init_states(&s, t, count, seed)
            .with_context(|| format!("sampling init states of {suite}/{}", t.name))?;
        states
            .write(&t.init_states_path)
            .with_context(|| format!("writing {}", t.init_states_path.display()))?;
        println!(
            "{:>2} {}: {count} states in {:.1} s -> {}",
            t.index,
            t.name,
            start.elapsed().as_secs_f64(),
            t.init_states_path.display()
        );
    }
    Ok(())
}

/// Render every contract camera of a task at init state `state` to `<out>_<camera>.png`.
pub fn render(
    dir: &Path,
    suite: &str,
    task: &str,
    state: usize,
    size: Option<u32>,
    out: &Path,
) -> Result<()> {
    let s = Suite::load(dir, suite)?;
    let t = s.task(task)?;
    let scene = TaskScene::compose(&s, t)?;
    let mut cfg = scene.env_config(&s)?;
    if let Some(size) = size {
        cfg.image_size = size;
    }
    cfg.image_convention = ddvla_sim::ImageConvention::TopDown;
    let mut env = Env::new(cfg)?;
    env.reset(0)?;
    let states = InitStates::read(&t.init_states_path)?;
    states.apply(&mut env, state, &t.init_states_path)?;
    let obs = env.hold(-1.0)?;
    for f in &obs.images {
        let path = format!("{}_{}.png", out.display(), f.camera);
        let w = u32::try_from(f.width)?;
        let h = u32::try_from(f.height)?;
        image::RgbImage::from_raw(w, h, f.rgb.clone())
            .context("frame size")?
            .save(&path)
            .with_context(|| format!("writing {path}"))?;
        println!("{path}");
    }
    Ok(())
}

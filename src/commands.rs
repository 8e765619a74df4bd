//! Command bodies of the `ddvla` binary that take plain arguments (kept out of main.rs).

use anyhow::{Context, Result};

/// `ddvla serve`'s command-line options besides the config file.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Stop after this many ticks.
    pub max_ticks: Option<u64>,
    /// `SCENE` or `SUITE/TASK` to close the loop on in-process.
    pub sim: Option<String>,
    /// Scene cameras feeding `topics.cameras`.
    pub sim_cameras: Vec<String>,
    /// Rendered image side in sim mode.
    pub sim_size: u32,
    /// The instruction the simulated robot sends (plain scenes).
    pub instruction: String,
    /// Overrides `rerun.rrd`.
    pub rrd: Option<std::path::PathBuf>,
    /// Overrides `rerun.connect`.
    pub connect: Option<String>,
}

/// See `ddvla --help`.
pub fn run_serve(config: &std::path::Path, options: &ServeOptions) -> Result<()> {
    let mut config = crate::serve::config::ServeConfig::load(config)?;
    if let Some(path) = &options.rrd {
        config.rerun.rrd = Some(path.clone());
    }
    if let Some(addr) = &options.connect {
        config.rerun.connect = Some(addr.clone());
    }
    if config.rerun.enabled() && !cfg!(feature = "rerun") {
        anyhow::bail!(
            "a live rerun view (--rrd / --connect, rerun.rrd / rerun.connect) needs a build \
             with the rerun feature: cargo build --release --features rerun"
        );
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_signal = std::sync::Arc::clone(&stop);
    ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("installing the Ctrl-C handler")?;
    match &options.sim {
        None => crate::serve::serve(&config, &stop, options.max_ticks),
        Some(scene) => crate::sim_serve::serve_sim(
            &config,
            scene,
            &options.sim_cameras,
            options.sim_size,
            &options.instruction,
            &stop,
            options.max_ticks,
        ),
    }
}

/// See `ddvla --help`.
pub fn run_policy_server(path: &std::path::Path) -> Result<()> {
    let config = crate::serve::config::PolicyServerConfig::load(path)?;
    let policy = crate::serve::load_policy(&config.policy)?;
    let transport = ddvla_bridge::transport::zenoh::ZenohTransport::open(&config.zenoh)
        .context("opening the zenoh session")?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_signal = std::sync::Arc::clone(&stop);
    ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("installing the Ctrl-C handler")?;
    crate::remote::serve_policy(
        transport.session(),
        &config.prefix,
        &policy,
        config.policy.decoder_for(&policy),
        config.policy.seed,
        &stop,
    )
}

/// See `ddvla --help`.
pub fn run_replay(
    recording: &std::path::Path,
    config: &std::path::Path,
    json: Option<&std::path::Path>,
    rerun: Option<crate::replay_cli::RerunTarget>,
) -> Result<()> {
    let config = crate::serve::config::ServeConfig::load(config)?;
    let r = crate::replay_cli::replay(recording, &config, rerun.as_ref())?;
    println!(
        "{} requests replayed, {} chunks compared: {}; max |diff| per dim {:?}",
        r.requests,
        r.chunks_compared,
        if r.exact { "identical" } else { "DIFFERENT" },
        r.max_abs_diff
    );
    if let Some(d) = &r.first_divergence {
        println!(
            "first divergence: chunk {} (tick {}), step {}, dim {}: recorded {} replayed {}",
            d.chunk, d.start_tick, d.step, d.dim, d.recorded, d.replayed
        );
    }
    write_json(json, &r)
}

/// See `ddvla --help`.
pub fn run_bench_bridge(
    frames: usize,
    rate_hz: f64,
    zenoh_config: Option<&std::path::Path>,
    json: Option<&std::path::Path>,
) -> Result<()> {
    let r = crate::bench::bridge::run_bridge_bench(frames.max(1), rate_hz, zenoh_config)?;
    for x in &r.zenoh {
        println!(
            "zenoh {}x{} rgb8 ({} B) at {} Hz: {}/{} received, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            x.width,
            x.height,
            x.payload_bytes,
            x.rate_hz,
            x.received,
            x.published,
            x.latency.p50_ms,
            x.latency.p99_ms,
            x.latency.max_ms
        );
    }
    println!(
        "mcap 224x224 rgb8: {:.0} msg/s, {:.0} MB/s ({} build)",
        r.mcap_224.messages_per_s, r.mcap_224.megabytes_per_s, r.build_profile
    );
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(&r)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// See `ddvla --help`.
pub fn write_json(path: Option<&std::path::Path>, value: &impl serde::Serialize) -> Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(value)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// See `ddvla bench sim --help`.
pub fn run_bench_sim(
    scene: &str,
    control_steps: usize,
    frames: usize,
    json: Option<&std::path::Path>,
    ctrl_log: Option<&std::path::Path>,
) -> Result<()> {
    let r = crate::bench::sim::run_sim_bench(scene, control_steps, frames, ctrl_log)?;
    println!(
        "{}: {:.0} physics steps/s, {:.1} control steps/s (x{} substeps = {:.2} of raw physics)",
        r.scene, r.physics_steps_per_s, r.control_steps_per_s, r.substeps, r.control_over_physics
    );
    for x in &r.render {
        println!(
            "render {} camera(s) at {}px: {:.1} frames/s",
            x.cameras, x.size, x.frames_per_s
        );
    }
    write_json(json, &r)
}

//! `ddvla serve --config FILE --sim SCENE|SUITE/TASK`: the serve loop closed on the MuJoCo
//! harness through the in-process transport (the same loop, topics and safety layer as on a
//! robot). With `SUITE/TASK` the robot side is the suite's task: its scene, an init state,
//! its instruction, camera frames and the proprio vector under the suite contract (serve
//! reads proprio from that topic unless `input.proprio` says otherwise), and a success event
//! when the goal first holds (recorded, and shown in the live rerun view).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow, bail};
use ddvla_bridge::transport::inproc::InProcessTransport;

use crate::serve::config::{ProprioSource, ServeConfig};
use crate::serve::serve_on;
use crate::sim_robot::{SimRobotConfig, run_sim_robot};

/// Run `config`'s loop against the simulated robot on `scene`.
pub fn serve_sim(
    config: &ServeConfig,
    scene: &str,
    sim_cameras: &[String],
    image_size: u32,
    instruction: &str,
    stop: &AtomicBool,
    max_ticks: Option<u64>,
) -> Result<()> {
    if sim_cameras.len() < config.topics.cameras.len() {
        bail!(
            "{} camera topics but only {} sim cameras (--sim-cameras)",
            config.topics.cameras.len(),
            sim_cameras.len()
        );
    }
    let task = if scene.contains('/') {
        Some(crate::sim_task::SimTask::load(scene, 0)?)
    } else {
        None
    };
    let instruction = task
        .as_ref()
        .map_or(instruction, |t| t.instruction.as_str());
    // A task's robot publishes the contract's proprio vector: use it unless told otherwise.
    let mut config = config.clone();
    if task.is_some() {
        config.input.proprio.get_or_insert(ProprioSource::Topic);
    } else if config.input.proprio == Some(ProprioSource::Topic) {
        bail!(
            "input.proprio = \"topic\" needs --sim SUITE/TASK (a plain scene publishes joint states only)"
        );
    }
    let topics = &config.topics;
    let transport = InProcessTransport::new();
    let robot = SimRobotConfig {
        scene: scene.to_owned(),
        cameras: topics
            .cameras
            .iter()
            .cloned()
            .zip(sim_cameras.iter().cloned())
            .collect(),
        image_size,
        seed: 0,
        rate_hz: config.control.rate_hz,
        joint_states: topics.joint_states.clone(),
        proprio: topics.proprio.clone(),
        task_events: topics.task_events.clone(),
        command: topics.command.clone(),
        instruction: Some((topics.instruction.clone(), instruction.to_owned())),
        task,
    };
    let sim_stop = Arc::new(AtomicBool::new(false));
    let sim_flag = Arc::clone(&sim_stop);
    let sim_transport = transport.clone();
    let sim = std::thread::Builder::new()
        .name("ddvla-sim-robot".into())
        .spawn(move || run_sim_robot(&sim_transport, &robot, &sim_flag, None))?;
    let served = serve_on(&config, &transport, None, stop, max_ticks);
    sim_stop.store(true, Ordering::Relaxed);
    let report = sim
        .join()
        .map_err(|_| anyhow!("the simulated robot panicked"))??;
    println!(
        "sim: {} steps, {} commands applied, {} rejected; end effector {:?} -> {:?} (m){}",
        report.steps,
        report.commands_applied,
        report.commands_rejected,
        report.ee_start_m,
        report.ee_end_m,
        report
            .success_step
            .map_or(String::new(), |s| format!("; goal reached at step {s}"))
    );
    served
}

//! `ddvla replay RUN.mcap --config launch/robot.toml`: feed the observations each recorded
//! inference used back through the policy (same checkpoint, decoder and seed, in the same
//! order) and compare the new chunks with the recorded ones: max and mean absolute
//! difference per action dimension and the first divergence. A run replayed with the same
//! checkpoint and seed reproduces its chunks exactly.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ddvla_bridge::decode;
use ddvla_bridge::msg::sensor::{Image, JointState};
use ddvla_bridge::msg::std::{Float32MultiArray, StringMsg};
use ddvla_bridge::record::{RecordedMessage, read_bag};
use ddvla_policy::decode as decoders;
use ddvla_policy::model::ConfigFile;
use ddvla_policy::observation::Observation;
use ddvla_policy::skill_prompt::SkillPromptConfig;
use serde::Serialize;
use serde_json::Value;

use crate::serve::config::{ProprioSource, ServeConfig};
use crate::serve::io::camera_image;
use crate::serve::load_policy;

/// Where replayed and recorded chunks first differ.
#[derive(Debug, Clone, Serialize)]
pub struct Divergence {
    /// Index among compared chunks.
    pub chunk: usize,
    /// Observation tick of that chunk.
    pub start_tick: u64,
    /// Action index in the chunk.
    pub step: usize,
    /// Action dimension.
    pub dim: usize,
    /// Recorded value.
    pub recorded: f32,
    /// Replayed value.
    pub replayed: f32,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// Inference requests replayed.
    pub requests: usize,
    /// Chunks compared (requests whose chunk was accepted in the run).
    pub chunks_compared: usize,
    /// Max |replayed − recorded| per action dimension.
    pub max_abs_diff: Vec<f32>,
    /// Mean |replayed − recorded| per action dimension.
    pub mean_abs_diff: Vec<f32>,
    /// The first differing value, if any.
    pub first_divergence: Option<Divergence>,
    /// Every compared value identical.
    pub exact: bool,
}

fn by_log_time<'a>(bag: &'a [RecordedMessage], topic: &str) -> HashMap<u64, &'a [u8]> {
    bag.iter()
        .filter(|m| m.topic == topic)
        .map(|m| (m.log_time_ns, m.data.as_slice()))
        .collect()
}

/// The recorded input messages by topic and log time.
struct Recorded<'a> {
    frames: Vec<HashMap<u64, &'a [u8]>>,
    joints: HashMap<u64, &'a [u8]>,
    proprio: HashMap<u64, &'a [u8]>,
}

/// The proprio vector a request used, from the source the run used (recorded in the
/// request event; recordings from before the proprio topic used joint states).
fn recorded_proprio(
    provenance: &Value,
    recorded: &Recorded<'_>,
    proprio_dim: usize,
) -> Result<Vec<f32>> {
    let source: ProprioSource = match provenance.get("proprio_source") {
        Some(v) if !v.is_null() => serde_json::from_value(v.clone())
            .with_context(|| format!("request event: unknown proprio_source {v}"))?,
        _ => ProprioSource::JointStates,
    };
    let stamp = provenance["proprio_ns"]
        .as_u64()
        .or_else(|| provenance["joints_ns"].as_u64());
    let Some(t) = stamp else {
        if source == ProprioSource::Topic {
            bail!("request event without proprio_ns (proprio from the proprio topic)");
        }
        return Ok(vec![0.0; proprio_dim]); // the run had no joint states yet: zeros
    };
    let mut proprio: Vec<f32> = match source {
        ProprioSource::JointStates => {
            let bytes = recorded
                .joints
                .get(&t)
                .with_context(|| format!("no recorded joint state at log time {t}"))?;
            let js: JointState = decode(bytes)?;
            js.position.iter().map(|v| *v as f32).collect()
        }
        ProprioSource::Topic => {
            let bytes = recorded
                .proprio
                .get(&t)
                .with_context(|| format!("no recorded proprio vector at log time {t}"))?;
            decode::<Float32MultiArray>(bytes)?.data
        }
    };
    if source == ProprioSource::Topic && proprio.len() != proprio_dim {
        bail!(
            "recorded proprio vector has {} values, the model takes {proprio_dim}",
            proprio.len()
        );
    }
    proprio.resize(proprio_dim, 0.0);
    Ok(proprio)
}

/// What the model's proprio vector holds: the robot's values (this many), and the episode
/// step after them when the model takes it.
#[derive(Debug, Clone, Copy)]
enum ProprioDim {
    Robot(usize),
    RobotAndStep(usize),
}

/// What the model's observation holds besides the images' content: its proprio layout,
/// its image side and its skill prompt.
fn model_inputs(file: &ConfigFile) -> (ProprioDim, usize, Option<&SkillPromptConfig>) {
    let proprio_dim = if file.episode_step_input {
        ProprioDim::RobotAndStep(file.proprio_dim - 1)
    } else {
        ProprioDim::Robot(file.proprio_dim)
    };
    (
        proprio_dim,
        file.vision.image_size,
        file.skill_prompt.as_ref(),
    )
}

fn observation(
    event: &Value,
    config: &ServeConfig,
    recorded: &Recorded<'_>,
    (proprio_dim, image_size, skill_prompt): (ProprioDim, usize, Option<&SkillPromptConfig>),
) -> Result<Observation> {
    let provenance = &event["observation"];
    let stamps = provenance["frames_ns"]
        .as_array()
        .context("request event without frames_ns")?;
    let mut images = Vec::with_capacity(stamps.len());
    for (i, (stamp, topic)) in stamps.iter().zip(&config.topics.cameras).enumerate() {
        let t = stamp.as_u64().context("frames_ns entry is not a number")?;
        let bytes = recorded.frames[i]
            .get(&t)
            .with_context(|| format!("{topic}: no recorded frame at log time {t}"))?;
        images.push(camera_image(&decode::<Image>(bytes)?, image_size)?);
    }
    let proprio = match proprio_dim {
        ProprioDim::Robot(dim) => recorded_proprio(provenance, recorded, dim)?,
        ProprioDim::RobotAndStep(dim) => {
            let mut p = recorded_proprio(provenance, recorded, dim)?;
            let step = provenance["episode_step"].as_u64().context(
                "request event without episode_step (the model takes the episode step; the \
                 run served a model that did not)",
            )?;
            p.push(step as f32);
            p
        }
    };
    let instruction = event["instruction"].as_str().unwrap_or_default();
    let instruction = match skill_prompt {
        None => instruction.to_owned(),
        Some(prompt) => {
            let done = event["skills_done"].as_u64().context(
                "request event without skills_done (the model names the task's part in its \
                 instruction; the run served a model that did not)",
            )?;
            prompt.instruction(instruction, u32::try_from(done).unwrap_or(u32::MAX))
        }
    };
    Ok(Observation {
        images,
        instruction,
        proprio,
    })
}

/// Where `ddvla replay` sends its rerun visualisation.
#[derive(Debug, Clone)]
pub enum RerunTarget {
    /// An `.rrd` file.
    File(std::path::PathBuf),
    /// A running viewer's gRPC proxy URL.
    Connect(String),
}

#[cfg(feature = "rerun")]
fn open_rerun(target: Option<&RerunTarget>) -> Result<Option<crate::replay_rrd::RrdWriter>> {
    Ok(match target {
        None => None,
        Some(RerunTarget::File(path)) => Some(crate::replay_rrd::RrdWriter::create(path)?),
        Some(RerunTarget::Connect(url)) => Some(crate::replay_rrd::RrdWriter::connect(url)?),
    })
}

/// Replay `bag` with `config`'s policy, visualising each inference in rerun when asked.
pub fn replay(
    bag_path: &Path,
    config: &ServeConfig,
    rerun: Option<&RerunTarget>,
) -> Result<ReplayReport> {
    #[cfg(feature = "rerun")]
    let writer = open_rerun(rerun)?;
    #[cfg(not(feature = "rerun"))]
    if rerun.is_some() {
        bail!(
            "--rrd/--connect need a build with the rerun feature: cargo build --release --features rerun"
        );
    }
    let bag =
        read_bag(bag_path, None).with_context(|| format!("reading {}", bag_path.display()))?;
    let t = &config.topics;
    let events: Vec<Value> = bag
        .iter()
        .filter(|m| m.topic == t.events)
        .map(|m| Ok(serde_json::from_str(&decode::<StringMsg>(&m.data)?.data)?))
        .collect::<Result<_>>()?;
    if events.is_empty() {
        bail!(
            "{}: no {} events (recorded by ddvla serve?)",
            bag_path.display(),
            t.events
        );
    }
    let recorded: Vec<Float32MultiArray> = bag
        .iter()
        .filter(|m| m.topic == t.action_chunk)
        .map(|m| Ok(decode(&m.data)?))
        .collect::<Result<_>>()?;
    let inputs = Recorded {
        frames: t.cameras.iter().map(|c| by_log_time(&bag, c)).collect(),
        joints: by_log_time(&bag, &t.joint_states),
        proprio: by_log_time(&bag, &t.proprio),
    };
    let accepted: Vec<u64> = events
        .iter()
        .filter(|e| e["kind"] == "chunk")
        .filter_map(|e| e["start_tick"].as_u64())
        .collect();
    let policy = load_policy(&config.policy)?;
    let shape = model_inputs(&policy.model().config().file);
    let mut decoder = decoders::build(config.policy.decoder_for(&policy), config.policy.seed);
    // Chunks the run's anytime decoder cut short: start tick → rounds it ran.
    let cut: HashMap<u64, usize> = events
        .iter()
        .filter(|e| e["kind"] == "deadline_cut")
        .filter_map(|e| {
            let rounds = usize::try_from(e["rounds"].as_u64()?).ok()?;
            Some((e["start_tick"].as_u64()?, rounds))
        })
        .collect();
    let mut replayed: HashMap<u64, Vec<f32>> = HashMap::new();
    let mut requests = 0;
    for event in events.iter().filter(|e| e["kind"] == "request") {
        let tick = event["tick"]
            .as_u64()
            .context("request event without tick")?;
        let obs = observation(event, config, &inputs, shape)
            .with_context(|| format!("rebuilding the observation of tick {tick}"))?;
        // Every request is decoded, accepted or not: the decoder's random stream advances
        // exactly as it did in the run.
        let prefix = policy.encode(&obs)?;
        let clock = ddvla_policy::decode::StartedAt::now();
        let out = policy.decode_capped(
            &prefix,
            decoder.as_mut(),
            None,
            cut.get(&tick).copied(),
            &clock,
        )?;
        #[cfg(feature = "rerun")]
        if let Some(writer) = &writer {
            let recorded_chunk = accepted
                .iter()
                .position(|t| *t == tick)
                .and_then(|k| recorded.get(k))
                .map(|c| c.data.as_slice());
            writer.log_inference(tick, &obs, &out, recorded_chunk)?;
        }
        replayed.insert(tick, out.actions);
        requests += 1;
    }
    #[cfg(feature = "rerun")]
    if let Some(writer) = &writer {
        let statuses: Vec<Value> = bag
            .iter()
            .filter(|m| m.topic == t.status)
            .filter_map(|m| {
                let text = decode::<StringMsg>(&m.data).ok()?.data;
                serde_json::from_str(&text).ok()
            })
            .collect();
        writer.log_run(&events, &statuses)?;
        writer.flush()?;
    }
    compare(&accepted, &recorded, &replayed, requests)
}

fn compare(
    accepted: &[u64],
    recorded: &[Float32MultiArray],
    replayed: &HashMap<u64, Vec<f32>>,
    requests: usize,
) -> Result<ReplayReport> {
    if accepted.len() != recorded.len() {
        bail!(
            "{} chunk events but {} recorded chunks",
            accepted.len(),
            recorded.len()
        );
    }
    let dim = recorded
        .first()
        .map_or(0, |c| c.layout.dim.get(1).map_or(0, |d| d.size as usize));
    let mut max_abs_diff = vec![0.0_f32; dim];
    let mut sum = vec![0.0_f64; dim];
    let mut count = 0_usize;
    let mut first_divergence = None;
    for (k, (start_tick, chunk)) in accepted.iter().zip(recorded).enumerate() {
        let new = replayed
            .get(start_tick)
            .with_context(|| format!("no request event for the chunk of tick {start_tick}"))?;
        if new.len() != chunk.data.len() || dim == 0 {
            bail!(
                "chunk of tick {start_tick}: {} replayed vs {} recorded values",
                new.len(),
                chunk.data.len()
            );
        }
        for (i, (a, b)) in new.iter().zip(&chunk.data).enumerate() {
            let d = (a - b).abs();
            max_abs_diff[i % dim] = max_abs_diff[i % dim].max(d);
            sum[i % dim] += f64::from(d);
            if first_divergence.is_none() && a.to_bits() != b.to_bits() {
                first_divergence = Some(Divergence {
                    chunk: k,
                    start_tick: *start_tick,
                    step: i / dim,
                    dim: i % dim,
                    recorded: *b,
                    replayed: *a,
                });
            }
        }
        count += chunk.data.len() / dim;
    }
    Ok(ReplayReport {
        requests,
        chunks_compared: accepted.len(),
        max_abs_diff,
        mean_abs_diff: sum
            .iter()
            .map(|s| (s / count.max(1) as f64) as f32)
            .collect(),
        exact: first_divergence.is_none(),
        first_divergence,
    })
}

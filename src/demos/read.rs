//! Reading a demonstration dataset: the manifest and one episode at a time (images stay
//! JPEG-compressed in memory until a batch decodes them).

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use ddvla_bridge::decode;
use ddvla_bridge::msg::sensor::CompressedImage;
use ddvla_bridge::msg::std::{Float32MultiArray, StringMsg};
use ddvla_bridge::record::read_bag;

use super::{
    ACTION_TOPIC, DemoEpisode, DemoIndex, EXECUTED_ACTION_TOPIC, EXPERT_CHUNK_TOPIC,
    EXPERT_GOAL_TOPIC, EXPERT_GOAL_VALUES, FORMAT, INSTRUCTION_TOPIC, Labels, OBJECTS_TOPIC,
    PROPRIO_TOPIC, image_topic,
};

/// One episode in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The instruction.
    pub instruction: String,
    /// Per step, per camera (index order), the compressed frame.
    pub frames: Vec<Vec<CompressedImage>>,
    /// Per step, the proprio vector.
    pub proprio: Vec<Vec<f32>>,
    /// Per step, the action taken — or, in an expert-labelled episode, the expert's label
    /// (the training target).
    pub actions: Vec<Vec<f32>>,
    /// Per step, the action executed, in an expert-labelled episode (empty otherwise).
    pub executed: Vec<Vec<f32>>,
    /// Per step, the expert's own chunk from that state (`label_chunk` actions, row-major),
    /// in an episode recorded with chunk labels (empty otherwise).
    pub chunks: Vec<Vec<f32>>,
    /// Per step, where the manifest entry's `objects` were when the frame was rendered
    /// (x, y, z each, world frame, m), in a recording that has them (empty otherwise).
    pub objects: Vec<Vec<f32>>,
    /// Per step, the scripted expert's goal `[x, y, z, yaw, speed]`
    /// ([`super::EXPERT_GOAL_TOPIC`]), in a recording that has them (empty otherwise).
    pub goals: Vec<Vec<f32>>,
}

/// Read and check `<dir>/index.json`.
pub fn read_index(dir: &Path) -> Result<DemoIndex> {
    let path = dir.join("index.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let idx: DemoIndex = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a ddvla demonstration index", path.display()))?;
    ensure!(
        idx.format == FORMAT,
        "{}: format {:?}, expected {FORMAT:?}",
        path.display(),
        idx.format
    );
    ensure!(!idx.episodes.is_empty(), "{}: no episodes", path.display());
    ensure!(
        idx.action_dim > 0 && !idx.cameras.is_empty(),
        "{}: action_dim and cameras must be set",
        path.display()
    );
    Ok(idx)
}

/// Load one episode of the dataset in `dir`, checking that every step has every camera, a
/// proprio vector and an action of the manifest's dimension.
pub fn load_episode(dir: &Path, ep: &DemoEpisode) -> Result<Episode> {
    load_episode_with(dir, ep, None)
}

/// [`load_episode`] against the manifest's cameras and dimensions when given.
pub fn load_episode_with(dir: &Path, ep: &DemoEpisode, idx: Option<&DemoIndex>) -> Result<Episode> {
    let path = dir.join(&ep.file);
    let at = || path.display().to_string();
    let messages = read_bag(&path, None).with_context(|| format!("reading {}", at()))?;
    let mut e = Episode {
        instruction: String::new(),
        frames: Vec::new(),
        proprio: Vec::new(),
        actions: Vec::new(),
        executed: Vec::new(),
        chunks: Vec::new(),
        objects: Vec::new(),
        goals: Vec::new(),
    };
    let cameras: Vec<String> = match idx {
        Some(i) => i.cameras.clone(),
        None => Vec::new(),
    };
    let mut camera_topics: Vec<String> = cameras.iter().map(|c| image_topic(c)).collect();
    for m in &messages {
        let bad = |what: &str| format!("{}: bad {what} message at {} ns", at(), m.log_time_ns);
        match m.topic.as_str() {
            INSTRUCTION_TOPIC => {
                e.instruction = decode::<StringMsg>(&m.data)
                    .with_context(|| bad("instruction"))?
                    .data;
            }
            PROPRIO_TOPIC => e.proprio.push(
                decode::<Float32MultiArray>(&m.data)
                    .with_context(|| bad("proprio"))?
                    .data,
            ),
            ACTION_TOPIC => e.actions.push(
                decode::<Float32MultiArray>(&m.data)
                    .with_context(|| bad("action"))?
                    .data,
            ),
            EXECUTED_ACTION_TOPIC => e.executed.push(
                decode::<Float32MultiArray>(&m.data)
                    .with_context(|| bad("executed action"))?
                    .data,
            ),
            EXPERT_CHUNK_TOPIC => e.chunks.push(
                decode::<Float32MultiArray>(&m.data)
                    .with_context(|| bad("expert chunk"))?
                    .data,
            ),
            OBJECTS_TOPIC => e.objects.push(
                decode::<Float32MultiArray>(&m.data)
                    .with_context(|| bad("objects"))?
                    .data,
            ),
            EXPERT_GOAL_TOPIC => e.goals.push(
                decode::<Float32MultiArray>(&m.data)
                    .with_context(|| bad("expert goal"))?
                    .data,
            ),
            t if t.starts_with("/camera/") => {
                let k = match camera_topics.iter().position(|c| c == t) {
                    Some(k) => k,
                    None if idx.is_none() => {
                        camera_topics.push(t.to_owned());
                        camera_topics.len() - 1
                    }
                    None => bail!("{}: unexpected camera topic {t}", at()),
                };
                let img: CompressedImage = decode(&m.data).with_context(|| bad("image"))?;
                // Cameras are written in order each step: camera 0 (or a full set) starts one.
                if e.frames
                    .last()
                    .is_none_or(|f: &Vec<CompressedImage>| f.len() == camera_topics.len())
                    || k == 0
                {
                    e.frames.push(Vec::new());
                }
                if let Some(f) = e.frames.last_mut() {
                    f.push(img);
                }
            }
            _ => {}
        }
    }
    check_episode(&e, ep, idx, camera_topics.len(), &at())?;
    Ok(e)
}

/// Every step has every camera, a proprio vector and an action of the manifest's dimension,
/// all finite; an expert-labelled episode has an executed action per step too.
fn check_episode(
    e: &Episode,
    ep: &DemoEpisode,
    idx: Option<&DemoIndex>,
    ncam: usize,
    at: &str,
) -> Result<()> {
    let n = e.actions.len();
    ensure!(n > 0, "{at}: no actions");
    ensure!(
        e.proprio.len() == n && e.frames.len() == n,
        "{}: {n} actions but {} proprio vectors and {} frame sets",
        at,
        e.proprio.len(),
        e.frames.len()
    );
    let executed = if ep.labels == Labels::Expert { n } else { 0 };
    ensure!(
        e.executed.len() == executed,
        "{}: {n} actions and {} executed actions, expected {executed} (labels: {:?})",
        at,
        e.executed.len(),
        ep.labels
    );
    if let Some(s) = e.frames.iter().position(|f| f.len() != ncam) {
        bail!(
            "{}: step {s} has {} of {ncam} camera frames",
            at,
            e.frames[s].len()
        );
    }
    let dim = idx.map_or(e.actions[0].len(), |i| i.action_dim);
    if let Some(s) = e.actions.iter().position(|a| a.len() != dim) {
        bail!(
            "{}: step {s} has a {}-D action, the dataset's actions are {dim}-D",
            at,
            e.actions[s].len()
        );
    }
    check_chunks(e, ep, dim, at)?;
    check_objects(e, ep, at)?;
    check_goals(e, ep, at)?;
    let pdim = e.proprio[0].len();
    if let Some(s) = e.proprio.iter().position(|p| p.len() != pdim) {
        bail!(
            "{}: step {s} has a {}-D proprio vector, step 0 has {pdim}",
            at,
            e.proprio[s].len()
        );
    }
    if let Some(s) = e
        .actions
        .iter()
        .chain(&e.chunks)
        .chain(&e.proprio)
        .chain(&e.objects)
        .chain(&e.goals)
        .position(|a| a.iter().any(|v| !v.is_finite()))
    {
        bail!(
            "{at}: non-finite action, expert chunk, proprio, object or expert goal value \
             (vector {s})"
        );
    }
    Ok(())
}

/// An episode with `label_chunk` = H has one expert chunk of H actions per step; one
/// without has none.
fn check_chunks(e: &Episode, ep: &DemoEpisode, dim: usize, at: &str) -> Result<()> {
    let n = e.actions.len();
    let Some(h) = ep.label_chunk else {
        ensure!(
            e.chunks.is_empty(),
            "{at}: {} expert chunks, but the manifest gives no label_chunk",
            e.chunks.len()
        );
        return Ok(());
    };
    ensure!(
        h > 0 && ep.labels == Labels::Expert,
        "{at}: label_chunk {h} in a {:?}-labelled episode (needs expert labels and > 0)",
        ep.labels
    );
    ensure!(
        e.chunks.len() == n,
        "{at}: {n} actions but {} expert chunks",
        e.chunks.len()
    );
    if let Some(s) = e.chunks.iter().position(|c| c.len() != h * dim) {
        bail!(
            "{at}: the expert chunk of step {s} has {} values, expected {h} × {dim}",
            e.chunks[s].len()
        );
    }
    Ok(())
}

/// An episode whose manifest entry names objects has their positions at every step (3 values
/// each); one that names none has none.
fn check_objects(e: &Episode, ep: &DemoEpisode, at: &str) -> Result<()> {
    let n = e.actions.len();
    if ep.objects.is_empty() {
        ensure!(
            e.objects.is_empty(),
            "{at}: {} object-position messages, but the manifest names no objects",
            e.objects.len()
        );
        return Ok(());
    }
    ensure!(
        e.objects.len() == n,
        "{at}: {n} actions but {} object-position messages",
        e.objects.len()
    );
    let want = 3 * ep.objects.len();
    if let Some(s) = e.objects.iter().position(|o| o.len() != want) {
        bail!(
            "{at}: the object positions of step {s} have {} values, expected 3 × {} ({:?})",
            e.objects[s].len(),
            ep.objects.len(),
            ep.objects
        );
    }
    Ok(())
}

/// An episode whose manifest entry says `expert_goals` has one goal of
/// [`EXPERT_GOAL_VALUES`] values per step; one that does not has none.
fn check_goals(e: &Episode, ep: &DemoEpisode, at: &str) -> Result<()> {
    let n = e.actions.len();
    let want = if ep.expert_goals { n } else { 0 };
    ensure!(
        e.goals.len() == want,
        "{at}: {n} actions and {} expert goals, expected {want} (manifest expert_goals: {})",
        e.goals.len(),
        ep.expert_goals
    );
    if let Some(s) = e.goals.iter().position(|g| g.len() != EXPERT_GOAL_VALUES) {
        bail!(
            "{at}: the expert goal of step {s} has {} values, expected {EXPERT_GOAL_VALUES} \
             (x, y, z, yaw, speed)",
            e.goals[s].len()
        );
    }
    Ok(())
}

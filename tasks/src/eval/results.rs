//! Evaluation results: per-episode records, per-task and suite summaries, the Markdown
//! table, and merging shards (merged shards equal one unsharded run, timing aside).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{EpisodeOutcome, EvalError, FailureModes};
use crate::suite::SuccessRule;

/// Which slice of the episode list a run covers: episode `k` (in task-major order) belongs
/// to shard `k % count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Shard {
    /// 0-based shard index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole run.
    pub const ALL: Self = Self { index: 0, count: 1 };

    /// Parse `i/N` (0-based `i < N`).
    pub fn parse(text: &str) -> Result<Self, EvalError> {
        let bad = || EvalError::Config {
            reason: format!("--shard {text:?}: expected i/N with 0 <= i < N"),
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

/// Wall-clock cost of one episode (not part of result equality).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct EpisodeTiming {
    /// Whole episode (s).
    pub wall_s: f64,
    /// Inside the policy (s).
    pub policy_s: f64,
    /// Times the policy was asked for actions (chunks decoded).
    #[serde(default)]
    pub policy_calls: u32,
    /// Physics and rendering (s).
    pub sim_s: f64,
}

/// One episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeResult {
    /// Task position in the suite.
    pub task_index: usize,
    /// Task name.
    pub task: String,
    /// Episode index = init state index.
    pub episode: usize,
    /// The episode's seed (env reset and policy).
    pub seed: u64,
    /// Success by the suite's rule.
    pub success: bool,
    /// Policy steps taken (wait steps excluded).
    pub steps: u32,
    /// Timing.
    pub timing: EpisodeTiming,
    /// Unmet goal atoms and lifted objects (absent in results written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<EpisodeOutcome>,
}

/// What was run: everything that must agree for shards to merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMeta {
    /// Suite name.
    pub suite: String,
    /// Policy description (`expert`, `random`, a checkpoint path and its settings).
    pub policy: String,
    /// Episodes per task.
    pub episodes_per_task: usize,
    /// The first init state (episodes `first_episode..first_episode + episodes_per_task`);
    /// absent (0) in LIBERO's protocol and in runs written before it existed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub first_episode: usize,
    /// Task indices evaluated.
    pub tasks: Vec<usize>,
    /// Base seed.
    pub seed: u64,
    /// Policy step limit (the suite's; tasks with their own limit list it in
    /// `task_max_steps`).
    pub max_steps: u32,
    /// Per-task step limits that differ from `max_steps`: (task index, limit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_max_steps: Vec<(usize, u32)>,
    /// Success rule.
    pub success_rule: SuccessRule,
    /// Rendered image side (px).
    pub image_size: u32,
    /// `git describe` of the ddvla build that ran it.
    pub ddvla_commit: String,
    /// MuJoCo version.
    pub mujoco_version: String,
}

impl EvalMeta {
    /// The policy, plus the init states when they are not LIBERO's `0..N`: a report's row
    /// name, so a run on another set of states gets its own row.
    pub fn label(&self) -> String {
        if self.first_episode == 0 {
            self.policy.clone()
        } else {
            format!("{} {}", self.policy, self.states())
        }
    }

    /// `init states A–B`.
    fn states(&self) -> String {
        format!(
            "init states {}–{}",
            self.first_episode,
            self.first_episode + self.episodes_per_task.max(1) - 1
        )
    }
}

/// Whether `n` is 0 (a field left out of `results.json` at its default).
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Success of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    /// Task position.
    pub task_index: usize,
    /// Task name.
    pub task: String,
    /// Successful episodes.
    pub successes: usize,
    /// Episodes run.
    pub episodes: usize,
    /// `successes / episodes`.
    pub success_rate: f64,
}

/// Throughput of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct RunTiming {
    /// Sum of episode wall times (s).
    pub episodes_wall_s: f64,
    /// Episodes per minute of episode wall time.
    pub episodes_per_minute: f64,
    /// Mean policy time per episode (s).
    pub mean_policy_s: f64,
    /// Mean physics + rendering time per episode (s).
    pub mean_sim_s: f64,
    /// Mean time per policy call (s): the chunk latency of a model policy.
    #[serde(default)]
    pub mean_policy_call_s: f64,
}

/// A run's `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResults {
    /// What was run.
    pub meta: EvalMeta,
    /// Shards included (one for a plain run; several after `eval merge`).
    pub shards: Vec<Shard>,
    /// Every episode, sorted by (task, episode).
    pub episodes: Vec<EpisodeResult>,
    /// Per-task success.
    pub tasks: Vec<TaskSummary>,
    /// Mean of the per-task success rates.
    pub average_success_rate: f64,
    /// Throughput.
    pub timing: RunTiming,
}

impl EvalResults {
    /// Summaries and timing computed from `episodes` (sorted here).
    pub fn new(meta: EvalMeta, shards: Vec<Shard>, mut episodes: Vec<EpisodeResult>) -> Self {
        episodes.sort_by_key(|e| (e.task_index, e.episode));
        let mut tasks: Vec<TaskSummary> = Vec::new();
        for e in &episodes {
            if tasks.last().is_none_or(|t| t.task_index != e.task_index) {
                tasks.push(TaskSummary {
                    task_index: e.task_index,
                    task: e.task.clone(),
                    successes: 0,
                    episodes: 0,
                    success_rate: 0.0,
                });
            }
            if let Some(t) = tasks.last_mut() {
                t.episodes += 1;
                t.successes += usize::from(e.success);
            }
        }
        for t in &mut tasks {
            t.success_rate = t.successes as f64 / t.episodes as f64;
        }
        let average_success_rate = if tasks.is_empty() {
            0.0
        } else {
            tasks.iter().map(|t| t.success_rate).sum::<f64>() / tasks.len() as f64
        };
        let n = episodes.len().max(1) as f64;
        let wall: f64 = episodes.iter().map(|e| e.timing.wall_s).sum();
        let timing = RunTiming {
            episodes_wall_s: wall,
            episodes_per_minute: if wall > 0.0 {
                episodes.len() as f64 * 60.0 / wall
            } else {
                0.0
            },
            mean_policy_s: episodes.iter().map(|e| e.timing.policy_s).sum::<f64>() / n,
            mean_sim_s: episodes.iter().map(|e| e.timing.sim_s).sum::<f64>() / n,
            mean_policy_call_s: {
                let calls: u32 = episodes.iter().map(|e| e.timing.policy_calls).sum();
                let total: f64 = episodes.iter().map(|e| e.timing.policy_s).sum();
                if calls > 0 {
                    total / f64::from(calls)
                } else {
                    0.0
                }
            },
        };
        Self {
            meta,
            shards,
            episodes,
            tasks,
            average_success_rate,
            timing,
        }
    }

    /// Combine shards of one run. Their `meta` must agree, no episode may appear twice, and
    /// together they must cover every (task, episode) once when all shards are present.
    pub fn merge(parts: Vec<Self>) -> Result<Self, EvalError> {
        let Some(first) = parts.first() else {
            return Err(EvalError::Merge {
                reason: "nothing to merge".into(),
            });
        };
        let meta = first.meta.clone();
        let mut shards = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut episodes = Vec::new();
        for (i, p) in parts.into_iter().enumerate() {
            if p.meta != meta {
                return Err(EvalError::Merge {
                    reason: format!("input {i} ran something else: {:?} vs {:?}", p.meta, meta),
                });
            }
            for s in p.shards {
                if !shards.insert(s) {
                    return Err(EvalError::Merge {
                        reason: format!("shard {}/{} given twice", s.index, s.count),
                    });
                }
            }
            for e in p.episodes {
                if !seen.insert((e.task_index, e.episode)) {
                    return Err(EvalError::Merge {
                        reason: format!("task {} episode {} appears twice", e.task, e.episode),
                    });
                }
                episodes.push(e);
            }
        }
        let counts: BTreeSet<usize> = shards.iter().map(|s| s.count).collect();
        let complete = counts.len() == 1 && counts.iter().all(|&n| shards.len() == n);
        let expected = meta.tasks.len() * meta.episodes_per_task;
        if complete && episodes.len() != expected {
            return Err(EvalError::Merge {
                reason: format!(
                    "all shards present but {} of {expected} episodes",
                    episodes.len()
                ),
            });
        }
        let shards = if complete {
            vec![Shard::ALL]
        } else {
            shards.into_iter().collect()
        };
        Ok(Self::new(meta, shards, episodes))
    }

    /// Whether two results agree on everything but timing (a merged run vs an unsharded one).
    pub fn same_outcome(&self, other: &Self) -> bool {
        let strip = |r: &Self| -> Vec<EpisodeResult> {
            r.episodes
                .iter()
                .map(|e| EpisodeResult {
                    timing: EpisodeTiming::default(),
                    ..e.clone()
                })
                .collect()
        };
        self.meta == other.meta
            && self.shards == other.shards
            && strip(self) == strip(other)
            && self.tasks == other.tasks
    }

    /// The papers' table: success per task, the suite average, and what produced it.
    pub fn markdown(&self) -> String {
        let m = &self.meta;
        let mut s = String::new();
        let _ = writeln!(s, "# {} — {}\n", m.suite, m.policy);
        let _ = writeln!(
            s,
            "{} episodes per task{}, seed {}, max {} steps, success: {:?}; ddvla {}, MuJoCo {}, images {}².\n",
            m.episodes_per_task,
            if m.first_episode > 0 {
                format!(" ({})", m.states())
            } else {
                String::new()
            },
            m.seed,
            m.max_steps,
            m.success_rule,
            m.ddvla_commit,
            m.mujoco_version,
            m.image_size
        );
        if self.shards != [Shard::ALL] {
            let _ = writeln!(s, "Partial: shards {:?}.\n", self.shards);
        }
        let outcomes = self.episodes.iter().any(|e| e.outcome.is_some());
        if outcomes {
            let _ = writeln!(
                s,
                "| # | task | success | episodes | failures |\n|---|---|---|---|---|"
            );
        } else {
            let _ = writeln!(s, "| # | task | success | episodes |\n|---|---|---|---|");
        }
        for t in &self.tasks {
            let _ = write!(
                s,
                "| {} | {} | {:.1}% | {} |",
                t.task_index,
                t.task.replace('_', " "),
                100.0 * t.success_rate,
                t.episodes
            );
            if outcomes {
                let modes = FailureModes::count(
                    self.episodes
                        .iter()
                        .filter(|e| e.task_index == t.task_index)
                        .filter_map(|e| e.outcome.as_ref().map(|o| (e.success, o))),
                );
                let _ = write!(s, " {} |", modes.cell());
            }
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "| | **average** | **{:.1}%** | {} |{}\n\n{:.1} episodes/min (mean policy {:.2} s, sim {:.2} s per episode; {:.0} ms per policy call).",
            100.0 * self.average_success_rate,
            self.episodes.len(),
            if outcomes { " |" } else { "" },
            self.timing.episodes_per_minute,
            self.timing.mean_policy_s,
            self.timing.mean_sim_s,
            1e3 * self.timing.mean_policy_call_s
        );
        if outcomes {
            let _ = writeln!(
                s,
                "\nFailures: of each task's failed episodes, how many lifted an object the goal \
                 names (then dropped or misplaced it, or still held it when time ran out: the \
                 gripper at least half as closed as when it lifted it and within {:.0} cm of \
                 it at the last step, or, in runs that did not record those grips, the \
                 object still risen; with the gripper's \
                 mean joint position when it first rose, beside the successful episodes'), \
                 lifted only other objects (which, and how often), or lifted nothing (a rise of \
                 more than {:.0} cm above rest counts); then each goal atom left unmet at the \
                 last step, with its count; then, in runs that recorded it, how many of the \
                 goal's atoms held after some step (met/of, with the count of episodes; how \
                 many lost a met atom again).",
                100.0 * super::HOLD_REACH_M,
                100.0 * super::LIFT_THRESHOLD_M
            );
        }
        s
    }
}

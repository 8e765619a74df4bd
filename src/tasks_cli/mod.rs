//! `ddvla tasks …`: list the suites, check BDDL files, generate init states, render a task,
//! copy a suite with wider init regions.

mod check_bddl;
mod init_states;
mod widen_init;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use ddvla_tasks::suite::{self, Suite};

pub use check_bddl::check_bddl;
pub use init_states::{generate, render};
pub use widen_init::widen_init;

/// `ddvla tasks` subcommands.
#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// List the suites and their tasks (index, name, instruction, goal).
    List {
        /// Folder holding the suites (default: the built-in ones).
        #[arg(long)]
        suites_dir: Option<PathBuf>,
        /// Only this suite.
        #[arg(long)]
        suite: Option<String>,
    },
    /// Parse BDDL files (or every .bddl under folders) and resolve their goals.
    CheckBddl {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Sample, settle and write the init states of a suite's tasks
    /// (`<suite>/init_states/<task>.json`).
    InitStates {
        /// Suite name.
        #[arg(long)]
        suite: String,
        /// Only this task (name or index).
        #[arg(long)]
        task: Option<String>,
        /// States per task (default: the suite's protocol.init_states).
        #[arg(long)]
        count: Option<usize>,
        /// Sampler seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Folder holding the suites (default: the built-in ones).
        #[arg(long)]
        suites_dir: Option<PathBuf>,
    },
    /// Render a task's cameras at one of its init states to PNG files.
    Render {
        /// Suite name.
        #[arg(long)]
        suite: String,
        /// Task name or index.
        #[arg(long)]
        task: String,
        /// Init state index.
        #[arg(long, default_value_t = 0)]
        state: usize,
        /// Image side (default: the suite's contract).
        #[arg(long)]
        size: Option<u32>,
        /// Output prefix: writes `<prefix>_<camera>.png`.
        #[arg(long)]
        out: PathBuf,
        /// Folder holding the suites (default: the built-in ones).
        #[arg(long)]
        suites_dir: Option<PathBuf>,
    },
    /// Copy a suite with its movable objects' init regions grown by `--by` metres on every
    /// side (fixtures and goal regions unchanged), to record demonstrations with
    /// `ddvla demos record --suites-dir OUT` whose objects stand farther from their usual
    /// spots. Evaluate on the original suite.
    WidenInit {
        /// Suite name.
        #[arg(long)]
        suite: String,
        /// Metres added on every side, in (0, 0.2].
        #[arg(long)]
        by: f64,
        /// Folder to write `<suite>/` into (refused if `<out>/<suite>` exists).
        #[arg(long)]
        out: PathBuf,
        /// Folder holding the suites (default: the built-in ones).
        #[arg(long)]
        suites_dir: Option<PathBuf>,
    },
}

/// The suites folder: the given one or the built-in suites.
pub fn suites_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(suite::builtin_dir)
}

/// Run a `ddvla tasks` subcommand.
pub fn run(cmd: TasksCommand) -> Result<()> {
    match cmd {
        TasksCommand::List {
            suites_dir: d,
            suite,
        } => list(&suites_dir(d), suite.as_deref()),
        TasksCommand::CheckBddl { paths } => check_bddl(&paths),
        TasksCommand::InitStates {
            suite,
            task,
            count,
            seed,
            suites_dir: d,
        } => generate(&suites_dir(d), &suite, task.as_deref(), count, seed),
        TasksCommand::Render {
            suite,
            task,
            state,
            size,
            out,
            suites_dir: d,
        } => render(&suites_dir(d), &suite, &task, state, size, &out),
        TasksCommand::WidenInit {
            suite,
            by,
            out,
            suites_dir: d,
        } => widen_init(&suites_dir(d), &suite, by, &out),
    }
}

fn list(dir: &std::path::Path, only: Option<&str>) -> Result<()> {
    let names = match only {
        Some(n) => vec![n.to_owned()],
        None => suite::list(dir).with_context(|| format!("listing {}", dir.display()))?,
    };
    for name in names {
        let s = Suite::load(dir, &name)?;
        let p = &s.file.protocol;
        println!(
            "{name}: {} ({} tasks, max {} steps at {} Hz, {} init states, {:?})",
            s.file.description,
            s.tasks.len(),
            p.max_steps,
            p.control_hz,
            p.init_states,
            p.success
        );
        for t in &s.tasks {
            let goal: Vec<String> = t.problem.goal.iter().map(ToString::to_string).collect();
            println!(
                "  {:>2} {}\n     \"{}\"  goal: {}",
                t.index,
                t.name,
                t.instruction,
                goal.join(" ")
            );
        }
    }
    Ok(())
}

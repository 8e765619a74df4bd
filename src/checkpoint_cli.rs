//! `ddvla checkpoint …`: tools on checkpoint folders.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

/// Checkpoint subcommands.
#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Average the weights of several checkpoints of one model into a new checkpoint (a
    /// uniform "model soup", e.g. a run's `keep_every` snapshots); the inputs must share the
    /// configuration, tokenizer, statistics and every tensor's name, shape and dtype.
    Average {
        /// Checkpoint folders (at least two).
        #[arg(required = true, num_args = 2..)]
        inputs: Vec<PathBuf>,
        /// The new checkpoint folder (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Run a checkpoint subcommand.
pub fn run(cmd: CheckpointCommand) -> Result<()> {
    match cmd {
        CheckpointCommand::Average { inputs, out } => {
            ddvla_policy::checkpoint_average::average_checkpoints(&inputs, &out)
                .with_context(|| format!("averaging {} checkpoints", inputs.len()))?;
            println!(
                "{}: the average of {} checkpoints",
                out.display(),
                inputs.len()
            );
            Ok(())
        }
    }
}

//! `ddvla eval open-loop --dump-tokens PATH`: the scene camera's image tokens of every scored
//! frame, for probing what they encode (`scripts/probe_tokens.py` regresses where the next
//! grasp happens from them). `PATH` gets the tokens of the model's first camera as raw
//! little-endian f32, one row of `patches × hidden` values per frame; `PATH.csv` one line per
//! frame: the episode file, the step and the end-effector position (m, world) at the next two
//! gripper events (see `train_cli::data::keypose`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use candle_core::IndexOp;
use ddvla_policy::model::Prefix;

use crate::train_cli::{Dataset, KeyposeScale};

/// Writes the dump.
pub struct TokenDump {
    tokens: std::io::BufWriter<std::fs::File>,
    rows: std::io::BufWriter<std::fs::File>,
    patches: usize,
    path: PathBuf,
}

impl TokenDump {
    /// Create `path` and `path.csv` for a model with `patches` tokens per camera; gives
    /// `ds`'s samples their raw keypose targets (metres, unstandardised).
    pub fn create(path: &Path, patches: usize, ds: &mut Dataset) -> Result<Self> {
        let events = ddvla_policy::train::KeyposeConfig {
            events: 2,
            ..Default::default()
        };
        ds.set_keyposes(&events, Some(KeyposeScale::RAW))?;
        let open = |p: &Path| -> Result<std::io::BufWriter<std::fs::File>> {
            Ok(std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))
        };
        let csv_path = csv_path(path);
        let mut rows = open(&csv_path)?;
        writeln!(
            rows,
            "file,step,event1_x,event1_y,event1_z,event2_x,event2_y,event2_z"
        )?;
        Ok(Self {
            tokens: open(path)?,
            rows,
            patches,
            path: path.to_owned(),
        })
    }

    /// Add one frame: its encoded prefix (BOS, then the image tokens camera by camera),
    /// where it comes from and its raw keypose targets.
    pub fn add(
        &mut self,
        prefix: &Prefix,
        file: &str,
        step: usize,
        keyposes: &[f32],
    ) -> Result<()> {
        ensure!(keyposes.len() == 6, "a frame without its two keyposes");
        let block = prefix.embeds.i(0)?.narrow(0, 1, self.patches)?;
        for v in block.flatten_all()?.to_vec1::<f32>()? {
            self.tokens.write_all(&v.to_le_bytes())?;
        }
        let k: Vec<String> = keyposes.iter().map(|v| format!("{v:.5}")).collect();
        writeln!(self.rows, "{file},{step},{}", k.join(","))?;
        Ok(())
    }

    /// Flush both files.
    pub fn finish(mut self) -> Result<()> {
        self.tokens
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.rows.flush()?;
        Ok(())
    }
}

/// The frame list beside the tokens: `PATH.csv`.
fn csv_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".csv");
    PathBuf::from(p)
}

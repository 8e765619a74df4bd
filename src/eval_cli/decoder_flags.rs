//! Decoder flags shared by `ddvla eval`, `ddvla eval open-loop` and `ddvla demos record`:
//! which decoder a model policy runs (by default the one its checkpoint was trained for) and
//! the settings that decoder reads; and the execution flags (`--execute`, `--ensemble`) of
//! `ddvla eval` and `ddvla demos record`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ddvla_policy::decode::DecoderKind;

use super::DecodeSettings;

/// Decoders selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecoderArg {
    /// Discrete diffusion (adaptive-order remasking).
    Diffusion,
    /// Discrete diffusion with the prefix KV cache.
    DiffusionCached,
    /// Autoregressive (OpenVLA).
    Ar,
    /// Single-pass parallel (OFT).
    Parallel,
}

impl From<DecoderArg> for DecoderKind {
    fn from(d: DecoderArg) -> Self {
        match d {
            DecoderArg::Diffusion => Self::Diffusion,
            DecoderArg::DiffusionCached => Self::DiffusionCached,
            DecoderArg::Ar => Self::Ar,
            DecoderArg::Parallel => Self::Parallel,
        }
    }
}

/// Decoder flags of `ddvla eval` and `ddvla eval open-loop`.
#[derive(Debug, Clone, Args)]
pub struct DecoderFlags {
    /// Decoder of a model policy. Default: the one the checkpoint was trained for (its
    /// `config.json` `decoder`, written by `ddvla train`), else diffusion.
    #[arg(long, value_enum)]
    pub decoder: Option<DecoderArg>,
    /// Diffusion rounds T (at least 1; default 12). Diffusion decoders only.
    #[arg(long, value_parser = at_least_one)]
    pub rounds: Option<usize>,
    /// Secondary remasking (threshold check, η scale 0.5). Diffusion decoders only.
    #[arg(long)]
    pub remask: bool,
    /// Token sampling temperature (a finite number ≥ 0; 0 = argmax). Default: the decoder's
    /// (diffusion samples at 1 like DD-VLA's released code, AR and parallel are argmax).
    #[arg(long, value_parser = non_negative)]
    pub temperature: Option<f32>,
    /// Read each action value as the probability-weighted mean of the bin centres within
    /// this many bins of the chosen bin, instead of the chosen bin's centre (sub-bin values
    /// where the model spreads its mass over neighbouring bins; a distant second mode is
    /// left out). Parallel decoder only.
    #[arg(long)]
    pub readout_window: Option<u32>,
}

/// How a model policy executes its chunks: flags of `ddvla eval` and `ddvla demos record`.
#[derive(Debug, Clone, Default, Args)]
pub struct ExecutionFlags {
    /// Actions executed per chunk (at least 1; default: the whole chunk). With `--ensemble`:
    /// steps between chunks (default 1).
    #[arg(long, value_parser = at_least_one)]
    pub execute: Option<usize>,
    /// Temporal ensembling (ACT) with this weight decay per newer chunk (ACT: 0.01): a chunk
    /// every `--execute` steps, each action the weighted mean of the chunks covering its step,
    /// the oldest weighted most.
    #[arg(long, value_parser = finite)]
    pub ensemble: Option<f32>,
    /// With `--ensemble`: the last this many action values (the gripper: 1) come from the
    /// newest chunk covering the step instead of the weighted mean.
    #[arg(long, default_value_t = 0, requires = "ensemble")]
    pub ensemble_newest_dims: usize,
    /// Keep each new gripper command (the action's last value; its sign says open or close)
    /// for at least this many executed steps (`runtime::gripper_dwell`): a one-step
    /// reversal becomes a whole movement or none. Default: none.
    #[arg(long, value_parser = at_least_one)]
    pub gripper_dwell: Option<usize>,
}

/// Parse a count that must be at least 1 (`--rounds`, `--execute`): 0 is refused by the
/// argument parser rather than quietly raised to 1 by the decoder.
pub fn at_least_one(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl DecoderFlags {
    /// The decode settings for the policy `spec` (`expert`, `random`, `random:<preset>` or a
    /// checkpoint folder), executing `execute` actions per chunk (`None`: all). Without
    /// `--decoder`, a checkpoint decodes with the decoder it was trained for. Flags the chosen
    /// decoder would ignore are refused: `--rounds`/`--remask` outside the diffusion
    /// decoders.
    pub fn settings(&self, spec: &str, execute: Option<usize>) -> Result<DecodeSettings> {
        let (kind, source) = match self.decoder {
            Some(d) => (DecoderKind::from(d), "--decoder"),
            None => (
                checkpoint_decoder(spec)?,
                "the checkpoint's default decoder",
            ),
        };
        let diffusion = matches!(kind, DecoderKind::Diffusion | DecoderKind::DiffusionCached);
        if kind != DecoderKind::Parallel && self.readout_window.is_some() {
            bail!(
                "--readout-window applies to the parallel decoder only, not {} ({source})",
                decoder_name(kind)
            );
        }
        if !diffusion && (self.rounds.is_some() || self.remask) {
            bail!(
                "--rounds and --remask apply to the diffusion decoders only, not {} ({source})",
                decoder_name(kind)
            );
        }
        Ok(DecodeSettings {
            kind,
            rounds: self
                .rounds
                .unwrap_or(ddvla_policy::decode::DiffusionConfig::default().rounds),
            remask: self.remask,
            execute,
            temperature: self.temperature,
            readout_window: self.readout_window,
            ensemble: None,
            ensemble_newest_dims: 0,
            gripper_dwell: None,
            logit_ensemble: Vec::new(),
        })
    }

    /// The settings of the policy `spec` decoding with these flags and executing its chunks
    /// as `exec` says ([`Self::settings`]); any of them given for a non-model policy is
    /// refused ([`check_model_flags`]).
    pub fn policy_settings(&self, spec: &str, exec: &ExecutionFlags) -> Result<DecodeSettings> {
        check_model_flags(spec, self, exec.execute, exec.ensemble)?;
        if matches!(spec, "expert" | "random") && exec.gripper_dwell.is_some() {
            bail!("--gripper-dwell applies to checkpoint policies, not --policy {spec}");
        }
        let mut settings = self.settings(spec, exec.execute)?;
        settings.ensemble = exec.ensemble;
        settings.ensemble_newest_dims = exec.ensemble_newest_dims;
        settings.gripper_dwell = exec.gripper_dwell;
        Ok(settings)
    }
}

/// The command-line name of a decoder.
fn decoder_name(kind: DecoderKind) -> &'static str {
    match kind {
        DecoderKind::Diffusion => "diffusion",
        DecoderKind::DiffusionCached => "diffusion-cached",
        DecoderKind::Ar => "ar",
        DecoderKind::Parallel => "parallel",
    }
}

/// The decoder the policy `spec` was trained for: a checkpoint folder's `config.json`
/// `decoder`; diffusion for older checkpoints without one, for random weights and for the
/// non-model policies. A folder without `config.json` also answers diffusion here; loading
/// it reports the missing file.
pub fn checkpoint_decoder(spec: &str) -> Result<DecoderKind> {
    if matches!(spec, "expert" | "random") || spec.starts_with("random:") {
        return Ok(DecoderKind::Diffusion);
    }
    let path = Path::new(spec).join(ddvla_policy::checkpoint::files::CONFIG);
    if !path.is_file() {
        return Ok(DecoderKind::Diffusion);
    }
    let file = ddvla_policy::model::ConfigFile::load(&path).with_context(|| {
        format!(
            "reading the checkpoint's default decoder from {}",
            path.display()
        )
    })?;
    Ok(file.decoder.unwrap_or(DecoderKind::Diffusion))
}

/// Refuse decoding flags (`flags`, an execute horizon) given for a policy that is not a
/// model (`expert`, `random`): they would be ignored.
pub fn check_model_flags(
    spec: &str,
    flags: &DecoderFlags,
    execute: Option<usize>,
    ensemble: Option<f32>,
) -> Result<()> {
    let untouched = flags.decoder.is_none()
        && flags.rounds.is_none()
        && !flags.remask
        && flags.temperature.is_none()
        && flags.readout_window.is_none()
        && execute.is_none()
        && ensemble.is_none();
    if matches!(spec, "expert" | "random") && !untouched {
        bail!(
            "--decoder/--rounds/--remask/--temperature/--readout-window/--execute/--ensemble \
             apply to checkpoint policies, not --policy {spec}"
        );
    }
    Ok(())
}

/// Parse `--temperature`: a finite number, 0 or more.
pub fn non_negative(text: &str) -> std::result::Result<f32, String> {
    match finite(text)? {
        v if v >= 0.0 => Ok(v),
        v => Err(format!("{v} is below 0")),
    }
}

/// Parse `--ensemble`'s weight decay: a finite number.
pub fn finite(text: &str) -> std::result::Result<f32, String> {
    match text.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!("{v} is not a finite number")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failure is the test failing

    use super::*;

    fn flags(decoder: Option<DecoderArg>, rounds: Option<usize>) -> DecoderFlags {
        DecoderFlags {
            decoder,
            rounds,
            remask: false,
            temperature: None,
            readout_window: None,
        }
    }

    /// A checkpoint folder holding only a `config.json` that names `decoder`.
    fn folder_saying(decoder: Option<DecoderKind>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut file = ddvla_policy::model::presets::tiny();
        file.decoder = decoder;
        file.save(&dir.path().join("config.json")).unwrap();
        dir
    }

    #[test]
    fn a_checkpoint_decodes_with_the_decoder_it_was_trained_for_unless_told() {
        let parallel = folder_saying(Some(DecoderKind::Parallel));
        let spec = parallel.path().to_str().unwrap();
        assert_eq!(checkpoint_decoder(spec).unwrap(), DecoderKind::Parallel);
        let s = flags(None, None).settings(spec, None).unwrap();
        assert_eq!(s.kind, DecoderKind::Parallel);
        // --decoder overrides it.
        let s = flags(Some(DecoderArg::Diffusion), Some(4))
            .settings(spec, Some(2))
            .unwrap();
        assert_eq!(
            (s.kind, s.rounds, s.execute),
            (DecoderKind::Diffusion, 4, Some(2))
        );
        // Flags the default decoder does not read are refused, naming where it came from.
        let err = flags(None, Some(4)).settings(spec, None).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("not parallel (the checkpoint's default"),
            "{text}"
        );
    }

    #[test]
    fn temperatures_are_finite_and_not_negative() {
        assert_eq!(non_negative("0"), Ok(0.0));
        assert_eq!(non_negative("0.5"), Ok(0.5));
        for bad in ["-0.1", "NaN", "inf", "hot"] {
            assert!(non_negative(bad).is_err(), "{bad}");
        }
        // The parallel decoder samples at a temperature too.
        let parallel = folder_saying(Some(DecoderKind::Parallel));
        let spec = parallel.path().to_str().unwrap();
        let mut f = flags(None, None);
        f.temperature = Some(0.5);
        let s = f.settings(spec, None).unwrap();
        assert_eq!((s.kind, s.temperature), (DecoderKind::Parallel, Some(0.5)));
    }

    #[test]
    fn the_readout_window_is_for_the_parallel_decoder_of_a_checkpoint() {
        let parallel = folder_saying(Some(DecoderKind::Parallel));
        let spec = parallel.path().to_str().unwrap();
        let mut f = flags(None, None);
        f.readout_window = Some(8);
        let s = f.settings(spec, None).unwrap();
        assert_eq!(s.readout_window, Some(8));
        assert_eq!(s.describe(), "Parallel readout-window=8");
        f.decoder = Some(DecoderArg::Diffusion);
        let text = format!("{:#}", f.settings(spec, None).unwrap_err());
        assert!(
            text.contains("--readout-window applies to the parallel"),
            "{text}"
        );
        f.decoder = None;
        let text = format!(
            "{:#}",
            check_model_flags("expert", &f, None, None).unwrap_err()
        );
        assert!(text.contains("--readout-window"), "{text}");
    }

    #[test]
    fn the_gripper_dwell_is_for_checkpoint_policies() {
        let exec = ExecutionFlags {
            gripper_dwell: Some(8),
            ..ExecutionFlags::default()
        };
        let err = flags(None, None)
            .policy_settings("expert", &exec)
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("--gripper-dwell"), "{text}");
        let parallel = folder_saying(Some(DecoderKind::Parallel));
        let spec = parallel.path().to_str().unwrap();
        let s = flags(None, None).policy_settings(spec, &exec).unwrap();
        assert_eq!(s.gripper_dwell, Some(8));
        assert_eq!(at_least_one("0"), Err("must be at least 1".into()));
    }

    #[test]
    fn older_checkpoints_random_weights_and_non_models_default_to_diffusion() {
        let old = folder_saying(None);
        let missing = tempfile::tempdir().unwrap();
        for spec in [
            old.path().to_str().unwrap(),
            missing.path().to_str().unwrap(),
            "expert",
            "random",
            "random:tiny",
        ] {
            assert_eq!(
                checkpoint_decoder(spec).unwrap(),
                DecoderKind::Diffusion,
                "{spec}"
            );
        }
    }

    #[test]
    fn a_corrupt_config_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{ not json").unwrap();
        let err = checkpoint_decoder(dir.path().to_str().unwrap()).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("config.json"), "{text}");
    }
}

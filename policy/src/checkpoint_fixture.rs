//! Test fixtures of the checkpoint tools (`checkpoint_*`): a random `tiny` checkpoint with a
//! tokenizer and identity statistics, an observation for it, and one parallel-decoded chunk.
#![allow(clippy::unwrap_used)] // test fixtures unwrap: a failure is the test failing

use std::path::Path;

use candle_core::Device;

use crate::Policy;
use crate::checkpoint::{files, random_model, save};
use crate::decode::{Parallel, ParallelConfig};
use crate::model::{Config, ConfigFile, presets};
use crate::observation::{CameraImage, Observation};
use crate::stats::DatasetStatistics;

/// A random `tiny` checkpoint with a tokenizer and identity statistics in `dir`.
pub(crate) fn tiny_checkpoint(dir: &Path) -> ConfigFile {
    let file = presets::tiny();
    let (_, varmap) = random_model(Config::new(file.clone()).unwrap(), &Device::Cpu).unwrap();
    save(&varmap, &file, dir).unwrap();
    std::fs::write(
        dir.join(files::TOKENIZER),
        crate::text::byte_level_tokenizer_json(),
    )
    .unwrap();
    DatasetStatistics::identity(file.action.action_dim, file.proprio_dim)
        .save(&dir.join(files::STATISTICS))
        .unwrap();
    file
}

/// An observation for the `tiny` preset: patterned images, `proprio`, a fixed instruction.
pub(crate) fn observation(proprio: Vec<f32>) -> Observation {
    let side = presets::tiny().vision.image_size;
    let cams = presets::tiny().num_images_in_input;
    Observation {
        images: (0..cams)
            .map(|c| CameraImage {
                width: side,
                height: side,
                rgb: (0..side * side * 3)
                    .map(|i| u8::try_from((i * 7 + c * 31) % 251).unwrap())
                    .collect(),
            })
            .collect(),
        proprio,
        instruction: "close the drawer".into(),
    }
}

/// The chunk the checkpoint in `dir` decodes (parallel, argmax) for `obs`.
pub(crate) fn act(dir: &Path, obs: &Observation) -> Vec<f32> {
    let policy = Policy::from_checkpoint(dir, None, &Device::Cpu).unwrap();
    let mut decoder = Parallel::new(ParallelConfig::default());
    policy.act(obs, &mut decoder, None).unwrap().actions
}

/// The chunk the checkpoint in `dir` decodes with every proprio value of the `tiny` preset
/// at `v`.
pub(crate) fn act_at(dir: &Path, v: f32) -> Vec<f32> {
    act(dir, &observation(vec![v; presets::tiny().proprio_dim]))
}

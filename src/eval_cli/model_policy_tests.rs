//! Tests of the checkpoint policy's settings, ensembles and skill prompt.

use super::*;

fn settings(kind: DecoderKind) -> DecodeSettings {
    DecodeSettings {
        kind,
        rounds: 4,
        remask: true,
        execute: None,
        temperature: Some(0.0),
        readout_window: None,
        ensemble: None,
        ensemble_newest_dims: 0,
        gripper_dwell: None,
        logit_ensemble: Vec::new(),
    }
}

/// A random `tiny` checkpoint with the config `file` (byte-level tokenizer, identity
/// statistics) in a new temporary folder, loaded as the evaluation's parallel-decoder policy
/// under a one-camera contract. The folder lives as long as the returned guard.
#[allow(clippy::unwrap_used)] // a failure is the test failing
fn tiny_policy(file: &ddvla_policy::model::ConfigFile) -> (tempfile::TempDir, ModelPolicy) {
    use ddvla_policy::checkpoint::{files, random_model, save};
    use ddvla_policy::stats::DatasetStatistics;
    let dir = tempfile::tempdir().unwrap();
    let (_, varmap) = random_model(Config::new(file.clone()).unwrap(), &Device::Cpu).unwrap();
    save(&varmap, file, dir.path()).unwrap();
    std::fs::write(
        dir.path().join(files::TOKENIZER),
        ddvla_policy::text::byte_level_tokenizer_json(),
    )
    .unwrap();
    DatasetStatistics::identity(file.action.action_dim, file.proprio_dim)
        .save(&dir.path().join(files::STATISTICS))
        .unwrap();
    let contract = Contract {
        cameras: vec!["agentview".into()],
        image_size: u32::try_from(file.vision.image_size).unwrap(),
        opengl_rows: false,
        rotate_180: false,
        center_crop_area: None,
        gripper: ddvla_tasks::suite::GripperConvention::CloseIsPositive,
        action_dim: 7,
    };
    let spec = dir.path().display().to_string();
    let p = ModelPolicy::load(&spec, settings(DecoderKind::Parallel), &contract).unwrap();
    (dir, p)
}

#[test]
fn describe_names_only_the_settings_the_decoder_reads() {
    assert_eq!(
        settings(DecoderKind::Diffusion).describe(),
        "Diffusion T=4 remask=true temperature=0"
    );
    assert_eq!(
        settings(DecoderKind::DiffusionCached).describe(),
        "DiffusionCached T=4 remask=true temperature=0"
    );
    assert_eq!(settings(DecoderKind::Ar).describe(), "Ar temperature=0");
    assert_eq!(
        settings(DecoderKind::Parallel).describe(),
        "Parallel temperature=0"
    );
    let mut ar = settings(DecoderKind::Ar);
    ar.temperature = None;
    assert_eq!(ar.describe(), "Ar");
    // Rows made before the parallel decoder sampled keep their name.
    let mut parallel = settings(DecoderKind::Parallel);
    parallel.temperature = None;
    assert_eq!(parallel.describe(), "Parallel");
}

#[test]
fn logit_ensembles_need_the_parallel_decoder_at_argmax_and_loadable_members() {
    #![allow(clippy::unwrap_used)] // a failure is the test failing
    let contract = Contract {
        cameras: vec!["agentview".into()],
        image_size: 32,
        opengl_rows: false,
        rotate_180: false,
        center_crop_area: None,
        gripper: ddvla_tasks::suite::GripperConvention::CloseIsPositive,
        action_dim: 7,
    };
    let with = |kind, temperature, member: &str| {
        let mut s = settings(kind);
        s.temperature = temperature;
        s.logit_ensemble = vec![member.to_owned()];
        load_members(&s, &contract).map(|m| m.len())
    };
    let err = with(DecoderKind::Diffusion, None, "m").unwrap_err();
    assert!(err.to_string().contains("parallel decoder"), "{err:#}");
    let err = with(DecoderKind::Parallel, Some(0.5), "m").unwrap_err();
    assert!(err.to_string().contains("temperature 0"), "{err:#}");
    let mut windowed = settings(DecoderKind::Parallel);
    windowed.temperature = None;
    windowed.readout_window = Some(4);
    windowed.logit_ensemble = vec!["m".to_owned()];
    let err = load_members(&windowed, &contract)
        .map(|m| m.len())
        .unwrap_err();
    assert!(err.to_string().contains("reading bin centres"), "{err:#}");
    let missing = tempfile::tempdir().unwrap();
    let path = missing.path().join("nowhere");
    let err = with(DecoderKind::Parallel, None, path.to_str().unwrap()).unwrap_err();
    assert!(
        format!("{err:#}").contains("logit-ensemble member"),
        "{err:#}"
    );
    // No members: nothing to load, whatever the decoder.
    let none = load_members(&settings(DecoderKind::Diffusion), &contract);
    assert_eq!(none.map(|m| m.len()).unwrap(), 0);
}

#[test]
fn a_skill_prompt_model_reads_the_part_its_executed_actions_reached() {
    #![allow(clippy::unwrap_used)] // a failure is the test failing
    let mut file = presets::tiny();
    file.skill_prompt = Some(SkillPromptConfig {
        gripper_index: 6,
        min_closed_steps: 2,
        min_open_steps: 1,
        ..SkillPromptConfig::default()
    });
    let (_dir, mut p) = tiny_policy(&file);
    let gripper = |g: f32| vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, g];
    assert_eq!(p.prompt("put the bowl away"), "put the bowl away");
    // One closed step is no hold; two then an open step finish a skill.
    p.dwelled(vec![gripper(1.0), gripper(-1.0)]);
    assert_eq!(p.prompt("put the bowl away"), "put the bowl away");
    p.dwelled(vec![gripper(1.0), gripper(1.0), gripper(-1.0)]);
    assert_eq!(p.prompt("put the bowl away"), "put the bowl away, part 2");
    p.skills.as_mut().unwrap().reset();
    assert_eq!(p.prompt("put the bowl away"), "put the bowl away");
}

#[test]
fn a_position_target_model_executes_the_delta_from_where_the_arm_is() {
    #![allow(clippy::unwrap_used)] // a failure is the test failing
    use ddvla_policy::position_target::PositionTarget;
    let mut file = presets::tiny();
    file.action_position_target = Some(PositionTarget {
        proprio_at: 0,
        metres_per_unit: 0.02,
        labels: ddvla_policy::position_target::PositionLabels::Delta,
    });
    let (_dir, mut p) = tiny_policy(&file);
    let frame = |proprio: Vec<f32>| PolicyFrame {
        images: Vec::new(),
        proprio,
    };
    let at = frame(vec![0.50, 0.10, 0.20, 3.1, 0.0, 0.0, 0.04, 0.04]);
    let target = vec![0.51, 0.30, 0.20, 0.05, 0.0, 0.0, 1.0];
    let sent = p.to_execute(target, &at).unwrap();
    assert!(
        (sent[1] - 1.0).abs() < 1e-6,
        "20 cm off: saturated, {sent:?}"
    );
    assert!(
        (sent[0] - 0.05).abs() < 1e-5,
        "1 cm short beside 20 cm: scaled with it, the direction kept, {sent:?}"
    );
    assert!(sent[2].abs() < 1e-6, "at the target height, {sent:?}");
    assert_eq!(
        sent[3..],
        [0.05, 0.0, 0.0, 1.0],
        "orientation and gripper as decoded"
    );
    let err = p.to_execute(vec![0.5; 7], &frame(vec![0.5])).unwrap_err();
    assert!(err.to_string().contains("proprio has 1 values"), "{err}");
}

//! The long suite's variants of its fourth stage (`launch/train-compact-long-parallel-*`):
//! each differs from the stage it names in the stated things and its output folder.

use ddvla_policy::train::augment::CropPosition;
use ddvla_policy::train::{KeyposeInput, KeyposeTarget};

use crate::common::{
    assert_half, assert_same_but_out, assert_same_lr, assert_same_value, launch_train_config,
    take_schedule,
};

/// The long suite's variants of its fourth stage each differ from it in the stated things and
/// the output folder; returns their output folders.
pub fn long_variants_outs() -> Vec<std::path::PathBuf> {
    // More demonstrations of the tasks the third stage never solves: one folder added after
    // the two halves, half the steps, the output folder.
    let fourth = launch_train_config("train-compact-long-parallel-4.toml");
    let mut extra = launch_train_config("train-compact-long-parallel-4-extra.toml");
    let outs = [extra.run.out.clone()];
    assert_eq!(
        extra.data.demos.pop(),
        Some(std::path::PathBuf::from(
            ".cache/demos/libero_style_long_extra"
        ))
    );
    assert_eq!(extra.run.steps * 2, fourth.run.steps);
    assert_eq!(extra.run.steps, extra.train.lr.total_steps);
    extra.run.steps = fourth.run.steps;
    extra.train.lr.total_steps = fourth.train.lr.total_steps;
    extra.run.out.clone_from(&fourth.run.out);
    assert_eq!(extra, fourth);
    let [noise, none] = long_proprio_outs();
    vec![
        outs[0].clone(),
        noise,
        none,
        long_no_proprio_continued_out(),
        long_glow_out(),
        long_dagger_out(),
        long_passes_out(),
        long_step_out(),
        long_skill_prompt_out(),
        long_axis_angle_skill_prompt_out(),
        long_dart05_out(),
        long_detour_out(),
        long_axis_angle_detour_out(),
        long_proprio_dropout_out(),
        long_detour_step_out(),
        long_wide_out(),
        long_wide_centred_out(),
        long_wide_keypose_out(),
        long_wide_keypose_w20_out(),
        long_wide_scene_objects_out(),
        long_wide_scene_objects_conv_stem_out(),
        long_axis_angle_out(),
        long_axis_angle_passes_out(),
        crate::long_targets::long_position_target_out(),
        crate::long_targets::long_expert_goal_out(),
        crate::long_targets::long_wide_hand_objects_out(),
    ]
}

/// The long policy with proprio noise: the episode-step stage's data, schedule and length
/// from the committed long policy, with the noise instead of the step; and the one without
/// proprio: the noise stage from that policy's copy without its proprio input
/// (`ddvla checkpoint drop-proprio`), without the noise, at a higher lr. Returns both outputs.
fn long_proprio_outs() -> [std::path::PathBuf; 2] {
    let step = launch_train_config("train-compact-long-parallel-5-step.toml");
    let mut noise = launch_train_config("train-compact-long-parallel-5-proprio-noise.toml");
    let mut none = launch_train_config("train-compact-long-parallel-5-no-proprio.toml");
    let outs = [noise.run.out.clone(), none.run.out.clone()];
    let init = std::path::Path::new("checkpoints/compact-libero-long-parallel-4-passes");
    assert_eq!(noise.model.init_checkpoint.as_deref(), Some(init));
    assert_eq!(noise.data.proprio_noise_std[..3], [0.01; 3]);
    let dropped = ".cache/checkpoints/compact-libero-long-parallel-4-passes-no-proprio";
    assert_eq!(none.model.init_checkpoint, Some(dropped.into()));
    assert!(none.data.proprio_noise_std.is_empty());
    none.model
        .init_checkpoint
        .clone_from(&noise.model.init_checkpoint);
    none.data
        .proprio_noise_std
        .clone_from(&noise.data.proprio_noise_std);
    none.run.out.clone_from(&noise.run.out);
    // The first stage's peak lr: at the noise stage's, the loss did not move.
    assert!(none.train.lr.peak_lr > 3.0 * noise.train.lr.peak_lr);
    none.train.lr.clone_from(&noise.train.lr);
    assert_eq!(none, noise);
    noise
        .model
        .init_checkpoint
        .clone_from(&step.model.init_checkpoint);
    noise.data.proprio_noise_std.clear();
    noise.data.episode_step_jitter = step.data.episode_step_jitter;
    noise.run.out.clone_from(&step.run.out);
    assert_eq!(noise, step);
    outs
}

/// The axis-angle policy given passes: its 2000-step stage continued from that stage's
/// weight average at a higher lr over four times the steps, a snapshot every 2000 steps;
/// returns its output folder.
fn long_axis_angle_passes_out() -> std::path::PathBuf {
    let axis = launch_train_config("train-compact-long-parallel-5-axis-angle.toml");
    let mut passes = launch_train_config("train-compact-long-parallel-6-axis-angle-passes.toml");
    assert_eq!(
        passes.model.init_checkpoint,
        Some(axis.run.out.join("ema")),
        "starts from the stage before's weight average"
    );
    assert!(passes.train.lr.peak_lr > axis.train.lr.peak_lr);
    assert_eq!(passes.run.steps, 4 * axis.run.steps);
    assert_eq!(passes.run.steps, passes.train.lr.total_steps);
    assert_eq!(passes.run.keep_every, 2000);
    passes
        .model
        .init_checkpoint
        .clone_from(&axis.model.init_checkpoint);
    take_schedule(&mut passes, &axis);
    assert_same_but_out(passes, &axis)
}

/// The long policy reading its orientation in one hemisphere: the DART stage without the
/// DART folder, from the committed policy copied with `proprio_axis_angle_at`; returns its
/// output folder.
fn long_axis_angle_out() -> std::path::PathBuf {
    let mut dart = launch_train_config("train-compact-long-parallel-5-dart05.toml");
    let mut axis = launch_train_config("train-compact-long-parallel-5-axis-angle.toml");
    assert_eq!(
        axis.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/compact-libero-long-4-passes-axis-angle"
        ))
    );
    dart.data.demos.pop();
    axis.model
        .init_checkpoint
        .clone_from(&dart.model.init_checkpoint);
    assert_same_but_out(axis, &dart)
}

/// The long policy beside small-noise DART episodes: the 4-passes run's data, split and
/// settings plus one σ 0.05 folder, from the committed long policy (a snapshot of that run), at
/// a lower lr over its own length; returns its output folder.
fn long_dart05_out() -> std::path::PathBuf {
    let passes = launch_train_config("train-compact-long-parallel-4-passes.toml");
    let mut dart = launch_train_config("train-compact-long-parallel-5-dart05.toml");
    let init = std::path::PathBuf::from("checkpoints/compact-libero-long-parallel-4-passes");
    assert_eq!(dart.model.init_checkpoint.as_deref(), Some(init.as_path()));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(root.join(&init).join("model.safetensors").is_file());
    assert_eq!(
        dart.data.demos.pop(),
        Some(std::path::PathBuf::from(
            ".cache/demos/libero_style_long_dart05"
        ))
    );
    assert!(dart.train.lr.peak_lr < passes.train.lr.peak_lr);
    assert_eq!(dart.run.steps, dart.train.lr.total_steps);
    dart.model
        .init_checkpoint
        .clone_from(&passes.model.init_checkpoint);
    take_schedule(&mut dart, &passes);
    assert_same_but_out(dart, &passes)
}

/// The long policy beside episodes that detour home between skills: the DART stage with the
/// two detour folders instead of the DART folder; returns its output folder.
fn long_detour_out() -> std::path::PathBuf {
    let dart = launch_train_config("train-compact-long-parallel-5-dart05.toml");
    let mut detour = launch_train_config("train-compact-long-parallel-5-detour.toml");
    let folders: Vec<_> = detour.data.demos.drain(2..).collect();
    assert_eq!(
        folders,
        [
            ".cache/demos/libero_style_long_detour_a",
            ".cache/demos/libero_style_long_detour_b"
        ]
        .map(std::path::PathBuf::from)
    );
    detour
        .data
        .demos
        .push(".cache/demos/libero_style_long_dart05".into());
    assert_same_but_out(detour, &dart)
}

/// The detour stage from the axis-angle passes run's step-4000 average (a policy reading its
/// orientation in one hemisphere); returns its output folder.
fn long_axis_angle_detour_out() -> std::path::PathBuf {
    let detour = launch_train_config("train-compact-long-parallel-5-detour.toml");
    let mut from_hemisphere =
        launch_train_config("train-compact-long-parallel-7-axis-angle-detour.toml");
    let passes = launch_train_config("train-compact-long-parallel-6-axis-angle-passes.toml");
    assert_eq!(
        from_hemisphere.model.init_checkpoint,
        Some(passes.run.out.join("step-004000/ema"))
    );
    from_hemisphere
        .model
        .init_checkpoint
        .clone_from(&detour.model.init_checkpoint);
    assert_same_but_out(from_hemisphere, &detour)
}

/// The detour stage with half of its samples hiding their proprio token, at the 4-passes
/// run's lr for 3000 steps; returns its output folder.
fn long_proprio_dropout_out() -> std::path::PathBuf {
    let detour = launch_train_config("train-compact-long-parallel-5-detour.toml");
    let mut dropout = launch_train_config("train-compact-long-parallel-5-proprio-dropout.toml");
    assert_same_value(dropout.train.proprio_dropout, 0.5);
    assert_same_value(detour.train.proprio_dropout, 0.0);
    assert_half(detour.train.lr.peak_lr, dropout.train.lr.peak_lr);
    assert_half(detour.train.lr.min_lr, dropout.train.lr.min_lr);
    assert_eq!(dropout.run.steps, 3000);
    assert_eq!(dropout.run.steps, dropout.train.lr.total_steps);
    dropout.train.proprio_dropout = 0.0;
    dropout.train.lr.peak_lr = detour.train.lr.peak_lr;
    dropout.train.lr.min_lr = detour.train.lr.min_lr;
    dropout.run.steps = detour.run.steps;
    dropout.train.lr.total_steps = detour.train.lr.total_steps;
    assert_same_but_out(dropout, &detour)
}

/// The detour stage given the episode step: the step stage's start and jitter, at the
/// dropout stage's lr; returns its output folder.
fn long_detour_step_out() -> std::path::PathBuf {
    let detour = launch_train_config("train-compact-long-parallel-5-detour.toml");
    let step = launch_train_config("train-compact-long-parallel-5-step.toml");
    let dropout = launch_train_config("train-compact-long-parallel-5-proprio-dropout.toml");
    let mut with_step = launch_train_config("train-compact-long-parallel-5-detour-step.toml");
    assert_eq!(with_step.model.init_checkpoint, step.model.init_checkpoint);
    assert_same_value(
        with_step.data.episode_step_jitter.into(),
        step.data.episode_step_jitter.into(),
    );
    assert_same_lr(with_step.train.lr.peak_lr, dropout.train.lr.peak_lr);
    assert_same_lr(with_step.train.lr.min_lr, dropout.train.lr.min_lr);
    with_step
        .model
        .init_checkpoint
        .clone_from(&detour.model.init_checkpoint);
    with_step.data.episode_step_jitter = detour.data.episode_step_jitter;
    with_step.train.lr.peak_lr = detour.train.lr.peak_lr;
    with_step.train.lr.min_lr = detour.train.lr.min_lr;
    assert_same_but_out(with_step, &detour)
}

/// The long policy beside widened-layout episodes: the DART stage with the two folders of
/// episodes whose objects start farther out (`ddvla tasks widen-init`) instead of the DART
/// folder, at a higher lr for longer; returns its output folder.
fn long_wide_out() -> std::path::PathBuf {
    let dart = launch_train_config("train-compact-long-parallel-5-dart05.toml");
    let mut wide = launch_train_config("train-compact-long-parallel-5-wide.toml");
    let folders: Vec<_> = wide.data.demos.split_off(2);
    assert_eq!(
        folders,
        [
            std::path::PathBuf::from(".cache/demos/libero_style_long_wide_a"),
            ".cache/demos/libero_style_long_wide_b".into(),
        ]
    );
    wide.data
        .demos
        .push(".cache/demos/libero_style_long_dart05".into());
    assert!(wide.train.lr.peak_lr > dart.train.lr.peak_lr);
    assert_eq!(wide.run.steps, wide.train.lr.total_steps);
    wide.train.lr = dart.train.lr.clone();
    wide.run.steps = dart.run.steps;
    assert_same_but_out(wide, &dart)
}

/// The widened-layout stage with every training crop at the centre; returns its output folder.
fn long_wide_centred_out() -> std::path::PathBuf {
    let wide = launch_train_config("train-compact-long-parallel-5-wide.toml");
    let mut centred = launch_train_config("train-compact-long-parallel-5-wide-centred.toml");
    let augment = centred.data.augment.as_mut().unwrap();
    assert_eq!(augment.crop_position, CropPosition::Centre);
    augment.crop_position = CropPosition::Random;
    assert_same_but_out(centred, &wide)
}

/// The centred widened-layout stage with the keypose loss; returns its output folder.
fn long_wide_keypose_out() -> std::path::PathBuf {
    let centred = launch_train_config("train-compact-long-parallel-5-wide-centred.toml");
    let mut keypose = launch_train_config("train-compact-long-parallel-5-wide-keypose.toml");
    let k = keypose.train.keypose.take().unwrap();
    assert!(k.events == 2 && (k.weight - 1.0).abs() < 1e-9);
    assert_same_but_out(keypose, &centred)
}

/// The keypose stage with the loss weighted 20; returns its output folder.
fn long_wide_keypose_w20_out() -> std::path::PathBuf {
    let one = launch_train_config("train-compact-long-parallel-5-wide-keypose.toml");
    let mut twenty = launch_train_config("train-compact-long-parallel-5-wide-keypose-w20.toml");
    let k = twenty.train.keypose.as_mut().unwrap();
    assert!((k.weight - 20.0).abs() < 1e-9);
    k.weight = 1.0;
    assert_same_but_out(twenty, &one)
}

/// The keypose stage with its head on the scene camera's tokens, regressing the recorded
/// objects' positions; returns its output folder.
fn long_wide_scene_objects_out() -> std::path::PathBuf {
    let events = launch_train_config("train-compact-long-parallel-5-wide-keypose.toml");
    let mut objects = launch_train_config("train-compact-long-parallel-5-wide-scene-objects.toml");
    let k = objects.train.keypose.as_mut().unwrap();
    assert_eq!(
        (k.target, k.input, k.objects),
        (KeyposeTarget::Objects, KeyposeInput::SceneTokens, 2)
    );
    assert!(
        objects.train.train_vision,
        "the head trains the vision tower"
    );
    k.target = KeyposeTarget::GripperEvents;
    k.input = KeyposeInput::ActionSlots;
    assert_same_but_out(objects, &events)
}

/// The long policy given the episode step: the 4-passes run's data, split, statistics and
/// settings from the committed step-6000 average widened by `ddvla checkpoint
/// add-episode-step`, with a step jitter, its own schedule, length and snapshot interval;
/// returns its output folder.
fn long_step_out() -> std::path::PathBuf {
    let passes = launch_train_config("train-compact-long-parallel-4-passes.toml");
    let mut step = launch_train_config("train-compact-long-parallel-5-step.toml");
    assert_eq!(
        step.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/compact-libero-long-4-passes-step-input"
        ))
    );
    assert!((step.data.episode_step_jitter - 0.2).abs() < 1e-6);
    assert_eq!(step.run.steps, step.train.lr.total_steps);
    assert!(step.train.lr.peak_lr < passes.train.lr.peak_lr);
    step.model
        .init_checkpoint
        .clone_from(&passes.model.init_checkpoint);
    step.data.episode_step_jitter = 0.0;
    take_schedule(&mut step, &passes);
    assert_same_but_out(step, &passes)
}

/// The scene-object stage from the committed long policy given a convolutional branch by
/// `ddvla checkpoint add-conv-stem`; returns its output folder.
fn long_wide_scene_objects_conv_stem_out() -> std::path::PathBuf {
    let plain = launch_train_config("train-compact-long-parallel-5-wide-scene-objects.toml");
    let mut conv =
        launch_train_config("train-compact-long-parallel-5-wide-scene-objects-conv-stem.toml");
    assert_eq!(
        conv.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/long-4-passes-conv-stem"
        ))
    );
    conv.model
        .init_checkpoint
        .clone_from(&plain.model.init_checkpoint);
    assert_same_but_out(conv, &plain)
}

/// The long policy told the task's part: the episode-step stage (data, split, statistics,
/// schedule) from the committed long policy given a skill prompt by `ddvla checkpoint
/// skill-prompt` instead of the step; returns its output folder.
fn long_skill_prompt_out() -> std::path::PathBuf {
    let step = launch_train_config("train-compact-long-parallel-5-step.toml");
    let mut parted = launch_train_config("train-compact-long-parallel-5-skill-prompt.toml");
    assert_eq!(
        parted.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/compact-libero-long-4-passes-skill-prompt"
        ))
    );
    assert!(parted.data.episode_step_jitter.abs() < 1e-9);
    let out = parted.run.out.clone();
    parted
        .model
        .init_checkpoint
        .clone_from(&step.model.init_checkpoint);
    parted.data.episode_step_jitter = step.data.episode_step_jitter;
    parted.run.out.clone_from(&step.run.out);
    assert_eq!(parted, step);
    out
}

/// The skill-prompt stage from the committed long policy reading its orientation in one
/// hemisphere (`ddvla checkpoint proprio-axis-angle`, then `skill-prompt`): the same stage
/// otherwise; returns its output folder.
fn long_axis_angle_skill_prompt_out() -> std::path::PathBuf {
    let parted = launch_train_config("train-compact-long-parallel-5-skill-prompt.toml");
    let mut both =
        launch_train_config("train-compact-long-parallel-5-axis-angle-skill-prompt.toml");
    assert_eq!(
        both.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/compact-libero-long-4-passes-axis-angle-skill-prompt"
        ))
    );
    let out = both.run.out.clone();
    both.model
        .init_checkpoint
        .clone_from(&parted.model.init_checkpoint);
    both.run.out.clone_from(&parted.run.out);
    assert_eq!(both, parted);
    out
}

/// The long run over several sessions: long stage 4 (same start, data and split) with the
/// third stage's learning rates stretched over six times the steps, a snapshot every 2000 steps;
/// returns its output folder.
fn long_passes_out() -> std::path::PathBuf {
    let third = launch_train_config("train-compact-long-parallel-3.toml");
    let fourth = launch_train_config("train-compact-long-parallel-4.toml");
    let mut passes = launch_train_config("train-compact-long-parallel-4-passes.toml");
    assert_same_lr(passes.train.lr.peak_lr, third.train.lr.peak_lr);
    assert_same_lr(passes.train.lr.min_lr, third.train.lr.min_lr);
    assert_eq!(passes.run.steps, 6 * fourth.run.steps);
    assert_eq!(passes.run.steps, passes.train.lr.total_steps);
    assert_eq!(passes.run.keep_every, 2000);
    take_schedule(&mut passes, &fourth);
    assert_same_but_out(passes, &fourth)
}

/// The long DAgger stage: long 4-glow with the two glow folders (task 2's only sources)
/// replaced by the policy-driven, expert-labelled folder, which is no task's only source;
/// returns its output folder.
fn long_dagger_out() -> std::path::PathBuf {
    let mut glow = launch_train_config("train-compact-long-parallel-4-glow.toml");
    let mut dagger = launch_train_config("train-compact-long-parallel-4-dagger.toml");
    assert_eq!(
        dagger.data.demos.pop(),
        Some(std::path::PathBuf::from(
            ".cache/demos/libero_style_long_dagger"
        ))
    );
    assert!(dagger.data.task_sources.is_empty());
    glow.data.demos.truncate(2);
    glow.data.task_sources.clear();
    assert_same_but_out(dagger, &glow)
}

/// The stage recorded with the stove's burner glow: long 4-extra with its extra folder
/// replaced by the two folders of task 2 recorded with the glow (that task's only sources), at
/// half its peak and final lr; returns its output folder.
fn long_glow_out() -> std::path::PathBuf {
    let extra = launch_train_config("train-compact-long-parallel-4-extra.toml");
    let mut glow = launch_train_config("train-compact-long-parallel-4-glow.toml");
    let folders: Vec<_> = ["glow", "glow2"]
        .iter()
        .map(|f| std::path::PathBuf::from(format!(".cache/demos/libero_style_long_{f}")))
        .collect();
    let added: Vec<_> = glow.data.demos.drain(2..).collect();
    assert_eq!(added, folders);
    let sources = std::mem::take(&mut glow.data.task_sources);
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        [(
            "turn_on_the_stove_and_put_the_moka_pot_on_it".to_owned(),
            folders
        )]
    );
    assert_half(glow.train.lr.peak_lr, extra.train.lr.peak_lr);
    assert_half(glow.train.lr.min_lr, extra.train.lr.min_lr);
    glow.train.lr = extra.train.lr.clone();
    glow.data.demos.push(extra.data.demos[2].clone());
    assert_same_but_out(glow, &extra)
}

/// The no-proprio stage continued from its weight average: four times the steps at a lower
/// lr, a snapshot every 2000 steps; returns its output folder.
fn long_no_proprio_continued_out() -> std::path::PathBuf {
    let first = launch_train_config("train-compact-long-parallel-5-no-proprio.toml");
    let mut next = launch_train_config("train-compact-long-parallel-6-no-proprio.toml");
    assert_eq!(next.model.init_checkpoint, Some(first.run.out.join("ema")));
    assert!(next.train.lr.peak_lr < first.train.lr.peak_lr);
    assert_eq!(next.run.steps, 4 * first.run.steps);
    assert_eq!(next.run.steps, next.train.lr.total_steps);
    assert_eq!(next.run.keep_every, 2000);
    next.model
        .init_checkpoint
        .clone_from(&first.model.init_checkpoint);
    take_schedule(&mut next, &first);
    assert_same_but_out(next, &first)
}

//! The long suite's position-target stage (`launch/train-compact-long-parallel-5-position-target.toml`).

use crate::common::{assert_same_but_out, launch_train_config, take_schedule};

/// The committed long policy predicting target positions: the axis-angle stage's data, split
/// and settings from the committed policy copied with `ddvla checkpoint position-target`, at
/// the spatial fine-tunes' lr over twice the steps; returns its output folder.
pub fn long_position_target_out() -> std::path::PathBuf {
    let axis = launch_train_config("train-compact-long-parallel-5-axis-angle.toml");
    let mut targets = launch_train_config("train-compact-long-parallel-5-position-target.toml");
    assert_eq!(
        targets.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/long-4-passes-position-target"
        ))
    );
    assert!(targets.train.lr.peak_lr > axis.train.lr.peak_lr);
    assert_eq!(targets.run.steps, 2 * axis.run.steps);
    assert_eq!(targets.run.steps, targets.train.lr.total_steps);
    targets
        .model
        .init_checkpoint
        .clone_from(&axis.model.init_checkpoint);
    take_schedule(&mut targets, &axis);
    assert_same_but_out(targets, &axis)
}

/// The committed long policy predicting the expert's goals: the position-target stage with
/// its demonstrations recorded again with the goals, its start copied with `--labels
/// expert-goal`, over half the steps; returns its output folder.
pub fn long_expert_goal_out() -> std::path::PathBuf {
    let targets = launch_train_config("train-compact-long-parallel-5-position-target.toml");
    let mut goals = launch_train_config("train-compact-long-parallel-5-expert-goal.toml");
    assert_eq!(
        goals.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/long-4-passes-expert-goal"
        ))
    );
    let goal_demos: Vec<std::path::PathBuf> = targets
        .data
        .demos
        .iter()
        .map(|d| {
            let name = d.file_name().unwrap().to_str().unwrap();
            d.with_file_name(name.replace("long_", "long_goal_"))
        })
        .collect();
    assert_eq!(goals.data.demos, goal_demos);
    assert_eq!(2 * goals.run.steps, targets.run.steps);
    assert_eq!(goals.run.steps, goals.train.lr.total_steps);
    goals
        .model
        .init_checkpoint
        .clone_from(&targets.model.init_checkpoint);
    goals.data.demos.clone_from(&targets.data.demos);
    take_schedule(&mut goals, &targets);
    assert_same_but_out(goals, &targets)
}

/// The scene-object stage with its head on the hand camera's tokens, regressing the objects'
/// positions from the end effector; returns its output folder.
pub fn long_wide_hand_objects_out() -> std::path::PathBuf {
    use ddvla_policy::train::{KeyposeInput, KeyposeTarget};
    let scene = launch_train_config("train-compact-long-parallel-5-wide-scene-objects.toml");
    let mut hand = launch_train_config("train-compact-long-parallel-5-wide-hand-objects.toml");
    let k = hand.train.keypose.as_mut().unwrap();
    assert_eq!(
        (k.target, k.input, k.objects),
        (KeyposeTarget::ObjectsFromPinch, KeyposeInput::HandTokens, 2)
    );
    k.target = KeyposeTarget::Objects;
    k.input = KeyposeInput::SceneTokens;
    assert_same_but_out(hand, &scene)
}

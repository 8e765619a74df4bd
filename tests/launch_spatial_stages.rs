//! The shipped default policy's (the spatial suite's) training configs chain as documented:
//! each stage starts from the run before it, or the shipped policy, on the data and split it
//! says.
// Left out of builds with the `rerun` feature, as these tests were in tests/cli.rs.
#![cfg(not(feature = "rerun"))]
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;
use common::{
    assert_half, assert_same_lr, launch_train_config, put_back_folder, take_dart_folders,
};

#[test]
fn the_default_policy_config_continues_the_parallel_run() {
    let spatial = launch_train_config("train-compact-spatial.toml");
    // The parallel model's 50-demonstration stage continues the parallel run with its
    // objective on stage 2's demonstrations plus new ones, same suite, key and split seed.
    let parallel = launch_train_config("train-compact-spatial-parallel.toml");
    let parallel_50 = launch_train_config("train-compact-spatial-parallel-50.toml");
    assert_eq!(
        parallel_50.model.init_checkpoint.as_deref(),
        Some(parallel.run.out.as_path())
    );
    assert_eq!(
        parallel_50.train.objective,
        ddvla_policy::train::Objective::Parallel
    );
    assert_eq!(parallel_50.data.demos[0], spatial.data.demos[0]);
    assert!(parallel_50.data.demos.len() > 1);
    assert_eq!(parallel_50.data.suites, spatial.data.suites);
    assert_eq!(parallel_50.data.unnorm_key, spatial.data.unnorm_key);
    assert_eq!(parallel_50.train.seed, spatial.train.seed);
    assert_eq!(parallel_50.run.steps, parallel_50.train.lr.total_steps);
    assert_ne!(parallel_50.run.out, parallel.run.out);
    // Its next stage continues the shipped copy of it on the same data, keeping an average.
    let next = launch_train_config("train-compact-spatial-parallel-50-2.toml");
    let shipped = std::path::Path::new("checkpoints/compact-libero-spatial-parallel-50");
    assert_eq!(next.model.init_checkpoint.as_deref(), Some(shipped));
    assert_eq!(next.data.demos, parallel_50.data.demos);
    assert_eq!(next.data.suites, parallel_50.data.suites);
    assert_eq!(next.data.unnorm_key, parallel_50.data.unnorm_key);
    assert_eq!(next.train.seed, parallel_50.train.seed);
    assert_eq!(next.train.objective, parallel_50.train.objective);
    assert!(next.train.ema_decay.is_some());
    assert_eq!(next.run.steps, next.train.lr.total_steps);
    assert_ne!(next.run.out, parallel_50.run.out);
    // Its DART stage is that next stage but for the DART episodes added, half the peak
    // learning rate and its own output folder.
    let mut dart = launch_train_config("train-compact-spatial-parallel-50-3-dart.toml");
    take_dart_folders(&mut dart, &next, "spatial");
    assert_half(dart.train.lr.peak_lr, next.train.lr.peak_lr);
    assert_half(dart.train.lr.min_lr, next.train.lr.min_lr);
    assert_ne!(dart.run.out, next.run.out);
    assert_ne!(dart.run.out, parallel_50.run.out);
    // Its low-lr variant is the DART stage at a constant lr (the DART stage's floor), shorter,
    // with more frequent snapshots, into its own folder.
    let dart_whole = launch_train_config("train-compact-spatial-parallel-50-3-dart.toml");
    let mut low = launch_train_config("train-compact-spatial-parallel-50-4-lowlr-dart.toml");
    assert_same_lr(low.train.lr.peak_lr, dart.train.lr.min_lr);
    assert_same_lr(low.train.lr.min_lr, dart.train.lr.min_lr);
    assert_eq!(low.run.steps, low.train.lr.total_steps);
    assert!(low.run.steps < dart.run.steps);
    assert!(low.run.keep_every > 0 && low.run.keep_every < dart.run.keep_every);
    assert_ne!(low.run.out, dart.run.out);
    low.train.lr = dart.train.lr.clone();
    low.run.steps = dart.run.steps;
    low.run.keep_every = dart.run.keep_every;
    low.run.out = dart.run.out.clone();
    assert_eq!(low, dart_whole);
    // Its extra-demonstration stage is the DART stage with one folder of 50 more expert
    // episodes of the weak tasks in place of the two DART folders, into its own folder.
    let mut extra = launch_train_config("train-compact-spatial-parallel-50-5-extra.toml");
    assert_eq!(
        extra.data.demos.pop(),
        Some(std::path::PathBuf::from(
            ".cache/demos/libero_style_spatial_extra"
        ))
    );
    assert_ne!(extra.run.out, dart.run.out);
    extra.run.out.clone_from(&dart.run.out);
    assert_eq!(extra, dart);
    // Its DAgger round is the extra-demonstration stage with the labelled rollouts in place of
    // the extra folder, on the goal suite's DAgger round's schedule, into its own folder.
    let mut mix = launch_train_config("train-compact-spatial-parallel-50-6-dagger-mix.toml");
    let goal_mix = launch_train_config("train-compact-goal-parallel-5-push-dagger-mix.toml");
    assert_eq!(mix.train.lr, goal_mix.train.lr);
    assert_eq!(mix.run.steps, goal_mix.run.steps);
    assert_eq!(mix.run.keep_every, goal_mix.run.keep_every);
    assert_eq!(mix.run.eval_every, goal_mix.run.eval_every);
    let (extra_folder, mix_folder) = (
        std::path::PathBuf::from(".cache/demos/libero_style_spatial_extra"),
        std::path::PathBuf::from(".cache/demos/libero_style_spatial_dagger_mix"),
    );
    assert_eq!(put_back_folder(&mut mix, &extra_folder, &mix_folder), 1);
    let whole = launch_train_config("train-compact-spatial-parallel-50-5-extra.toml");
    assert_ne!(mix.run.out, whole.run.out);
    mix.train.lr = whole.train.lr.clone();
    mix.run.steps = whole.run.steps;
    mix.run.keep_every = whole.run.keep_every;
    mix.run.eval_every = whole.run.eval_every;
    mix.run.out.clone_from(&whole.run.out);
    assert_eq!(mix, whole);
    dart.train.lr = next.train.lr.clone();
    dart.run.out = next.run.out.clone();
    assert_eq!(dart, next);
}

#[test]
fn the_80_demonstration_stage_is_stages_3_and_4_in_one() {
    let parallel = launch_train_config("train-compact-spatial-parallel.toml");
    let parallel_50 = launch_train_config("train-compact-spatial-parallel-50.toml");
    let mut merged = launch_train_config("train-compact-spatial-parallel-80.toml");
    // It starts where stage 3 did (the committed DD-VLA checkpoint), with stage 3's peak lr
    // over stages 3 and 4's steps together, and ends at stage 4's floor.
    assert_eq!(merged.model.init_checkpoint, parallel.model.init_checkpoint);
    assert_same_lr(merged.train.lr.peak_lr, parallel.train.lr.peak_lr);
    assert_same_lr(merged.train.lr.min_lr, parallel_50.train.lr.min_lr);
    assert_eq!(
        merged.train.lr.total_steps,
        parallel.train.lr.total_steps + parallel_50.train.lr.total_steps
    );
    assert_eq!(merged.run.steps, merged.train.lr.total_steps);
    assert!(merged.train.ema_decay.is_some());
    assert!(merged.run.keep_every > 0 && merged.run.steps.is_multiple_of(merged.run.keep_every));
    // Stage 4's folders come first (the last check), then the two new ones.
    let new_folders = merged.data.demos.split_off(parallel_50.data.demos.len());
    assert_eq!(
        new_folders,
        [
            std::path::PathBuf::from(".cache/demos/libero_style_more_c"),
            std::path::PathBuf::from(".cache/demos/libero_style_more_d"),
        ]
    );
    assert_ne!(merged.run.out, parallel_50.run.out);
    // Otherwise it is stage 4.
    merged.model = parallel_50.model.clone();
    merged.train.lr = parallel_50.train.lr.clone();
    merged.train.ema_decay = parallel_50.train.ema_decay;
    merged.run.steps = parallel_50.run.steps;
    merged.run.keep_every = parallel_50.run.keep_every;
    merged.run.out.clone_from(&parallel_50.run.out);
    assert_eq!(merged, parallel_50);
}

#[test]
fn the_rollout_stage_is_the_80_demonstration_stage_plus_successful_rollouts() {
    let base = launch_train_config("train-compact-spatial-parallel-80.toml");
    let mut rollouts = launch_train_config("train-compact-spatial-parallel-80-rollouts.toml");
    // The 80-demonstration stage's folders come first, then one per rollout shard, kept only
    // where the episode reached the goal.
    let added = rollouts.data.demos.split_off(base.data.demos.len());
    assert_eq!(added.len(), 4);
    for folder in &added {
        let name = folder.to_string_lossy();
        assert!(
            name.starts_with(".cache/demos/libero_style_spatial_rollouts_"),
            "{name}"
        );
    }
    assert!(rollouts.data.successful_only);
    assert_ne!(rollouts.run.out, base.run.out);
    // Otherwise it is the 80-demonstration stage.
    rollouts.run.out.clone_from(&base.run.out);
    assert_eq!(rollouts, base);
}

#[test]
fn the_192_px_stage_is_the_80_demonstration_stage_at_192_px() {
    let base = launch_train_config("train-compact-spatial-parallel-80.toml");
    let mut hires = launch_train_config("train-compact-spatial-parallel-80-192px.toml");
    // It starts from the same checkpoint taken to 192 px (`ddvla checkpoint resize-images`).
    assert_eq!(
        hires.model.init_checkpoint.as_deref(),
        Some(std::path::Path::new(
            ".cache/checkpoints/compact-libero-spatial-192px"
        ))
    );
    // The same init states recorded at 192 px: the 128 px stage's first folder (10 per task)
    // as two, one per half of the tasks, then each 128 px folder's 192 px twin.
    let want: Vec<std::path::PathBuf> = ["_a", "_b", "_more_a", "_more_b", "_more_c", "_more_d"]
        .iter()
        .map(|s| format!(".cache/demos/libero_style_192{s}").into())
        .collect();
    assert_eq!(hires.data.demos, want);
    for folder in &base.data.demos[1..] {
        let name = folder
            .to_string_lossy()
            .replace("libero_style", "libero_style_192");
        assert!(want.contains(&name.into()), "{}", folder.display());
    }
    assert_ne!(hires.run.out, base.run.out);
    // Otherwise it is the 80-demonstration stage.
    hires.model = base.model.clone();
    hires.data.demos.clone_from(&base.data.demos);
    hires.run.out.clone_from(&base.run.out);
    assert_eq!(hires, base);
}

#[test]
fn the_grasp_miss_stage_is_the_80_demonstration_stage_plus_grasp_recovery_episodes() {
    let base = launch_train_config("train-compact-spatial-parallel-80.toml");
    let mut miss = launch_train_config("train-compact-spatial-parallel-80-grasp-miss.toml");
    // The 80-demonstration stage's init states recorded again at 128 px (its first folder as
    // two, one per half of the tasks), then the two grasp-recovery folders.
    let want: Vec<std::path::PathBuf> = [
        "_a", "_b", "_more_a", "_more_b", "_more_c", "_more_d", "_miss_a", "_miss_b",
    ]
    .iter()
    .map(|s| format!(".cache/demos/libero_style_128{s}").into())
    .collect();
    assert_eq!(miss.data.demos, want);
    for folder in &base.data.demos[1..] {
        let name = folder
            .to_string_lossy()
            .replace("libero_style", "libero_style_128");
        assert!(want.contains(&name.into()), "{}", folder.display());
    }
    assert_ne!(miss.run.out, base.run.out);
    // Otherwise it is the 80-demonstration stage.
    miss.data.demos.clone_from(&base.data.demos);
    miss.run.out.clone_from(&base.run.out);
    assert_eq!(miss, base);
}

#[test]
fn the_grasp_recovery_stage_is_the_grasp_miss_stage_on_the_recoveries_only() {
    let miss = launch_train_config("train-compact-spatial-parallel-80-grasp-miss.toml");
    let mut recovery = launch_train_config("train-compact-spatial-parallel-80-grasp-recovery.toml");
    assert!(recovery.data.labelled_from_first_close && !miss.data.labelled_from_first_close);
    assert_ne!(recovery.run.out, miss.run.out);
    recovery.data.labelled_from_first_close = false;
    recovery.run.out.clone_from(&miss.run.out);
    assert_eq!(recovery, miss);
}

#[test]
fn the_diffusion_stage_is_the_80_demonstration_stage_with_dd_vla_s_objective() {
    let miss = launch_train_config("train-compact-spatial-parallel-80-grasp-miss.toml");
    let mut diffusion = launch_train_config("train-compact-spatial-diffusion-80.toml");
    assert_eq!(
        diffusion.train.objective,
        ddvla_policy::train::Objective::Diffusion
    );
    // The 128 px recordings of the 80-demonstration stage's init states, without the
    // grasp-recovery folders.
    let want: Vec<std::path::PathBuf> = miss
        .data
        .demos
        .iter()
        .filter(|d| !d.to_string_lossy().contains("_miss_"))
        .cloned()
        .collect();
    assert_eq!(want.len(), 6);
    assert_eq!(diffusion.data.demos, want);
    assert_ne!(diffusion.run.out, miss.run.out);
    // Otherwise it is the grasp-miss stage's copy of the 80-demonstration stage.
    diffusion.train.objective = miss.train.objective;
    diffusion.data.demos.clone_from(&miss.data.demos);
    diffusion.run.out.clone_from(&miss.run.out);
    assert_eq!(diffusion, miss);
}

#[test]
fn the_all_masked_stage_is_the_diffusion_stage_with_half_its_samples_all_masked() {
    let diffusion = launch_train_config("train-compact-spatial-diffusion-80.toml");
    let mut mixed = launch_train_config("train-compact-spatial-diffusion-80-all-masked.toml");
    assert!(diffusion.train.all_masked_fraction.abs() < 1e-12);
    assert!((mixed.train.all_masked_fraction - 0.5).abs() < 1e-12);
    assert_ne!(mixed.run.out, diffusion.run.out);
    mixed.train.all_masked_fraction = 0.0;
    mixed.run.out.clone_from(&diffusion.run.out);
    assert_eq!(mixed, diffusion);
}

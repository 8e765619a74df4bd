//! The object, goal and long suites' training configs in `launch/` chain as documented: each
//! stage starts from the run before it (or the policy picked from it) on the data and split it
//! says (the spatial suite's: `launch_spatial_stages.rs`).
// Left out of builds with the `rerun` feature, as these tests were in tests/cli.rs.
#![cfg(not(feature = "rerun"))]
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;
#[path = "launch_stages/long.rs"]
mod long;
#[path = "launch_stages/long_targets.rs"]
mod long_targets;
use common::{
    assert_continues, assert_half, assert_half_lr_variant, assert_same_but_out,
    launch_train_config, put_back_folder, take_dart_folders,
};

#[test]
fn the_other_suites_configs_start_from_the_default_policy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let spatial = launch_train_config("train-compact-spatial.toml");
    // The object, goal and long suites' policies start from the shipped default with the
    // same recipe, each on its own suite's demonstrations and into its own folder.
    let mut outs = Vec::new();
    for suite in ["object", "goal", "long"] {
        let name = format!("train-compact-{suite}-parallel.toml");
        let config = launch_train_config(&name);
        let init = config.model.init_checkpoint.clone().unwrap();
        assert_eq!(
            init,
            std::path::Path::new("checkpoints/compact-libero-spatial-parallel-50")
        );
        assert!(root.join(&init).join("model.safetensors").is_file());
        assert_eq!(
            config.train.objective,
            ddvla_policy::train::Objective::Parallel
        );
        let suite_name = format!("libero_style_{suite}");
        assert_eq!(
            config.data.suites.as_deref(),
            Some(&[suite_name.clone()][..])
        );
        for demos in &config.data.demos {
            assert!(
                demos.to_string_lossy().contains(&suite_name),
                "{name}: {}",
                demos.display()
            );
        }
        assert_eq!(config.data.unnorm_key, spatial.data.unnorm_key);
        assert_eq!(config.run.steps, config.train.lr.total_steps);
        outs.push(config.run.out);
    }
    // The later stages (2 and 3 on each suite, 4 on long) each continue the stage before
    // on the same data and split.
    for (suite, last_stage) in [("object", 3), ("goal", 3), ("long", 4)] {
        let stages: Vec<_> = std::iter::once(format!("train-compact-{suite}-parallel.toml"))
            .chain((2..=last_stage).map(|k| format!("train-compact-{suite}-parallel-{k}.toml")))
            .map(|name| launch_train_config(&name))
            .collect();
        for pair in stages.windows(2) {
            let (before, next) = (&pair[0], &pair[1]);
            assert_continues(root, next, before);
            assert_eq!(next.data.demos, before.data.demos);
            assert_eq!(next.data.suites, before.data.suites);
            assert_eq!(next.train.seed, before.train.seed);
            assert_eq!(next.train.objective, before.train.objective);
            assert_eq!(next.run.steps, next.train.lr.total_steps);
            outs.push(next.run.out.clone());
        }
    }
    // The object suite's DART stage is its third stage with the DART episodes added: the
    // same start, schedule and everything else, another output folder.
    let third = launch_train_config("train-compact-object-parallel-3.toml");
    let mut dart = launch_train_config("train-compact-object-parallel-3-dart.toml");
    take_dart_folders(&mut dart, &third, "object");
    outs.push(dart.run.out.clone());
    dart.run.out = third.run.out.clone();
    assert_eq!(dart, third);
    // The goal suite's fourth stage starts from its third stage's soup (the policy
    // pick_snapshot.sh picked) and adds the DART episodes, at half the peak learning rate.
    let third = launch_train_config("train-compact-goal-parallel-3.toml");
    let mut fourth = launch_train_config("train-compact-goal-parallel-4-dart.toml");
    assert_eq!(
        fourth.model.init_checkpoint,
        Some(third.run.out.join("soup"))
    );
    take_dart_folders(&mut fourth, &third, "goal");
    assert_half(fourth.train.lr.peak_lr, third.train.lr.peak_lr);
    assert_half(fourth.train.lr.min_lr, third.train.lr.min_lr);
    outs.push(fourth.run.out.clone());
    fourth.model.init_checkpoint = third.model.init_checkpoint.clone();
    fourth.train.lr = third.train.lr.clone();
    fourth.run.out = third.run.out.clone();
    assert_eq!(fourth, third);
    // The goal suite's first stage from the shipped object policy differs from its first
    // stage in the start (a committed checkpoint) and the output folder only.
    let first = launch_train_config("train-compact-goal-parallel.toml");
    let mut from_object = launch_train_config("train-compact-goal-parallel-1-from-object.toml");
    let object_init = from_object.model.init_checkpoint.clone().unwrap();
    assert_eq!(
        object_init,
        std::path::Path::new("checkpoints/compact-libero-object")
    );
    assert!(root.join(&object_init).join("model.safetensors").is_file());
    outs.push(from_object.run.out.clone());
    from_object.model.init_checkpoint = first.model.init_checkpoint.clone();
    from_object.run.out = first.run.out.clone();
    assert_eq!(from_object, first);
    outs.extend(goal_variants_outs());
    outs.extend(long::long_variants_outs());
    outs.sort();
    outs.dedup();
    assert_eq!(outs.len(), 48);
}

/// The goal suite's variants of one stage each differ from it in one thing and the output
/// folder; returns their output folders.
fn goal_variants_outs() -> Vec<std::path::PathBuf> {
    let mut outs = Vec::new();
    // The goal suite's second stage with seed 1 differs from it in the seed and the output
    // folder only (the soup of the two needs the same start and statistics).
    let second = launch_train_config("train-compact-goal-parallel-2.toml");
    let mut seed1 = launch_train_config("train-compact-goal-parallel-2-seed1.toml");
    assert_eq!((second.train.seed, seed1.train.seed), (0, 1));
    outs.push(seed1.run.out.clone());
    seed1.train.seed = second.train.seed;
    seed1.run.out.clone_from(&second.run.out);
    assert_eq!(seed1, second);
    // The goal suite's third stage at half the peak lr differs from it in the lr and the
    // output folder only.
    outs.push(assert_half_lr_variant(
        "train-compact-goal-parallel-3.toml",
        "train-compact-goal-parallel-3-lowlr.toml",
    ));
    // ... and with every task weighted equally: that flag and the output folder only.
    let low_lr = launch_train_config("train-compact-goal-parallel-3-lowlr.toml");
    let mut balanced = launch_train_config("train-compact-goal-parallel-3-lowlr-balanced.toml");
    assert!(balanced.data.balance_tasks && !low_lr.data.balance_tasks);
    outs.push(balanced.run.out.clone());
    balanced.data.balance_tasks = false;
    balanced.run.out.clone_from(&low_lr.run.out);
    assert_eq!(balanced, low_lr);
    // ... and with the extra demonstrations of the weak tasks: one folder added after the
    // two halves, and the output folder only.
    let mut extra = launch_train_config("train-compact-goal-parallel-3-lowlr-extra.toml");
    outs.push(extra.run.out.clone());
    assert_eq!(
        extra.data.demos.pop(),
        Some(std::path::PathBuf::from(
            ".cache/demos/libero_style_goal_extra"
        ))
    );
    extra.run.out.clone_from(&low_lr.run.out);
    assert_eq!(extra, low_lr);
    // The fourth stage continues that stage's weight average (committed under the run's
    // folder name) with a second extra folder and the re-recorded plate push (its only
    // source of that task), at half its peak lr and for 2000 steps.
    let extra = launch_train_config("train-compact-goal-parallel-3-lowlr-extra.toml");
    let mut fourth = launch_train_config("train-compact-goal-parallel-4-extra.toml");
    let committed = std::path::Path::new("checkpoints").join(extra.run.out.file_name().unwrap());
    assert_eq!(fourth.model.init_checkpoint.as_deref(), Some(&*committed));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(root.join(&committed).join("model.safetensors").is_file());
    let push = std::path::PathBuf::from(".cache/demos/libero_style_goal_push");
    assert_eq!(fourth.data.demos.pop(), Some(push.clone()));
    assert_eq!(
        fourth.data.demos.pop(),
        Some(std::path::PathBuf::from(
            ".cache/demos/libero_style_goal_extra2"
        ))
    );
    let sources = std::mem::take(&mut fourth.data.task_sources);
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        [(
            "push_the_plate_to_the_front_of_the_stove".to_owned(),
            vec![push]
        )]
    );
    assert_half(fourth.train.lr.peak_lr, extra.train.lr.peak_lr);
    assert_half(fourth.train.lr.min_lr, extra.train.lr.min_lr);
    assert_eq!(fourth.run.steps, fourth.train.lr.total_steps);
    outs.push(fourth.run.out.clone());
    fourth
        .model
        .init_checkpoint
        .clone_from(&extra.model.init_checkpoint);
    fourth.train.lr = extra.train.lr.clone();
    fourth.run.steps = extra.run.steps;
    fourth.run.out.clone_from(&extra.run.out);
    assert_eq!(fourth, extra);
    // ... and the same fourth stage at half its peak and final lr: those and the folder only.
    outs.push(assert_half_lr_variant(
        "train-compact-goal-parallel-4-extra.toml",
        "train-compact-goal-parallel-4-extra-lowlr.toml",
    ));
    // ... and that low-lr stage with the plate push recorded by the level-push expert in place
    // of the old push folder (its only source): that folder and the output folder only.
    let low = launch_train_config("train-compact-goal-parallel-4-extra-lowlr.toml");
    let mut push2 = launch_train_config("train-compact-goal-parallel-4-push2.toml");
    outs.push(push2.run.out.clone());
    let (old_push, new_push) = (
        std::path::PathBuf::from(".cache/demos/libero_style_goal_push"),
        std::path::PathBuf::from(".cache/demos/libero_style_goal_push2"),
    );
    assert_eq!(put_back_folder(&mut push2, &old_push, &new_push), 2);
    push2.run.out.clone_from(&low.run.out);
    assert_eq!(push2, low);
    outs.push(push_dagger_out());
    outs.push(push_dagger_mix_out());
    outs
}

/// The goal DAgger round with the expert executing half the chunks differs from it in the
/// labelled folder (its `demos` entry and push source) and the output folder only; returns
/// that folder.
fn push_dagger_mix_out() -> std::path::PathBuf {
    let plain = launch_train_config("train-compact-goal-parallel-5-push-dagger.toml");
    let mut mix = launch_train_config("train-compact-goal-parallel-5-push-dagger-mix.toml");
    let (plain_folder, mix_folder) = (
        std::path::PathBuf::from(".cache/demos/libero_style_goal_push_dagger"),
        std::path::PathBuf::from(".cache/demos/libero_style_goal_push_dagger_mix"),
    );
    assert_eq!(put_back_folder(&mut mix, &plain_folder, &mix_folder), 2);
    assert_same_but_out(mix, &plain)
}

/// The goal suite's DAgger stage differs from 4-push2 in its start (a snapshot that run
/// keeps), the labelled plate-push folder (in `demos` and as a push source), half the steps
/// with their schedule and snapshots, and the output folder; returns that folder.
fn push_dagger_out() -> std::path::PathBuf {
    let push2 = launch_train_config("train-compact-goal-parallel-4-push2.toml");
    let mut dagger = launch_train_config("train-compact-goal-parallel-5-push-dagger.toml");
    let snapshot_step = 1000;
    assert_eq!(snapshot_step % push2.run.keep_every, 0);
    assert!(snapshot_step < push2.run.steps);
    assert_eq!(
        dagger.model.init_checkpoint,
        Some(ddvla::train_cli::snapshot_dir(&push2.run.out, snapshot_step).join("ema"))
    );
    let labelled = std::path::PathBuf::from(".cache/demos/libero_style_goal_push_dagger");
    assert_eq!(dagger.data.demos.pop(), Some(labelled.clone()));
    let push_sources = dagger
        .data
        .task_sources
        .get_mut("push_the_plate_to_the_front_of_the_stove")
        .unwrap();
    assert_eq!(push_sources.pop(), Some(labelled));
    assert_eq!(dagger.run.steps * 2, push2.run.steps);
    assert_eq!(dagger.train.lr.total_steps, dagger.run.steps);
    dagger
        .model
        .init_checkpoint
        .clone_from(&push2.model.init_checkpoint);
    dagger.train.lr.total_steps = push2.train.lr.total_steps;
    dagger.run.steps = push2.run.steps;
    dagger.run.keep_every = push2.run.keep_every;
    dagger.run.eval_every = push2.run.eval_every;
    assert_same_but_out(dagger, &push2)
}

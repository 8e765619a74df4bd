#!/usr/bin/env bash
# Make, or continue, one LIBERO-style suite's policy with the per-suite recipe, in one command
# that picks up wherever an earlier run of it stopped (a session's end, a reboot):
#   1. the expert demonstrations its config trains on: tasks 0-4 and 5-9, 50 episodes each,
#      recorded by two processes at once into .cache/demos/libero_style_<suite>_{a,b}
#      (`ddvla demos record ... --resume` continues a cut recording);
#   2. `ddvla train --config launch/train-compact-<suite>-parallel[-<stage>].toml` (resumable);
#   3. the evaluation row in docs/runs (`scripts/results.sh` with CKPT_PARALLEL_50_<SUITE>, or
#      CKPT_PARALLEL_50_<STAGE>_<SUITE> for later stages), and docs/results.md rebuilt.
#
#   ./scripts/suite_policy.sh long        # first stage: launch/train-compact-long-parallel.toml
#   ./scripts/suite_policy.sh object 2    # second stage: launch/train-compact-object-parallel-2.toml
#   ./scripts/suite_policy.sh object 3    # third stage: launch/train-compact-object-parallel-3.toml
#   ./scripts/suite_policy.sh long 4      # fourth stage: launch/train-compact-long-parallel-4.toml
#   ./scripts/suite_policy.sh object 3-dart  # the third stage plus DART episodes (below)
#   ./scripts/suite_policy.sh goal 4-dart    # goal's fourth stage, from its third's soup, + DART
#   ./scripts/suite_policy.sh goal 1-from-object  # goal's first stage from the object policy
#   ./scripts/suite_policy.sh goal 2-seed1   # goal's second stage with seed 1
#   ./scripts/suite_policy.sh goal 3-lowlr   # goal's third stage at half the peak lr
#   ./scripts/suite_policy.sh goal 3-lowlr-balanced  # ... with every task weighted equally
#   ./scripts/suite_policy.sh goal 3-lowlr-extra  # ... with 50 more episodes of tasks 4-6
#   ./scripts/suite_policy.sh goal 4-extra   # its average, + 50 more episodes of tasks 3, 5, 9
#   ./scripts/suite_policy.sh goal 4-extra-lowlr  # ... at half that stage's peak lr
#   ./scripts/suite_policy.sh long 4-extra   # long's third stage + 50 more episodes of 2, 7, 8
#   ./scripts/suite_policy.sh long 4-glow    # ... task 2 recorded again with the stove's glow
#   ./scripts/suite_policy.sh goal 4-push2   # goal 4-extra-lowlr with the level plate push
#   ./scripts/suite_policy.sh goal 5-push-dagger  # from 4-push2's step-1000 average + DAgger
#   ./scripts/suite_policy.sh goal 5-push-dagger-mix  # ... the expert driving half the chunks
#   ./scripts/suite_policy.sh long 4-dagger  # long's third stage + its own labelled rollouts
#   ./scripts/suite_policy.sh long 4-passes  # long's third stage for ~1.65 more passes (sessions)
#   ./scripts/suite_policy.sh long 5-dart05  # the committed long policy + DART at σ 0.05
#   ./scripts/suite_policy.sh long 5-wide    # the committed long policy + objects ±3 cm farther
#   ./scripts/suite_policy.sh long 5-wide-centred  # ... every training crop at the centre
#   ./scripts/suite_policy.sh long 5-wide-keypose  # ... and the keypose loss
#   ./scripts/suite_policy.sh long 5-wide-keypose-w20  # ... weighted 20
#   ./scripts/suite_policy.sh long 5-wide-scene-objects  # ... its head on the scene camera's tokens, regressing the objects
#   ./scripts/suite_policy.sh long 5-detour  # the committed long policy + detours home
#
# A config that trains on .cache/demos/libero_style_<suite>_dart_{a,b} also gets those
# recorded: 25 episodes per task in which the expert drove with action noise (σ 0.15,
# `ddvla demos record --action-noise`, init-state seed 3000) and labelled its clean actions.
#
# A config that trains on .cache/demos/libero_style_<suite>_dart05 gets that recorded: 25
# episodes of each task with action noise σ 0.05 (init-state seed 5000), in one process.
#
# A config that trains on .cache/demos/libero_style_<suite>_wide_a gets that and `_wide_b`
# recorded: 25 expert episodes of tasks 0-4 (init-state seed 6000) and of 5-9 (seed 6100) on a
# copy of the suite whose movable objects start from regions 3 cm wider on every side
# (`ddvla tasks widen-init --by 0.03`, written to .cache/suites-wide), two processes at once.
#
# A config that trains on .cache/demos/libero_style_<suite>_detour_a gets that and `_detour_b`
# recorded: 10 expert episodes of tasks 0-4 (init-state seed 8000) and of 5-9 (seed 8100) in
# which the expert detours home for 1-80 steps after each skill with more to do, every step
# labelled by the labeller (`ddvla demos record --detour-home-steps 80`), two processes at once.
#
# A config that trains on .cache/demos/libero_style_<suite>_extra (or `_extra2`) gets that
# recorded too: 50 more expert episodes for each of the suite's weakest tasks from other init
# states, in one process (goal: tasks 4, 5 and 6 with seed 2000; `_extra2`: tasks 3, 5 and 9
# with seed 4000; `_push`: the plate push, task 5, with seed 5000, recorded after its expert
# stopped holding still before the push; long: tasks 2, 7 and 8 with seed 4000; `_glow` and
# `_glow2`: long task 2 with seeds 1000 and 4000, recorded since the turned-on stove glows;
# `_push2`: the plate push with seed 6000, recorded since its expert pushes level).
#
# A config that trains on .cache/demos/libero_style_goal_push_dagger gets that recorded too: 50
# plate-push episodes (seed 7000) in which the config's start checkpoint drove (parallel decoder)
# and the scripted expert labelled every step (`ddvla demos record --expert-labels`, DAgger).
# That start is a snapshot of an earlier stage's run folder, so that stage runs first. Likewise
# .cache/demos/libero_style_long_dagger: 6 episodes of each long task (seed 7000) driven by the
# committed long policy, the expert executing each chunk instead with probability 0.5. And .cache/demos/libero_style_goal_push_dagger_mix: 50 plate pushes
# (seed 8000) in which the expert, not the policy, executes each chunk with probability 0.5
# (`--expert-share 0.5`, DAgger's β).
#
# ROW_SUFFIX=-rerun names the rows `<row>-rerun` (and `<row>-rerun-ema`): for a stage trained
# again after its weights were lost, whose first rows stay as they were.
#
# DDVLA=PATH uses that binary instead of building one. Each step that is already complete is
# skipped: a recording that finished (this script leaves a `.complete` file in its folder), a
# run whose trainer state is at its last step, a row whose results.json exists.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ddvla/target}"
suite="${1:?usage: scripts/suite_policy.sh SUITE [STAGE] (SUITE: object, goal or long)}"
stage="${2:-1}"
case "$suite" in object | goal | long) ;; *)
  echo "unknown suite $suite: expected object, goal or long (the spatial policy, the shipped" \
    "default, has its own stages: launch/README.md)" >&2
  exit 2
  ;;
esac
case "$stage" in
  1) config="launch/train-compact-$suite-parallel.toml" row_var="CKPT_PARALLEL_50_" ;;
  2 | 3 | 4 | 3-dart | 4-dart | 1-from-object | 2-seed1 | 3-lowlr | 3-lowlr-balanced | 3-lowlr-extra | 4-extra | 4-extra-lowlr | 4-glow | 4-push2 | 5-push-dagger | 5-push-dagger-mix | 4-dagger | 4-passes | 5-dart05 | 5-wide | 5-wide-centred | 5-wide-keypose | 5-wide-keypose-w20 | 5-wide-scene-objects | 5-detour)
    config="launch/train-compact-$suite-parallel-$stage.toml"
    row_var="CKPT_PARALLEL_50_$(echo "$stage" | tr '[:lower:]-' '[:upper:]_')_"
    ;;
  *)
    echo "unknown stage $stage: expected 1, 2, 3, 4, 3-dart, 4-dart, 1-from-object, 2-seed1," \
      "3-lowlr, 3-lowlr-balanced, 3-lowlr-extra, 4-extra, 4-extra-lowlr, 4-glow, 4-push2," \
      "5-push-dagger, 5-push-dagger-mix, 4-dagger, 4-passes, 5-dart05, 5-wide," \
      "5-wide-centred, 5-wide-keypose, 5-wide-keypose-w20, 5-wide-scene-objects or 5-detour" >&2
    exit 2
    ;;
esac
if [ ! -f "$config" ]; then
  echo "$config does not exist: no stage $stage recipe for the $suite suite" >&2
  exit 2
fi
if [ -n "${DDVLA:-}" ]; then
  B="$DDVLA"
else
  cargo build --release --locked
  B="$CARGO_TARGET_DIR/release/ddvla"
fi
name="libero_style_$suite"
demos=(".cache/demos/${name}_a" ".cache/demos/${name}_b")
for d in "${demos[@]}"; do
  if ! grep -q "\"$d\"" "$config"; then
    echo "$config does not train on $d: record its demonstrations as its comments say" >&2
    exit 2
  fi
done

# 1. Demonstrations (expert episodes the expert fails are dropped and recorded again on a
# resume, to the same result, so a complete folder may list slightly fewer than 250).
episodes() {
  if [ -f "$1/index.json" ]; then grep -c '"file"' "$1/index.json" || true; else echo 0; fi
}
# record_folder OUT TASKS ARGS...: one recording of the expert on TASKS into OUT (log OUT.log),
# resumed if OUT has episodes, skipped if OUT is complete; fails naming its log.
record_folder() {
  local out=$1 tasks=$2 resume=()
  shift 2
  mkdir -p "$(dirname "$out")" # a fresh clone has no .cache/demos for the logs yet
  if [ -f "$out/.complete" ]; then return 0; fi
  if [ -f "$out/index.json" ]; then resume=(--resume); fi
  echo "recording $out ($(episodes "$out") episodes there)"
  if ! "$B" demos record --suite "$name" --tasks "$tasks" "$@" --out "$out" "${resume[@]}" \
    > "$out.log" 2>&1; then
    echo "recording $out failed: see $out.log" >&2
    return 1
  fi
  touch "$out/.complete"
}
# record KIND: the plain halves (`plain`: 50 expert episodes per task) or the DART halves
# (`dart`: 25 per task with action noise), two processes at once.
record() {
  local kind=$1 pids=() failed=0 half out tasks extra
  for half in a b; do
    if [ "$kind" = plain ]; then
      out=".cache/demos/${name}_$half" extra=(--episodes-per-task 50)
    else
      out=".cache/demos/${name}_dart_$half"
      extra=(--episodes-per-task 25 --action-noise 0.15 --seed 3000)
    fi
    tasks=$([ "$half" = a ] && echo 0,1,2,3,4 || echo 5,6,7,8,9)
    record_folder "$out" "$tasks" "${extra[@]}" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  if [ "$failed" -gt 0 ]; then exit 1; fi
}
record plain
echo "demonstrations: $(episodes "${demos[0]}") + $(episodes "${demos[1]}") episodes"
if grep -q "\".cache/demos/${name}_dart_a\"" "$config"; then
  record dart
  echo "DART episodes: $(episodes ".cache/demos/${name}_dart_a") +" \
    "$(episodes ".cache/demos/${name}_dart_b")"
fi
dart05=".cache/demos/${name}_dart05"
if grep -q "\"$dart05\"" "$config"; then
  record_folder "$dart05" 0,1,2,3,4,5,6,7,8,9 --episodes-per-task 25 --action-noise 0.05 \
    --seed 5000 || exit 1
  echo "DART episodes (σ 0.05): $(episodes "$dart05")"
fi
wide_suites=".cache/suites-wide"
if grep -q "\".cache/demos/${name}_wide_a\"" "$config"; then
  if [ ! -f "$wide_suites/$name/suite.toml" ]; then
    "$B" tasks widen-init --suite "$name" --by 0.03 --out "$wide_suites"
  fi
  record_folder ".cache/demos/${name}_wide_a" 0,1,2,3,4 --episodes-per-task 25 --seed 6000 \
    --suites-dir "$wide_suites" &
  wide_a=$!
  record_folder ".cache/demos/${name}_wide_b" 5,6,7,8,9 --episodes-per-task 25 --seed 6100 \
    --suites-dir "$wide_suites" &
  wide_b=$!
  wait "$wide_a" || exit 1
  wait "$wide_b" || exit 1
  echo "widened-layout episodes: $(episodes ".cache/demos/${name}_wide_a") +" \
    "$(episodes ".cache/demos/${name}_wide_b")"
fi
if grep -q "\".cache/demos/${name}_detour_a\"" "$config"; then
  record_folder ".cache/demos/${name}_detour_a" 0,1,2,3,4 --episodes-per-task 10 --seed 8000 \
    --detour-home-steps 80 &
  detour_a=$!
  record_folder ".cache/demos/${name}_detour_b" 5,6,7,8,9 --episodes-per-task 10 --seed 8100 \
    --detour-home-steps 80 &
  detour_b=$!
  wait "$detour_a" || exit 1
  wait "$detour_b" || exit 1
  echo "detour episodes: $(episodes ".cache/demos/${name}_detour_a") +" \
    "$(episodes ".cache/demos/${name}_detour_b")"
fi
# The extra folders: 50 more expert episodes of each of a suite's weak tasks, from init states
# no other folder used (each folder its own seed).
for extra in ".cache/demos/${name}_extra" ".cache/demos/${name}_extra2" ".cache/demos/${name}_push" \
  ".cache/demos/${name}_glow" ".cache/demos/${name}_glow2" ".cache/demos/${name}_push2"; do
  if ! grep -q "\"$extra\"" "$config"; then continue; fi
  case "$suite/${extra##*_}" in
    goal/extra) extra_tasks=4,5,6 extra_seed=2000 ;;
    goal/extra2) extra_tasks=3,5,9 extra_seed=4000 ;;
    goal/push) extra_tasks=5 extra_seed=5000 ;;
    goal/push2) extra_tasks=5 extra_seed=6000 ;;
    long/extra) extra_tasks=2,7,8 extra_seed=4000 ;;
    long/glow) extra_tasks=2 extra_seed=1000 ;;
    long/glow2) extra_tasks=2 extra_seed=4000 ;;
    *)
      echo "$config trains on $extra, but no extra tasks are set for it" >&2
      exit 2
      ;;
  esac
  record_folder "$extra" "$extra_tasks" --episodes-per-task 50 --seed "$extra_seed" || exit 1
  echo "extra demonstrations: $(episodes "$extra") episodes in $extra"
done

# DAgger folders: the config's start checkpoint drives, the expert labels (their own seed;
# dagger_share: the chance that the expert executes a chunk instead (DAgger's β).
for dagger in ".cache/demos/${name}_push_dagger" ".cache/demos/${name}_push_dagger_mix" \
  ".cache/demos/${name}_dagger"; do
  if ! grep -q "\"$dagger\"" "$config"; then continue; fi
  dagger_seed=7000 dagger_share=0
  case "$suite/${dagger#.cache/demos/"$name"_}" in
    goal/push_dagger) dagger_tasks=5 dagger_episodes=50 ;;
    goal/push_dagger_mix) dagger_tasks=5 dagger_episodes=50 dagger_seed=8000 dagger_share=0.5 ;;
    long/dagger) dagger_tasks=0,1,2,3,4,5,6,7,8,9 dagger_episodes=6 dagger_share=0.5 ;;
    *)
      echo "$config trains on $dagger, but no DAgger tasks are set for it" >&2
      exit 2
      ;;
  esac
  init=$(sed -n 's/^init_checkpoint = "\(.*\)"$/\1/p' "$config")
  if [ ! -f "$init/model.safetensors" ]; then
    echo "$config starts from $init, which is not there: run the stage that writes it first" \
      "(launch/README.md)" >&2
    exit 2
  fi
  record_folder "$dagger" "$dagger_tasks" --episodes-per-task "$dagger_episodes" \
    --seed "$dagger_seed" --policy "$init" --decoder parallel --expert-labels \
    --expert-share "$dagger_share" || exit 1
  echo "DAgger episodes: $(episodes "$dagger") in $dagger"
done

# 2. Training (resumes from its output folder).
ckpt=$(sed -n 's/^out = "\(.*\)"$/\1/p' "$config")
steps=$(sed -n 's/^steps = \([0-9]*\)$/\1/p' "$config")
done_steps=$(sed -n 's/^  "step": \([0-9]*\),$/\1/p' "$ckpt/trainer_state.json" 2> /dev/null || true)
if [ "${done_steps:-0}" != "$steps" ]; then
  echo "training $config (${done_steps:-0} of $steps steps done)"
  # Two threads: the long runs' loss.csv files (samples_per_s) show ~4.5-5 samples/s for a
  # compact run on one thread (a build on the other core) and ~6.5-8 on two, on these 2-core
  # machines. RAYON_NUM_THREADS=1 leaves a core to a second job at that cost.
  RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-2}" "$B" train --config "$config"
fi

# 3. Evaluation row and report.
upper=$(echo "$suite" | tr '[:lower:]' '[:upper:]')
env DDVLA="$B" JOBS="${JOBS:-2}" SUITES="$name" SIMPLER_SUITES= "$row_var$upper=$ckpt" \
  ./scripts/results.sh

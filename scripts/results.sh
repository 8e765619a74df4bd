#!/usr/bin/env bash
# Produce docs/results.md: LIBERO's protocol on the four LIBERO-style suites for the scripted
# expert, uniform random actions and, when CKPT (and optionally CKPT_AR / CKPT_PARALLEL /
# CKPT_PARALLEL_50 or a suite's own CKPT_PARALLEL_50_<SUITE> and its later stages
# CKPT_PARALLEL_50_2_<SUITE> / CKPT_PARALLEL_50_3_<SUITE> / CKPT_PARALLEL_50_4_<SUITE> /
# CKPT_PARALLEL_50_3_DART_<SUITE> /
# CKPT_PARALLEL_50_4_DART_<SUITE> / CKPT_PARALLEL_50_1_FROM_OBJECT_<SUITE> /
# CKPT_PARALLEL_50_2_SEED1_<SUITE> / CKPT_PARALLEL_50_3_LOWLR_<SUITE> /
# CKPT_PARALLEL_50_3_LOWLR_BALANCED_<SUITE> / CKPT_PARALLEL_50_3_LOWLR_EXTRA_<SUITE> /
# CKPT_PARALLEL_50_4_EXTRA_<SUITE> / CKPT_PARALLEL_50_4_EXTRA_LOWLR_<SUITE> /
# CKPT_PARALLEL_50_4_GLOW_<SUITE> / CKPT_PARALLEL_50_4_PUSH2_<SUITE> /
# CKPT_PARALLEL_50_5_PUSH_DAGGER_<SUITE> / CKPT_PARALLEL_50_5_PUSH_DAGGER_MIX_<SUITE> /
# CKPT_PARALLEL_50_4_DAGGER_<SUITE> / CKPT_PARALLEL_50_6_DAGGER_MIX_<SUITE> /
# CKPT_PARALLEL_50_4_PASSES_<SUITE> / CKPT_PARALLEL_50_5_DART05_<SUITE> /
# CKPT_PARALLEL_50_5_WIDE_<SUITE> / CKPT_PARALLEL_50_5_WIDE_CENTRED_<SUITE>, models trained
# with those objectives) are given, the trained policy under each decoder; the scripted expert
# and random actions on the SimplerEnv-style suites.
#
#   EPISODES=50 RANDOM_EPISODES=10 MODEL_EPISODES=10 CKPT=.cache/checkpoints/small-libero-style ./scripts/results.sh
#
# Raw runs go to $OUT/<suite>/<policy>/ (results.json, results.md; default docs/runs, which is
# committed, so the report can be rebuilt and extended on any machine); a run that is there
# already is kept (delete its folder to run it again). The report is assembled by `ddvla eval
# report` with docs/results-preamble.md on top into $REPORT (default docs/results.md).
# JOBS=N runs each evaluation as N single-threaded shards at once (`--shard i/N`,
# RAYON_NUM_THREADS=1) and merges them (`ddvla eval merge`): more episodes per minute on a small CPU, but the chunk
# latencies are then single-threaded ones.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ddvla/target}"
EPISODES="${EPISODES:-50}"
MODEL_EPISODES="${MODEL_EPISODES:-10}"
RANDOM_EPISODES="${RANDOM_EPISODES:-10}"
SUITES="${SUITES:-libero_style_spatial libero_style_object libero_style_goal libero_style_long}"
OUT="${OUT:-docs/runs}"
SIMPLER_SUITES="${SIMPLER_SUITES-simpler_widowx simpler_google}"
SIMPLER_EPISODES="${SIMPLER_EPISODES:-24}"
REPORT="${REPORT:-docs/results.md}"
JOBS="${JOBS:-1}"
# run SUITE NAME EPISODES ARGS...: one evaluation into $OUT/SUITE/NAME; B: the ddvla binary,
# DDVLA=PATH or a fresh release build (scripts/lib/eval_run.sh).
# shellcheck source=scripts/lib/eval_run.sh
source scripts/lib/eval_run.sh
B=$(ddvla_binary)

# A row of the parallel recipe, plus a `<name>-ema` row for the checkpoint's weight average
# when its run kept one (`ema_decay`: the policy checkpoint `<ckpt>/ema`). ROW_SUFFIX (e.g.
# `-rerun`) is appended to the row's name: a second training of a recipe whose row exists
# (its weights lost) gets rows of its own (`parallel-50-2-rerun`, `parallel-50-2-rerun-ema`).
parallel_rows() {
  local suite=$1 name=$2${ROW_SUFFIX:-} ckpt=$3
  run "$suite" "$name" "$MODEL_EPISODES" --policy "$ckpt" --decoder parallel
  if [ -d "$ckpt/ema" ]; then
    run "$suite" "$name-ema" "$MODEL_EPISODES" --policy "$ckpt/ema" --decoder parallel
  fi
}

for s in $SUITES; do
  run "$s" expert "$EPISODES" --policy expert
  run "$s" random "$RANDOM_EPISODES" --policy random
  if [ -n "${CKPT:-}" ]; then
    run "$s" diffusion-t12 "$MODEL_EPISODES" --policy "$CKPT" --decoder diffusion --rounds 12
    run "$s" diffusion-t12-argmax "$MODEL_EPISODES" --policy "$CKPT" --decoder diffusion --rounds 12 --temperature 0
    run "$s" parallel-decoder "$MODEL_EPISODES" --policy "$CKPT" --decoder parallel
    run "$s" diffusion-t12-remask "$MODEL_EPISODES" --policy "$CKPT" --decoder diffusion --rounds 12 --remask
    run "$s" diffusion-t4 "$MODEL_EPISODES" --policy "$CKPT" --decoder diffusion --rounds 4
    run "$s" diffusion-t2 "$MODEL_EPISODES" --policy "$CKPT" --decoder diffusion --rounds 2
    run "$s" diffusion-t2-cached "$MODEL_EPISODES" --policy "$CKPT" --decoder diffusion-cached --rounds 2
    run "$s" diffusion-t12-cached "$MODEL_EPISODES" --policy "$CKPT" --decoder diffusion-cached --rounds 12
  fi
  if [ -n "${CKPT_AR:-}" ]; then run "$s" ar "$MODEL_EPISODES" --policy "$CKPT_AR" --decoder ar; fi
  if [ -n "${CKPT_PARALLEL:-}" ]; then
    run "$s" parallel "$MODEL_EPISODES" --policy "$CKPT_PARALLEL" --decoder parallel
    run "$s" parallel-execute4 "$MODEL_EPISODES" --policy "$CKPT_PARALLEL" --decoder parallel --execute 4
  fi
  # The parallel recipe on 50 demonstrations per task: CKPT_PARALLEL_50 for every suite, or
  # the suite's own checkpoint, CKPT_PARALLEL_50_<SUITE> (e.g. CKPT_PARALLEL_50_OBJECT).
  suite_var="CKPT_PARALLEL_50_$(echo "${s#libero_style_}" | tr '[:lower:]' '[:upper:]')"
  ckpt_50="${!suite_var:-${CKPT_PARALLEL_50:-}}"
  if [ -n "$ckpt_50" ]; then
    parallel_rows "$s" parallel-50 "$ckpt_50"
    # SECOND_STATES=1: the same policy on init states 40..49, disjoint from every row's 0..9:
    # how far a 100-episode success rate moves with the states alone.
    if [ -n "${SECOND_STATES:-}" ]; then
      run "$s" parallel-50-states-40 "$MODEL_EPISODES" --policy "$ckpt_50" --decoder parallel \
        --first-episode 40
    fi
    # ENSEMBLE=1: the same policy with ACT's temporal ensembling (decay 0.01), a chunk every
    # 2 steps (4 chunks cover each step; 4x the decodes of whole-chunk execution).
    if [ -n "${ENSEMBLE:-}" ]; then
      run "$s" parallel-50-ensemble "$MODEL_EPISODES" --policy "$ckpt_50" --decoder parallel \
        --ensemble 0.01 --execute 2
      # The same with the gripper value from the newest chunk instead of the mean.
      run "$s" parallel-50-ensemble-gripper "$MODEL_EPISODES" --policy "$ckpt_50" \
        --decoder parallel --ensemble 0.01 --execute 2 --ensemble-newest-dims 1
    fi
  fi
  # Later stages of that recipe on the same suite (e.g. CKPT_PARALLEL_50_2_OBJECT, from
  # launch/train-compact-object-parallel-2.toml): each its own row, beside the first stage's
  # (stage 3_DART: row parallel-50-3-dart).
  for stage in 2 3 4 3_DART 4_DART 1_FROM_OBJECT 2_SEED1 3_LOWLR 3_LOWLR_BALANCED 3_LOWLR_EXTRA 4_EXTRA \
    4_EXTRA_LOWLR 4_GLOW 4_PUSH2 5_PUSH_DAGGER 5_PUSH_DAGGER_MIX 4_DAGGER 6_DAGGER_MIX 4_PASSES 5_DART05 \
    5_WIDE 5_WIDE_CENTRED; do
    stage_var="CKPT_PARALLEL_50_${stage}_$(echo "${s#libero_style_}" | tr '[:lower:]' '[:upper:]')"
    if [ -n "${!stage_var:-}" ]; then
      row=$(echo "parallel-50-$stage" | tr '[:upper:]_' '[:lower:]-')
      parallel_rows "$s" "$row" "${!stage_var}"
    fi
  done
done
for s in $SIMPLER_SUITES; do
  run "$s" expert "$SIMPLER_EPISODES" --policy expert
  run "$s" random "$SIMPLER_EPISODES" --policy random
done
"$B" eval report "$OUT" --preamble docs/results-preamble.md --out "$REPORT"

#!/usr/bin/env bash
# Pick a training run's best policy by closed-loop success, then report it on the usual states.
#
#   ./scripts/pick_snapshot.sh SUITE RUN ROW
#   e.g. ./scripts/pick_snapshot.sh libero_style_object .cache/checkpoints/compact-libero-object-parallel-3 parallel-50-3-picked
#
# Candidates: the checkpoint the run started from (`start`, its train.toml's init_checkpoint,
# when that folder exists), every snapshot a run kept (`[run] keep_every`: RUN/step-NNNNNN/)
# and its weight average (…/ema), plus the run's last weights (RUN, RUN/ema) unless a snapshot
# holds that step, and the uniform average of those steps' last weights (RUN/soup, made by
# `ddvla checkpoint average`; a "model soup", Wortsman et al. 2022; made again when the
# snapshots change). Each is evaluated on init states PICK_FIRST.. (default 40, PICK_EPISODES
# per task, default 5), which the report does not use; the best (ties go to the later
# candidate: the run's own over its start, the later step, at one step the average, and the
# soup last of all) is then evaluated on states
# 0..MODEL_EPISODES-1 (default 10) like every other row, into docs/runs/SUITE/ROW, with the
# selection table beside it (pick.md), and docs/results.md is rebuilt. Selection runs go to
# .cache/pick/ROW/; everything resumes (a finished evaluation is kept). JOBS=N shards each
# evaluation (scripts/lib/eval_run.sh); DDVLA=PATH picks the binary; EVAL_ARGS adds arguments
# to every evaluation (e.g. "--tasks 0 --max-steps 20" for a quick try); RUNS (default
# docs/runs) and REPORT (default docs/results.md) move the outputs; PICK_START=0 leaves the
# start out (a run that starts from another objective's checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 3 ]; then
  sed -n '2,22p' "$0" >&2
  exit 2
fi
suite=$1 run_dir=${2%/} row=$3
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ddvla/target}"
PICK_FIRST="${PICK_FIRST:-40}"
PICK_EPISODES="${PICK_EPISODES:-5}"
MODEL_EPISODES="${MODEL_EPISODES:-10}"
JOBS="${JOBS:-2}"
RUNS="${RUNS:-docs/runs}"
REPORT="${REPORT:-docs/results.md}"
read -r -a extra <<< "${EVAL_ARGS:-}"
# shellcheck source=scripts/lib/eval_run.sh
source scripts/lib/eval_run.sh
B=$(ddvla_binary)

if [ ! -f "$run_dir/trainer_state.json" ]; then
  echo "$run_dir is not a training run (no trainer_state.json)" >&2
  exit 1
fi
last=$(sed -n 's/^  "step": \([0-9]*\),$/\1/p' "$run_dir/trainer_state.json")
# Candidate name → checkpoint folder, in step order (each step: last weights, then average).
names=() paths=()
add() { if [ -f "$2/model.safetensors" ]; then names+=("$1"); paths+=("$2"); fi; }
# The checkpoint the run started from (its train.toml's `init_checkpoint`) comes first: a stage
# is only worth keeping if something it made beats its start on the same states.
start=$(sed -n 's/^init_checkpoint = "\(.*\)"$/\1/p' "$run_dir/train.toml" 2> /dev/null || true)
if [ -n "$start" ] && [ "${PICK_START:-1}" != 0 ]; then
  if [ ! -f "$start/model.safetensors" ]; then
    echo "$run_dir started from $start, which holds no model.safetensors (not a candidate)" >&2
  fi
  add start "${start%/}"
fi
for snap in "$run_dir"/step-[0-9][0-9][0-9][0-9][0-9][0-9]; do
  [ -d "$snap" ] || continue
  step=$((10#${snap##*/step-}))
  add "step-$step" "$snap"
  add "step-$step-ema" "$snap/ema"
done
if [ ! -d "$run_dir/$(printf 'step-%06d' "$last")" ]; then
  add "step-$last" "$run_dir"
  add "step-$last-ema" "$run_dir/ema"
fi
# The uniform average of the last weights of every step above (a "model soup", `ddvla
# checkpoint average`) in RUN/soup is the last candidate. It is made again (and its selection
# run dropped, and the row if it reported the soup) when the run's snapshots are no longer the
# ones its averaged_from.json names.
steps=()
for i in "${!names[@]}"; do
  case "${names[$i]}" in *-ema | start) ;; *) steps+=("${paths[$i]}") ;; esac
done
# The folder names a soup was averaged from, one per line (empty when there is none).
soup_sources() {
  sed -n 's/^    "\(.*\)",\{0,1\}$/\1/p' "$1/averaged_from.json" 2> /dev/null |
    while read -r p; do basename "$p"; done
}
if [ ${#steps[@]} -ge 2 ]; then
  want=$(for p in "${steps[@]}"; do basename "$p"; done)
  if [ ! -f "$run_dir/soup/model.safetensors" ] ||
    [ "$(soup_sources "$run_dir/soup")" != "$want" ]; then
    if [ -d "$run_dir/soup" ]; then
      echo "$run_dir/soup was averaged from other snapshots: averaging ${#steps[@]} again"
    fi
    rm -rf "$run_dir/soup" ".cache/pick/$row/$suite/soup"
    # A row that reported the old soup is evaluated again, whatever wins now.
    if grep -qF "(\`$run_dir/soup\`)" "$RUNS/$suite/$row/pick.md" 2> /dev/null; then
      rm -rf "${RUNS:?}/$suite/$row"
    fi
    "$B" checkpoint average "${steps[@]}" --out "$run_dir/soup"
  fi
  add soup "$run_dir/soup"
fi
if [ ${#names[@]} -eq 0 ]; then
  echo "$run_dir holds no policy checkpoint" >&2
  exit 1
fi

OUT=".cache/pick/$row"
best=-1 best_name="" best_path=""
table="| candidate | checkpoint | success on init states $PICK_FIRST.. ($PICK_EPISODES per task) |
|---|---|---|"
for i in "${!names[@]}"; do
  run "$suite" "${names[$i]}" "$PICK_EPISODES" --policy "${paths[$i]}" \
    --first-episode "$PICK_FIRST" "${extra[@]}"
  rate=$(sed -n 's/^  "average_success_rate": \([0-9.e-]*\),\{0,1\}$/\1/p' \
    "$OUT/$suite/${names[$i]}/results.json")
  table="$table
| ${names[$i]} | ${paths[$i]} | $(awk -v r="$rate" 'BEGIN { printf "%.1f%%", 100 * r }') |"
  # ">=": later candidates win ties (the later step; at one step the average, listed second).
  # Rates are means of per-task rates, so equal counts can differ in the last bit (0.74 and
  # 0.7399999999999999): a tie is anything within 1e-9.
  if awk -v r="$rate" -v b="$best" 'BEGIN { exit !(r >= b - 1e-9) }'; then
    best=$rate best_name=${names[$i]} best_path=${paths[$i]}
  fi
done
echo "$table"
echo "picked $best_name ($best_path)"

OUT="$RUNS"
# A row left by an earlier pick of another candidate (e.g. before the soup existed) is redone.
if [ -f "$RUNS/$suite/$row/results.json" ] &&
  ! grep -qF "(\`$best_path\`)" "$RUNS/$suite/$row/pick.md" 2> /dev/null; then
  echo "$RUNS/$suite/$row holds an earlier pick: evaluating $best_path there instead"
  rm -rf "${RUNS:?}/$suite/$row"
fi
run "$suite" "$row" "$MODEL_EPISODES" --policy "$best_path" "${extra[@]}"
{
  echo "# $row: picked by closed-loop success"
  echo
  prefix=""
  if [ "${PICK_START:-1}" = 0 ]; then prefix="PICK_START=0 "; fi
  echo "\`${prefix}./scripts/pick_snapshot.sh $suite $run_dir $row\`: each candidate ran"
  echo "$PICK_EPISODES episodes per task on init states $PICK_FIRST.., which the reported row"
  echo "(states 0..$((MODEL_EPISODES - 1))) does not use. Picked: **$best_name** (\`$best_path\`)."
  echo
  echo "$table"
} > "$RUNS/$suite/$row/pick.md"
"$B" eval report "$RUNS" --preamble docs/results-preamble.md --out "$REPORT"

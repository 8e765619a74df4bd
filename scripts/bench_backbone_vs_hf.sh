#!/usr/bin/env bash
# Backbone forward time of ddvla (candle) beside HF transformers eager on the same config,
# sequence lengths and thread count, run back to back (twice, interleaved, to expose noise).
#
#   scripts/bench_backbone_vs_hf.sh [preset] [threads]
#
# Needs a Python with torch + transformers (see policy/tests/golden/requirements-golden.txt);
# set PYTHON to it (default: python3). Writes bench-backbone-vs-hf.json.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-base}"
threads="${2:-2}"
py="${PYTHON:-python3}"
out="bench-backbone-vs-hf.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cargo build --release --quiet
results=()
for round in 1 2; do
  RAYON_NUM_THREADS="$threads" ./target/release/ddvla bench policy --preset "$preset" \
    --decoders parallel --iters 8 --warmup 2 --json "$tmp/ddvla.json" > /dev/null
  "$py" - "$tmp/ddvla.json" "$tmp/hf_config.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
json.dump(r["backbone"]["hf_config"], open(sys.argv[2], "w"))
PY
  read -r full suffix past < <("$py" -c "import json;b=json.load(open('$tmp/ddvla.json'))['backbone'];print(b['full_seq_len'],b['suffix_len'],b['suffix_past_len'])")
  "$py" scripts/bench_hf_backbone.py --config "$tmp/hf_config.json" --seq-len "$full" \
    --threads "$threads" --iters 8 --json "$tmp/hf_full.json" > /dev/null
  "$py" scripts/bench_hf_backbone.py --config "$tmp/hf_config.json" --seq-len "$suffix" \
    --past "$past" --threads "$threads" --iters 8 --json "$tmp/hf_suffix.json" > /dev/null
  results+=("$("$py" - "$tmp" "$round" <<'PY'
import json, sys
d, rnd = sys.argv[1], int(sys.argv[2])
ours = json.load(open(f"{d}/ddvla.json"))
hf_full = json.load(open(f"{d}/hf_full.json"))
hf_suffix = json.load(open(f"{d}/hf_suffix.json"))
b = ours["backbone"]
print(json.dumps({
    "round": rnd, "preset": ours["preset"], "threads": ours["threads"], "cpu": ours["cpu"],
    "full_seq_len": b["full_seq_len"], "suffix_len": b["suffix_len"], "suffix_past_len": b["suffix_past_len"],
    "ddvla_full_p50_ms": b["full_pass"]["p50_ms"], "hf_full_p50_ms": hf_full["p50_ms"],
    "ddvla_suffix_p50_ms": b["suffix_pass"]["p50_ms"], "hf_suffix_p50_ms": hf_suffix["p50_ms"],
    "torch": hf_full["torch_version"], "transformers": hf_full["transformers_version"],
}))
PY
)")
done
printf '%s\n' "${results[@]}" | "$py" -c "import sys,json;rows=[json.loads(l) for l in sys.stdin];json.dump(rows,open('$out','w'),indent=1);[print(r) for r in rows]"
echo "wrote $out"

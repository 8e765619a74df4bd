#!/usr/bin/env bash
# Every workspace crate is listed in ARCHITECTURE.md and has a README.md (house style).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
members=$(grep -m1 '^members = ' Cargo.toml | grep -o '"[^"]*"' | tr -d '"')
for m in $members; do
  name=$(grep -m1 '^name = ' "$m/Cargo.toml" | cut -d'"' -f2)
  grep -q "\`$m/\`" ARCHITECTURE.md || { echo "ARCHITECTURE.md does not list $m/" >&2; status=1; }
  grep -q "\`$name\`" ARCHITECTURE.md || { echo "ARCHITECTURE.md does not name crate $name" >&2; status=1; }
  [[ -f "$m/README.md" ]] || { echo "$m has no README.md" >&2; status=1; }
done
exit $status

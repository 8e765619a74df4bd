#!/usr/bin/env python3
"""Copies a suite folder with every movable object's init region widened, to record
demonstrations whose objects stand farther from their usual spots than the suite's +-1 cm:
a policy trained on those cannot follow one absolute path per task and has to find the objects
in its images (`ddvla eval open-loop --swap-images` tells whether it does).

    python3 scripts/widen_init_regions.py tasks/suites/libero_style_long OUT/libero_style_long --by 0.03
    ddvla demos record --suites-dir OUT --suite libero_style_long --seed 6000 --out DEMOS

Each `(:ranges ((x0 y0 x1 y1)))` of a region targeting the table with a non-zero extent grows
by `--by` metres on every side; fixtures (zero extent) and regions on objects stay as they are.
The scene sampler rejects placements whose footprints overlap, so crowded scenes still sample.
The copy has no init states (recording samples its own); evaluate on the original suite.
"""

import argparse
import os
import re
import shutil
import sys

RANGES = re.compile(
    r"\(:target main_table\) \(:ranges \(\(([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)\)\)\)"
)


def widen(text, by):
    """`text` with every non-degenerate table region grown by `by`; and how many grew."""
    count = 0

    def grow(m):
        nonlocal count
        x0, y0, x1, y1 = (float(v) for v in m.groups())
        if x1 - x0 <= 0.0 and y1 - y0 <= 0.0:
            return m.group(0)
        count += 1
        return (f"(:target main_table) (:ranges (({x0 - by:.3f} {y0 - by:.3f} "
                f"{x1 + by:.3f} {y1 + by:.3f})))")

    return RANGES.sub(grow, text), count


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("suite", help="suite folder (suite.toml and the BDDL files)")
    p.add_argument("out", help="new suite folder (refused if it exists)")
    p.add_argument("--by", type=float, required=True, help="metres added on every side")
    a = p.parse_args(argv)
    if not (0.0 < a.by <= 0.2):
        sys.exit(f"--by {a.by}: must be in (0, 0.2] metres")
    if not os.path.isfile(os.path.join(a.suite, "suite.toml")):
        sys.exit(f"{a.suite}: no suite.toml")
    if os.path.exists(a.out):
        sys.exit(f"{a.out} exists: never overwritten")
    os.makedirs(a.out)
    shutil.copy(os.path.join(a.suite, "suite.toml"), a.out)
    for name in sorted(os.listdir(a.suite)):
        if not name.endswith(".bddl"):
            continue
        with open(os.path.join(a.suite, name)) as f:
            text, n = widen(f.read(), a.by)
        if n == 0:
            sys.exit(f"{name}: no table region to widen")
        with open(os.path.join(a.out, name), "w") as f:
            f.write(text)
        print(f"{name}: {n} regions widened by {a.by} m")


if __name__ == "__main__":
    main(sys.argv[1:])

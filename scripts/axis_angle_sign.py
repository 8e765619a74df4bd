#!/usr/bin/env python3
"""Does a policy's open-loop error follow the sign of the axis-angle orientation?

LIBERO-style proprio values 3..6 are the end effector's axis-angle vector; a gripper pointing
down is a rotation of about pi, where the vector flips between +pi*n and -pi*n at a hair's
change of pose. This script reads the per-frame rows of `ddvla eval open-loop --frames CSV`
and, for each scored frame, compares the sign of its proprio value 3 with the sign most of a
reference folder's demonstrations of the same task have at the same step. It prints the mean
chunk motion error (`mae_motion`) where the signs agree, where they differ, and where the
reference demonstrations are mixed at that step (less than 90% one way).

    .cache/venv-bridge/bin/python scripts/axis_angle_sign.py FRAMES.csv REFERENCE_DIR... \
        [--per-task N]

REFERENCE_DIR: demonstration folders (`ddvla demos record` output); the first N episodes of
each task (default 12) set the majority sign.
"""

import collections
import csv
import json
import os
import sys

from mcap_ros2.reader import read_ros2_messages

AXIS_X = 3  # proprio index of the axis-angle vector's x component


def proprio(path):
    """The episode's proprio rows, in order."""
    return [list(m.ros_msg.data) for m in read_ros2_messages(path, topics=["/ddvla/proprio"])]


def sign(v):
    return 1 if v >= 0 else -1


def reference_signs(dirs, per_task):
    """task -> list of per-episode sign sequences."""
    out = collections.defaultdict(list)
    for d in dirs:
        with open(os.path.join(d, "index.json")) as f:
            episodes = json.load(f)["episodes"]
        for e in episodes:
            if len(out[e["task"]]) >= per_task:
                continue
            rows = proprio(os.path.join(d, e["file"]))
            out[e["task"]].append([sign(r[AXIS_X]) for r in rows])
    return out


def main(argv):
    per_task = 12
    if "--per-task" in argv:
        i = argv.index("--per-task")
        per_task = int(argv[i + 1])
        del argv[i : i + 2]
    if len(argv) < 2:
        sys.exit(__doc__)
    frames, dirs = argv[0], argv[1:]
    ref = reference_signs(dirs, per_task)
    groups = {"agree": [], "differ": [], "mixed": []}
    cache = {}
    with open(frames) as f:
        for row in csv.DictReader(f):
            path, step = row["episode"], int(row["step"])
            task = os.path.basename(os.path.dirname(path))
            if path not in cache:
                cache[path] = proprio(path)
            mine = sign(cache[path][step][AXIS_X])
            signs = [s[step] for s in ref.get(task, []) if step < len(s)]
            if not signs:
                continue
            share = sum(signs) / len(signs)
            err = float(row["mae_motion"])
            if abs(share) < 0.8:
                groups["mixed"].append(err)
            elif mine == sign(share):
                groups["agree"].append(err)
            else:
                groups["differ"].append(err)
    for name, errs in groups.items():
        mean = sum(errs) / len(errs) if errs else float("nan")
        print(f"{name:>6}: {len(errs):4d} frames, mean chunk motion error {mean:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])

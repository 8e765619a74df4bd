#!/usr/bin/env python3
"""The entropy (nats per action token) of demonstrations' action tokens given the task alone:
the loss floor of a policy that reads its instruction and nothing else (no image, no proprio).
A training run whose loss sits there has learned the instruction only. Each action value is
binned close to the policy's tokenizer (q01/q99 normalisation where the statistics' mask is
set, then 256 uniform bins over [-1, 1]; OpenVLA's digitize differs by a bin edge or so);
the entropy is that of each task's histogram per action dimension, averaged over dimensions
and weighted by the task's steps. Also the entropy with
the task unknown. Run with the bridge venv (mcap-ros2-support):

    .cache/venv-bridge/bin/python scripts/action_token_entropy.py \\
        --stats checkpoints/compact-libero-long-parallel-4-passes/dataset_statistics.json \\
        --every 4 .cache/demos/libero_style_long_a .cache/demos/libero_style_long_b
"""

import argparse
import collections
import glob
import json
import math
import os
import sys

from mcap_ros2.reader import read_ros2_messages

BINS = 256


def token(value, d, q01, q99, mask):
    """The bin of action value `value` in dimension `d`."""
    x = value
    if mask[d]:
        x = 2.0 * (value - q01[d]) / (q99[d] - q01[d] + 1e-8) - 1.0
    x = max(-1.0, min(1.0, x))
    return min(BINS - 1, int((x + 1.0) / 2.0 * BINS))


def entropy(counts):
    n = sum(counts.values())
    return -sum(c / n * math.log(c / n) for c in counts.values())


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("demos", nargs="+", help="demonstration folders (ddvla demos record)")
    p.add_argument("--stats", required=True, help="a checkpoint's dataset_statistics.json")
    p.add_argument("--every", type=int, default=1, help="read every N-th episode file")
    a = p.parse_args(argv)
    with open(a.stats) as f:
        stats = json.load(f)
    if len(stats) != 1:
        sys.exit(f"{a.stats}: {len(stats)} datasets; expected one")
    act = next(iter(stats.values()))["action"]
    q01, q99 = act["q01"], act["q99"]
    mask = act.get("mask") or [True] * len(q01)
    files = sorted(f for d in a.demos for f in glob.glob(os.path.join(d, "*", "*", "*.mcap")))
    if not files:
        sys.exit(f"no episode files under {a.demos}")
    files = files[:: max(1, a.every)]
    dims = len(q01)
    per_task = collections.defaultdict(lambda: [collections.Counter() for _ in range(dims)])
    pooled = [collections.Counter() for _ in range(dims)]
    for path in files:
        task = os.path.basename(os.path.dirname(path))
        for m in read_ros2_messages(path, topics=["/ddvla/action"]):
            for d, v in enumerate(list(m.ros_msg.data)[:dims]):
                t = token(v, d, q01, q99, mask)
                per_task[task][d][t] += 1
                pooled[d][t] += 1
    steps = {t: sum(c[0].values()) for t, c in per_task.items()}
    total = sum(steps.values())
    given_task = sum(
        sum(entropy(c[d]) for d in range(dims)) / dims * steps[t] / total
        for t, c in per_task.items()
    )
    unknown = sum(entropy(c) for c in pooled) / dims
    print(f"{len(files)} episodes, {total} steps, {len(per_task)} tasks")
    print(f"entropy per action token given the task: {given_task:.3f} nats")
    print(f"entropy per action token, task unknown: {unknown:.3f} nats")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Where does a policy's open-loop error fall on detour episodes?

Reads the per-frame rows of `ddvla eval open-loop --frames CSV` scored on episodes recorded
with `ddvla demos record --detour-home-steps N` (the scripted expert takes the arm back toward
its start pose between skills; every step labelled with the labeller's answer) and sorts the
frames into three kinds, printing how many and their mean chunk motion error (`mae_motion`)
and gripper sign agreement:

- `phase 1`: before the first skill ended (the arm has not been sent home yet);
- `home, later phase`: after it, with the arm within --home-m (default 0.05) of where the
  episode started: the proprio of the episode's first steps, the scene of a later phase,
  the states only the images tell apart;
- `other later`: the rest after the first skill ended.

    .cache/venv-bridge/bin/python scripts/detour_frames.py FRAMES.csv [--home-m 0.05]

The first skill is taken to end where the executed and labelled actions first part by more
than 0.3 in a translation value after the episode's first gripper close (the first detour).
"""

import argparse
import csv
import sys

from mcap_ros2.reader import read_ros2_messages

PART = 0.3  # translation gap between executed and labelled actions that marks a detour


def episode(path):
    """(proprio rows, labelled actions, executed actions) of one recorded episode."""
    rows = {}
    topics = ["/ddvla/proprio", "/ddvla/action", "/ddvla/executed_action"]
    for m in read_ros2_messages(path, topics=topics):
        rows.setdefault(m.channel.topic, []).append(list(m.ros_msg.data))
    if "/ddvla/executed_action" not in rows:
        sys.exit(f"{path}: no executed actions (not a labelled recording)")
    return rows["/ddvla/proprio"], rows["/ddvla/action"], rows["/ddvla/executed_action"]


def first_detour(labels, executed):
    """The step the first detour starts (None: no detour)."""
    close = next((t for t, a in enumerate(executed) if a[6] > 0), None)
    if close is None:
        return None
    for t in range(close, len(executed)):
        if max(abs(a - b) for a, b in zip(labels[t][:3], executed[t][:3])) > PART:
            return t
    return None


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("frames", help="the CSV of `ddvla eval open-loop --frames`")
    parser.add_argument("--home-m", type=float, default=0.05, help="start-pose radius (m)")
    args = parser.parse_args(argv)
    home_m = args.home_m
    cache = {}
    kinds = {}
    with open(args.frames, newline="") as f:
        for row in csv.DictReader(f):
            path, step = row["episode"], int(row["step"])
            if path not in cache:
                proprio, labels, executed = episode(path)
                cache[path] = (proprio, first_detour(labels, executed))
            proprio, detour = cache[path]
            if detour is None or step < detour:
                kind = "phase 1"
            else:
                d = sum((a - b) ** 2 for a, b in zip(proprio[step][:3], proprio[0][:3])) ** 0.5
                kind = "home, later phase" if d < home_m else "other later"
            k = kinds.setdefault(kind, [0, 0.0, 0.0])
            k[0] += 1
            k[1] += float(row["mae_motion"])
            k[2] += float(row["gripper_agreement"])
    print("| frames | n | chunk motion MAE | gripper sign agreement |")
    print("|---|---|---|---|")
    for kind in ["phase 1", "home, later phase", "other later"]:
        n, mae, grip = kinds.get(kind, [0, 0.0, 0.0])
        if n:
            print(f"| {kind} | {n} | {mae / n:.4f} | {100 * grip / n:.1f}% |")
        else:
            print(f"| {kind} | 0 | - | - |")


if __name__ == "__main__":
    main(sys.argv[1:])

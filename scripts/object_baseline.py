#!/usr/bin/env python3
"""What knowing the task alone tells about where its objects are: the error a localisation
head (`[train.keypose] target = "objects"`) would make if it only recognised the scene and
answered each task's mean position. For the first `--objects` recorded objects
(`/ddvla/objects`, the goal's objects first), each task's mean position over the frames of
the TRAIN recordings is compared with every frame of the TEST recording: the root mean square
error per axis and overall (cm), and the same as a standardised mean squared error under a
run's `keypose_scale.json` (`--scale`), the number `ddvla eval open-loop --keypose` prints.
A head that reads the images beats it; one that only tells the tasks apart matches it. Run
with the bridge venv (mcap-ros2-support):

    .cache/venv-bridge/bin/python scripts/object_baseline.py --test DIR [--objects 2] \
        [--scale RUN/keypose_scale.json] TRAIN_DIR...
"""

import argparse
import json
import math
from pathlib import Path

from mcap_ros2.reader import read_ros2_messages


def episodes(folder):
    """(instruction, per-step rows of object positions) for each episode of a recording."""
    index = json.loads((Path(folder) / "index.json").read_text())
    for ep in index["episodes"]:
        if not ep.get("objects"):
            raise SystemExit(f"{folder}/{ep['file']}: no object positions recorded")
        rows = [
            list(m.ros_msg.data)
            for m in read_ros2_messages(str(Path(folder) / ep["file"]), topics=["/ddvla/objects"])
        ]
        yield ep["instruction"], rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--test", required=True, help="the recording scored")
    ap.add_argument("--objects", type=int, default=2)
    ap.add_argument("--scale", help="a run's keypose_scale.json")
    ap.add_argument("train", nargs="+", help="recordings the task means come from")
    args = ap.parse_args()
    n = 3 * args.objects
    sums, counts = {}, {}
    for folder in args.train:
        for instruction, rows in episodes(folder):
            s = sums.setdefault(instruction, [0.0] * n)
            for r in rows:
                for k in range(n):
                    s[k] += r[k]
            counts[instruction] = counts.get(instruction, 0) + len(rows)
    means = {i: [v / counts[i] for v in s] for i, s in sums.items()}
    sq = [0.0, 0.0, 0.0]
    frames = 0
    std = None
    if args.scale:
        std = json.loads(Path(args.scale).read_text())["std_m"]
    sq_std = 0.0
    for instruction, rows in episodes(args.test):
        if instruction not in means:
            raise SystemExit(f"the training recordings have no episode of {instruction!r}")
        m = means[instruction]
        for r in rows:
            for k in range(n):
                d = r[k] - m[k]
                sq[k % 3] += d * d
                if std:
                    sq_std += (d / std[k % 3]) ** 2
            frames += 1
    per_axis = [math.sqrt(s / (frames * args.objects)) * 100 for s in sq]
    overall = math.sqrt(sum(sq) / (frames * n)) * 100
    print(
        f"{frames} frames, {args.objects} objects: the task's mean position misses by "
        f"x {per_axis[0]:.2f}, y {per_axis[1]:.2f}, z {per_axis[2]:.2f} cm "
        f"(root mean square; {overall:.2f} cm over the three)"
    )
    if std:
        print(f"standardised mean squared error under {args.scale}: {sq_std / (frames * n):.4f}")


if __name__ == "__main__":
    main()

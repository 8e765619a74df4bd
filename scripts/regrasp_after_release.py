#!/usr/bin/env python3
"""Re-grasps right after a release in recorded episodes: a policy that has just set an object
down and closes its gripper again before leaving the spot has lost track of the task's phase
(it takes the state after a placement for the state before a grasp). For every episode of a
recording (`ddvla eval --record DIR`, `ddvla demos record`), each release (the executed
gripper action turning from close to open) is followed for `--window` steps: a close command
while the end effector is still within `--reach` metres of where the release happened counts
as a re-grasp. Prints one line per episode with a re-grasp and a summary by success, then the
short "open" blips (1 or 2 steps of open inside a close command) by what the gripper held
when they came: its mean joint reading above 0.7 (closed on nothing, for the LIBERO-style
gripper), 0.1-0.7 (holding something), below (open). Run with the bridge venv
(mcap-ros2-support):

    .cache/venv-bridge/bin/python scripts/regrasp_after_release.py [--window N] [--reach M] DIR...
"""

import json
import sys
from pathlib import Path

from mcap_ros2.reader import read_ros2_messages


def read(path):
    """The episode's proprio and action rows, in order."""
    proprio, actions = [], []
    for m in read_ros2_messages(str(path), topics=["/ddvla/proprio", "/ddvla/action"]):
        rows = proprio if m.channel.topic == "/ddvla/proprio" else actions
        rows.append(list(m.ros_msg.data))
    return proprio, actions


def regrasps(proprio, actions, window, reach):
    """(release step, re-close step) for each release followed by a close within `window`
    steps while the end effector stays within `reach` of the release point."""
    found = []
    for t in range(1, len(actions)):
        if not (actions[t - 1][6] > 0 and actions[t][6] < 0):
            continue
        origin = proprio[t][:3]
        for u in range(t + 1, min(len(actions), t + 1 + window)):
            d = sum((a - b) ** 2 for a, b in zip(proprio[u][:3], origin)) ** 0.5
            if d > reach:
                break
            if actions[u][6] > 0:
                found.append((t, u))
                break
    return found


def blips(proprio, actions):
    """The gripper reading at each 1- or 2-step open command inside a close command."""
    found = []
    for t in range(1, len(actions)):
        if not (actions[t - 1][6] > 0 and actions[t][6] < 0):
            continue
        run = 1
        while t + run < len(actions) and actions[t + run][6] < 0:
            run += 1
        if run <= 2 and t + run < len(actions):
            found.append(proprio[t][6])
    return found


def grip_kind(reading):
    """What a gripper reading says the fingers hold."""
    if reading > 0.7:
        return "closed on nothing"
    return "holding something" if reading > 0.1 else "open"


def main(argv):
    window, reach = 40, 0.05
    while argv and argv[0].startswith("--"):
        if argv[0] == "--window":
            window = int(argv[1])
        elif argv[0] == "--reach":
            reach = float(argv[1])
        else:
            sys.exit(__doc__)
        argv = argv[2:]
    if not argv:
        sys.exit(__doc__)
    counts = {True: [0, 0], False: [0, 0]}
    blip_counts = {}
    for folder in map(Path, argv):
        for index in sorted(folder.rglob("index.json")):
            for ep in json.loads(index.read_text())["episodes"]:
                proprio, actions = read(index.parent / ep["file"])
                if len(proprio) != len(actions):
                    sys.exit(f"{ep['file']}: {len(proprio)} proprio rows, {len(actions)} actions")
                hits = regrasps(proprio, actions, window, reach)
                ok = bool(ep.get("success"))
                counts[ok][0] += 1
                counts[ok][1] += bool(hits)
                for reading in blips(proprio, actions):
                    key = (ok, grip_kind(reading))
                    blip_counts[key] = blip_counts.get(key, 0) + 1
                if hits:
                    print(f"{ep['file']}: success={ok} release→close at steps {hits}")
    for ok in (True, False):
        n, hit = counts[ok]
        print(f"{'successful' if ok else 'failed'} episodes: {n}, with a re-grasp: {hit}")
        for kind in ("closed on nothing", "holding something", "open"):
            print(f"  open blips while {kind}: {blip_counts.get((ok, kind), 0)}")


if __name__ == "__main__":
    main(sys.argv[1:])

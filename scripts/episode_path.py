#!/usr/bin/env python3
"""The path of recorded episodes: every N steps, the end effector's position (m, world), the
gripper's joint position and the executed action (x, y, z, gripper), to compare a policy's
rollouts (`ddvla eval --record DIR`) with each other and with the expert's demonstrations
(`ddvla demos record`) step by step. Run with the bridge venv (mcap-ros2-support):

    .cache/venv-bridge/bin/python scripts/episode_path.py [--every N] EPISODE.mcap...
"""

import sys

from mcap_ros2.reader import read_ros2_messages


def read(path):
    """The episode's proprio and action rows, in order."""
    proprio, actions = [], []
    for m in read_ros2_messages(path, topics=["/ddvla/proprio", "/ddvla/action"]):
        rows = proprio if m.channel.topic == "/ddvla/proprio" else actions
        rows.append(list(m.ros_msg.data))
    return proprio, actions


def main(argv):
    every = 24
    if len(argv) >= 2 and argv[0] == "--every":
        every = int(argv[1])
        argv = argv[2:]
    if not argv:
        sys.exit(__doc__)
    for path in argv:
        proprio, actions = read(path)
        if len(proprio) != len(actions):
            sys.exit(f"{path}: {len(proprio)} proprio rows but {len(actions)} actions")
        print(f"{path}: {len(proprio)} steps")
        for t in range(0, len(proprio), every):
            p, a = proprio[t], actions[t]
            print(
                f"  {t:4d}  ee ({p[0]:.2f}, {p[1]:+.2f}, {p[2]:.2f})  grip {p[6]:.2f}  "
                f"action ({a[0]:+.2f}, {a[1]:+.2f}, {a[2]:+.2f}, {a[6]:+.0f})"
            )


if __name__ == "__main__":
    main(sys.argv[1:])

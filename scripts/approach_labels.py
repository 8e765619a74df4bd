#!/usr/bin/env python3
"""Expert-labelled recordings: how the labels answer the executed approach to the first grasp.

For each episode of a `ddvla demos record --expert-labels / --grasp-miss-m` folder, takes the
steps before the first executed close and counts those whose executed action descends
(z < -0.05) while the label asks to rise (z > 0.05): where the recording's data say "go up"
about a state a descent reached. Run with the bridge venv (mcap-ros2-support):

    .cache/venv-bridge/bin/python scripts/approach_labels.py .cache/demos/libero_style_128_miss_a
"""

import glob
import sys

from mcap_ros2.reader import read_ros2_messages


def main(folder: str) -> None:
    episodes = descending = labelled_up = 0
    for path in sorted(glob.glob(f"{folder}/**/*.mcap", recursive=True)):
        labels, executed = [], []
        topics = ["/ddvla/action", "/ddvla/executed_action"]
        for m in read_ros2_messages(path, topics=topics):
            (labels if m.channel.topic == topics[0] else executed).append(list(m.ros_msg.data))
        if not executed:
            sys.exit(f"{path}: no /ddvla/executed_action (not an expert-labelled episode)")
        first_close = next((i for i, a in enumerate(executed) if a[-1] > 0), len(executed))
        episodes += 1
        for label, done in zip(labels[:first_close], executed[:first_close]):
            if done[2] < -0.05:
                descending += 1
                labelled_up += label[2] > 0.05
    print(
        f"{episodes} episodes: {descending} descending steps before the first close, "
        f"{labelled_up} of them labelled upward"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

#!/usr/bin/env python3
"""Decode a ddvla MCAP bag with two independent readers and print a JSON summary:
`rosbags` (AnyReader, ROS 2 Jazzy typestore; needs the MCAP profile "ros2") and
`mcap` + `mcap-ros2-support` (read_ros2_messages). Used by bridge/tests/mcap.rs.

    .cache/venv-bridge/bin/python bridge/scripts/check_bag.py BAG.mcap
"""
import json
import pathlib
import sys


def summarize(topic, msg):
    if topic.endswith("image_raw"):
        return {"encoding": msg.encoding, "step": int(msg.step), "width": int(msg.width), "n": len(msg.data)}
    if topic == "/joint_states":
        return {"name": list(msg.name), "position": [float(x) for x in msg.position]}
    if topic == "/ddvla/action_chunk":
        return {"dims": [[d.label, int(d.size)] for d in msg.layout.dim], "n": len(msg.data)}
    return {}


def with_rosbags(path):
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    out = {}
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
        for conn, _t, raw in reader.messages(connections=reader.connections):
            msg = reader.deserialize(raw, conn.msgtype)
            entry = out.setdefault(conn.topic, {"count": 0})
            entry["count"] += 1
            entry["last"] = summarize(conn.topic, msg)
    return out


def with_mcap_ros2(path):
    from mcap_ros2.reader import read_ros2_messages

    out = {}
    for m in read_ros2_messages(str(path)):
        entry = out.setdefault(m.channel.topic, {"count": 0})
        entry["count"] += 1
        entry["last"] = summarize(m.channel.topic, m.ros_msg)
    return out


def main():
    path = pathlib.Path(sys.argv[1])
    print(json.dumps({"rosbags": with_rosbags(path), "mcap_ros2": with_mcap_ros2(path)}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Serialize messages with `rosbags` (an independent CDR implementation) and print them as
JSON `{type: hex}` so bridge/tests/mcap.rs can check that ddvla decodes *their* bytes.

    .cache/venv-bridge/bin/python bridge/scripts/rosbags_emit.py
"""
import json

import numpy as np
from rosbags.typesys import Stores, get_typestore


def main():
    ts = get_typestore(Stores.ROS2_JAZZY)
    Time = ts.types["builtin_interfaces/msg/Time"]
    Header = ts.types["std_msgs/msg/Header"]
    JointState = ts.types["sensor_msgs/msg/JointState"]
    Image = ts.types["sensor_msgs/msg/Image"]
    String = ts.types["std_msgs/msg/String"]
    header = Header(stamp=Time(sec=12, nanosec=345), frame_id="base_link")
    js = JointState(header=header, name=["a", "bb"], position=np.array([0.5, -1.25]),
                    velocity=np.array([], dtype=np.float64), effort=np.array([3.0, 4.0]))
    img = Image(header=header, height=2, width=3, encoding="bgr8", is_bigendian=0, step=9,
                data=np.arange(18, dtype=np.uint8))
    out = {
        "sensor_msgs/msg/JointState": bytes(ts.serialize_cdr(js, "sensor_msgs/msg/JointState")).hex(),
        "sensor_msgs/msg/Image": bytes(ts.serialize_cdr(img, "sensor_msgs/msg/Image")).hex(),
        "std_msgs/msg/String": bytes(ts.serialize_cdr(String(data="héllo"), "std_msgs/msg/String")).hex(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

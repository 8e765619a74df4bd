#!/usr/bin/env python3
"""Print the REP-2016 RIHS01 type hash of each ROS 2 type named on the command line, as one
JSON object {type: hash}, computed by `rosbags` (an implementation independent of ours) from
its bundled ROS 2 Jazzy message definitions. Used by bridge/tests/rmw.rs.

    .cache/venv-bridge/bin/python bridge/scripts/type_hashes.py std_msgs/msg/String ...
"""
import json
import sys

from rosbags.typesys import Stores, get_typestore

store = get_typestore(Stores.ROS2_JAZZY)
print(json.dumps({name: store.hash_rihs01(name) for name in sys.argv[1:]}))

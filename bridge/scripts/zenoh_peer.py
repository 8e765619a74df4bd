#!/usr/bin/env python3
"""Independent rmw_zenoh (ROS 2 over zenoh) peer, used by the bridge's Rust interop tests.

It speaks the rmw_zenoh wire format described in shared/docs/ros2-zenoh-wire.md, built only
from independent libraries (none of our Rust code is involved):
  * `eclipse-zenoh` (zenoh-python, tested with 1.10.2) for the zenoh session, put/subscribe,
    liveliness tokens / liveliness get / liveliness subscriber, publisher matching status;
  * `rosbags` (0.11.9, `rosbags.typesys`, store ROS2_JAZZY) for CDR (de)serialization
    (`serialize_cdr`/`deserialize_cdr`, incl. the 4-byte encapsulation header) and RIHS01 hashes
    (`hash_rihs01`).

Wire facts used: data key `<domain>/<topic without leading slash>/<pkg>::msg::dds_::<Name>_/<RIHS01_..>`;
liveliness tokens `@ros2_lv/<domain>/<zid>/<node_id>/<entity_id>/<NN|MP|MS>/%/%/<node>[/<%topic>/<type>/<hash>/<qos>]`;
33-byte attachment = int64 LE sequence number, int64 LE source timestamp (ns), u8 GID length (16), 16-byte GID.

    PY=.cache/venv-bridge/bin/python   # plus: pip install eclipse-zenoh==1.10.2
    $PY bridge/scripts/zenoh_peer.py --endpoint tcp/127.0.0.1:7460 --role listen sub --count 3
    $PY bridge/scripts/zenoh_peer.py --endpoint tcp/127.0.0.1:7460 --role connect pub --count 3 --period-ms 50
    $PY bridge/scripts/zenoh_peer.py --endpoint tcp/127.0.0.1:7460 --role connect liveliness --timeout 2

`pub` waits for a matching subscriber by polling the `Publisher.matching_status` property (in 1.10.2
a `MatchingStatus` whose `.matching` is the bool; builds without it fall back to the `--settle-ms` sleep), optionally also until
`--wait-liveliness PATTERN` answers a `liveliness().get`, then sleeps `--settle-ms` and publishes.
If nothing matched by `--timeout` it prints NO_MATCH and publishes anyway. stdout is JSON lines.
`sub` prints READY, then one JSON line per sample; exits 0 after --count samples, 2 on timeout.
`sub` also declares NN + MS liveliness tokens so a publisher under test can discover it.
"""
import argparse
import dataclasses
import hashlib
import json
import queue
import sys
import time

import numpy as np
import zenoh
from rosbags.typesys import Stores, get_typestore

TS = get_typestore(Stores.ROS2_JAZZY)
QOS = "::,10:,:,:,,"  # rmw_zenoh qos_to_keyexpr: default rel/durability, KEEP_LAST depth 10
NODE = "pypeer"


def dds_type(ros_type):  # std_msgs/msg/String -> std_msgs::msg::dds_::String_
    pkg, kind, name = ros_type.split("/")
    return f"{pkg}::{kind}::dds_::{name}_"


def open_session(args):
    conf = zenoh.Config()
    conf.insert_json5("mode", '"peer"')
    conf.insert_json5("scouting/multicast/enabled", "false")
    conf.insert_json5("scouting/gossip/enabled", "false")
    if args.role == "listen":
        conf.insert_json5("listen/endpoints", json.dumps([args.endpoint]))
    else:
        conf.insert_json5("listen/endpoints", "[]")
        conf.insert_json5("connect/endpoints", json.dumps([args.endpoint]))
    return zenoh.open(conf)


def names(args, session, kind):
    topic = args.topic.strip("/")
    thash = TS.hash_rihs01(args.type)
    dtype = dds_type(args.type)
    zid = str(session.zid())
    node_tok = f"@ros2_lv/{args.domain}/{zid}/0/0/NN/%/%/{NODE}"
    ent_tok = (f"@ros2_lv/{args.domain}/{zid}/0/1/{kind}/%/%/{NODE}/%{topic.replace('/', '%')}"
               f"/{dtype}/{thash}/{QOS}")
    return topic, thash, dtype, node_tok, ent_tok


def make_msg(ros_type, i):
    if ros_type == "std_msgs/msg/String":
        return TS.types[ros_type](data=f"hello {i}")
    if ros_type == "sensor_msgs/msg/JointState":
        T = TS.types
        now = time.time_ns()
        hdr = T["std_msgs/msg/Header"](
            stamp=T["builtin_interfaces/msg/Time"](sec=now // 10**9, nanosec=now % 10**9), frame_id="")
        empty = np.array([], dtype=np.float64)
        return T[ros_type](header=hdr, name=["j0", "j1"], position=np.array([float(i), -float(i)]),
                           velocity=empty, effort=empty)
    raise SystemExit(f"unsupported --type {ros_type}")


def to_jsonable(v):
    if dataclasses.is_dataclass(v):
        return {f.name: to_jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)
                if not f.name.startswith("__")}
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [to_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def out(obj):
    print(obj if isinstance(obj, str) else json.dumps(obj), flush=True)


def liveliness_seen(session, pattern):
    replies = session.liveliness().get(pattern, timeout=1.0)  # FIFO handler; iterate until done
    return [str(r.ok.key_expr) for r in replies if r.ok is not None]


def cmd_pub(args, session):
    topic, thash, dtype, node_tok, ent_tok = names(args, session, "MP")
    tokens = [session.liveliness().declare_token(node_tok), session.liveliness().declare_token(ent_tok)]
    key = f"{args.domain}/{topic}/{dtype}/{thash}"
    gid = hashlib.sha256(ent_tok.encode()).digest()[:16]
    pub = session.declare_publisher(key)
    deadline = time.monotonic() + args.timeout
    matched = liveness_ok = False
    while time.monotonic() < deadline:
        try:
            ms = pub.matching_status  # 1.10.2 returns MatchingStatus despite the .pyi saying bool
            matched = matched or bool(getattr(ms, "matching", ms))
        except AttributeError:  # zenoh-python without matching_status: rely on the settle sleep
            matched = True
        if not liveness_ok:
            liveness_ok = not args.wait_liveliness or bool(liveliness_seen(session, args.wait_liveliness))
        if matched and liveness_ok:
            break
        time.sleep(0.05)
    out("MATCHED" if matched and liveness_ok else "NO_MATCH")
    time.sleep(args.settle_ms / 1000.0)
    for seq in range(1, args.count + 1):
        payload = bytes(TS.serialize_cdr(make_msg(args.type, seq), args.type))
        att = seq.to_bytes(8, "little", signed=True) + time.time_ns().to_bytes(8, "little", signed=True)
        att += bytes([len(gid)]) + gid
        pub.put(payload, attachment=att)
        out({"published": seq, "key": key, "payload_len": len(payload), "attachment_len": len(att)})
        if seq < args.count:
            time.sleep(args.period_ms / 1000.0)
    time.sleep(0.3)  # let the last samples drain before the session closes
    pub.undeclare()
    for t in tokens:
        t.undeclare()
    return 0


def cmd_sub(args, session):
    topic, thash, dtype, node_tok, ent_tok = names(args, session, "MS")
    q = queue.Queue()
    sub = session.declare_subscriber(f"{args.domain}/{topic}/{dtype}/*", lambda s: q.put(s))
    tokens = [session.liveliness().declare_token(node_tok), session.liveliness().declare_token(ent_tok)]
    out("READY")
    deadline = time.monotonic() + args.timeout
    got = 0
    while got < args.count:
        try:
            s = q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            print(f"timeout after {got}/{args.count} samples", file=sys.stderr)
            return 2
        key = str(s.key_expr)
        payload = s.payload.to_bytes()
        att = s.attachment.to_bytes() if s.attachment is not None else None
        rec = {"key": key, "hash_ok": key.rsplit("/", 1)[-1] == thash, "seq": None, "source_ns": None,
               "gid_len": None, "attachment_len": None if att is None else len(att),
               "payload_len": len(payload)}
        if att is not None and len(att) >= 17:
            rec["seq"] = int.from_bytes(att[0:8], "little", signed=True)
            rec["source_ns"] = int.from_bytes(att[8:16], "little", signed=True)
            rec["gid_len"] = att[16]
        try:
            rec["msg"] = to_jsonable(TS.deserialize_cdr(payload, args.type))
        except Exception as e:  # keep going: the test decides what a decode failure means
            rec["msg"], rec["decode_error"] = None, repr(e)
        out(rec)
        got += 1
    sub.undeclare()
    for t in tokens:
        t.undeclare()
    return 0


def cmd_liveliness(args, session):
    seen = set()

    def report(key, alive=True):
        if alive and key not in seen:
            seen.add(key)
            out({"token": key})
        elif not alive and key in seen:
            seen.discard(key)
            out({"token": key, "alive": False})

    q = queue.Queue()
    sub = session.liveliness().declare_subscriber(args.pattern, lambda s: q.put(s))
    for k in liveliness_seen(session, args.pattern):
        q.put(k)
    deadline = time.monotonic() + args.timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            item = q.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(item, str):
            report(item)
        else:
            report(str(item.key_expr), item.kind == zenoh.SampleKind.PUT)
    sub.undeclare()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True, help="e.g. tcp/127.0.0.1:7460")
    ap.add_argument("--role", choices=["listen", "connect"], default="listen")
    ap.add_argument("--domain", type=int, default=0)
    ap.add_argument("--topic", default="/chatter")
    ap.add_argument("--type", default="std_msgs/msg/String",
                    choices=["std_msgs/msg/String", "sensor_msgs/msg/JointState"])
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds")
    sp = ap.add_subparsers(dest="cmd", required=True)
    p = sp.add_parser("pub")
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--period-ms", type=int, default=100)
    p.add_argument("--wait-liveliness", default=None, help="also wait until liveliness get matches")
    p.add_argument("--settle-ms", type=int, default=200, help="sleep after matching, before publishing")
    s = sp.add_parser("sub")
    s.add_argument("--count", type=int, default=5)
    lv = sp.add_parser("liveliness")
    lv.add_argument("--pattern", default="@ros2_lv/**")
    lv.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="same as the common --timeout")
    args = ap.parse_args()
    session = open_session(args)
    try:
        return {"pub": cmd_pub, "sub": cmd_sub, "liveliness": cmd_liveliness}[args.cmd](args, session)
    finally:
        session.close()


if __name__ == "__main__":
    sys.exit(main())

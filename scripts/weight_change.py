#!/usr/bin/env python3
"""How much a fine-tune moved named tensors of a checkpoint, and the column norms of each
(e.g. the proprio projector's input columns: does the model read a new input?). Reads
`model.safetensors` directly (F32 tensors), so it needs numpy only; run with the bridge venv:

    .cache/venv-bridge/bin/python scripts/weight_change.py START_CKPT TUNED_CKPT NAME...

For each NAME: its shape, the norm of (tuned - start) relative to the start's norm, and the
tuned tensor's per-column norms when it is a matrix of at most 16 columns.
"""

import json
import struct
import sys

import numpy as np


def tensors(folder):
    """Name -> float32 array of `folder/model.safetensors`."""
    raw = open(f"{folder}/model.safetensors", "rb").read()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            sys.exit(f"{folder}: {name} is {meta['dtype']}, only F32 is read")
        begin, end = meta["data_offsets"]
        data = raw[8 + header_len + begin : 8 + header_len + end]
        out[name] = np.frombuffer(data, dtype=np.float32).reshape(meta["shape"])
    return out


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    start, tuned = tensors(argv[0]), tensors(argv[1])
    for name in argv[2:]:
        if name not in start or name not in tuned:
            sys.exit(f"{name} is not in both checkpoints")
        a, b = start[name], tuned[name]
        if a.shape != b.shape:
            print(f"{name}: shape {list(a.shape)} -> {list(b.shape)} (widened; change not compared)")
        else:
            rel = np.linalg.norm(b - a) / max(np.linalg.norm(a), 1e-12)
            print(f"{name} {list(b.shape)}: moved {100 * rel:.2f}% of its norm")
        if b.ndim == 2 and b.shape[1] <= 16:
            cols = np.linalg.norm(b, axis=0)
            print("  column norms: " + " ".join(f"{c:.3f}" for c in cols))


if __name__ == "__main__":
    main(sys.argv[1:])

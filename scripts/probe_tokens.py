#!/usr/bin/env python3
"""Do a checkpoint's scene-camera tokens say where the next grasp happens?

Reads a dump of `ddvla eval open-loop --dump-tokens PATH` (PATH: raw little-endian f32
tokens, one row per frame; PATH.csv: file, step, the end-effector position at the next two
gripper events) and fits a ridge regression (kernel form, so 16k features cost nothing)
from the tokens to the first event's position, both taken relative to their task's mean:
where the object stands within its task's layout, which the instruction cannot tell. Only frames before the
episode's first gripper event count (there the first event is the first grasp). The fit is
made on half the episodes and scored on the others (R² per axis and the RMS error in cm,
beside the spread of the target itself). A probe that explains little of a spread of a few
centimetres means the tokens do not carry it in any linear way.

    scripts/probe_tokens.py PATH [--patches N --hidden N] [--lambda L]

Usage example (numbers in docs/results-preamble.md):
    ddvla eval open-loop --policy CKPT --demos .cache/demos/libero_style_long_wide_a \\
        --split all --samples 3000 --dump-tokens /tmp/tokens.f32
    .cache/venv-bridge/bin/python scripts/probe_tokens.py /tmp/tokens.f32
"""

import argparse
import csv
import sys
import zlib

import numpy as np


def load(path):
    with open(path + ".csv", newline="") as f:
        rows = list(csv.DictReader(f))
    tokens = np.fromfile(path, dtype="<f4")
    if not rows or tokens.size % len(rows):
        sys.exit(f"{path}: {tokens.size} values do not split into {len(rows)} frames")
    return rows, tokens.reshape(len(rows), -1)


def pre_grasp(rows):
    """Indices of frames before their episode's first gripper event, and each one's
    episode file. The first event's position is the same for every step before it."""
    first = {}
    for r in rows:
        s = int(r["step"])
        if r["file"] not in first or s < first[r["file"]][0]:
            first[r["file"]] = (s, r["event1_x"], r["event1_y"], r["event1_z"])
    keep = [
        i
        for i, r in enumerate(rows)
        if (r["event1_x"], r["event1_y"], r["event1_z"]) == first[r["file"]][1:]
    ]
    return keep


def task_of(file):
    parts = file.split("/")
    return parts[-2] if len(parts) >= 2 else file


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path")
    ap.add_argument("--lambda", dest="lam", type=float, default=1.0,
                    help="ridge penalty relative to the kernel's mean diagonal")
    args = ap.parse_args()
    rows, x = load(args.path)
    keep = pre_grasp(rows)
    rows = [rows[i] for i in keep]
    x = x[keep].astype(np.float64)
    y = np.array([[float(r[f"event1_{a}"]) for a in "xyz"] for r in rows])
    tasks = [task_of(r["file"]) for r in rows]
    for t in set(tasks):
        m = np.array([tt == t for tt in tasks])
        y[m] -= y[m].mean(axis=0)
    # Half the episodes fit, the other half score (a fixed hash of the file name).
    test = np.array([zlib.crc32(r["file"].encode()) % 2 == 1 for r in rows])
    if test.all() or not test.any():
        sys.exit("need frames of at least two episodes")
    # The tokens too are taken relative to their task's mean (over the fitting half): what
    # varies within a task is what can tell where its object stands.
    for t in set(tasks):
        m = np.array([tt == t for tt in tasks])
        fit = m & ~test
        if fit.any():
            x[m] -= x[fit].mean(axis=0)
    mu, sd = x[~test].mean(axis=0), x[~test].std(axis=0) + 1e-6
    z = (x - mu) / sd
    k_train = z[~test] @ z[~test].T
    lam = args.lam * np.trace(k_train) / k_train.shape[0]
    y_mean = y[~test].mean(axis=0)
    alpha = np.linalg.solve(k_train + lam * np.eye(k_train.shape[0]), y[~test] - y_mean)
    pred = z[test] @ z[~test].T @ alpha + y_mean
    err = pred - y[test]
    print(f"{len(rows)} pre-grasp frames ({(~test).sum()} fit, {test.sum()} scored), "
          f"{x.shape[1]} token values each, ridge lambda {args.lam} x mean diagonal")
    for a, name in enumerate("xyz"):
        spread = y[test][:, a].std()
        rmse = np.sqrt((err[:, a] ** 2).mean())
        r2 = 1.0 - (err[:, a] ** 2).mean() / max(spread ** 2, 1e-12)
        print(f"  {name}: within-task spread {100 * spread:.2f} cm, probe RMS error "
              f"{100 * rmse:.2f} cm, R2 {r2:.3f}")


if __name__ == "__main__":
    main()

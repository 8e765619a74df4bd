#!/usr/bin/env python3
"""Generate grid_resample.json: OpenCV's bicubic resize as the reference for
ddvla-policy's `model::grid_resample` (ViT position embeddings taken to another
patch grid by `ddvla checkpoint resize-images`).

OpenCV's INTER_CUBIC is Keys' cubic with a = -0.75, half-pixel sample centres
and border replication: the same kernel as PyTorch's
interpolate(mode="bicubic", align_corners=False), written independently of ours.
Each case is a seeded random grid of `side`x`side` cells with `dim` channels,
resized to `new_side`x`new_side` one channel at a time, row-major
[new_side*new_side, dim].

    python3 -m venv /tmp/cvenv
    /tmp/cvenv/bin/pip install opencv-python-headless==5.1.0.95 numpy==2.4.6
    /tmp/cvenv/bin/python policy/tests/golden/make_grid_resample.py
"""

import json
import os

import cv2
import numpy as np

CASES = [(8, 2, 12), (5, 3, 8), (6, 1, 4), (2, 1, 3)]


def main():
    rng = np.random.default_rng(0)
    cases = []
    for side, dim, new_side in CASES:
        grid = rng.standard_normal((side, side, dim)).astype(np.float32)
        out = np.stack(
            [
                cv2.resize(
                    np.ascontiguousarray(grid[:, :, d]),
                    (new_side, new_side),
                    interpolation=cv2.INTER_CUBIC,
                )
                for d in range(dim)
            ],
            axis=-1,
        )
        cases.append(
            {
                "side": side,
                "dim": dim,
                "new_side": new_side,
                "grid": [float(v) for v in grid.reshape(-1)],
                "resampled": [float(v) for v in out.reshape(-1)],
            }
        )
    doc = {
        "made_by": "policy/tests/golden/make_grid_resample.py",
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grid_resample.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The same tabletop scene measured with the `mujoco` Python package (3.17.0), for the ratios
`ddvla bench sim` is judged by: raw mj_step/s and mujoco.Renderer frames/s at the same render
settings (no shadows, reflections or multisampling).

    pip install mujoco==3.17.0     # e.g. from .cache/wheels after scripts/setup.sh
    cargo run --release -- bench sim --ctrl-log /tmp/ctrl.json --json ddvla.json
    MUJOCO_GL=egl python3 scripts/bench_sim_python.py --replay /tmp/ctrl.json [--json out.json]

With --replay, raw mj_step/s is measured on the trajectory ddvla just ran (same initial state,
same per-substep controls, same library), so it compares like with like; without it, from the
scene's default state (the arm falls, which changes contact counts and speed).
"""
import argparse
import json
import os
import pathlib
import time

import mujoco

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSETS = ROOT / ".cache/assets/gym_hil/assets"


def load_scene():
    xml = (ROOT / "sim/scenes/tabletop.xml").read_text()
    xml = xml.replace("{PANDA}", "panda.xml").replace("{ASSETS}", str(ASSETS))
    path = ASSETS / f".ddvla_py_{os.getpid()}.xml"
    path.write_text(xml)
    try:
        model = mujoco.MjModel.from_xml_path(str(path))
    finally:
        path.unlink()
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    model.mat_reflectance[:] = 0
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--physics-steps", type=int, default=5000)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--json")
    ap.add_argument("--replay", help="ctrl log written by `ddvla bench sim --ctrl-log`")
    a = ap.parse_args()
    model = load_scene()
    data = mujoco.MjData(model)
    if a.replay:
        log = json.loads(pathlib.Path(a.replay).read_text())
        ctrls = log["ctrl"]
        best = float("inf")
        for _ in range(5):  # best of five, as `ddvla bench sim` does
            mujoco.mj_resetData(model, data)
            data.qpos[:] = log["qpos0"]
            data.qvel[:] = log["qvel0"]
            mujoco.mj_forward(model, data)
            t = time.perf_counter()
            for c in ctrls:
                data.ctrl[:] = c
                mujoco.mj_step(model, data)
            best = min(best, time.perf_counter() - t)
        physics = len(ctrls) / best
    else:
        for _ in range(100):
            mujoco.mj_step(model, data)
        t = time.perf_counter()
        for _ in range(a.physics_steps):
            mujoco.mj_step(model, data)
        physics = a.physics_steps / (time.perf_counter() - t)
    render = []
    for size in (128, 224):
        for cams in (["agentview"], ["agentview", "handcam_rgb"]):
            r = mujoco.Renderer(model, size, size)
            mujoco.mj_forward(model, data)
            t = time.perf_counter()
            for _ in range(a.frames):
                for c in cams:
                    r.update_scene(data, camera=c)
                    r.render()
            fps = a.frames * len(cams) / (time.perf_counter() - t)
            r.close()
            render.append({"cameras": len(cams), "size": size, "frames_per_s": fps})
    out = {"impl": "mujoco-python", "replayed": bool(a.replay), "mujoco_version": mujoco.__version__, "physics_steps_per_s": physics, "render": render}
    print(json.dumps(out, indent=1))
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

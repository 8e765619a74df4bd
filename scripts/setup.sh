#!/usr/bin/env bash
# One-time setup of third-party data into the repo's (git-ignored) cache, .cache/:
#   - libmujoco.so.3.17.0 from the PyPI `mujoco==3.17.0` wheel (what mujoco-rs 7.0.0 binds),
#   - the MuJoCo Menagerie Franka Panda MJCF + meshes from the PyPI `gym-hil==0.1.14` wheel
#     (Apache-2.0; only gym_hil/assets is used).
# Idempotent; nothing is committed and nothing downloads at run time.
# Build:  .cargo/config.toml points MUJOCO_DYNAMIC_LINK_DIR at .cache/mujoco/lib.
# Run/test: sim/build.rs copies the library into the target dir so `cargo run`/`cargo test`
#           find it without LD_LIBRARY_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=".cache"
wheels="$cache/wheels"
lib="$cache/mujoco/lib"
assets="$cache/assets"
mkdir -p "$wheels" "$lib" "$assets"
fetch() { # name==version
  local name="${1%%==*}"
  if ! ls "$wheels"/"${name//-/_}"-"${1##*==}"-*.whl > /dev/null 2>&1; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version 3.11 --platform manylinux_2_28_x86_64 --platform any -d "$wheels" "$1"
  fi
}
fetch mujoco==3.17.0
fetch gym-hil==0.1.14
scripts/fetch_libero_bddl.sh # LIBERO's 130 BDDL task files -> .cache/libero_bddl/
if [[ ! -f "$lib/libmujoco.so.3.17.0" ]]; then
  unzip -o -q -j "$wheels"/mujoco-3.17.0-*.whl 'mujoco/libmujoco.so.3.17.0' -d "$lib"
fi
ln -sf libmujoco.so.3.17.0 "$lib/libmujoco.so"
if [[ ! -f "$assets/gym_hil/assets/panda.xml" ]]; then
  unzip -o -q "$wheels"/gym_hil-0.1.14-*.whl 'gym_hil/assets/*' -d "$assets"
fi
# Offscreen rendering needs an EGL device (Mesa llvmpipe works headless).
if ! ldconfig -p | grep -q 'libEGL.so.1'; then
  if command -v apt-get > /dev/null && [[ "$(id -u)" == 0 ]]; then
    apt-get install -y --no-install-recommends libegl1 libegl-mesa0 libgl1-mesa-dri > /dev/null
  else
    echo "setup: libEGL.so.1 not found; install libegl1 libegl-mesa0 libgl1-mesa-dri for rendering" >&2
  fi
fi
# Independent ROS 2 implementations for the bridge's interop tests (rosbags, mcap-ros2-support, zenoh-python).
venv="$cache/venv-bridge"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import rosbags, mcap_ros2, zenoh' 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet rosbags==0.11.9 mcap==1.6.0 mcap-ros2-support==0.6.0 eclipse-zenoh==1.10.2
fi
echo "setup: MuJoCo 3.17.0 in $lib, Panda assets in $assets/gym_hil/assets"

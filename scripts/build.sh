#!/usr/bin/env bash
# Configures and builds mcval (Ninja, ccache) into build/. Incremental: a rebuild is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${MCVAL_BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/mcval-ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"

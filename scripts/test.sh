#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit, integration, browser).
# Pass ctest arguments to narrow it, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p build/test-artifacts
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"

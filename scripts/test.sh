#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit, integration, browser).
# Pass ctest arguments to narrow it, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p build/test-artifacts
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"

# The same unit and integration tests again, against a clang build with AddressSanitizer +
# UndefinedBehaviorSanitizer (-O2 -g, so image work stays fast; the browser tests and the large
# synthetic slides only run above). The same build is instrumented for libFuzzer, whose targets
# then fuzz every parser of untrusted input from its seed corpus for a bounded time
# (scripts/fuzz.sh): one sanitizer build serves both.
# MCVAL_SANITIZERS=0 skips this pass; MCVAL_LIBFUZZER=0 skips the fuzzing; MCVAL_FUZZ_SECONDS
# sets the time per fuzz target (default 30).
if [ "${MCVAL_SANITIZERS:-1}" != "0" ] && [ "$#" -eq 0 ]; then
  MCVAL_BUILD_DIR=build-sanitize bash scripts/build.sh -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DMCVAL_FUZZ=ON -DMCVAL_WERROR=OFF -DMCVAL_BUILD_BENCH=OFF
  mkdir -p build-sanitize/test-artifacts
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)" -E "e2e|synthetic_slide|synth_lesions"
  if [ "${MCVAL_LIBFUZZER:-1}" != "0" ]; then
    MCVAL_FUZZ_BUILD_DIR=build-sanitize bash scripts/fuzz.sh --seconds "${MCVAL_FUZZ_SECONDS:-30}"
  fi
fi

#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit, integration, browser).
# Pass ctest arguments to narrow it, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p build/test-artifacts
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"

# The same unit, fuzz and integration tests against an AddressSanitizer + UndefinedBehavior-
# Sanitizer build, optimised (-O2 -g) so that image work stays fast (the browser test and the
# large synthetic slides only run above).
# MCVAL_SANITIZERS=0 skips this pass.
if [ "${MCVAL_SANITIZERS:-1}" != "0" ] && [ "$#" -eq 0 ]; then
  MCVAL_BUILD_DIR=build-asan bash scripts/build.sh -DMCVAL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  mkdir -p build-asan/test-artifacts
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -E "e2e|synthetic_slide|synth_lesions"
fi

# Coverage-guided fuzzing (libFuzzer, clang, ASan + UBSan) of every parser of untrusted input,
# from the seed corpus, a bounded time per target. MCVAL_LIBFUZZER=0 skips it;
# MCVAL_FUZZ_SECONDS sets the time per target (default 30).
if [ "${MCVAL_LIBFUZZER:-1}" != "0" ] && [ "$#" -eq 0 ]; then
  bash scripts/fuzz.sh --seconds "${MCVAL_FUZZ_SECONDS:-30}"
fi

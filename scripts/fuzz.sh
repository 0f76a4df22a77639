#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang, ASan + UBSan): builds every fuzz target of
# tests/fuzz/ into build-fuzz/ (or $MCVAL_FUZZ_BUILD_DIR: scripts/test.sh uses its sanitizer
# build, build-sanitize/) and runs each for a bounded time, starting from its seed corpus
# (tests/fuzz/corpus/<target>/, never modified). Fails on the first crash, leak, timeout or
# sanitizer report; the input that caused it is kept in build-fuzz/fuzz-artifacts/<target>/.
#
#   scripts/fuzz.sh                 # every target, 30 s each
#   scripts/fuzz.sh --seconds 600 jws iiif   # chosen targets, longer
#   scripts/fuzz.sh --seed 7                 # libFuzzer's random seed (default: a new one per run;
#                                            # CI=true: 1, so that a CI run can be replayed exactly)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
seed=""
[ "${CI:-}" = "true" ] && seed=1
targets=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

BUILD_DIR=${MCVAL_FUZZ_BUILD_DIR:-build-fuzz}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/mcval-ccache}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # Warnings stay on but are not errors here: clang warns about a few things gcc does not, and the
  # gcc builds keep -Werror.
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DMCVAL_FUZZ=ON -DMCVAL_WERROR=OFF -DMCVAL_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target fuzz_targets

if [ "${#targets[@]}" -eq 0 ]; then
  for corpus in tests/fuzz/corpus/*/; do targets+=("$(basename "$corpus")"); done
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for target in "${targets[@]}"; do
  binary="$BUILD_DIR/tests/fuzz/fuzz_$target"
  [ -x "$binary" ] || { echo "fuzz.sh: no fuzz target '$target'" >&2; exit 2; }
  work="$BUILD_DIR/fuzz-work/$target"       # the corpus grows here, the seeds stay as they are
  artifacts="$BUILD_DIR/fuzz-artifacts/$target/"
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts"
  target_seed=${seed:-$(( (RANDOM << 15 | RANDOM) + 1 ))}
  echo "== fuzz $target: ${seconds} s from $(find "tests/fuzz/corpus/$target" -type f | wc -l) seeds," \
    "-seed=$target_seed"
  if ! "$binary" "$work" "tests/fuzz/corpus/$target" -max_total_time="$seconds" -timeout=10 -seed="$target_seed" \
      -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts" \
      >"$BUILD_DIR/fuzz-$target.log" 2>&1; then
    tail -n 60 "$BUILD_DIR/fuzz-$target.log" >&2
    failed+=("$target")
    continue
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$BUILD_DIR/fuzz-$target.log" | tr '\n' ' '
  echo "corpus now $(find "$work" -type f | wc -l) inputs"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs in $BUILD_DIR/fuzz-artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, no crash"

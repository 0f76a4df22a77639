#!/usr/bin/env bash
# One command for the statistics benchmark (see bench/README.md): builds stats_bench, runs it,
# times scikit-learn/NumPy and R pROC on the same data, and writes the comparison to
# bench/results/stats-<YYYY-MM-DD>.md and .json (printing the Markdown).
#
#   bench/run_stats_bench.sh [--quick] [--no-r] [--results DIR] [-- stats_bench options...]
#
# --quick: the peers run 100 bootstrap replicates instead of 2,000 and their time is extrapolated
# (stated in the table). Build directory: $MCVAL_BUILD_DIR, default build/.
# Exit status: non-zero when a step fails or when a peer's AUC or DeLong SE differs from mcval's
# by more than 1e-9 (the report is still written).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${MCVAL_BUILD_DIR:-build}
RESULTS=bench/results
PEER_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) PEER_ARGS+=(--peer-replicates 100); shift ;;
    --no-r) PEER_ARGS+=(--no-r); shift ;;
    --results) RESULTS=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_stats_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/mcval-ccache}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target stats_bench

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BUILD_DIR/bin/stats_bench" --write-data "$WORK" --out "$WORK/mcval.json" "$@"

status=0
/usr/bin/python3 bench/stats_peers.py --mcval "$WORK/mcval.json" --data "$WORK" --out "$WORK/peers.json" \
  "${PEER_ARGS[@]}" || status=$?
if [ ! -f "$WORK/peers.json" ]; then exit "$status"; fi

DATE=$(date +%F)
mkdir -p "$RESULTS"
/usr/bin/python3 bench/stats_report.py --mcval "$WORK/mcval.json" --peers "$WORK/peers.json" --date "$DATE" \
  --load-before "$LOAD_BEFORE" --md "$RESULTS/stats-$DATE.md" --json "$RESULTS/stats-$DATE.json"
echo "run_stats_bench.sh: wrote $RESULTS/stats-$DATE.md and .json" >&2
exit "$status"

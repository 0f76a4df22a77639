#!/usr/bin/env bash
# One command for the inference benchmark (see bench/README.md): generates a multi-level slide
# with lesions (default 40,000 x 40,000 pixels), registers the demo model, runs `mcval infer` on
# it, then the Python reference pipeline (python3-openslide + python3-torch, same model, same
# tiles) in the same run, and writes bench/results/inference-<date>.{json,md}.
#
#   bench/inference/run_inference_bench.sh [--size PX] [--results DIR] [--reference-tiles N]
#
# --reference-tiles N: the Python pipeline scores only the first N tiles (its tiles/s is a rate,
# so this only shortens the run; stated in the results). Build directory: $MCVAL_BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD_DIR=${MCVAL_BUILD_DIR:-build}
RESULTS=bench/results
SIZE=40000
REFERENCE_TILES=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --reference-tiles) REFERENCE_TILES=$2; shift 2 ;;
    *) echo "run_inference_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/mcval-ccache}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target mcval
MCVAL="$BUILD_DIR/bin/mcval"
MODEL_DIR=models/demo-lesion-cnn
CMU=${MCVAL_CMU_SLIDE:-../shared/data/slides/CMU-1-Small-Region.svs}

WORK=${MCVAL_BENCH_WORK:-$(mktemp -d)}
[ -n "${MCVAL_BENCH_WORK:-}" ] || trap 'rm -rf "$WORK"' EXIT
echo "bench: generating a ${SIZE} x ${SIZE} slide with lesions in $WORK" >&2
"$MCVAL" synth --source "$CMU" --out "$WORK/slides" --centres bench --slides-per-centre 1 \
  --width "$SIZE" --height "$SIZE" --seed 11 --prevalence 1 --log-format text >/dev/null
"$MCVAL" ingest --slides "$WORK/slides" --data "$WORK/data" >/dev/null
"$MCVAL" model add "$MODEL_DIR" --data "$WORK/data" >/dev/null
SLIDE_ID=$("$MCVAL" slides list --data "$WORK/data" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
SLIDE_PATH="$WORK/slides/$("$MCVAL" slides list --data "$WORK/data" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["relative_path"])')"

echo "bench: mcval infer" >&2
/usr/bin/time -f '%M' -o "$WORK/mcval.rss" "$MCVAL" infer --model demo-lesion-cnn --slides "$WORK/slides" \
  --data "$WORK/data" --force --json > "$WORK/mcval.json"
MODEL_SHA=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["sha256"])' "$WORK/mcval.json")
RESULT_DIR="$WORK/data/inference/$MODEL_SHA/$SLIDE_ID"

echo "bench: Python reference pipeline" >&2
/usr/bin/time -f '%M' -o "$WORK/python.rss" /usr/bin/python3 bench/inference/reference_pipeline.py \
  --slide "$SLIDE_PATH" --result "$RESULT_DIR" --model-dir "$MODEL_DIR" --max-tiles "$REFERENCE_TILES" \
  > "$WORK/python.json"

mkdir -p "$RESULTS"
/usr/bin/python3 bench/inference/inference_report.py --mcval "$WORK/mcval.json" --python "$WORK/python.json" \
  --mcval-rss "$WORK/mcval.rss" --python-rss "$WORK/python.rss" --slide "$SLIDE_PATH" --results "$RESULTS"

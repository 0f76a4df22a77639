#!/usr/bin/env bash
# The main job on the embedded defaults (SQLite in workspace/data, slides in workspace/slides,
# loopback): installs, builds, makes the demo workspace if it is not there yet (the real CMU
# slide plus generated slides of three centres with different stains, prevalence and grade mix,
# a known share carrying synthetic lesions, with their ground truth), runs the demo model's
# multi-centre validation (inference over every slide, then the statistics and the report), and
# serves the viewer with the slides, the heatmaps and the report on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
MCVAL=${MCVAL_BUILD_DIR:-build}/bin/mcval
CMU=${MCVAL_CMU_SLIDE:-../shared/data/slides/CMU-1-Small-Region.svs}
DATA=workspace/data
if [ ! -f workspace/ground-truth/ground_truth_dataset.csv ]; then
  echo "demo: creating workspace/slides (3 centres x 20 slides) from $CMU"
  rm -rf workspace/slides workspace/ground-truth "$DATA" workspace/report
  mkdir -p workspace/slides/centre-a
  cp "$CMU" workspace/slides/centre-a/
  "$MCVAL" synth --source "$CMU" --out workspace/slides --centres centre-a,centre-b,centre-c \
    --slides-per-centre 20 --width 10000 --height 10000 --seed 7 --truth-out workspace/ground-truth
fi
"$MCVAL" ingest --slides workspace/slides --data "$DATA"
"$MCVAL" model add models/demo-lesion-cnn --data "$DATA"
"$MCVAL" dataset import workspace/ground-truth/ground_truth_dataset.csv --name demo --data "$DATA"
echo "demo: validating demo-lesion-cnn on every centre (threshold locked on the development centre)"
"$MCVAL" validate --dataset demo --model demo-lesion-cnn --development-centre centre-a \
  --slides workspace/slides --data "$DATA" --out workspace/report
echo "demo: report in workspace/report/report.html; serving everything on http://127.0.0.1:8080 (Ctrl-C stops)"
exec "$MCVAL" serve --slides workspace/slides --data "$DATA" --listen 127.0.0.1:8080 --log-format text

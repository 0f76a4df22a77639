#!/usr/bin/env bash
# Re-makes the demo model committed in models/demo-lesion-cnn: generates a training workspace of
# the development centre only (centre-a, its own seed, never used by the demo), then trains the
# CNN with scripts/train_demo_model.py (Debian python3-torch, under /usr/bin/python3) and exports
# model.onnx, card.json and model.pt. About 10 minutes on 2 cores.
#
#   scripts/train-demo-model.sh [OUT]     (default: models/demo-lesion-cnn)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/demo-lesion-cnn}
bash scripts/install-deps.sh
bash scripts/build.sh
MCVAL=${MCVAL_BUILD_DIR:-build}/bin/mcval
CMU=${MCVAL_CMU_SLIDE:-../shared/data/slides/CMU-1-Small-Region.svs}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$MCVAL" synth --source "$CMU" --out "$WORK/slides" --centres centre-a --slides-per-centre 24 \
  --width 12000 --height 12000 --seed 1001 --prevalence 0.5 --truth-out "$WORK/truth"
/usr/bin/python3 scripts/train_demo_model.py --slides "$WORK/slides" --truth "$WORK/truth" --centre centre-a \
  --out "$OUT" --tiles-per-slide 300 --epochs 8 --seed 1 --stain-jitter 0.12

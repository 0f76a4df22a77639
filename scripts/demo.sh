#!/usr/bin/env bash
# Installs, builds, makes the demo workspace (the real CMU slide plus generated slides of three
# centres with different stains) if it is not there yet, and serves it on the embedded
# defaults: SQLite in workspace/data, slides in workspace/slides, http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
MCVAL=build/bin/mcval
CMU=${MCVAL_CMU_SLIDE:-../shared/data/slides/CMU-1-Small-Region.svs}
if [ ! -d workspace/slides ]; then
  echo "demo: creating workspace/slides from $CMU"
  mkdir -p workspace/slides/centre-a
  cp "$CMU" workspace/slides/centre-a/
  "$MCVAL" synth --source "$CMU" --out workspace/slides --centres centre-a,centre-b,centre-c \
    --slides-per-centre 2 --width 24000 --height 18000 --seed 7
fi
echo "demo: serving the demo workspace on http://127.0.0.1:8080 (Ctrl-C stops)"
exec "$MCVAL" serve --slides workspace/slides --data workspace/data --listen 127.0.0.1:8080 --log-format text

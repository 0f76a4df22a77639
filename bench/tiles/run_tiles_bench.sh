#!/usr/bin/env bash
# One command for the tile-server benchmark (see bench/README.md): mcval against OpenSlide's Deep
# Zoom example server, IIPImage (lighttpd FastCGI) and orthanc-wsi on the same slides (the CMU
# slide and a generated 50,000 x 50,000 slide), cold, warm and a pathologist session at
# concurrency 1, 8 and 64, start-up to the first tile, a catalogue scan of 10,000 slides and a
# soak; writes bench/results/tiles-<date>.{json,md,png}.
#
#   bench/tiles/run_tiles_bench.sh [options of tiles_bench.py]
#     --size PX            side of the generated slide (default 50000; made once, kept)
#     --duration S         seconds per measured run (default 8)
#     --soak-seconds S     soak length (default 600; 0: none)
#     --targets LIST       mcval-iiif,mcval-dzi,mcval-dzi-native,deepzoom,iipsrv-iiif,orthanc-wsi,orthanc-raw
#     --scenarios LIST     cold,warm,session
#
# Peers: bench/install-peers.sh (Debian packages). Bench data (generated slide, vips TIFFs,
# Orthanc storage, the catalogue's 10,000 files): $MCVAL_BENCH_DATA, default /work/bench-data/tiles.
# Build directory: $MCVAL_BUILD_DIR (default build/, configured RelWithDebInfo if new).
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD_DIR=${MCVAL_BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/mcval-ccache}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target mcval

for tool in wrk vips lighttpd Orthanc OrthancWSIDicomizer; do
  command -v "$tool" >/dev/null || { echo "run_tiles_bench.sh: $tool is missing: run bench/install-peers.sh" >&2; exit 2; }
done
CMU=${MCVAL_CMU_SLIDE:-../shared/data/slides/CMU-1-Small-Region.svs}
echo "run_tiles_bench.sh: load average now: $(cut -d' ' -f1-3 /proc/loadavg) (best below 1.5 on this machine)" >&2
exec /usr/bin/python3 bench/tiles/tiles_bench.py --mcval "$BUILD_DIR/bin/mcval" --cmu "$CMU" \
  --bench-data "${MCVAL_BENCH_DATA:-/work/bench-data/tiles}" "$@"

#!/usr/bin/env bash
# The shared store's benchmark: SQLite (baseline) and a real PostgreSQL 15 side by side.
#   bench/store/run_store_bench.sh                 # 1,000,000 slides, 20 centres, 100,000 files
#   bench/store/run_store_bench.sh --slides 100000 # smaller (options go to store_bench)
# Writes bench/results/store-<date>.json and .md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${MCVAL_BUILD_DIR:-build}
bash scripts/build.sh >/dev/null
cmake --build "$BUILD_DIR" --target store_bench >/dev/null
state=$(mktemp -d /tmp/mcval-store-bench-pg-XXXXXX)
trap '/usr/bin/python3 tests/integration/postgres_server.py stop "$state" >/dev/null 2>&1 || true' EXIT
rmdir "$state"
url=$(/usr/bin/python3 tests/integration/postgres_server.py start "$state")
day=$(date -u +%F)
json="bench/results/store-$day.json"
"$BUILD_DIR/bin/store_bench" --postgres "$url" --password-file "$state/password" --out "$json" "$@" | tee /tmp/store-bench.txt
/usr/bin/python3 - "$json" "bench/results/store-$day.md" <<'PY'
import json, platform, subprocess, sys
figures = json.load(open(sys.argv[1]))
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
lines = ["# Shared store: SQLite and PostgreSQL", "",
         f"{figures['slides']:,} slides over {figures['centres']} centres; rescan of {figures['scan_files']:,} unchanged files.",
         f"Machine: {cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores; "
         "PostgreSQL 15 on the same machine (fsync off, loopback TCP, SCRAM).", "",
         "| measure | SQLite | PostgreSQL | unit |", "|---|---:|---:|---|"]
for name, value in figures["sqlite"].items():
    pg = figures.get("postgresql", {}).get(name, {}).get("value")
    lines.append(f"| {name} | {value['value']:,.2f} | {'' if pg is None else f'{pg:,.2f}'} | {value['unit']} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY

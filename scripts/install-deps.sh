#!/usr/bin/env bash
# Installs everything mcval needs to build, run and test, idempotently and non-interactively:
# Debian packages with apt-get, the viewer's npm packages with `npm ci` (lock file pinned).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # clang with libFuzzer and its sanitizers, for scripts/fuzz.sh
  clang libclang-rt-14-dev
  # C/C++ libraries
  libopenslide-dev libboost-dev libjpeg62-turbo-dev libpng-dev libtiff-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev libpq-dev libssl-dev
  libgtest-dev libgmock-dev libturbojpeg0-dev libjemalloc-dev
  # inference: OpenCV's DNN module runs the ONNX models, imgproc does tissue detection
  libopencv-core-dev libopencv-imgproc-dev libopencv-dnn-dev
  # test oracles and tools (Debian python under /usr/bin/python3)
  python3 python3-openslide python3-numpy python3-pil openslide-tools sqlite3 curl
  # independent implementations the validation statistics are checked against
  python3-sklearn python3-statsmodels python3-scipy r-cran-proc r-cran-metafor r-cran-rms
  # the demo model's training script and the inference oracle (PyTorch, ONNX export)
  python3-torch python3-onnx
  # headless browser for the viewer tests
  chromium
  # a real PostgreSQL 15 for the store tests (started on a temporary folder and a free port by
  # tests/support/postgres.py; Debian's own cluster is not used) and PgBouncer for its pooling
  postgresql pgbouncer
)
# Node.js and npm: any machine that already has both keeps them (some images ship a Node.js
# build that bundles npm and conflicts with Debian's npm package); otherwise Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  DEBIAN_PACKAGES+=(nodejs npm)
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl renders the Kubernetes manifests in the tests (`kubectl kustomize`). A machine that has
# one keeps it (another package may own /usr/bin/kubectl); otherwise Debian's kubernetes-client.
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: Debian packages present"
fi

# npm packages, exactly as pinned in each package-lock.json: the viewer and its browser test
# (web/), the OpenID Connect provider the authentication tests start (tests/oidc/), the offline
# check of the Kubernetes manifests (deploy/kubernetes/check/).
for dir in web tests/oidc deploy/kubernetes/check; do
  [ -f "$dir/package-lock.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci ($dir/)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    echo "install-deps: npm packages present ($dir/)"
  fi
done

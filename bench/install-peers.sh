#!/usr/bin/env bash
# Installs the peer servers and tools of the tile benchmark (bench/tiles/), idempotently and
# non-interactively, with apt-get. Not needed to build or test mcval (scripts/install-deps.sh).
set -euo pipefail

PEER_PACKAGES=(
  # OpenSlide's Deep Zoom example server (deepzoom_server.py, Flask)
  python3-openslide python-openslide-examples python3-flask
  # IIPImage behind lighttpd FastCGI, on a pyramidal TIFF written by vips
  iipimage-server lighttpd libvips-tools
  # Orthanc with the whole-slide imaging plugin and OrthancWSIDicomizer
  orthanc orthanc-wsi
  # load generator, plot
  wrk python3-matplotlib
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PEER_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-peers: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # no recommends; policy-rc.d keeps the packages' own services (orthanc, lighttpd) from starting:
  # the benchmark runs every server as its own process on its own port.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
  fi
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" -eq 0 ] || rm -f "$policy"
else
  echo "install-peers: Debian packages present"
fi

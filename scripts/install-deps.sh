#!/usr/bin/env bash
# Installs every build, run and test dependency of hippo on Debian 12.
# Idempotent and non-interactive: packages already installed are not touched,
# so a second run takes well under a second.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev
  # libraries
  libwebsockets-dev libjansson-dev libyaml-dev libturbojpeg0-dev libjpeg62-turbo-dev libspng-dev
  libsqlite3-dev libpq-dev libcurl4-openssl-dev libssl-dev libhdf5-dev libarchive-dev
  # tests: a PostgreSQL server for the store's second backend, integration (Python +
  # websockets, numpy for reference values, h5py for the Minari export), browser (Chromium + Node), S3 (Node)
  postgresql python3 python3-websockets python3-numpy python3-h5py chromium nodejs npm openssl ca-certificates curl
  # benchmarks
  wrk time
  # several nodes: the gateway of scripts/cluster-demo.sh and tests/integration/test_cluster.py
  haproxy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs from another source may already provide npm.
if [[ " ${missing[*]-} " == *" npm "* ]] && command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]-}"

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

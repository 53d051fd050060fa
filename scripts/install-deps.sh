#!/usr/bin/env bash
# Installs everything radflow needs from Debian 12's packages. Idempotent: packages
# already installed are skipped, and nothing is fetched when all are present.
#   scripts/install-deps.sh            build + test dependencies, LibTorch included
#   RADFLOW_WITH_TORCH=OFF scripts/install-deps.sh   without LibTorch (orchestrator work)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  nlohmann-json3-dev libspdlog-dev libsqlite3-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3 curl procps
  # The data plugins (synth-cxr, dataset) write and check DICOM and PNG files.
  libdcmtk-dev libpng-dev libopenjp2-7-dev libjpeg62-turbo-dev
)
if [[ "${RADFLOW_WITH_TORCH:-ON}" != "OFF" ]]; then
  # libopenblas0-openmp: without it LibTorch falls back to reference BLAS (~50x slower).
  # libgloo-dev: LibTorch's c10d headers include Gloo's.
  packages+=(libtorch-dev libopenblas0-openmp libgloo-dev)
fi

# The dashboard is bundled with Node.js at build time and tested in Chromium.
packages+=(chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm: any install will do (the machine image may bring a newer one than
# Debian's), so check for the commands rather than for Debian's package names.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

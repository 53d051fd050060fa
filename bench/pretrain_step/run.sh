#!/usr/bin/env bash
# DINOv2 training-step benchmark (ViT-S/14 at 224, batch 16, 2 global + 4 local crops,
# fp32): radflow's SslTrainer (C++, bench_pretrain_step) beside the same model and
# loss in Python PyTorch (reference.py on Debian's python3-torch), same thread count,
# plus the machine's fp32 matmul rate. Prints a table; figures go to BENCHMARKS.md.
#
# Usage: bench/pretrain_step/run.sh [BUILD_DIR]
# Knobs (environment): STEPS (timed steps, default 3), WARMUP (default 2: the first
# steps grow the heap to its peak, and the second is still slower than the rest),
# THREADS (default RADFLOW_CPUS or nproc), PYTHON (default /usr/bin/python3),
# PROFILE=0 to skip the C++ per-phase replay (one more step). A step takes about 9 s on
# the 2 quiet development cores, so the defaults take about 2 minutes; under load (a
# parallel build) everything is several times slower.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"
STEPS="${STEPS:-3}"
WARMUP="${WARMUP:-2}"
THREADS="${THREADS:-${RADFLOW_CPUS:-$(nproc)}}"
PYTHON="${PYTHON:-/usr/bin/python3}"
[ -x "$PYTHON" ] || PYTHON=python3

cmake --build "$BUILD_DIR" --target bench_pretrain_step -j1 >/dev/null
BIN="$BUILD_DIR/bin/bench_pretrain_step"
[ -x "$BIN" ] || { echo "bench_pretrain_step not built (needs RADFLOW_WITH_TORCH=ON)"; exit 1; }

result() { sed -n "s/^RESULT $2=//p" "$1"; }
CPP_LOG="$(mktemp)"; PY_LOG="$(mktemp)"
trap 'rm -f "$CPP_LOG" "$PY_LOG"' EXIT

echo "load before: $(uptime)"
PROFILE_FLAG=""; [ "${PROFILE:-1}" = 0 ] && PROFILE_FLAG="--no-profile"
"$BIN" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" $PROFILE_FLAG | tee "$CPP_LOG"

HAVE_PY=0
if "$PYTHON" -c 'import torch' 2>/dev/null; then
  HAVE_PY=1
  # The same glibc malloc policy the C++ side sets with mallopt (cpu_runtime.h): large
  # freed buffers stay in the heap instead of being unmapped and faulted in again.
  MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 \
    "$PYTHON" "$ROOT/bench/pretrain_step/reference.py" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" \
    | tee "$PY_LOG"
else
  echo "Python reference skipped: $PYTHON cannot import torch."
  echo "  Install Debian's build: sudo apt-get install -y python3-torch (then PYTHON=/usr/bin/python3)"
fi
echo "load after: $(uptime)"

CPP_IPS="$(result "$CPP_LOG" images_per_s)"
MM="$(result "$CPP_LOG" matmul_gflops)"
ACH="$(result "$CPP_LOG" achieved_gflops)"
STEP_S="$(result "$CPP_LOG" step_s)"
AUG_S="$(result "$CPP_LOG" augment_s)"
echo
echo "ViT-S/14, batch 16, 2x224 + 4x98 crops, fp32, $THREADS threads, $STEPS timed step(s) after $WARMUP warm-up"
printf '%-44s %s\n' "metric" "value"
printf '%-44s %.3f\n' "C++ images/s (whole step, with augmentation)" "$CPP_IPS"
if [ -n "$AUG_S" ] && awk "BEGIN{exit !($AUG_S > 0)}"; then
  printf '%-44s %.3f\n' "C++ images/s (augmentation + masks excluded)" \
    "$(awk "BEGIN{print 16 / ($STEP_S - $AUG_S)}")"
fi
if [ "$HAVE_PY" = 1 ]; then
  PY_IPS="$(result "$PY_LOG" images_per_s)"
  printf '%-44s %.3f\n' "Python images/s (pre-made crops)" "$PY_IPS"
  printf '%-44s %.2fx\n' "speedup C++ / Python (whole step)" "$(awk "BEGIN{print $CPP_IPS / $PY_IPS}")"
fi
printf '%-44s %.1f\n' "C++ achieved GFLOP/s" "$ACH"
printf '%-44s %.1f\n' "fp32 matmul GFLOP/s (torch::mm 2048)" "$MM"
printf '%-44s %.1f%%\n' "share of matmul rate" "$(awk "BEGIN{print 100 * $ACH / $MM}")"

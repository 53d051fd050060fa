#!/usr/bin/env bash
# DINOv2 training-step benchmark: radflow's SslTrainer (C++, bench_pretrain_step) beside
# the same model and loss in Python PyTorch (reference.py on Debian's python3-torch),
# same thread count, fp32, at two configurations:
#   vit-s-224: ViT-S/14 at 224, batch 16, 2 global + 4 local crops (compute-bound);
#   tiny-demo: the demo workflow's pretrain step (arch tiny at 112 px, batch 16;
#              dispatch-bound), steps of a fraction of a second.
# plus the machine's fp32 matmul rate. The C++ side runs with the trainer's defaults,
# CPU shards included (one row shard per thread; bench_pretrain_step --cpu-shards 1
# turns them off for a comparison). section.py then writes the generated section of
# BENCHMARKS.md between the pretrain_step markers (medians, goals, per-phase replay).
#
# Usage: bench/pretrain_step/run.sh [BUILD_DIR]
# Knobs (environment):
#   STEPS / WARMUP: vit-s-224 timed / warm-up steps per side (default 3 / 2: the first
#     steps grow the heap to its peak, and the second is still slower than the rest).
#     One run per side (C++ then Python): a step takes ~9 s on the 2 quiet cores.
#   TINY_STEPS / TINY_WARMUP / TINY_ROUNDS: tiny-demo timed / warm-up steps per run and
#     runs per side, C++ and Python alternating (default 40 / 10 / 3).
#   CONFIGS: the configurations to run (default "vit-s-224 tiny-demo").
#   THREADS (default RADFLOW_CPUS or nproc), PYTHON (default /usr/bin/python3),
#   PROFILE=0 to skip the C++ per-phase replays, NO_WRITE=1 to print the section only,
#   LOG_DIR to keep the logs there (default: a temporary folder, removed at exit).
# OpenMP: vit-s-224 runs with libgomp's default waits. tiny-demo runs both sides with
# GOMP_SPINCOUNT=10000, as radflow-worker runs the demo's pretrain step (BENCHMARKS.md,
# "OpenMP waits"): its thousands of short parallel regions per step are what a default
# 300,000-iteration spin turns into seconds per step on a shared machine; quiet, the two
# settings time the same. An OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment wins.
# On the 2 quiet development cores the defaults take about 3-4 minutes; under load (a
# parallel build) everything is several times slower.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"
STEPS="${STEPS:-3}"
WARMUP="${WARMUP:-2}"
TINY_STEPS="${TINY_STEPS:-40}"
TINY_WARMUP="${TINY_WARMUP:-10}"
TINY_ROUNDS="${TINY_ROUNDS:-3}"
CONFIGS="${CONFIGS:-vit-s-224 tiny-demo}"
THREADS="${THREADS:-${RADFLOW_CPUS:-$(nproc)}}"
PYTHON="${PYTHON:-/usr/bin/python3}"
[ -x "$PYTHON" ] || PYTHON=python3

cmake --build "$BUILD_DIR" --target bench_pretrain_step -j1 >/dev/null
BIN="$BUILD_DIR/bin/bench_pretrain_step"
[ -x "$BIN" ] || { echo "bench_pretrain_step not built (needs RADFLOW_WITH_TORCH=ON)"; exit 1; }

if [ -n "${LOG_DIR:-}" ]; then
  mkdir -p "$LOG_DIR"
else
  LOG_DIR="$(mktemp -d)"
  trap 'rm -rf "$LOG_DIR"' EXIT
fi
rm -f "$LOG_DIR"/*.log

HAVE_PY=0
if "$PYTHON" -c 'import torch' 2>/dev/null; then
  HAVE_PY=1
else
  echo "Python reference skipped: $PYTHON cannot import torch."
  echo "  Install Debian's build: sudo apt-get install -y python3-torch (then PYTHON=/usr/bin/python3)"
fi

# The OpenMP environment of a configuration's runs (see the header).
omp_env() {
  if [ "$1" = tiny-demo ] && [ -z "${OMP_WAIT_POLICY:-}" ] && [ -z "${GOMP_SPINCOUNT:-}" ]; then
    echo GOMP_SPINCOUNT=10000
  else
    echo RADFLOW_BENCH_OMP=default  # a no-op assignment for env
  fi
}
# $1 config, $2 log, then bench_pretrain_step's arguments.
cpp_side() {
  local config="$1" log="$2"; shift 2
  echo "== C++ $config: $*"
  env "$(omp_env "$config")" "$BIN" --config "$config" --threads "$THREADS" "$@" | tee "$log"
}
py_side() {
  local config="$1" log="$2"; shift 2
  [ "$HAVE_PY" = 1 ] || return 0
  echo "== Python $config: $*"
  # The same glibc malloc policy the C++ side sets with mallopt (cpu_runtime.h): large
  # freed buffers stay in the heap instead of being unmapped and faulted in again.
  env "$(omp_env "$config")" MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 \
    "$PYTHON" "$ROOT/bench/pretrain_step/reference.py" --config "$config" --threads "$THREADS" "$@" \
    | tee "$log"
}

LOAD_BEFORE="$(cut -d' ' -f1 /proc/loadavg)"
echo "load before: $(uptime)"
for config in $CONFIGS; do
  case "$config" in
    vit-s-224)
      PROFILE_FLAG=""; [ "${PROFILE:-1}" = 0 ] && PROFILE_FLAG="--no-profile"
      cpp_side vit-s-224 "$LOG_DIR/vit-s-224.cpp.1.log" --steps "$STEPS" --warmup "$WARMUP" $PROFILE_FLAG
      py_side vit-s-224 "$LOG_DIR/vit-s-224.py.1.log" --steps "$STEPS" --warmup "$WARMUP"
      ;;
    tiny-demo)
      for r in $(seq 1 "$TINY_ROUNDS"); do
        # The replays (20 steps' worth) in the first C++ run only; the side that goes
        # first alternates between rounds.
        PROFILE_FLAG="--no-profile"; [ "$r" = 1 ] && [ "${PROFILE:-1}" != 0 ] && PROFILE_FLAG=""
        if [ $((r % 2)) = 1 ]; then
          cpp_side tiny-demo "$LOG_DIR/tiny-demo.cpp.$r.log" --steps "$TINY_STEPS" --warmup "$TINY_WARMUP" $PROFILE_FLAG
          py_side tiny-demo "$LOG_DIR/tiny-demo.py.$r.log" --steps "$TINY_STEPS" --warmup "$TINY_WARMUP"
        else
          py_side tiny-demo "$LOG_DIR/tiny-demo.py.$r.log" --steps "$TINY_STEPS" --warmup "$TINY_WARMUP"
          cpp_side tiny-demo "$LOG_DIR/tiny-demo.cpp.$r.log" --steps "$TINY_STEPS" --warmup "$TINY_WARMUP" $PROFILE_FLAG
        fi
      done
      ;;
    *) echo "unknown config $config (vit-s-224 or tiny-demo)"; exit 2 ;;
  esac
done
echo "load after: $(uptime)"
echo

WRITE_FLAG=""; [ "${NO_WRITE:-0}" = 1 ] && WRITE_FLAG="--no-write"
"$PYTHON" "$ROOT/bench/pretrain_step/section.py" "$LOG_DIR" --threads "$THREADS" \
  --load-before "$LOAD_BEFORE" $WRITE_FLAG

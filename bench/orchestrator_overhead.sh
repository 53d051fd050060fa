#!/usr/bin/env bash
# Per-step orchestration overhead: how long radflowd takes to run steps that do
# (almost) nothing — validation, scheduling, worker process start, plugin load,
# event streaming, output hashing and the database writes, end to end.
#   bench/orchestrator_overhead.sh [BUILD_DIR]
# Prints one line per scenario; figures go to BENCHMARKS.md.
set -euo pipefail
build=${1:-build}
root=$(mktemp -d /tmp/radflow-bench-XXXXXX)
trap 'kill $(cat "$root/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$root"' EXIT
mkdir -p "$root/plugins"
cp "$build"/tests/plugins/test-ok.so "$root/plugins/"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
"$build/bin/radflowd" --data-dir "$root/data" --plugin-dir "$root/plugins" \
  --listen "127.0.0.1:$port" --log-level warn --gpus none >"$root/log" 2>&1 &
echo $! >"$root/pid"
for _ in $(seq 100); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.05; done

run() {  # name, workflow json
  local start end id status
  start=$(date +%s.%N)
  id=$(curl -fs -X POST -H 'Content-Type: application/json' "$url/api/v1/runs" -d "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  while :; do
    status=$(curl -fs "$url/api/v1/runs/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ $status == succeeded || $status == failed ]] && break
    sleep 0.02
  done
  end=$(date +%s.%N)
  python3 - "$1" "$start" "$end" "$3" "$status" <<'PY'
import sys
name, start, end, steps, status = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
total = end - start
print(f"{name:28s} {steps:4d} steps  {total:7.2f} s  {1000*total/steps:7.1f} ms/step  ({status})")
PY
}

chain=$(python3 -c '
import json
steps = {f"s{i}": {"plugin": "test-ok", "params": {"value": i}, "cache": False,
          **({"inputs": {"in": f"s{i-1}.out"}} if i else {})} for i in range(50)}
print(json.dumps({"name": "chain", "steps": steps}))')
wide=$(python3 -c '
import json
steps = {f"s{i}": {"plugin": "test-ok", "params": {"value": i}, "cache": False} for i in range(100)}
print(json.dumps({"name": "wide", "steps": steps}))')
cached=$(python3 -c '
import json
steps = {f"s{i}": {"plugin": "test-ok", "params": {"value": i}} for i in range(100)}
print(json.dumps({"name": "cached", "steps": steps}))')

echo "cores: $(nproc); CPU slots: $(nproc)"
run "chain of 50 (sequential)" "$chain" 50
run "fan-out of 100 (parallel)" "$wide" 100
run "100 steps, first run" "$cached" 100
run "100 steps, all cache hits" "$cached" 100

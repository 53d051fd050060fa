#!/usr/bin/env bash
# `make stop`: stops the radflowd that `make run` started (SIGTERM, then waits; running
# attempts are stopped and resume when the daemon starts again).
set -euo pipefail
cd "$(dirname "$0")/.."
pid_file=var/radflowd.pid
if [[ ! -f ${pid_file} ]]; then
  echo "no radflowd running from ./var"
  exit 0
fi
pid=$(cat "${pid_file}")
if ! kill -0 "${pid}" 2>/dev/null; then
  echo "radflowd (pid ${pid}) is not running"
  rm -f "${pid_file}"
  exit 0
fi
kill -TERM "${pid}"
for _ in $(seq 1 300); do
  kill -0 "${pid}" 2>/dev/null || { echo "radflowd (pid ${pid}) stopped"; exit 0; }
  sleep 0.1
done
echo "radflowd (pid ${pid}) did not stop within 30 s; sending SIGKILL" >&2
kill -KILL "${pid}"

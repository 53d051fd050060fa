#!/usr/bin/env bash
# `make run`: starts radflowd in the background (database under ./var) unless one is
# already serving, submits workflows/demo.json (workflows/demo-lite.json when radflow was
# built without LibTorch), follows it to the end, prints the summary, the comparison of
# the pretrained and randomly initialised encoders, writes the run's report card
# (var/report-card.html, docs/report-card.md) and prints its path, and the dashboard
# URL. The daemon keeps serving; `make stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
port=${PORT:-8080}
data_dir=var
url="http://127.0.0.1:${port}"
bin="${build_dir}/bin"

healthy() { curl -fsS --max-time 2 "${url}/healthz" >/dev/null 2>&1; }

mkdir -p "${data_dir}"
if healthy; then
  echo "radflowd already serving at ${url}"
else
  echo "starting radflowd at ${url} (data in ${data_dir}/, log in ${data_dir}/radflowd.log)"
  nohup "${bin}/radflowd" --data-dir "${data_dir}" --listen "127.0.0.1:${port}" \
    --plugin-dir "${build_dir}/plugins" >>"${data_dir}/radflowd.log" 2>&1 &
  # The first start describes every plugin (LibTorch ones take a second each);
  # later starts read the descriptors from the database.
  for _ in $(seq 1 600); do
    healthy && break
    if ! kill -0 $! 2>/dev/null; then
      echo "radflowd exited; last lines of ${data_dir}/radflowd.log:" >&2
      tail -n 20 "${data_dir}/radflowd.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  healthy || { echo "radflowd did not answer at ${url}" >&2; exit 1; }
fi

workflow=workflows/demo.json
if [[ ! -f "${build_dir}/plugins/pretrain.so" ]]; then
  workflow=workflows/demo-lite.json
  echo "radflow was built without LibTorch: running ${workflow} (no pretraining or evaluation)"
fi
status=0
output=$("${bin}/radflow" --server "${url}" submit "${workflow}" --wait | tee /dev/stderr) || status=$?
run_id=$(sed -n 's/^run \([0-9]*\) submitted.*/\1/p' <<<"${output}" | head -n 1)
if [[ ${status} -eq 0 && ${workflow} == workflows/demo.json && -n ${run_id} ]]; then
  echo
  echo "What self-supervision bought (run ${run_id}, test split):"
  python3 scripts/demo-table.py "${url}" "${run_id}"
  card="${data_dir}/report-card.html"
  echo
  if "${bin}/radflow" --server "${url}" report "${run_id}" --out "${card}"; then
    echo "Report card: $(realpath "${card}") (open it in a browser; also ${url}/#/report?runs=${run_id})"
  else
    status=1
  fi
fi
echo
echo "Dashboard: ${url}/"
echo "The daemon keeps serving in the background; stop it with: make stop"
exit ${status}

#!/usr/bin/env bash
# Runs each libFuzzer target for a while (`make fuzz`), one after another:
#   tests/fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]
# SECONDS per target (default 120); TARGET names (default: every fuzz_* in
# BUILD_DIR/fuzz/bin). Each target's corpus grows in tests/fuzz/findings/<target>/corpus
# (git-ignored; seeded from tests/fuzz/corpus/<target>), and crashing inputs land in
# tests/fuzz/findings/<target>/crashes/. Prints one summary line per target and exits
# 1 when any target found a crash. Leaks, timeouts (30 s) and over 4 GB RSS count too.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR [SECONDS] [TARGET...]}
seconds=${2:-120}
shift $(( $# >= 2 ? 2 : 1 ))
bin="$build/fuzz/bin"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for exe in "$bin"/fuzz_*; do [[ -x "$exe" ]] && targets+=("${exe##*/fuzz_}"); done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run.sh: no fuzzers in $bin (clang-14 and libclang-rt-14-dev missing? see docs/fuzzing.md)" >&2
  exit 2
fi
failed=0
summary=()
for target in "${targets[@]}"; do
  out="$here/findings/$target"
  mkdir -p "$out/corpus" "$out/crashes"
  log="$out/last-run.log"
  echo "== fuzz_$target for ${seconds}s (log: $log)"
  "$bin/fuzz_$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$out/crashes/" \
    "$out/corpus" "$here/corpus/$target" >"$log" 2>&1
  rc=$?
  # The last status line: "#N  DONE  cov: C ft: F corp: ... exec/s: E ...".
  status=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
  crashes=$(find "$out/crashes" -type f | wc -l)
  line="$target: rc=$rc execs=${execs:-?} exec/s=${rate:-?} cov=${cov:-?} crash files=$crashes"
  summary+=("$line")
  if [[ $rc -ne 0 ]]; then
    failed=1
    grep -E 'ERROR: |SUMMARY: |fuzz invariant broken|Test unit written' "$log" | head -5
  fi
done
echo "== summary (${seconds}s each)"
printf '%s\n' "${summary[@]}"
exit $failed

#!/usr/bin/env python3
"""How long an ML step takes to start: from the pretrain step turning `running` (its
row's started_ms) to the first line its plugin logs from `run` (that line's ts_ms),
with fork servers (the default) and without (`--no-fork-server`).

  plugin_start.py BUILD_DIR [--runs K]

Each side starts radflowd on the build's plugin folder and submits K runs of
synth-cxr -> dataset -> pretrain (tiny arch, 0 iterations, so the step only builds
its model and saves it); synth-cxr and dataset are served from the step cache after
the first run, pretrain never is. The first run of a daemon starts pretrain's fork
server (loading LibTorch), so it is reported apart from the later ones; that start
happens before the step turns `running`, so it is not in this figure (with exec, the
load is). Prints one JSON object per side.
"""
import argparse, json, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from radflow_side import Daemon, call  # noqa: E402


def workflow(seed):
    return {"name": "plugin-start", "steps": {
        "synth": {"plugin": "synth-cxr", "params": {"seed": 1, "count": 16, "image_size": 64}},
        "dataset": {"plugin": "dataset", "inputs": {"source": "synth.dataset"}},
        "pretrain": {"plugin": "pretrain", "inputs": {"dataset": "dataset.dataset"}, "cache": False,
                     "params": {"arch": "tiny", "image_size": 56, "iterations": 0,
                                "batch_size": 4, "seed": seed}},
    }}


def start_ms(d, run_id):
    run = call(f"{d.url}/api/v1/runs/{run_id}")
    step = next(s for s in run["steps"] if s["name"] == "pretrain")
    if run["status"] != "succeeded":
        raise SystemExit(f"run {run_id} {run['status']}: {json.dumps(run)[:2000]}")
    logs = call(f"{d.url}/api/v1/runs/{run_id}/steps/pretrain/logs?limit=1000")
    lines = logs["logs"] if isinstance(logs, dict) else logs
    first = min(l["ts_ms"] for l in lines if l["stream"] == "plugin")
    return first - step["started_ms"]


def side(build, runs, fork_server):
    d = Daemon(build, 0, fork_server=fork_server, plugin_dir=f"{build}/plugins")
    try:
        times = []
        for seed in range(runs):
            times.append(start_ms(d, d.wait(d.submit(workflow(seed)))["id"]))
        later = sorted(times[1:])
        return {"fork_server": fork_server, "first_ms": times[0],
                "later_p50_ms": later[len(later) // 2] if later else None, "all_ms": times}
    finally:
        d.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=6)
    a = ap.parse_args()
    for fork_server in (False, True):
        print(json.dumps(side(a.build, a.runs, fork_server)), flush=True)


if __name__ == "__main__":
    main()

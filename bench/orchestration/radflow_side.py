#!/usr/bin/env python3
"""radflow's side of the orchestration benchmark (bench/orchestration/README.md).

Starts radflowd on a fresh data folder with the no-op plugin test-ok, submits the
scenarios and reads the timings back from the run's rows (milliseconds, the daemon's
clock, the same machine's as ours), so polling the status never adds to a figure.
Prints one JSON object per scenario run on stdout.

  radflow_side.py BUILD_DIR SCENARIO [--cpus N] [--repeat K] [--steps N] [--no-fork-server]
SCENARIO: wide (N independent steps), chain (a chain of N steps), first (submit ->
first step running, one step per run, K runs).
"""
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def cpu_s(pid):
    """User + system CPU seconds of process pid (not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


class Daemon:
    """radflowd on a fresh data folder. By default its plugin folder holds only the
    no-op test-ok; `plugin_dir` serves another folder instead (the build's plugins).
    `fork_server=False` starts it with --no-fork-server."""

    def __init__(self, build, cpus, fork_server=True, plugin_dir=None, data_root=None):
        self.root = tempfile.mkdtemp(prefix="radflow-bench-")
        if plugin_dir is None:
            plugin_dir = f"{self.root}/plugins"
            os.makedirs(plugin_dir)
            shutil.copy(f"{build}/tests/plugins/test-ok.so", plugin_dir)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [f"{build}/bin/radflowd", "--data-dir", f"{self.root}/data",
                "--plugin-dir", plugin_dir, "--listen", f"127.0.0.1:{port}",
                "--log-level", "warn", "--gpus", "none"]
        if cpus:
            args += ["--cpus", str(cpus)]
        if not fork_server:
            args += ["--no-fork-server"]
        if data_root:
            args += ["--data-root", data_root]
        self.log = open(f"{self.root}/log", "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except Exception:
                time.sleep(0.025)
        raise SystemExit("radflowd did not start: " + open(f"{self.root}/log").read())

    def submit(self, workflow):
        return call(self.url + "/api/v1/runs", "POST", workflow)["id"]

    def wait(self, run_id):
        # Polls the run list (a few rows), not the run's detail: the detail of a
        # 1,000-step run is a large answer, and asking for it every few ms would
        # charge the daemon's CPU with the benchmark's own reads.
        while True:
            runs = call(f"{self.url}/api/v1/runs?limit=5")
            rows = runs["runs"] if isinstance(runs, dict) else runs
            row = next((r for r in rows if r["id"] == run_id), None)
            if row is not None and row["status"] in ("succeeded", "failed", "cancelled"):
                return call(f"{self.url}/api/v1/runs/{run_id}")
            time.sleep(0.02)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def step(i, extra=None):
    s = {"plugin": "test-ok", "params": {"value": i}, "cache": False}
    s.update(extra or {})
    return s


def wide(d, n):
    wf = {"name": "wide", "steps": {f"s{i}": step(i) for i in range(n)}}
    cpu0 = cpu_s(d.proc.pid)
    t0 = time.time()
    run_id = d.submit(wf)
    run = d.wait(run_id)
    cpu = cpu_s(d.proc.pid) - cpu0
    wall_s = (run["finished_ms"] - t0 * 1000) / 1000
    return {"scenario": "wide", "steps": n, "status": run["status"], "wall_s": wall_s,
            "steps_per_s": n / wall_s, "daemon_cpu_ms_per_step": 1000 * cpu / n}


def chain(d, n):
    steps = {f"s{i}": step(i, {"inputs": {"in": f"s{i-1}.out"}} if i else None) for i in range(n)}
    t0 = time.time()
    run_id = d.submit({"name": "chain", "steps": steps})
    run = d.wait(run_id)
    rows = {s["name"]: s for s in run["steps"]}
    gaps = sorted(rows[f"s{i}"]["started_ms"] - rows[f"s{i-1}"]["finished_ms"] for i in range(1, n))
    periods = sorted(rows[f"s{i}"]["started_ms"] - rows[f"s{i-1}"]["started_ms"] for i in range(1, n))
    wall_s = (run["finished_ms"] - t0 * 1000) / 1000
    return {"scenario": "chain", "steps": n, "status": run["status"], "wall_s": wall_s,
            "ms_per_step": 1000 * wall_s / n, "gap_p50_ms": gaps[len(gaps) // 2],
            "period_p50_ms": periods[len(periods) // 2]}


def first(d, k):
    lat = []
    for i in range(k):
        t0 = time.time()
        run_id = d.submit({"name": "first", "steps": {"only": step(i)}})
        run = d.wait(run_id)
        lat.append(run["steps"][0]["started_ms"] - t0 * 1000)
    lat.sort()
    return {"scenario": "first", "runs": k, "p50_ms": lat[len(lat) // 2],
            "p90_ms": lat[int(len(lat) * 0.9)]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("scenario", choices=["wide", "chain", "first"])
    ap.add_argument("--cpus", type=float, default=0, help="radflowd --cpus (0: its default, every core)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-fork-server", action="store_true", help="radflowd --no-fork-server")
    a = ap.parse_args()
    d = Daemon(a.build, a.cpus, fork_server=not a.no_fork_server)
    try:
        for _ in range(a.repeat):
            if a.scenario == "wide":
                print(json.dumps(wide(d, a.steps)), flush=True)
            elif a.scenario == "chain":
                print(json.dumps(chain(d, a.steps)), flush=True)
            else:
                print(json.dumps(first(d, a.steps)), flush=True)
    finally:
        d.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""`make bench`'s metric ingestion section: one plugin logging N metric points through
radflow-worker and radflowd into SQLite, against a batched SQLite insert loop of the
same rows on the same disk (the ceiling), alternating, and the section of
BENCHMARKS.md between the metric_ingestion markers rewritten
(bench/metric_ingestion/README.md).

  run.py BUILD_DIR [--repeat K] [--points N] [--no-write]
"""
import json, os, shutil, sqlite3, subprocess, sys, tempfile, time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "orchestration"))
from bench_section import parser, goal, header, med, runs, write_section  # noqa: E402
import radflow_side  # noqa: E402
from sqlite_ceiling import make_db  # noqa: E402


def radflow_once(build, plugin_dir, points):
    """One run of bench-metrics in a fresh radflowd; the figures from the plugin's own
    log line, the step's row and the stored metric rows."""
    d = radflow_side.Daemon(build, os.cpu_count(), plugin_dir=plugin_dir)
    try:
        cpu0 = radflow_side.cpu_s(d.proc.pid)
        run_id = d.submit({"name": "ingest", "steps": {"m": {
            "plugin": "bench-metrics", "params": {"points": points}, "cache": False}}})
        run = d.wait(run_id)
        cpu = radflow_side.cpu_s(d.proc.pid) - cpu0
        if run["status"] != "succeeded":
            raise SystemExit(f"bench-metrics run {run['status']}: {open(d.root + '/log').read()[-3000:]}")
        step = run["steps"][0]
        db = sqlite3.connect(f"file:{d.root}/data/radflow.db?mode=ro", uri=True)
        stored = db.execute("SELECT count(*) FROM metrics").fetchone()[0]
        line = db.execute("SELECT message FROM logs WHERE message LIKE 'bench-metrics %'").fetchone()[0]
        db.close()
    finally:
        d.close()
    stats = json.loads(line.split(" ", 1)[1])
    end_to_end_s = (step["finished_ms"] - stats["first_ms"]) / 1000
    return {"stored": stored, "scalars_per_s": points / end_to_end_s, "end_to_end_s": end_to_end_s,
            "plugin_loop_s": stats["loop_ms"] / 1000, "in_calls_s": stats["in_calls_ms"] / 1000,
            "max_call_us": stats["max_call_us"], "calls_over_1ms": stats["calls_over_1ms"],
            "voluntary": stats["voluntary_switches"], "involuntary": stats["involuntary_switches"],
            "daemon_cpu_s": cpu}


def ceiling_once(schema_db, points, batch):
    """The same N rows into radflow's metrics table, `batch` rows per transaction,
    WAL with synchronous=FULL as radflowd runs it, through Python's sqlite3."""
    path = schema_db + ".ceiling"
    shutil.copy(schema_db, path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("INSERT INTO runs(name, status, workflow_json, params_json, created_ms) "
               "VALUES ('ceiling', 'running', '{}', '{}', 0)")
    run_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    db.execute("INSERT INTO steps(run_id, name, plugin, plugin_version, params_json, resources_json, "
               "retries, timeout_s, cache, priority, position, status) VALUES "
               "(?, 'm', 'bench-metrics', '1.0.0', '{}', '{}', 0, 0, 0, 0, 0, 'running')", (run_id,))
    step_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    names = [f"bench.s{s}" for s in range(4)]
    t0 = time.perf_counter()
    for start in range(0, points, batch):
        rows = [(step_id, names[i % 4], i // 4, 0.5 * i) for i in range(start, min(start + batch, points))]
        db.execute("BEGIN")
        db.executemany("INSERT INTO metrics(step_id, attempt_id, name, iteration, value) "
                       "VALUES (?, NULL, ?, ?, ?)", rows)
        db.execute("COMMIT")
    took = time.perf_counter() - t0
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return {"rows_per_s": points / took}


def main():
    ap = parser(__doc__, 3)
    ap.add_argument("--points", type=int, default=1000000)
    ap.add_argument("--batch", type=int, default=10000, help="rows per transaction of the ceiling")
    a = ap.parse_args()
    subprocess.run(["cmake", "--build", a.build, "--target", "bench-metrics"], check=True,
                   stdout=subprocess.DEVNULL)
    plugin_dir = tempfile.mkdtemp(prefix="radflow-bench-plugins-")
    shutil.copy(os.path.join(a.build, "bench", "plugins", "bench-metrics.so"), plugin_dir)
    load_before = os.getloadavg()[0]
    schema_db = make_db(a.build)
    rf, ceil = [], []
    for _ in range(a.repeat):
        rf.append(radflow_once(a.build, plugin_dir, a.points))
        ceil.append(ceiling_once(schema_db, a.points, a.batch))
    shutil.rmtree(plugin_dir, ignore_errors=True)
    os.remove(schema_db)

    rate = [r["scalars_per_s"] for r in rf]
    ceiling = [c["rows_per_s"] for c in ceil]
    loop = [a.points / r["plugin_loop_s"] for r in rf]
    in_calls = [r["in_calls_s"] for r in rf]
    max_call = [r["max_call_us"] for r in rf]
    over = [r["calls_over_1ms"] for r in rf]
    cpu_per_1000 = [1000 * 1000 * r["daemon_cpu_s"] / a.points for r in rf]  # ms
    vol = [r["voluntary"] for r in rf]
    invol = [r["involuntary"] for r in rf]
    stored_all = all(r["stored"] == a.points for r in rf)
    # Blocked means the thread waited (a voluntary switch); being preempted by other
    # processes on a shared machine is not the database's doing.
    never_blocked = max(vol) == 0
    lines = header("bench/metric_ingestion/run.py", a.repeat, load_before) + [
        f"One `bench-metrics` step logs {a.points:,} points (4 series) as fast as it can; radflowd "
        f"`--cpus {os.cpu_count()}`, fresh data folder each run. The ceiling writes the same rows into "
        f"radflow's `metrics` table through Python's sqlite3, {a.batch:,} rows per transaction, WAL "
        "with `synchronous=FULL` (as radflowd), in the same temporary folder's file system.",
        "",
        "| figure | radflow | peer | ratio (radflow / peer) | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| scalars/s, the plugin's first `metric()` → the step `succeeded` with every point "
        f"committed | {med(rate):,.0f} ({runs(rate, '%.0f')}) | SQLite batched insert loop "
        f"{med(ceiling):,.0f} rows/s ({runs(ceiling, '%.0f')}) | {med(rate) / med(ceiling):.2f} "
        f"| ≥ 200,000/s: {goal(med(rate) >= 200000)} |",
        f"| points stored (`SELECT count(*) FROM metrics`) | {', '.join(str(r['stored']) for r in rf)} "
        f"| - | - | all {a.points:,}: {goal(stored_all)} |",
        f"| the plugin's loop alone, points/s | {med(loop):,.0f} ({runs(loop, '%.0f')}) | - | - | |",
        f"| the plugin's time inside `metric()`, all {a.points:,} calls | {med(in_calls):.2f} s "
        f"({runs(in_calls, '%.2f')}) | - | - | |",
        f"| longest single `metric()` call; calls over 1 ms | {med(max_call):.0f} µs "
        f"({runs(max_call, '%.0f')}); {', '.join(str(o) for o in over)} | - | - | |",
        f"| the plugin thread's context switches during the loop: voluntary (it blocked) / "
        f"involuntary (preempted) | {', '.join(f'{v} / {i}' for v, i in zip(vol, invol))} | - | - "
        f"| never blocked by the database (no voluntary switch): {goal(never_blocked)} |",
        f"| radflowd CPU per 1,000 points (user + system) | {med(cpu_per_1000):.2f} ms "
        f"({runs(cpu_per_1000, '%.2f')}) | - | - | reported |",
    ]
    write_section("metric_ingestion", lines, a.no_write)


if __name__ == "__main__":
    main()

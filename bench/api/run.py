#!/usr/bin/env python3
"""`make bench`'s API section: p50/p99 of radflowd's run list, run detail and metrics
downsampling (and the dashboard's search and sort) with 10,000 runs and 1M metric
points stored, 16 concurrent clients, against the same queries straight on SQLite,
alternating, and the section of BENCHMARKS.md between the api markers rewritten
(bench/api/README.md).

  run.py BUILD_DIR [--repeat K] [--no-write]
"""
import json, os, random, sqlite3, subprocess, sys, tempfile, time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "orchestration"))
from bench_section import parser, header, med, runs, write_section  # noqa: E402
import radflow_side  # noqa: E402

RUNS, WORKFLOWS, HEAVY_RUNS, POINTS_PER_HEAVY, SERIES = 10000, 37, 10, 100000, 4
MAX_POINTS = 500
NEW_CONNECTION = ", a new connection per request"
STEPS = ("prep", "train", "eval")  # a chain: train reads prep.out, eval reads train.out

# The columns storage/store_queries.cpp reads (kRunSummaryColumns, kRunColumns,
# kStepColumns, kAttemptColumns): the peer reads what the daemon reads.
RUN_SUMMARY = ("SELECT id, name, status, '' AS workflow_json, params_json, created_ms, started_ms, "
               "finished_ms, message, submitted_by, tags_json, cancel_requested FROM runs ")
RUN = RUN_SUMMARY.replace("'' AS workflow_json", "workflow_json")
STEP = ("SELECT id, run_id, name, plugin, plugin_version, params_json, resources_json, retries, "
        "timeout_s, cache, priority, position, status, reason, message, progress, progress_message, "
        "cache_key, cached_from_step, started_ms, finished_ms, plugin_sha256 FROM steps ")
INPUTS = "SELECT input_name, source_step_name, source_output FROM step_inputs WHERE step_id = ? ORDER BY input_name"
ATTEMPTS = ("SELECT id, step_id, number, status, reason, message, exit_code, signal, pids, devices, "
            "started_ms, finished_ms FROM attempts WHERE step_id IN (SELECT id FROM steps WHERE run_id = ?) "
            "ORDER BY step_id, number, id")
# Store::metric_series with the latest attempt, as the route asks for it: the
# attempt, one walk over the metrics_by_attempt index for the rowids in series
# order, then the kept rows (the stride is chosen in C++; here by kept_rowids).
LATEST_SQL = "SELECT MAX(attempt_id) FROM metrics WHERE step_id = ?"
WALK_SQL = ("SELECT rowid, name FROM metrics WHERE step_id = ?1 AND attempt_id IS ?2 "
            "ORDER BY name, iteration, rowid")
FETCH_SQL = "SELECT step_id, attempt_id, name, iteration, value FROM metrics WHERE rowid IN ({})"


def kept_rowids(db, step, attempt, max_points):
    """The rowids Store::metric_series keeps: per series of n, index k (n-1) / (m-1)."""
    series = {}
    for rowid, name in db.execute(WALK_SQL, (step, attempt)):
        series.setdefault(name, []).append(rowid)
    kept = []
    for rows in series.values():
        n = len(rows)
        kept += rows if n <= max_points else [rows[k * (n - 1) // (max_points - 1)] for k in range(max_points)]
    return kept


def populate(path):
    """10,000 finished runs (37 workflow names, a fifth failed) of 3 steps with one
    attempt each, and 1M metric points: 100,000 (4 series) on the train step of each
    of 10 runs. Straight into radflowd's database, one transaction."""
    rng = random.Random(16)
    db = sqlite3.connect(path, timeout=60)
    db.execute("BEGIN")
    base = int(time.time() * 1000) - RUNS * 60000
    wf = lambda name: json.dumps({"name": name, "steps": {
        "prep": {"plugin": "test-ok"}, "train": {"plugin": "test-ok", "inputs": {"in": "prep.out"}},
        "eval": {"plugin": "test-ok", "inputs": {"in": "train.out"}}}})
    run_rows, step_rows, attempt_rows, input_rows = [], [], [], []
    step_id = attempt_id = 0
    for r in range(1, RUNS + 1):
        name = f"workflow-{r % WORKFLOWS}"
        status = "failed" if r % 5 == 0 else "succeeded"
        created = base + r * 60000
        finished = created + 100 + rng.randrange(1000, 3600000)
        run_rows.append((r, name, status, wf(name), "{}", created, created + 100, finished,
                         "step eval failed" if status == "failed" else "", f"user{r % 7}"))
        for pos, s in enumerate(STEPS):
            step_id += 1
            attempt_id += 1
            st = "failed" if status == "failed" and s == "eval" else "succeeded"
            step_rows.append((step_id, r, s, "test-ok", "1.0.0", "{}", "{}", 0, 0, 0, 0, pos, st,
                              created + 100, finished))
            attempt_rows.append((attempt_id, step_id, 1, st, "cpu", created + 100, finished))
            if pos:
                input_rows.append((step_id, "in", STEPS[pos - 1], "out"))
    db.executemany("INSERT INTO runs(id, name, status, workflow_json, params_json, created_ms, started_ms, "
                   "finished_ms, message, submitted_by) VALUES (?,?,?,?,?,?,?,?,?,?)", run_rows)
    db.executemany("INSERT INTO steps(id, run_id, name, plugin, plugin_version, params_json, resources_json, "
                   "retries, timeout_s, cache, priority, position, status, started_ms, finished_ms) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", step_rows)
    db.executemany("INSERT INTO attempts(id, step_id, number, status, devices, started_ms, finished_ms) "
                   "VALUES (?,?,?,?,?,?,?)", attempt_rows)
    db.executemany("INSERT INTO step_inputs(step_id, input_name, source_step_name, source_output) "
                   "VALUES (?,?,?,?)", input_rows)
    heavy = list(range(RUNS, RUNS - HEAVY_RUNS, -1))  # the newest runs: what a user opens
    for r in heavy:
        train = 3 * (r - 1) + 2
        db.executemany("INSERT INTO metrics(step_id, attempt_id, name, iteration, value) VALUES (?,?,?,?,?)",
                       ((train, train, f"loss.s{i % SERIES}", i // SERIES, 1.0 / (1 + i))
                        for i in range(POINTS_PER_HEAVY)))
    db.execute("COMMIT")
    db.close()
    return heavy


def kinds(heavy, n, db_path):
    """Per kind: the HTTP paths and, for the peer, the statements each request runs."""
    rng = random.Random(7)
    with sqlite3.connect(db_path) as db:
        kept = {t: kept_rowids(db, t, t, MAX_POINTS) for t in (3 * (r - 1) + 2 for r in heavy)}
    ids = [rng.randrange(1, RUNS + 1) for _ in range(n)]
    # The run list without a status: storage/run_filter.h leaves the WHERE out.
    count = "SELECT COUNT(*) FROM runs"

    def detail(r):
        steps = range(3 * (r - 1) + 1, 3 * r + 1)
        return ([[RUN + "WHERE id = ?", [r]], [STEP + "WHERE run_id = ? ORDER BY position", [r]]]
                + [[INPUTS, [s]] for s in steps] + [[ATTEMPTS, [r]]])

    def series(r):
        train = 3 * (r - 1) + 2  # its one attempt has the same id (populate)
        return [[STEP + "WHERE run_id = ? AND name = ?", [r, "train"]], [INPUTS, [train]],
                [LATEST_SQL, [train]], [WALK_SQL, [train, train]],
                [FETCH_SQL.format(",".join(map(str, kept[train]))), []]]

    # The dashboard's search and sort, as SQL would do them (the daemon does not: README).
    search = [[RUN_SUMMARY + "WHERE instr(lower(name), ?1) OR instr(lower(message), ?1) OR "
               "instr(lower(submitted_by), ?1) OR instr(lower(tags_json), ?1) ORDER BY id DESC LIMIT 50",
               ["workflow-12"]],
              ["SELECT COUNT(*) FROM runs WHERE instr(lower(name), ?1) OR instr(lower(message), ?1) OR "
               "instr(lower(submitted_by), ?1) OR instr(lower(tags_json), ?1)", ["workflow-12"]]]
    by_duration = [[RUN_SUMMARY + "ORDER BY finished_ms IS NULL, finished_ms - started_ms DESC LIMIT 50", []],
                   ["SELECT COUNT(*) FROM runs", []]]
    # Fewer of the heavy kinds, so that a run stays within a few minutes on 2 cores.
    dash_n, series_n = max(n // 10, 64), max(n // 32, 48)
    return [
        ("run list", ["/api/v1/runs?limit=50"] * n,
         [[[RUN_SUMMARY + "ORDER BY id DESC LIMIT ?1 OFFSET ?2", [50, 0]], [count, []]]] * n),
        ("run detail", [f"/api/v1/runs/{r}" for r in ids], [detail(r) for r in ids]),
        (f"metrics of a 100,000-point step, max_points={MAX_POINTS}",
         [f"/api/v1/runs/{heavy[i % len(heavy)]}/steps/train/metrics?max_points={MAX_POINTS}" for i in range(series_n)],
         [series(heavy[i % len(heavy)]) for i in range(series_n)]),
        ("dashboard search `q=workflow-12`", ["/api/v1/dashboard/runs?q=workflow-12&limit=50"] * dash_n,
         [search] * dash_n),
        ("dashboard sort by duration", ["/api/v1/dashboard/runs?sort=duration&order=desc&limit=50"] * dash_n,
         [by_duration] * dash_n),
    ]


def load(binary, config, folder, tag):
    path = os.path.join(folder, f"{tag}.json")
    with open(path, "w") as f:
        json.dump(config, f)
    out = subprocess.run([binary, path], capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        raise SystemExit(f"bench_api_load {tag} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main():
    ap = parser(__doc__, 3)
    ap.add_argument("--requests", type=int, default=1600, help="requests per kind (fewer for the heavy kinds)")
    ap.add_argument("--clients", type=int, default=16)
    a = ap.parse_args()
    subprocess.run(["cmake", "--build", a.build, "--target", "bench_api_load"], check=True,
                   stdout=subprocess.DEVNULL)
    binary = os.path.join(a.build, "bin", "bench_api_load")
    load_before = os.getloadavg()[0]
    d = radflow_side.Daemon(a.build, os.cpu_count())
    try:
        db_path = os.path.join(d.root, "data", "radflow.db")
        t0 = time.perf_counter()
        heavy = populate(db_path)
        populate_s = time.perf_counter() - t0
        with sqlite3.connect(db_path) as db:
            stored = db.execute("SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM metrics)").fetchone()
        ks = kinds(heavy, a.requests, db_path)
        host = d.url.split("//", 1)[1]
        http_cfg = {"clients": a.clients, "warmup": a.clients, "http": host, "daemon_pid": d.proc.pid,
                    "kinds": [{"name": name, "requests": paths} for name, paths, _ in ks]}
        # The light kinds once more with a new connection per request (README: why).
        fresh = [(name + NEW_CONNECTION, paths, sql) for name, paths, sql in ks[:2]]
        http_cfg["kinds"] += [{"name": name, "requests": paths, "keep_alive": False}
                              for name, paths, _ in fresh]
        sql_cfg = {"clients": a.clients, "warmup": a.clients, "db": db_path,
                   "kinds": [{"name": name, "requests": sql} for name, _, sql in ks]}
        rf, peer = [], []
        for _ in range(a.repeat):
            rf.append(load(binary, http_cfg, d.root, "http"))
            peer.append(load(binary, sql_cfg, d.root, "sql"))
    finally:
        d.close()

    lines = header("bench/api/run.py", a.repeat, load_before) + [
        f"Stored: {stored[0]:,} runs (3 steps and 3 attempts each), {stored[1]:,} metric points "
        f"({HEAVY_RUNS} train steps of {POINTS_PER_HEAVY:,}, {SERIES} series), written straight into a fresh "
        f"radflowd's database in {populate_s:.1f} s. {a.clients} clients at once, each with its own "
        "keep-alive connection (`bench_api_load`, C++); the peer runs the statements each route runs "
        f"(storage/store_queries.cpp's SQL) through the SQLite C API, {a.clients} read-only connections, "
        "in the same program. p50 / p99 per request in ms; requests/s of all clients together; "
        "CPU per request: radflowd's (user + system, /proc) against the SQL side's process, the "
        "work itself, which queueing does not move (below the table).",
        "",
        "| request | requests | radflow p50 / p99 | SQLite straight p50 / p99 | p50 ratio (radflow / SQLite) "
        "| radflow req/s | SQLite req/s | CPU ms per request, radflowd / SQLite | CPU ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, _, _ in ks + fresh:
        peer_name = name.replace(NEW_CONNECTION, "")  # SQL has no connections to make
        rp50 = [r[name]["p50_ms"] for r in rf]
        rp99 = [r[name]["p99_ms"] for r in rf]
        pp50 = [p[peer_name]["p50_ms"] for p in peer]
        pp99 = [p[peer_name]["p99_ms"] for p in peer]
        rcpu = med([r[name]["cpu_ms_per_request"] for r in rf])
        pcpu = med([p[peer_name]["cpu_ms_per_request"] for p in peer])
        lines.append(
            f"| {name} | {rf[0][name]['requests']} | {med(rp50):.2f} / {med(rp99):.2f} ({runs(rp50, '%.2f')}) "
            f"| {med(pp50):.2f} / {med(pp99):.2f} ({runs(pp50, '%.2f')}) | {med(rp50) / max(med(pp50), 1e-3):.1f}x "
            f"| {med([r[name]['requests_per_s'] for r in rf]):,.0f} "
            f"| {med([p[peer_name]['requests_per_s'] for p in peer]):,.0f} "
            f"| {rcpu:.3f} / {pcpu:.3f} | {rcpu / max(pcpu, 1e-6):.1f}x |")
    write_section("api", lines, a.no_write)


if __name__ == "__main__":
    main()

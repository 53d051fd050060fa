#!/usr/bin/env python3
"""SQLite's ceiling for the rows one no-op step writes (bench/orchestration/README.md).

Takes radflow's schema from a database radflowd created (radflow_side.py starts one),
then writes, per step, what radflowd writes for a test-ok attempt: the attempt row,
the step going running, 8 log lines, 5 metric points, 5 progress updates, the output's
artifact row, the attempt's end and the step's end. WAL with synchronous=FULL, as
radflowd runs it. Two ways: one transaction per state change as radflowd issues them
today (4 commits a step), and every step's rows in one transaction (the bound with
perfect batching). Python's sqlite3 module: its per-statement overhead is part of the
figure, so the real C ceiling is higher still.

  sqlite_ceiling.py BUILD_DIR [--steps N]
Prints one JSON object.
"""
import argparse, json, os, shutil, sqlite3, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import radflow_side  # noqa: E402


def make_db(build):
    d = radflow_side.Daemon(build, 2)
    path = os.path.join(d.root, "data", "radflow.db")
    copy = d.root + ".db"
    try:
        d.proc.terminate()
        d.proc.wait(timeout=30)
        shutil.copy(path, copy)
    finally:
        shutil.rmtree(d.root, ignore_errors=True)
    return copy


def write_steps(db, steps, per_step_commits):
    now = int(time.time() * 1000)
    cur = db.cursor()
    cur.execute("INSERT INTO runs(name, status, workflow_json, params_json, created_ms) "
                "VALUES ('ceiling', 'running', '{}', '{}', ?)", (now,))
    run_id = cur.lastrowid
    step_ids = []
    for i in range(steps):
        cur.execute("INSERT INTO steps(run_id, name, plugin, plugin_version, params_json, "
                    "resources_json, retries, timeout_s, cache, priority, position, status) "
                    "VALUES (?, ?, 'test-ok', '1.0.0', '{}', '{}', 0, 0, 0, 0, ?, 'queued')",
                    (run_id, f"s{i}", i))
        step_ids.append(cur.lastrowid)
    db.commit()

    def commit():
        if per_step_commits:
            db.commit()

    t0 = time.perf_counter()
    for i, sid in enumerate(step_ids):
        cur.execute("INSERT INTO attempts(step_id, number, status, devices, started_ms) "
                    "VALUES (?, 1, 'running', 'cpu', ?)", (sid, now))
        aid = cur.lastrowid
        cur.execute("UPDATE steps SET status='running', started_ms=? WHERE id=?", (now, sid))
        commit()
        cur.execute("UPDATE attempts SET pids='[1]' WHERE id=?", (aid,))
        commit()
        cur.executemany("INSERT INTO logs(step_id, attempt_id, ts_ms, level, stream, message) "
                        "VALUES (?, ?, ?, 'info', 'plugin', 'a log line of a no-op step')",
                        [(sid, aid, now)] * 8)
        cur.executemany("INSERT INTO metrics(step_id, attempt_id, name, iteration, value) "
                        "VALUES (?, ?, 'value', ?, ?)", [(sid, aid, k, k) for k in range(5)])
        for k in range(5):
            cur.execute("UPDATE steps SET progress=?, progress_message='step' WHERE id=?",
                        ((k + 1) / 5, sid))
        cur.execute("INSERT INTO artifacts(digest, kind, size_bytes, created_ms, "
                    "producer_attempt_id, step_id, output_name) VALUES (?, 'file', 2, ?, ?, ?, 'out')",
                    (f"{i:064x}", now, aid, sid))
        cur.execute("UPDATE attempts SET status='succeeded', finished_ms=? WHERE id=?", (now, aid))
        cur.execute("UPDATE steps SET status='succeeded', finished_ms=? WHERE id=?", (now, sid))
        commit()
        cur.execute("INSERT INTO logs(step_id, attempt_id, ts_ms, level, stream, message) "
                    "VALUES (?, ?, ?, 'info', 'radflow', 'attempt 1 succeeded')", (sid, aid, now))
        commit()
    db.commit()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--steps", type=int, default=1000)
    a = ap.parse_args()
    path = make_db(a.build)
    try:
        out = {"tool": "sqlite", "steps": a.steps}
        for mode, per_step in (("commit_per_change", True), ("one_transaction", False)):
            db = sqlite3.connect(path, isolation_level="DEFERRED")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            wall = write_steps(db, a.steps, per_step)
            db.close()
            out[mode + "_steps_per_s"] = a.steps / wall
        print(json.dumps(out))
    finally:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(path + suffix)
            except FileNotFoundError:
                pass


if __name__ == "__main__":
    main()

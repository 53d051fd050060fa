#!/usr/bin/env python3
"""The pretrain_step section of BENCHMARKS.md from run.sh's logs: one row per
configuration (C++ and Python s/step and images/s, the ratio, the achieved share of the
fp32 matmul rate, the goal), and the C++ per-phase replays.

  section.py LOG_DIR [--threads T] [--load-before L] [--no-write]

LOG_DIR holds CONFIG.SIDE.RUN.log (SIDE cpp or py), each with the "RESULT key=value",
"PHASE name=seconds" and "step i: S s" lines of bench_pretrain_step / reference.py.
"""
import argparse, glob, os, re, sys, time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from bench_section import goal, machine, med, runs, write_section  # noqa: E402

CONFIGS = {
    "vit-s-224": "ViT-S/14 at 224 (K 65,536; 2×224 + 4×98 crops)",
    "tiny-demo": "tiny demo ViT (96 wide, 4 deep; K 256; 2×112 + 2×56 crops)",
}
GOALS = {"vit-s-224": "faster than Python and ≥ 50% of the matmul rate", "tiny-demo": "≥ 2x Python"}


def parse(path):
    results, phases, steps = {}, [], []
    for line in open(path):
        if m := re.match(r"RESULT (\w+)=(\S+)", line):
            results[m[1]] = m[2]
        elif m := re.match(r"PHASE (.+)=([\d.eE+-]+)$", line.rstrip("\n")):
            phases.append((m[1], float(m[2])))
        elif m := re.match(r"step \d+: ([\d.]+) s", line):
            steps.append(float(m[1]))
    return {"results": results, "phases": phases, "steps": steps}


def logs(log_dir, config, side):
    paths = glob.glob(os.path.join(log_dir, f"{config}.{side}.*.log"))
    paths.sort(key=lambda p: int(p.rsplit(".", 2)[-2]))
    out = [parse(p) for p in paths]
    return [r for r in out if "step_median_s" in r["results"]]


def step_figure(side_logs):
    """(median s/step, the values in parentheses): one run: its steps; several: the
    runs' median steps."""
    if len(side_logs) == 1:
        values = side_logs[0]["steps"]
    else:
        values = [float(r["results"]["step_median_s"]) for r in side_logs]
    return med(values), values


def fmt_s(s):
    return "%.2f" % s if s >= 1 else "%.3f" % s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log_dir")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--load-before", type=float, default=os.getloadavg()[0])
    ap.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md")
    a = ap.parse_args()

    rows, notes, replays = [], [], {}
    runs_line = []
    for config, label in CONFIGS.items():
        cpp, py = logs(a.log_dir, config, "cpp"), logs(a.log_dir, config, "py")
        if not cpp:
            continue
        r0 = cpp[0]["results"]
        batch = int(r0["batch"])
        c_s, c_runs = step_figure(cpp)
        gflop = med([float(r["results"]["gflop_per_step"]) for r in cpp])
        mm = med([float(r["results"]["matmul_gflops"]) for r in cpp])
        achieved = gflop / c_s
        share = achieved / mm
        sides = (f"{len(cpp)} runs per side, C++ and Python alternating" if len(cpp) > 1
                 else "one run per side, C++ then Python")
        omp = ("libgomp's default waits" if config == "vit-s-224"
               else "GOMP_SPINCOUNT=10000 on both sides, as radflow-worker runs the demo"
               if not (os.environ.get("OMP_WAIT_POLICY") or os.environ.get("GOMP_SPINCOUNT"))
               else "the environment's OpenMP waits")
        runs_line.append(f"{label.split(' (')[0]}: {sides}, each {r0['steps']} timed steps after warm-up, {omp}; "
                         + ("the median step (the steps in parentheses)" if len(cpp) == 1
                            else "the median of the runs' median steps (the runs' medians in parentheses)"))
        c_cell = f"{fmt_s(c_s)} ({runs(c_runs, '%.3f' if c_s < 1 else '%.2f')})"
        if py:
            p_s, p_runs = step_figure(py)
            ratio = p_s / c_s
            p_cell, p_ips, ratio_cell = (f"{fmt_s(p_s)} ({runs(p_runs, '%.3f' if p_s < 1 else '%.2f')})",
                                         f"{batch / p_s:.1f}" if p_s < 1 else f"{batch / p_s:.3f}", f"**{ratio:.2f}x**")
            ok = ratio >= 2 if config == "tiny-demo" else (ratio > 1 and share >= 0.5)
            goal_cell = f"{GOALS[config]}: {goal(ok)}"
        else:
            ratio = None
            p_cell = p_ips = ratio_cell = "—"
            goal_cell = f"{GOALS[config]}: not measured (no Python torch)"
        c_ips = f"{batch / c_s:.1f}" if c_s < 1 else f"{batch / c_s:.3f}"
        rows.append(f"| {label} | {c_cell} | {c_ips} | {p_cell} | {p_ips} | {ratio_cell} | {gflop:,.1f} "
                    f"| {achieved:.1f} | {mm:.1f} | {100 * share:.1f}% | {goal_cell} |")
        phased = [r for r in cpp if r["phases"]]
        if phased:
            replays[config] = (phased[0]["phases"], int(phased[0]["results"].get("profile_reps", 1)))
            aug = phased[0]["phases"][0][1]
            if ratio is not None and c_s > aug:
                notes.append(f"{label.split(' (')[0]}: augmentation + masks {fmt_s(aug)} s of the C++ step "
                             f"(replay); without them C++ / Python would be {p_s / (c_s - aug):.2f}x")

    if not rows:
        raise SystemExit(f"no bench_pretrain_step logs in {a.log_dir}")
    lines = [
        f"Generated by `bench/pretrain_step/run.sh` (`make bench`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Machine: {machine()}; load average {a.load_before:.1f} before, {os.getloadavg()[0]:.1f} after.",
        f"{a.threads} thread{'s' if a.threads != 1 else ''} on both sides, fp32. " + ". ".join(runs_line) + ".",
        "",
        "| config | C++ s/step | C++ images/s | Python s/step | Python images/s | C++ / Python "
        "| GFLOP/step | C++ GFLOP/s | fp32 matmul GFLOP/s | share of matmul | goal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
    ]
    if notes:
        lines += ["", "C++ steps include the multi-crop augmentation and mask drawing that the Python side "
                  "takes outside its timer. " + "; ".join(notes) + "."]
    if replays:
        configs = list(replays)
        n = len(replays[configs[0]][0])
        lines += ["", "C++ per-phase replay of one step (bench_pretrain_step's `profile_step`, same run; "
                  + ", ".join(f"{CONFIGS[c].split(' (')[0]}: median of {replays[c][1]} replay(s)" for c in configs)
                  + "):", "",
                  "| phase | " + " | ".join(f"{CONFIGS[c].split(' (')[0]} | share" for c in configs) + " |",
                  "| --- |" + " --- | --- |" * len(configs)]
        for i in range(n):
            names = []
            for c in configs:
                name = replays[c][0][i][0] if i < len(replays[c][0]) else "?"
                if name not in names:
                    names.append(name)
            cells = []
            for c in configs:
                phases = replays[c][0]
                total = sum(s for _, s in phases)
                s = phases[i][1] if i < len(phases) else 0
                cells.append(f"{fmt_s(s) if s >= 0.01 else '%.4f' % s} s | {100 * s / total:.1f}%")
            lines.append(f"| {' / '.join(names)} | " + " | ".join(cells) + " |")
        totals = [sum(s for _, s in replays[c][0]) for c in configs]
        lines.append("| total (replay) | " + " | ".join(f"{fmt_s(t)} s | " for t in totals) + "|")
    write_section("pretrain_step", lines, a.no_write)


if __name__ == "__main__":
    main()

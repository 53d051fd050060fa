#!/usr/bin/env python3
"""Snakemake's side of the orchestration benchmark (bench/orchestration/README.md).

The same DAGs as radflow_side.py, as a Snakefile: N independent no-op jobs, or a chain
of N where each job reads the previous one's output. Each job runs one shell command
that writes its output file (as test-ok writes out.txt). Timed from the start of the
`snakemake` process to its exit, which includes parsing and building the DAG.

  snakemake_side.py wide|chain N --cores C [--scheduler greedy|ilp]
Prints one JSON object.
"""
import argparse, json, os, shutil, subprocess, tempfile, time

WIDE = """
rule all:
    input: expand("out/s{{i}}.txt", i=range({n}))
rule step:
    output: "out/s{{i}}.txt"
    shell: "echo {{wildcards.i}} > {{output}}"
"""

CHAIN = """
N = {n}
rule all:
    input: f"out/s{{N-1}}.txt"
rule first:
    output: "out/s0.txt"
    shell: "echo 0 > {{output}}"
rule step:
    input: lambda w: f"out/s{{int(w.i)-1}}.txt"
    output: "out/s{{i}}.txt"
    wildcard_constraints: i="[1-9][0-9]*"
    shell: "cat {{input}} > {{output}}; echo {{wildcards.i}} >> {{output}}"
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=["wide", "chain"])
    ap.add_argument("n", type=int)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--scheduler", default="greedy", choices=["greedy", "ilp"])
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="snakemake-bench-")
    try:
        with open(os.path.join(root, "Snakefile"), "w") as f:
            f.write((WIDE if a.scenario == "wide" else CHAIN).format(n=a.n))
        t0 = time.time()
        p = subprocess.run(["snakemake", "--cores", str(a.cores), "--scheduler", a.scheduler,
                            "--quiet", "--nolock"], cwd=root, capture_output=True, text=True)
        wall = time.time() - t0
        if p.returncode != 0:
            raise SystemExit("snakemake failed: " + p.stderr[-2000:])
        print(json.dumps({"tool": "snakemake", "scenario": a.scenario, "steps": a.n,
                          "scheduler": a.scheduler, "cores": a.cores, "wall_s": wall,
                          "steps_per_s": a.n / wall, "ms_per_step": 1000 * wall / a.n}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

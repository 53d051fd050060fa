#!/usr/bin/env python3
"""Prints the demo run's comparison: the pretrained encoder against the same
architecture at random initialisation, and the baselines every encoder must beat (raw
pixels; for report generation the most common train report), on RAD-DINO's four
evaluations.

usage: scripts/demo-table.py SERVER_URL RUN_ID

Reads the compare steps' final metrics over the HTTP API (standard library only) and
prints one Markdown table. Every number, interval and verdict was computed by the compare
plugin (paired bootstrap, plugins/ml/metrics/bootstrap.h); this script only prints them.
A metric a step did not report shows as "-".
"""
import json
import sys
import urllib.request

ROWS = [  # (label, compare step, metric, baseline name or None)
    ("probe macro AUPRC", "compare-probe", "macro_auprc", "pixels"),
    ("probe macro AUROC", "compare-probe", "macro_auroc", "pixels"),
    ("segment mean Dice (lungs, heart)", "compare-segment", "mean_dice", None),
    ("report finding F1 (macro)", "compare-report", "finding_f1_macro", "constant"),
    ("report ROUGE-L", "compare-report", "rouge_l", "constant"),
    ("report BLEU-4", "compare-report", "bleu4", "constant"),
    ("sex AUROC", "compare-demographics", "sex_auroc", "pixels"),
    ("age R²", "compare-demographics", "age_r2", "pixels"),
    ("age MAE (years)", "compare-demographics", "age_mae", "pixels"),
]
VERDICTS = {1.0: "pretrained better", -1.0: "pretrained worse", 0.0: "no clear difference"}


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def metric_sources(server, run):
    """Step name -> (run, step) holding its metrics: a cached step's are its source's."""
    sources = {}
    for step in fetch(f"{server}/api/v1/runs/{run}")["steps"]:
        origin = step.get("cached_from") or {}
        sources[step["name"]] = (origin.get("run_id", run), origin.get("step", step["name"]))
    return sources


def last_values(server, run, step, sources):
    run, step = sources.get(step, (run, step))
    try:
        series = fetch(f"{server}/api/v1/runs/{run}/steps/{step}/metrics")["series"]
    except Exception:  # a step that did not run has no metrics
        return {}
    return {name: points[-1][1] for name, points in series.items() if points}


def number(value):
    return "-" if value is None else f"{value:.3f}"


def with_interval(values, prefix):
    point = values.get(prefix)
    if point is None:
        return "-"
    low, high = values.get(prefix + ".low"), values.get(prefix + ".high")
    return f"{number(point)} [{number(low)}, {number(high)}]"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    server, run = sys.argv[1].rstrip("/"), sys.argv[2]
    sources = metric_sources(server, run)
    steps = {}
    lines = [
        "| evaluation | pretrained [95% CI] | random init [95% CI] | baseline [95% CI] "
        "| pretrained − random init [paired 95% CI] | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, step, metric, baseline in ROWS:
        if step not in steps:
            steps[step] = last_values(server, run, step, sources)
        values = steps[step]
        base = "-" if baseline is None else f"{baseline} {with_interval(values, f'{metric}.{baseline}')}"
        verdict = VERDICTS.get(values.get(f"{metric}.verdict"), "-")
        lines.append(
            f"| {label} | {with_interval(values, f'{metric}.pretrained')} "
            f"| {with_interval(values, f'{metric}.random-init')} | {base} "
            f"| {with_interval(values, f'{metric}.difference')} | {verdict} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

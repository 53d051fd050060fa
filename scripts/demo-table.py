#!/usr/bin/env python3
"""Prints the demo run's comparison: the pretrained encoder against the same
architecture at random initialisation, on RAD-DINO's four evaluations.

usage: scripts/demo-table.py SERVER_URL RUN_ID

Reads each evaluation step's final metrics over the HTTP API (standard library only)
and prints one Markdown table; a metric a step did not report shows as "-".
"""
import json
import sys
import urllib.request

ROWS = [  # (label, step suffix, metric, higher is better)
    ("probe macro AUPRC", "probe", "macro_auprc", True),
    ("probe macro AUROC", "probe", "macro_auroc", True),
    ("segment mean Dice (lungs, heart)", "segment", "mean_dice", True),
    ("report ROUGE-L", "report", "rouge_l", True),
    ("report BLEU-4", "report", "bleu4", True),
    ("report finding F1 (macro)", "report", "finding_f1_macro", True),
]
DEMOGRAPHIC_ROWS = [
    ("sex AUROC", "sex_auroc", True),
    ("age R²", "age_r2", True),
    ("age MAE (years)", "age_mae", False),
]
ENCODERS = [("pretrained", "pretrained"), ("random-init", "random")]


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


def cell(value):
    return "-" if value is None else f"{value:.3f}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    server, run = sys.argv[1].rstrip("/"), sys.argv[2]
    lines = ["| evaluation | pretrained | random init | better |", "| --- | ---: | ---: | --- |"]

    def add(label, pretrained, random, higher):
        better = "-"
        if pretrained is not None and random is not None and pretrained != random:
            better = "pretrained" if (pretrained > random) == higher else "random init"
        lines.append(f"| {label} | {cell(pretrained)} | {cell(random)} | {better} |")

    sources = metric_sources(server, run)
    for label, kind, metric, higher in ROWS:
        values = [last_values(server, run, f"{kind}-{suffix}", sources).get(metric) for _, suffix in ENCODERS]
        add(label, values[0], values[1], higher)
    demographics = last_values(server, run, "demographics", sources)
    for label, metric, higher in DEMOGRAPHIC_ROWS:
        values = [demographics.get(f"{name}.{metric}") for name, _ in ENCODERS]
        add(label, values[0], values[1], higher)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

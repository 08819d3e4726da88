#!/usr/bin/env python3
"""Evaluator fidelity against a truth of more seeds: re-judge stored scores, no retraining (issue 28).

    python3 benchmarks/fidelity_rescore.py RUNS.jsonl FIDELITY.json [FIDELITY.json ...]
                                           [--seeds 0,1,2,3] [--resamples 2000] [--markdown] [--json OUT]
                                           [--mean FILE=ROW,FILE=ROW ...]

`evaluator_fidelity --json` stores, for every evaluator row, its score of each architecture (in the
order of the file's `keys`), judged against the table it ran on: the mean of the seeds that table
held. A ground truth grows in seed rounds (benchmarks/truth_v2.sh), and its noise attenuates every
correlation with it, so the same scores are worth judging again against the mean of more seeds.
This script does that: the truth of each key is the mean `test_acc` of the given training seeds of
RUNS.jsonl (default: every seed all the file's keys share); each row gets Kendall's tau_b and
Spearman's rho with 95 % percentile-bootstrap intervals over architectures (seeded), and the truth's
own split-half tau (seeds dealt even / odd) as the ceiling. A key of a fidelity file that the runs
file lacks at those seeds is an error naming it. Rows are printed as stored: the sign of a score
is its evaluator's (higher = predicted better), so a negative tau ranks backwards.
--mean adds a row whose scores are the mean of the named rows (FILE: a fidelity file's name as given,
ROW: an evaluator row in it), e.g. one evaluator run under two seeds: what averaging would give.
Standard library only (shares truth_reliability.py's tau and bootstrap).
"""
import argparse
import json
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truth_reliability import bootstrap, kendall_tau_b, read_runs, split_halves  # noqa: E402


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for t in range(i, j + 1):
            r[order[t]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else float("nan")


def judged(x, y, resamples):
    """Kendall's tau_b with its interval and Spearman's rho of x against y; every call draws the same
    resamples (seed 2029), whatever rows came before."""
    return {"tau": kendall_tau_b(x, y), "tau_ci": bootstrap(x, y, kendall_tau_b, resamples, random.Random(2029)), "rho": spearman(x, y)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs")
    p.add_argument("fidelity", nargs="+")
    p.add_argument("--seeds", help="training seeds to average (comma-separated); default: every seed all keys share")
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json")
    p.add_argument("--mean", action="append", default=[], help="FILE=ROW,FILE=ROW: a row of the mean of these rows' scores")
    args = p.parse_args()

    _, runs = read_runs(args.runs)
    by_key = {}
    for r in runs:
        by_key.setdefault(r["key"], {})[r["seed"]] = r["test_acc"]
    files = []
    for path in args.fidelity:
        with open(path, encoding="utf-8") as f:
            files.append((path, json.load(f)))
    keys = files[0][1]["keys"]
    for path, d in files[1:]:
        if d["keys"] != keys:
            sys.exit(f"fidelity_rescore: {path}: its keys differ from {files[0][0]}'s (rule: every file scores the same architectures in the same order)")
    absent = [k for k in keys if k not in by_key]
    if absent:
        sys.exit(f"fidelity_rescore: {args.runs}: no run of architecture(s) {absent[:5]}{' ...' if len(absent) > 5 else ''} "
                 f"(rule: the runs file trains every key of the fidelity files)")
    if args.seeds:
        seeds = sorted(int(s) for s in args.seeds.split(","))
    else:
        seeds = sorted(set.intersection(*(set(by_key[k]) for k in keys)))
    for k in keys:
        missing = [s for s in seeds if s not in by_key[k]]
        if missing:
            sys.exit(f"fidelity_rescore: {args.runs}: architecture {k} has no run with seed(s) {missing} (rule: every key of the fidelity files, at every seed asked)")
    if len(seeds) < 2:
        sys.exit(f"fidelity_rescore: {args.runs}: seeds {seeds} (rule: at least 2 shared seeds)")
    truth = [statistics.mean(by_key[k][s] for s in seeds) for k in keys]
    half_a, half_b = split_halves(by_key, keys, seeds)
    rows = [{"evaluator": f"ceiling: split half, seeds {seeds[0::2]} vs {seeds[1::2]}", "file": "",
             **judged(half_a, half_b, args.resamples), "seconds_per_arch": None}]
    for path, d in files:
        for row in d["rows"]:
            if row["evaluator"].startswith("ceiling"):
                continue
            rows.append({"evaluator": row["evaluator"], "file": os.path.basename(path), **judged(row["scores"], truth, args.resamples),
                         "tau_stored": row.get("tau"), "seconds_per_arch": row.get("seconds_per_arch")})
    for spec in args.mean:
        parts = []
        for item in spec.split(","):
            path, _, name = item.partition("=")
            found = [row for fpath, d in files if fpath == path for row in d["rows"] if row["evaluator"] == name]
            if not found:
                sys.exit(f"fidelity_rescore: --mean {spec}: no row '{name}' in a fidelity file given as '{path}' "
                         f"(rule: FILE as on the command line, ROW an evaluator of it)")
            parts.append(found[0]["scores"])
        x = [statistics.mean(v) for v in zip(*parts)]
        rows.append({"evaluator": f"mean of {spec}", "file": "", **judged(x, truth, args.resamples), "tau_stored": None, "seconds_per_arch": None})
    print(f"truth: mean test accuracy of seeds {seeds} in {args.runs}, {len(keys)} architectures, {args.resamples} resamples")
    if args.markdown:
        print("| evaluator | file | Kendall τ_b [95 %] | Spearman ρ | τ_b against the table it ran on | s / arch |")
        print("|---|---|---|---:|---:|---:|")
    for r in rows:
        lo, hi = r["tau_ci"]
        stored = f"{r['tau_stored']:+.3f}" if r.get("tau_stored") is not None else ""
        sec = f"{r['seconds_per_arch']:.2f}" if r["seconds_per_arch"] not in (None, -1.0) else ""
        if args.markdown:
            print(f"| {r['evaluator']} | {r['file']} | {r['tau']:+.3f} [{lo:+.2f}, {hi:+.2f}] | {r['rho']:+.3f} | {stored} | {sec} |")
        else:
            print(f"{r['evaluator']:45s} {r['file']:38s} tau {r['tau']:+.3f} [{lo:+.2f}, {hi:+.2f}]  rho {r['rho']:+.3f}  stored {stored}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"runs": args.runs, "seeds": seeds, "keys": keys, "resamples": args.resamples, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()

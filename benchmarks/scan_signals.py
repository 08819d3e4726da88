#!/usr/bin/env python3
"""Can a search tell, from α0's one-block scan, where local search's steps beat multi-block moves? (issue 29, attempt m)

    python3 benchmarks/scan_signals.py [--reps 300] [--seed 1]

FaUNAE-LT is behind local search only on TransNAS-Bench-101 from the existing cell (333333) at 28
evaluations, and a rule that switches to local search's steps everywhere loses elsewhere (experiment log,
attempts h-l). A switch needs a signal the search can read after α0's scan without being told whether α0
is an existing network. This script computes three candidate signals straight from the tables (no search):

  interaction  |observed change of the best 2 and best 3 single edits combined - sum of their changes|,
               mean of the two, over the RMS of the scan's changes (a test of additivity without shrinkage)
  improving    the number of blocks with a single edit better than α0
  best/rms     the best single edit's gain over the RMS of the scan's changes

for the table's existing network and for random α0 (quantiles over --reps draws), noise-free.
Standard library only; reads the same tables as benchmarks/search_robustness.py.
"""
import argparse
import json
import math
import os
import random

SHARED = os.environ.get("FAUNAE_SHARED_DIR", "../shared")
CBM = "benchmarks/data/channel-bench-macro/channel-bench-macro_{}_cifar10.json"
TNB = "benchmarks/data/transnas-bench-101-micro/transnas-bench-101-micro_{}.json"
TABLES = {
    "macro": (f"{SHARED}/data/nas-bench-macro/nas-bench-macro_cifar10.json", "11111111"),
    "channel-resnet": (CBM.format("resnet"), "3333333"),
    "channel-mobilenet": (CBM.format("mobilenet"), "3333333"),
    "tnb-class_scene": (TNB.format("class_scene"), "333333"),
    "tnb-class_object": (TNB.format("class_object"), "333333"),
    "tnb-jigsaw": (TNB.format("jigsaw"), "333333"),
}


def signals(table, ops, a):
    y0 = table[a]
    deltas = {}
    for i in range(len(a)):
        for o in ops[i]:
            k = a[:i] + o + a[i + 1:]
            if o != a[i] and k in table:
                deltas[(i, o)] = table[k] - y0
    rms = math.sqrt(sum(v * v for v in deltas.values()) / len(deltas)) if deltas else 0.0
    if rms == 0:
        return None
    best = {}
    for (i, o), v in deltas.items():
        if i not in best or v > best[i][1]:
            best[i] = (o, v)
    top = sorted(best.items(), key=lambda t: -t[1][1])[:3]
    residuals = []
    for combo in (top[:2], top[:3]):
        k = list(a)
        for i, (o, _) in combo:
            k[i] = o
        k = "".join(k)
        if len(combo) >= 2 and k in table:
            residuals.append(abs((table[k] - y0) - sum(v for _, (_, v) in combo)))
    interaction = sum(residuals) / len(residuals) / rms if residuals else float("nan")
    improving = sum(1 for _, (_, v) in best.items() if v > 0)
    return interaction, improving, max(deltas.values()) / rms


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = random.Random(args.seed)
    print("| table | α0 | interaction | improving blocks | best/rms |")
    print("|---|---|---|---|---|")
    for name, (path, existing) in TABLES.items():
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        table = {k: v["mean_acc"] for k, v in raw.items()}
        keys = sorted(table)
        ops = [sorted({k[i] for k in keys}) for i in range(len(existing))]
        e = signals(table, ops, existing)
        print(f"| {name} | existing `{existing}` | {e[0]:.2f} | {e[1]} | {e[2]:.2f} |")
        draws = [s for s in (signals(table, ops, rng.choice(keys)) for _ in range(args.reps)) if s is not None]

        def q(j):
            v = sorted(x[j] for x in draws if not math.isnan(x[j]))
            return " / ".join(f"{v[int(p * (len(v) - 1))]:.2f}" if j != 1 else f"{v[int(p * (len(v) - 1))]}" for p in (0.1, 0.5, 0.9))

        print(f"| {name} | random (10th / 50th / 90th percentile) | {q(0)} | {q(1)} | {q(2)} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""How reliable is a ground truth? The split-half Kendall tau of ground_truth runs files (issue 28).

    python3 benchmarks/truth_reliability.py RUNS.jsonl [RUNS.jsonl ...] [--keys-from TABLE.provenance.json]
                                            [--within-budget yes|no] [--scores test_acc,plain_test_acc]
                                            [--seeds 0,1] [--resamples 2000] [--json OUT]

For each runs file (benchmarks/ground_truth.cpp: its first line the recipe, then one JSON object per
finished (architecture, seed) run), over the architectures trained under every seed S of the file:

- split-half tau: the training seeds in sorted order are dealt into two disjoint groups (even and
  odd positions); Kendall's tau_b between the two groups' per-architecture means, with a 95 %
  percentile-bootstrap interval over architectures. With S seeds each half holds S // 2.
- variance components (one-way random effects): sigma_e^2, the mean within-architecture variance of
  the seeds (the run-to-run noise), and sigma_a^2 = var(means) - sigma_e^2 / S (the architectures'
  own spread). The reliability of a mean of m seeds is r_m = sigma_a^2 / (sigma_a^2 + sigma_e^2 / m),
  and under a Gaussian model the split-half tau of 2m seeds is (2 / pi) * asin(r_m) (Greiner's
  relation). The script prints that prediction for m = 1, 2, 4, 8: what more seeds would buy.
- scores: by default each run's test_acc. With --scores, each named field of the runs in turn (a row
  per file and score, where every run has it): ground_truth --score-plain-too also records
  plain_test_acc (the final weights with training's BatchNorm statistics) and, with weight
  averaging, recalibrated_final_test_acc, so one runs file compares the noise of those recipes.
- cost: CPU-seconds per run (the runs' wall seconds times the recipe's Torch threads).
- --curve: the measured curve instead of the Gaussian prediction. The split-half tau of the first
  2, 4, 6, ... seeds (in sorted order, the seeds every architecture has), and the Spearman-Brown
  relation fitted to it on the Pearson scale, r = sin(pi * tau / 2), with r_m = m r_1 / (1 + (m - 1) r_1)
  for m seeds per half (least squares on tau over the points, r_1 on a grid of 0.001); then the seeds
  that relation needs for a split-half tau of 0.7 and of 0.8. The points share seeds, so they are not
  independent: a curve to read, not a test.

Nothing but the standard library; the bootstrap is seeded, so the output is reproducible.
"""
import argparse
import json
import math
import random
import statistics
import sys


def kendall_tau_b(x, y):
    n = len(x)
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx = (x[i] > x[j]) - (x[i] < x[j])
            dy = (y[i] > y[j]) - (y[i] < y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator > 0 else float("nan")


def bootstrap(x, y, statistic, resamples, rng):
    n = len(x)
    values = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        v = statistic([x[i] for i in idx], [y[i] for i in idx])
        if not math.isnan(v):
            values.append(v)
    values.sort()
    if not values:
        return float("nan"), float("nan")
    return values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]


def read_runs(path):
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if not lines:
        sys.exit(f"truth_reliability: {path} is empty (rule: its first line is the recipe)")
    recipe = json.loads(lines[0]).get("recipe")
    if recipe is None:
        sys.exit(f"truth_reliability: {path} line 1 has no 'recipe' (rule: ground_truth.cpp writes the recipe first)")
    runs = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError as e:
            if number == len(lines):  # a last line cut short by an interruption
                break
            sys.exit(f"truth_reliability: {path} line {number} is not JSON ({e})")
    return recipe, runs


def split_halves(by_key, keys, seeds):
    """The two halves' per-architecture means, in the order of `keys`: the seeds at even positions of
    `seeds` against those at odd ones (by_key: {key: {seed: score}})."""
    return ([statistics.mean(by_key[k][s] for s in seeds[0::2]) for k in keys],
            [statistics.mean(by_key[k][s] for s in seeds[1::2]) for k in keys])


def analyse(path, keys=None, resamples=2000, score="test_acc", only_seeds=None):
    recipe, runs = read_runs(path)
    if any(score not in r for r in runs):
        return None
    by_key = {}
    seconds = []
    for r in runs:
        if keys is not None and r["key"] not in keys:
            continue
        if only_seeds is not None and r["seed"] not in only_seeds:
            continue
        by_key.setdefault(r["key"], {})[r["seed"]] = r[score]
        seconds.append(r["seconds"])
    seeds = sorted({s for runs_of in by_key.values() for s in runs_of})
    complete = {k: v for k, v in by_key.items() if all(s in v for s in seeds)}
    out = {"runs_file": path, "score": score, "recipe": recipe, "seeds": seeds, "architectures": len(complete),
           "architectures_incomplete": len(by_key) - len(complete),
           "cpu_seconds_per_run": statistics.mean(seconds) * recipe.get("threads", 1) if seconds else None}
    if len(seeds) < 2 or len(complete) < 3:
        out["note"] = "needs >= 2 seeds and >= 3 architectures with every seed"
        return out
    keys_sorted = sorted(complete)
    half_a, half_b = split_halves(complete, keys_sorted, seeds)
    rng = random.Random(2028)
    tau = kendall_tau_b(half_a, half_b)
    low, high = bootstrap(half_a, half_b, kendall_tau_b, resamples, rng)
    means = [statistics.mean(complete[k].values()) for k in keys_sorted]
    within = statistics.mean(statistics.variance(complete[k].values()) for k in keys_sorted)
    between = max(statistics.variance(means) - within / len(seeds), 0.0)

    def predicted_tau(m):
        r = between / (between + within / m) if between + within > 0 else float("nan")
        return 2.0 / math.pi * math.asin(r)

    out.update({"split_half_tau": tau, "split_half_tau_ci": [low, high], "seeds_per_half": len(seeds) // 2,
                "sd_noise": math.sqrt(within), "sd_architectures": math.sqrt(between),
                "accuracy_range": [min(means), max(means)],
                "predicted_split_half_tau": {str(2 * m): predicted_tau(m) for m in (1, 2, 4, 8)}})
    return out


def split_half_curve(path, keys=None, score="test_acc", only_seeds=None):
    """[(seeds, split-half tau)] for the first 2, 4, 6, ... seeds every architecture of the file has."""
    _, runs = read_runs(path)
    by_key = {}
    for r in runs:
        if (keys is None or r["key"] in keys) and (only_seeds is None or r["seed"] in only_seeds) and score in r:
            by_key.setdefault(r["key"], {})[r["seed"]] = r[score]
    # Only the seeds every architecture has (a round still running is left out), so that each point
    # of the curve is over the whole sample.
    seeds = sorted(set.intersection(*map(set, by_key.values()))) if by_key else []
    names = sorted(by_key)
    points = [(n, kendall_tau_b(*split_halves(by_key, names, seeds[:n]))) for n in range(2, len(seeds) + 1, 2)]
    return points, len(names)


def spearman_brown_tau(r1, seeds_per_half):
    m = seeds_per_half
    return 2.0 / math.pi * math.asin(m * r1 / (1.0 + (m - 1) * r1))


def fit_spearman_brown(points):
    """r_1 (one seed per half, Pearson scale) whose Spearman-Brown curve is closest to the (seeds, tau) points."""
    usable = [(n // 2, t) for n, t in points if t > 0]
    if not usable:
        return None
    return min((i / 1000 for i in range(1, 1000)),
               key=lambda r1: sum((spearman_brown_tau(r1, m) - t) ** 2 for m, t in usable))


def seeds_needed(r1, target):
    """The fewest seeds (an even number, two halves) whose split-half tau reaches `target` under r_1."""
    r = math.sin(math.pi * target / 2.0)
    if r >= 1.0 or r1 <= 0.0:
        return None
    m = math.ceil(r * (1.0 - r1) / (r1 * (1.0 - r)) - 1e-9)
    return 2 * max(m, 1)


def print_curves(paths, keys, score, only_seeds):
    print("| runs file | archs | split-half τ at 2 / 4 / 6 / ... seeds | fitted r₁ | fitted τ at 16 seeds | seeds for τ 0.7 | for 0.8 |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for p in paths:
        points, archs = split_half_curve(p, keys, score, only_seeds)
        r1 = fit_spearman_brown(points)
        measured = " / ".join(f"{t:+.3f}" for _, t in points)
        if r1 is None:
            print(f"| {p} | {archs} | {measured} | — | — | — | — |")
            continue
        print(f"| {p} | {archs} | {measured} | {r1:.3f} | {spearman_brown_tau(r1, 8):.2f} | "
              f"{seeds_needed(r1, 0.7)} | {seeds_needed(r1, 0.8)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="ground_truth runs files (JSON lines)")
    parser.add_argument("--keys-from", help="only the architectures a table's provenance lists (its 'within_budget' map)")
    parser.add_argument("--within-budget", choices=["yes", "no"], help="with --keys-from: only those within (yes) or above (no) the budget")
    parser.add_argument("--scores", default="test_acc",
                        help="comma-separated fields of the runs to analyse (test_acc, plain_test_acc, recalibrated_final_test_acc)")
    parser.add_argument("--seeds", help="only these training seeds (comma-separated): a file still growing in seed rounds")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--curve", action="store_true", help="the measured split-half curve and the seeds it needs for 0.7 and 0.8")
    args = parser.parse_args()
    keys = None
    if args.keys_from:
        with open(args.keys_from, encoding="utf-8") as f:
            within = json.load(f).get("within_budget")
        if within is None:
            sys.exit(f"truth_reliability: {args.keys_from} has no 'within_budget' map (rule: written by ground_truth --table)")
        keys = {k for k, w in within.items() if args.within_budget is None or w == (args.within_budget == "yes")}
    only_seeds = {int(x) for x in args.seeds.split(",")} if args.seeds else None
    if args.curve:
        for score in args.scores.split(","):
            print_curves(args.runs, keys, score, only_seeds)
        return
    results = [r for p in args.runs for score in args.scores.split(",")
               if (r := analyse(p, keys, args.resamples, score, only_seeds)) is not None]
    print("| runs file | score | recipe | archs | seeds | split-half τ [95%] | noise SD | arch SD | predicted τ for 2/4/8/16 seeds | CPU-s / run |")
    print("|---|---|---|---:|---:|---|---:|---:|---|---:|")
    for r in results:
        rec = r["recipe"]
        what = (f"{rec.get('train_images')} img × {rec.get('epochs')} ep, lr {rec.get('lr')}, width {rec.get('width')}, "
                f"{rec.get('resolution', 0) or 28}px, batch {rec.get('batch_size')}, {rec.get('sample', 'budget')}")
        if rec.get("bn_recalibration_images"):
            what += f", BN over {rec['bn_recalibration_images']}"
        if rec.get("weight_averaging_fraction"):
            what += f", mean of last {rec['weight_averaging_fraction']:g} of weights"
        if "split_half_tau" not in r:
            print(f"| {r['runs_file']} | {r['score']} | {what} | {r['architectures']} | {len(r['seeds'])} | {r.get('note')} | | | | |")
            continue
        pred = " / ".join(f"{v:.2f}" for v in r["predicted_split_half_tau"].values())
        cost = r["cpu_seconds_per_run"]
        print(f"| {r['runs_file']} | {r['score']} | {what} | {r['architectures']} | {len(r['seeds'])} | "
              f"{r['split_half_tau']:+.3f} [{r['split_half_tau_ci'][0]:+.2f}, {r['split_half_tau_ci'][1]:+.2f}] | "
              f"{r['sd_noise']:.3f} | {r['sd_architectures']:.3f} | {pred} | {cost:.1f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

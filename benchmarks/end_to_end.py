#!/usr/bin/env python3
"""End to end over seeds, judged by truth v2's recipe (benchmarks/end_to_end.sh; issue 28).

    end_to_end.py --key runs/end-to-end/L/seed-0/search.json     # the found architecture as a truth key
    end_to_end.py --label L --first 0 --last 9 --seeds 0,1 [--out summary.json]

The summary pairs, per search seed s, the found architecture's truth (mean over the truth seeds, from
end-to-end-runs.jsonl) with α0's and with the s-th uniform draw within α0's budget of
truth-v2-budget-runs.jsonl (a random architecture within the same budget, trained by the same recipe),
and prints mean paired differences with their standard errors (SE = sd / sqrt(n) over search seeds).
"""
import argparse
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRUTH = ROOT / "benchmarks/data/fashion-mnist/v2"


def fail(message):
    sys.exit(f"end_to_end.py: {message}")


def read_runs(path):
    """(recipe, {(key, seed): run}) of a ground_truth runs file."""
    if not path.exists():
        fail(f"{path} does not exist (rule: run ground_truth first)")
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines[0]["recipe"], {(r["key"], r["seed"]): r for r in lines[1:]}


def truth_ops():
    recipe, _ = read_runs(TRUTH / "truth-v2-budget-runs.jsonl")
    return recipe["ops"]


def key_of(search_json):
    record = json.loads(Path(search_json).read_text())
    ops = truth_ops()
    names = record["found"].get("ops")
    if names is None:
        fail(f"{search_json}: found has no 'ops' (names)")
    key = ""
    for block, name in enumerate(names):
        if name not in ops:
            fail(f"{search_json}: block {block}'s op '{name}' is not one of the truth's ops {ops}")
        key += str(ops.index(name))
    return key


def mean_se(values):
    n = len(values)
    m = statistics.mean(values)
    return m, (statistics.stdev(values) / math.sqrt(n) if n > 1 else float("nan"))


def summary(label, first, last, seeds):
    _, found_runs = read_runs(TRUTH / "end-to-end-runs.jsonl")
    _, budget_runs = read_runs(TRUTH / "truth-v2-budget-runs.jsonl")
    provenance = json.loads((TRUTH / "truth-v2-budget.json.provenance.json").read_text())
    uniform = [a["key"] for a in provenance["architectures"] if a["why"] == "uniform"]
    alpha0 = next(a["key"] for a in provenance["architectures"] if a["why"] == "alpha0")
    # The smallest architecture within the budget (hand-picked by ground_truth): the trivial answer to
    # a truth that rewards networks that learn fast.
    smallest = next((a["key"] for a in provenance["architectures"] if a["why"] == "smallest"), None)
    budget = provenance["budget_parameters"]

    def truth(runs, key):
        missing = [s for s in seeds if (key, s) not in runs]
        if missing:
            fail(f"{key} has no truth run for seeds {missing} (rule: every architecture is judged at --seeds {seeds})")
        return statistics.mean(runs[(key, s)]["test_acc"] for s in seeds)

    uniform_mean = statistics.mean(truth(budget_runs, k) for k in uniform)
    rows = []
    for s in range(first, last + 1):
        run = ROOT / f"runs/end-to-end/{label}/seed-{s}/search.json"
        record = json.loads(run.read_text())
        key = key_of(run)
        if s >= len(uniform):
            fail(f"seed {s}: the budget table has only {len(uniform)} uniform draws to pair with")
        rows.append({"seed": s, "found": key, "found_params": record["found"].get("params"),
                     "within_budget": record["found"].get("params", 0) <= budget,
                     "found_acc": truth(found_runs, key), "alpha0_acc": truth(budget_runs, alpha0),
                     "random": uniform[s], "random_acc": truth(budget_runs, uniform[s]),
                     "smallest_acc": truth(budget_runs, smallest) if smallest else None,
                     "evaluations": record.get("evaluations"), "seconds": record.get("seconds")})
    out = {"label": label, "truth_seeds": seeds, "rows": rows, "uniform_mean_acc": uniform_mean,
           "config": json.loads(run.read_text()).get("config")}
    diffs = {}
    for name, other in (("alpha0", "alpha0_acc"), ("random", "random_acc")) + ((("smallest", "smallest_acc"),) if smallest else ()):
        d = [r["found_acc"] - r[other] for r in rows]
        m, se = mean_se(d)
        diffs[name] = {"mean": m, "se": se, "ahead": sum(x > 0 for x in d), "behind": sum(x < 0 for x in d)}
    m, se = mean_se([r["found_acc"] - uniform_mean for r in rows])
    diffs["uniform_mean"] = {"mean": m, "se": se}
    out["found_mean_acc"] = statistics.mean(r["found_acc"] for r in rows)
    out["smallest"] = smallest
    out["paired_differences"] = diffs
    print(f"{label}: {len(rows)} search seeds, truth seeds {seeds}; mean truth of the found architectures {out['found_mean_acc']:.3f}, "
          f"of the budget's uniform draws {uniform_mean:.3f}")
    print("| seed | found | params | truth acc | α0 | random (draw) | random acc |")
    print("|---:|---|---:|---:|---:|---|---:|")
    for r in rows:
        print(f"| {r['seed']} | {r['found']} | {r['found_params']} | {r['found_acc']:.2f} | {r['alpha0_acc']:.2f} | "
              f"{r['random']} | {r['random_acc']:.2f} |")
    for name, d in diffs.items():
        extra = f", ahead {d['ahead']} / behind {d['behind']}" if "ahead" in d else ""
        print(f"found − {name}: {d['mean']:+.3f} ± {d['se']:.3f} (SE){extra}")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--key", help="print the truth key of this search.json's found architecture")
    p.add_argument("--label")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--last", type=int, default=9)
    p.add_argument("--seeds", default="0,1", help="truth seeds, comma-separated")
    p.add_argument("--out")
    a = p.parse_args()
    if a.key:
        print(key_of(a.key))
        return
    if not a.label:
        fail("--label or --key is required")
    out = summary(a.label, a.first, a.last, [int(s) for s in a.seeds.split(",")])
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()

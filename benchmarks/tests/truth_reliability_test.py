#!/usr/bin/env python3
"""truth_reliability.py --curve: the split-half curve uses the seeds every architecture has (a round
still running is left out), the Spearman-Brown fit recovers the r_1 a curve was made from, and the
seeds it asks for are the fewest that reach the target. Small files of its own."""
import json
import math
import os
import random
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import truth_reliability as tr  # noqa: E402


def check(cond, what):
    if not cond:
        sys.exit(f"truth_reliability_test: {what}")


def main():
    # The fit and the seeds needed, on an exact curve.
    points = [(2 * m, tr.spearman_brown_tau(0.5, m)) for m in (1, 2, 3, 4)]
    r1 = tr.fit_spearman_brown(points)
    check(abs(r1 - 0.5) < 0.0015, f"fit: r1 = {r1}, made from 0.5")
    n = tr.seeds_needed(0.5, 0.7)
    check(n % 2 == 0, f"seeds needed is an even number: {n}")
    check(tr.spearman_brown_tau(0.5, n // 2) >= 0.7 > tr.spearman_brown_tau(0.5, n // 2 - 1),
          f"seeds needed {n} is not the fewest reaching 0.7")
    check(tr.fit_spearman_brown([(2, -0.1)]) is None, "a curve with no positive point has no fit")

    # The curve from a runs file: 40 architectures, 6 seeds, and a seventh seed begun on 3 of them.
    rng = random.Random(3)
    level = {f"{i:03d}": rng.gauss(0, 1) for i in range(40)}
    with tempfile.TemporaryDirectory() as d:
        runs = os.path.join(d, "runs.jsonl")
        with open(runs, "w") as f:
            f.write(json.dumps({"recipe": {"threads": 1}}) + "\n")
            for seed in range(6):
                for k, a in level.items():
                    f.write(json.dumps({"key": k, "seed": seed, "test_acc": a + rng.gauss(0, 1), "seconds": 1.0}) + "\n")
            for k in list(level)[:3]:
                f.write(json.dumps({"key": k, "seed": 6, "test_acc": level[k], "seconds": 1.0}) + "\n")
        curve, archs = tr.split_half_curve(runs)
        check(archs == 40, f"the architectures with every kept seed: {archs}")
        check([n for n, _ in curve] == [2, 4, 6], f"the curve's points: {curve}")
        check(all(-1 <= t <= 1 for _, t in curve), f"taus: {curve}")
        # Noise SD equal to the architectures' SD: r_1 = 0.5 in expectation; the fit lands near it.
        r1 = tr.fit_spearman_brown(curve)
        check(r1 is not None and 0.2 < r1 < 0.8, f"fit on the file: {r1}")
    print("truth_reliability_test: ok")


if __name__ == "__main__":
    main()

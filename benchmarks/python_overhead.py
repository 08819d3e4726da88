#!/usr/bin/env python3
"""What one Python evaluator call costs a search, against the same search with a C++ evaluator.

    PYTHONPATH=build/python python3 benchmarks/python_overhead.py [--epochs N] [--repeats R] [--out FILE]

For each search (the paper's mutation without elimination, so that the epoch count is fixed; random
search), it runs N epochs three ways on the same space and seed, the same search every time:
  - cpp:    faunae._core._testing.TableEvaluator, a C++ evaluator (no Python in the loop);
  - python: a Python function computing the same table loss;
  - noop:   a Python function returning a constant (what the binding alone costs; a different search,
            since every loss is equal, but the same number of epochs).
The overhead per call is (python − cpp) / N: taking the GIL, building the architecture tuple, the
call, reading the result, checking for Ctrl-C, plus the Python function's own work (the table sum).
The target (issue 15) is < 20 µs. Median of R repeats; results as JSON with provenance.
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

import faunae

_testing = faunae._core._testing


def space_and_tables(blocks=8, ops=5, seed=1):
    rng = random.Random(seed)
    space = faunae.BlockSpace([[(f"op{k}", float(k + 1)) for k in range(ops)]] * blocks, [0] * blocks)
    w = [[rng.uniform(0, 1) for _ in range(ops)] for _ in range(blocks)]
    v = [[rng.uniform(-0.3, 0.3) for _ in range(ops)] for _ in range(blocks)]
    return space, w, v


def python_table_loss(w, v):
    def loss(a):
        total = 0.0
        for b, k in enumerate(a):
            total += w[b][k]
        for b in range(len(a) - 1):
            total += v[b][a[b]] * v[b + 1][a[b + 1]]
        return total

    return loss


def timed(make_search, evaluator, repeats):
    times = []
    for _ in range(repeats):
        search = make_search()
        start = time.perf_counter()
        result = search.run(evaluator)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result.evaluations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    space, w, v = space_and_tables()
    searches = {
        "FaUNAENoElimination": lambda: faunae.FaUNAENoElimination(space, seed=3, epochs=args.epochs),
        "RandomSearch": lambda: faunae.RandomSearch(space, evaluations=args.epochs + 1, seed=3),
    }
    rows = []
    for name, make in searches.items():
        cpp, n = timed(make, _testing.TableEvaluator(w, v), args.repeats)
        py, n_py = timed(make, python_table_loss(w, v), args.repeats)
        noop, _ = timed(make, lambda a: 0.5, args.repeats)
        assert n == n_py
        row = {
            "search": name,
            "evaluations": n,
            "cpp_evaluator_us_per_epoch": 1e6 * cpp / n,
            "python_evaluator_us_per_epoch": 1e6 * py / n,
            "constant_python_evaluator_us_per_epoch": 1e6 * noop / n,
            "overhead_us_per_call": 1e6 * (py - cpp) / n,
        }
        rows.append(row)
        print(
            f"{name:<22} {n:>6} evaluations: C++ evaluator {row['cpp_evaluator_us_per_epoch']:6.2f} µs/epoch, "
            f"Python evaluator {row['python_evaluator_us_per_epoch']:6.2f} µs/epoch (constant: "
            f"{row['constant_python_evaluator_us_per_epoch']:6.2f}) → {row['overhead_us_per_call']:5.2f} µs per Python call"
        )
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    out = {
        "benchmark": "benchmarks/python_overhead.py",
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "space": "8 blocks × 5 ops",
        "repeats": args.repeats,
        "results": rows,
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

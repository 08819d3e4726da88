#!/usr/bin/env python3
"""Convert Channel-Bench-Macro (xiusu/Channel-Bench-Macro) to FaUNAE's tabular JSON format.

Usage: python3 convert.py SRC_DIR [OUT_DIR]
  SRC_DIR holds Results_ResNet.json and Results_MobileNet.json from the upstream repository
  (e.g. `git show HEAD:Results_ResNet.json > SRC_DIR/Results_ResNet.json`).
  OUT_DIR defaults to this script's folder.

Upstream entry:  "<7 digits in 1..4>": {"acc": [3 runs], "mean", "std", "params", "flops"}
Output entry:    "<7 digits in 0..3>": {"test_acc": [3 runs], "mean_acc", "params", "flops"}
Key mapping: upstream digit d (width ratio d/4) -> character str(d - 1), position by position.
Python 3 standard library only.
"""
import itertools
import json
import math
import os
import statistics
import sys

SPACES = {
    "resnet": "Results_ResNet.json",
    "mobilenet": "Results_MobileNet.json",
}
DIGITS = "1234"  # upstream width codes: ratio = digit / 4
POSITIONS = 7


def convert(src):
    with open(src) as f:
        raw = json.load(f)
    expected = {"".join(p) for p in itertools.product(DIGITS, repeat=POSITIONS)}
    if set(raw) != expected:
        raise SystemExit(f"{src}: keys are not exactly the 4^7 full factorial over '1234'")
    out = {}
    for key in sorted(raw):
        v = raw[key]
        runs = [float(a) for a in v["acc"]]
        if len(runs) != 3 or not all(math.isfinite(a) for a in runs):
            raise SystemExit(f"{src}: entry {key}: expected 3 finite runs, got {v['acc']}")
        mean = statistics.fmean(runs)
        if abs(mean - float(v["mean"])) > 1e-6:
            raise SystemExit(f"{src}: entry {key}: 'mean' {v['mean']} is not the mean of {runs}")
        new_key = "".join(str(int(c) - 1) for c in key)
        out[new_key] = {
            "test_acc": [round(a, 4) for a in runs],
            "mean_acc": round(mean, 4),
            "params": int(v["params"]),
            "flops": int(v["flops"]),
        }
    return out


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    src_dir = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.abspath(__file__))
    for name, fname in SPACES.items():
        table = convert(os.path.join(src_dir, fname))
        dst = os.path.join(out_dir, f"channel-bench-macro_{name}_cifar10.json")
        with open(dst, "w") as f:
            json.dump(table, f, separators=(",", ":"))
            f.write("\n")
        means = sorted(e["mean_acc"] for e in table.values())
        print(f"{dst}: {len(table)} entries, mean_acc worst {means[0]} median "
              f"{statistics.median(means)} best {means[-1]}, {os.path.getsize(dst)} bytes")


if __name__ == "__main__":
    main()

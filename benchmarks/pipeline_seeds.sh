#!/usr/bin/env bash
# Evolved vs α0 vs random architecture on Fashion-MNIST with the `faunae` program's default (demo)
# configuration, one full pipeline per seed, then a table of linear-evaluation and kNN accuracy,
# params and FLOPs (docs/benchmarks.md, "The faunae pipeline").
#   benchmarks/pipeline_seeds.sh [seeds...]          # default: 0 1 2; runs in runs/seed-N
set -euo pipefail
cd "$(dirname "$0")/.."
faunae=${FAUNAE:-build/examples/faunae}
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2)
for s in "${seeds[@]}"; do
  [ -f "runs/seed-$s/probe.json" ] && { echo "seed $s: runs/seed-$s/probe.json exists, kept"; continue; }
  /usr/bin/time -f "seed $s: %e s" "$faunae" pipeline --run "runs/seed-$s" --resume=auto --set seed="$s" -q  # a half-done seed resumes
done
python3 - "${seeds[@]}" <<'PY'
import json, sys, statistics
rows = {}
for s in sys.argv[1:]:
    probe = json.load(open(f"runs/seed-{s}/probe.json"))
    for a in probe["architectures"]:
        rows.setdefault(a["name"], []).append(a)
print("| architecture | linear top-1 per seed | mean | kNN mean | params (M) per seed | MFLOPs per seed |")
print("|---|---|---:|---:|---|---|")
for name in ("evolved", "alpha0", "random"):
    r = rows.get(name, [])
    if not r: continue
    lin = [100 * a["linear"] for a in r]
    knn = [100 * a["knn"] for a in r]
    print(f"| {name} | {', '.join(f'{v:.2f}' for v in lin)} | {statistics.mean(lin):.2f} | {statistics.mean(knn):.2f} | "
          f"{', '.join('%.2f' % (a['params'] / 1e6) for a in r)} | {', '.join('%.1f' % (a['flops'] / 1e6) for a in r)} |")
PY

#!/usr/bin/env bash
# Truth v2 (issue 28): trains the whole-space sample and the within-budget subset at the chosen recipe
# in seed rounds of two (0,1; then 2,3; ...), whole space first in each round, so that at every moment
# both runs files are usable tables of all their architectures at the seeds they share. Resumable:
# ground_truth skips the runs a file holds, so a killed run loses at most the run in progress.
#
#   benchmarks/truth_v2.sh [LAST_SEED] [THREADS] [DEVICE] [SAMPLES]
#       defaults: seeds 0..15, 1 Torch thread, cpu, both samples (whole,budget; or one of them)
#   nohup benchmarks/truth_v2.sh 15 1 > truth-v2.log 2>&1 &
#   nohup benchmarks/truth_v2.sh 15 1 cpu whole > truth-v2.log 2>&1 &   # the whole-space sample only
#   benchmarks/truth_v2.sh 23 4 cuda                        # on a lent GPU machine (the recipe is the same)
#
# Needs ./build/benchmarks/ground_truth (cmake --build build --target faunae_bench_ground_truth).
set -euo pipefail
cd "$(dirname "$0")/.."
last_seed=${1:-15}
threads=${2:-1}
device=${3:-cpu}
samples=${4:-whole,budget}
case "$samples" in whole | budget | whole,budget) ;; *)
  echo "truth_v2.sh: SAMPLES must be whole, budget or whole,budget, got '$samples'" >&2
  exit 2
  ;;
esac
bin=./build/benchmarks/ground_truth
dir=benchmarks/data/fashion-mnist/v2
[ -x "$bin" ] || { echo "truth_v2.sh: $bin is missing (rule: build faunae_bench_ground_truth first)" >&2; exit 1; }
recipe=(--test-images 0 --threads "$threads" --device "$device" --train-images 10000 --resolution 14 --epochs 1 --batch 32 --lr 0.0125)
for ((s = 0; s <= last_seed; s += 2)); do
  seeds=$s
  ((s + 1 <= last_seed)) && seeds="$s,$((s + 1))"
  if [[ $samples == *whole* ]]; then
    echo "== truth_v2.sh: seeds $seeds, whole space, $(date -u +%FT%TZ)"
    "$bin" --sample whole --archs 120 --seeds "$seeds" "${recipe[@]}" --runs "$dir/truth-v2-whole-runs.jsonl"
  fi
  if [[ $samples == *budget* ]]; then
    echo "== truth_v2.sh: seeds $seeds, within budget, $(date -u +%FT%TZ)"
    "$bin" --sample budget --archs 60 --seeds "$seeds" "${recipe[@]}" --runs "$dir/truth-v2-budget-runs.jsonl"
  fi
done

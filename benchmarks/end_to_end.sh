#!/usr/bin/env bash
# End to end over seeds, judged by the truth recipe (issue 28): the `faunae` program's search on
# Fashion-MNIST (its default space, α0 and budget), one run per seed, then the architecture it found
# is trained by truth v2's recipe (ground_truth --keys, the same seeds as the tables) and compared,
# paired per seed, with α0 and with a random architecture within the same budget: the i-th uniform
# draw of truth-v2-budget.json (already trained by the same recipe).
#
#   benchmarks/end_to_end.sh LABEL FIRST_SEED LAST_SEED [--set key=value ...]
#   benchmarks/end_to_end.sh rotation-ts 0 9 --set search.method=faunae-ts --set search.evaluator=rotation
#
# Resumable: a seed whose search.json exists is kept (a half-done search resumes), and ground_truth
# skips the runs its runs file holds. Runs go to runs/end-to-end/LABEL/seed-N; the truth runs of the
# found architectures to benchmarks/data/fashion-mnist/v2/end-to-end-runs.jsonl (shared by labels);
# the summary (benchmarks/end_to_end.py) to runs/end-to-end/LABEL/summary.json and stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: benchmarks/end_to_end.sh LABEL FIRST_SEED LAST_SEED [--set key=value ...]" >&2; exit 2; }
label=$1 first=$2 last=$3
shift 3
faunae=${FAUNAE:-build/examples/faunae}
truth=${GROUND_TRUTH:-build/benchmarks/ground_truth}
threads=${THREADS:-1}
dir=benchmarks/data/fashion-mnist/v2
for bin in "$faunae" "$truth"; do
  [ -x "$bin" ] || { echo "end_to_end.sh: $bin is missing (rule: build faunae_program and faunae_bench_ground_truth first)" >&2; exit 1; }
done
keys=()
for ((s = first; s <= last; ++s)); do
  run="runs/end-to-end/$label/seed-$s"
  if [ ! -f "$run/search.json" ]; then
    /usr/bin/time -f "$label seed $s: search %e s" "$faunae" search --run "$run" --resume=auto --set seed="$s" --set threads="$threads" "$@" -q
  fi
  keys+=("$(python3 benchmarks/end_to_end.py --key "$run/search.json")")
done
recipe=(--test-images 0 --threads "$threads" --train-images 10000 --resolution 14 --epochs 1 --batch 32 --lr 0.0125)
joined=$(IFS=,; echo "${keys[*]}")
"$truth" --keys "$joined" --seeds "${TRUTH_SEEDS:-0,1}" "${recipe[@]}" --runs "$dir/end-to-end-runs.jsonl"
python3 benchmarks/end_to_end.py --label "$label" --first "$first" --last "$last" --seeds "${TRUTH_SEEDS:-0,1}" \
  --out "runs/end-to-end/$label/summary.json"

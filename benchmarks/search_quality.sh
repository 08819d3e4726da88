#!/usr/bin/env bash
# Search quality of every method on two measured tabular benchmarks, 2 budgets × 2 kinds of α0 ×
# with and without evaluation noise, 2000 seeds each; writes the tables per setting into
# docs/experiment-log.md and the summary, ablation and credit tables computed from them into docs/benchmarks.md.
#   benchmarks/search_quality.sh [BUILD_DIR (default build)] [SEEDS (default 2000)]
# Channel-Bench-Macro's table must be re-created first (benchmarks/data/channel-bench-macro/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
seeds=${2:-2000}
bin=$build/benchmarks/search_quality
macro=${FAUNAE_SHARED_DIR:-../shared}/data/nas-bench-macro/nas-bench-macro_cifar10.json
channel=benchmarks/data/channel-bench-macro/channel-bench-macro_resnet_cifar10.json
log=docs/experiment-log.md
doc=docs/benchmarks.md
for fidelity in mean run; do
  "$bin" --table "$macro" --epochs-per-op 3,20 --alpha0 11111111,random --seeds "$seeds" --fidelity "$fidelity" \
    --write-doc "$log" --tag "search-quality-macro-$fidelity" > /dev/null
  "$bin" --table "$channel" --plain --epochs-per-op 3,11 --alpha0 3333333,random --seeds "$seeds" --fidelity "$fidelity" \
    --write-doc "$log" --tag "search-quality-channel-$fidelity" > /dev/null
done
# The summary, ablation and credit tables of docs/benchmarks.md are computed from the generated blocks.
python3 benchmarks/search_quality_summary.py --log "$log" --doc "$doc" --write > /dev/null

#!/usr/bin/env bash
# Builds and runs the main example on NAS-Bench-Macro (real CIFAR-10 measurements): the paper's FaUNAE
# and the recommended FaUNAE-TS side by side, same α0, budget and evaluator noise. Extra arguments go
# to the example, e.g. scripts/example.sh --alpha0 random --seed 3, or --method faunae,faunae-ts,faunae-lt
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target nas_bench_macro_search
build/examples/nas_bench_macro_search "$@"

#!/usr/bin/env bash
# Builds and runs the main example: FaUNAE on NAS-Bench-Macro (real CIFAR-10 measurements).
# Extra arguments go to the example, e.g. scripts/example.sh --alpha0 random --seed 3
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target nas_bench_macro_search
build/examples/nas_bench_macro_search "$@"

#!/usr/bin/env bash
# The README's demo: the paper's pipeline on Fashion-MNIST with the `faunae` program (about 10
# minutes on 2 CPU cores): search → train (evolved, α0, random) → probe → report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target faunae_program -j"$(nproc)"
exec build/examples/faunae pipeline --run "${1:-runs/demo}" "${@:2}"

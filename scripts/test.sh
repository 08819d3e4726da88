#!/usr/bin/env bash
# Builds faunae and runs the whole test suite (the README's test command; .ci/run calls it).
#   scripts/test.sh            Release build in build/, then ctest
#   FAUNAE_SANITIZE=ON scripts/test.sh   same with AddressSanitizer + UBSan, in build-asan/
# FAUNAE_BUILD_DIR sets another build folder (scripts/check-debian13.sh builds in its chroot's);
# FAUNAE_JOBS the parallel build and test jobs (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
sanitize=${FAUNAE_SANITIZE:-OFF}
dir=build
[ "$sanitize" = ON ] && dir=build-asan
dir=${FAUNAE_BUILD_DIR:-$dir}
jobs=${FAUNAE_JOBS:-$(nproc)}
# LibTorch is not built with the sanitizers: the sanitized build covers the core and tabular backend.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DFAUNAE_SANITIZE="$sanitize" \
  -DFAUNAE_WITH_TORCH="$([ "$sanitize" = ON ] && echo OFF || echo ON)" \
  -DFAUNAE_BUILD_BENCHMARKS="$([ "$sanitize" = ON ] && echo OFF || echo ON)" \
  -DFAUNAE_BUILD_EXAMPLES="$([ "$sanitize" = ON ] && echo OFF || echo ON)"
cmake --build "$dir" -j"$jobs"
ctest --test-dir "$dir" --output-on-failure -j"$jobs"

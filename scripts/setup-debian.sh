#!/usr/bin/env bash
# Installs what faunae's core, tabular backend, examples, tests and benchmarks need, from Debian 12's
# packages. Run as root (or with sudo available). Does nothing when everything is already there.
set -euo pipefail
packages=(g++ cmake make libeigen3-dev libfmt-dev nlohmann-json3-dev catch2 libbenchmark-dev libcli11-dev
          libtorch-dev libgloo-dev python3-torch libopenblas0-openmp zlib1g-dev pkgconf libstb-dev dataset-fashion-mnist)
# scripts/fuzz.sh: clang with libFuzzer (libclang-rt-14-dev holds libclang_rt.fuzzer on Debian 12).
packages+=(clang libclang-rt-14-dev)
# `faunae report` inlines Chart.js, installed with npm (below); its test opens the page in headless Chromium.
packages+=(chromium)
command -v npm >/dev/null || packages+=(npm)  # Debian's npm, unless a Node.js with its own npm is installed
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "faunae setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

# The JavaScript that `faunae report` inlines, at the versions report/package-lock.json pins: `npm ci`
# when it is missing or the lock changed since it was installed.
report_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/report"
if [ ! -f "$report_dir/node_modules/chart.js/dist/chart.umd.min.js" ] ||
   [ "$report_dir/package-lock.json" -nt "$report_dir/node_modules/.package-lock.json" ]; then
  echo "faunae setup: npm ci --prefix report"
  npm ci --prefix "$report_dir" --no-audit --no-fund
fi

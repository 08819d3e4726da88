#!/usr/bin/env bash
# Installs what faunae's core, tabular backend, examples, tests and benchmarks need, from Debian's
# packages: Debian 12 (bookworm, LibTorch 1.13, Catch2 2) or Debian 13 (trixie, LibTorch 2.6, Catch2 3).
# Run as root (or with sudo available). Does nothing when everything is already there.
#
#   scripts/setup-debian.sh           the CPU LibTorch (libtorch-dev, libgloo-dev, python3-torch)
#   scripts/setup-debian.sh --cuda    Debian 13 only: the CUDA LibTorch instead (libtorch-cuda-dev,
#                                     libgloo-cuda-dev, python3-torch-cuda) and NCCL (libnccl-dev),
#                                     from contrib and non-free, which the apt sources must enable;
#                                     several GB (scripts/check-debian13.sh --cuda uses it)
set -euo pipefail
me=scripts/setup-debian.sh
cuda=0
for arg in "$@"; do
  case "$arg" in
    --cuda) cuda=1 ;;
    *) echo "$me: unknown argument '$arg' (expected --cuda or nothing)" >&2; exit 2 ;;
  esac
done
codename=$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)
case "$codename" in
  bookworm) clang_rt=libclang-rt-14-dev ;;  # holds libclang_rt.fuzzer for clang 14
  trixie) clang_rt=libclang-rt-19-dev ;;    # the same for clang 19
  *) echo "$me: Debian release '${codename:-unknown}' (VERSION_CODENAME in /etc/os-release) is not supported:" \
          "this script knows bookworm (Debian 12) and trixie (Debian 13)" >&2; exit 1 ;;
esac
torch_packages=(libtorch-dev libgloo-dev python3-torch)
if ((cuda)); then
  [ "$codename" = trixie ] ||
    { echo "$me: --cuda needs Debian 13 (trixie): Debian $codename has no libtorch-cuda-dev" >&2; exit 1; }
  torch_packages=(libtorch-cuda-dev libgloo-cuda-dev python3-torch-cuda libnccl-dev)
fi
packages=(g++ cmake make libeigen3-dev libfmt-dev nlohmann-json3-dev catch2 libbenchmark-dev libcli11-dev
          "${torch_packages[@]}" libopenblas0-openmp zlib1g-dev pkgconf libstb-dev dataset-fashion-mnist)
# The Python package (python/, pybind11) and its tests (pytest).
packages+=(pybind11-dev python3-dev python3-pytest)
# scripts/fuzz.sh: clang with libFuzzer.
packages+=(clang "$clang_rt")
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
  if ((cuda)) && [ -z "$(apt-cache policy libtorch-cuda-dev | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; then
    echo "$me: --cuda: no candidate for libtorch-cuda-dev in the apt sources (rule: it comes from trixie's" \
         "contrib, and NCCL from non-free: add 'contrib non-free' to Components in /etc/apt/sources.list.d/*.sources)" >&2
    exit 1
  fi
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

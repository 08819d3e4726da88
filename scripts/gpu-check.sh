#!/usr/bin/env bash
# The GPU check (issue 6): builds faunae against the CUDA LibTorch that PyTorch's pip package ships
# (torch.utils.cmake_prefix_path), runs the whole torch test suite (the [cuda] cases included) on the
# GPU, then the teacher–student step benchmark against the same step in Python PyTorch on the same
# GPU. Meant to finish within 10 minutes on one GPU machine; logs and JSON go to $OUT (default
# build-gpu/out).
#
#   scripts/gpu-check.sh                 # on a machine with CUDA, PyTorch and CMake
#
# Dependencies: Eigen, fmt, nlohmann_json, Catch2 (2 or 3), CLI11, stb and zlib, from the system or from
# a folder with the same layout as / (FAUNAE_DEPS, default .deps/root: Debian's packages unpacked
# with dpkg -x by scripts/gpu-deps.sh, for a machine that cannot install packages).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build-gpu/out}
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1
py=${PYTHON:-python3}
deps=${FAUNAE_DEPS:-$PWD/.deps/root}
jobs=$(nproc)
started=$(date +%s)
stamp() { echo "== [$(($(date +%s) - started)) s] $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
g++ --version | head -1
cmake --version | head -1
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())'
torch_prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')

prefix="$torch_prefix"
extra=()
if [ -d "$deps/usr" ]; then
  prefix="$prefix;$deps/usr"
  lib="$deps/usr/lib/x86_64-linux-gnu"
  extra+=(-DFAUNAE_STB_INCLUDE_DIR="$deps/usr/include/stb" -DFAUNAE_STB_LIBRARY="$lib/libstb.a"
          -DZLIB_INCLUDE_DIR="$deps/usr/include" -DZLIB_LIBRARY="$lib/libz.a")
  # pip's torch ships c10d's headers but not Gloo's, which they include (Debian's libgloo-dev has them).
  [ -d "$deps/usr/include/gloo" ] && extra+=(-DFAUNAE_GLOO_INCLUDE_DIR="$deps/usr/include")
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
generator=()
keep_going=(-k)
if command -v ninja > /dev/null; then generator=(-G Ninja); keep_going=(-k 0); fi

stamp "configure"
TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DFAUNAE_BUILD_TESTS=ON -DFAUNAE_BUILD_BENCHMARKS=ON -DFAUNAE_BUILD_EXAMPLES=OFF \
  -DFAUNAE_SHARED_DIR="$PWD/shared" "${extra[@]}" || { stamp "configure FAILED"; exit 1; }

stamp "build (keeps going past errors)"
targets=(faunae_torch_tests faunae_bench_moco_step faunae_distributed_tests faunae_distributed_worker faunae_program)
cmake --build build-gpu -j"$jobs" --target "${targets[@]}" -- "${keep_going[@]}" 2>&1 | tee "$out/build.log" | grep -E "error|warning: .*deprecated|FAILED" | head -80
build_status=${PIPESTATUS[0]}
stamp "build exit status $build_status"

status=0
if [ -x build-gpu/tests/torch/faunae_torch_tests ]; then
  stamp "torch tests on the GPU"
  build-gpu/tests/torch/faunae_torch_tests --reporter compact "~[slow]" 2>&1 | tail -40
  status=$((status | PIPESTATUS[0]))
  stamp "[cuda] cases, verbose"
  build-gpu/tests/torch/faunae_torch_tests "[cuda]" --success --reporter compact 2>&1 | tail -15
fi

if [ -x build-gpu/tests/torch/faunae_distributed_tests ]; then
  stamp "distributed tests (Gloo, 2 processes on 127.0.0.1)"
  (cd build-gpu/tests/torch && ./faunae_distributed_tests --reporter compact 2>&1 | tail -5)
fi
bench=build-gpu/benchmarks/moco_step
if [ -x "$bench" ]; then
  for precision in fp32 bf16; do
    stamp "benchmark: teacher-student step, C++ vs Python, cuda $precision"
    timeout 240 "$bench" --device cuda --precision "$precision" --channels-last --python "$py" \
      --json "$out/moco-step-cuda-$precision.json" 2>&1 | tail -20
  done
fi
stamp "done (tests status $status, build status $build_status)"
exit $((status | build_status))

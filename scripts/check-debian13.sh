#!/usr/bin/env bash
# Builds faunae and runs its whole test suite on Debian 13 (trixie) against Debian's LibTorch 2.6, in a
# chroot made once with debootstrap and kept outside the repository (issue 16). Debian 12 with LibTorch
# 1.13 stays the primary platform (scripts/test.sh); run this script too before changing the torch
# backend. Run as root on a Debian machine; it installs debootstrap when missing.
#
#   scripts/check-debian13.sh           CPU: makes (or reuses) the chroot, installs the dependencies
#                                       there with scripts/setup-debian.sh, then runs scripts/test.sh
#                                       in it: the core, the torch backend, the program, the benchmarks,
#                                       the distributed code (Gloo) and every ctest test, against
#                                       libtorch-dev 2.6, g++ 14, Catch2 3, fmt 10, CMake 3.31
#   scripts/check-debian13.sh --torch   the same, but only the torch backend's tests (torch, torch fault
#                                       and distributed) and the Python package's: built and run; what
#                                       CI runs
#   scripts/check-debian13.sh --cuda    the CUDA build, compiled and linked, not run (no GPU needed):
#                                       a second chroot with libtorch-cuda-dev 2.6, libgloo-cuda-dev and
#                                       NCCL from contrib and non-free (several GB to download; not for
#                                       CI); builds the torch backend's tests (the [cuda] cases
#                                       included), the program, the benchmarks and the distributed code
#                                       with USE_C10D_NCCL (FAUNAE_WITH_NCCL=ON), and links them
#   scripts/check-debian13.sh --prepare [--cuda]
#                                       only makes (or updates) the chroot and installs the dependencies
#   scripts/check-debian13.sh --shell [--cuda]
#                                       a shell in the chroot (the tree at /work/faunae, build in
#                                       /work/build)
#
# Environment:
#   FAUNAE_DEBIAN13_DIR    the chroot (default /var/cache/faunae/debian13, or .../debian13-cuda)
#   FAUNAE_DEBIAN_MIRROR   the Debian mirror (default: the first Debian archive in this machine's apt
#                          sources, as `apt-get indextargets` lists them; never a fixed host)
#   FAUNAE_JOBS            parallel build and test jobs (default: nproc)
#
# The chroot gets this machine's apt sources' mirror, its certificate authorities
# (/usr/local/share/ca-certificates) and its apt proxy settings, so that it reaches what the machine
# reaches. The tree is copied in fresh on every run (tracked and untracked files that git does not
# ignore; ../shared is mounted read-only); the build folder in the chroot is kept, so a second run
# only rebuilds what changed. Delete the chroot folder to start from scratch.
#
# --cuda needs developer.download.nvidia.com: Debian's nvidia-cudnn (a dependency of libtorch-cuda-2.6)
# downloads cuDNN from NVIDIA in its post-install script. Where that host is unreachable, dpkg leaves
# cuDNN and the CUDA LibTorch unconfigured and this script stops at the dependencies; offline, see
# docs/torch-backend.md ("Unblocking the CUDA build").
#
# What remains for a real GPU (the CUDA build here is compiled and linked, never run; no test of the
# suite starts NCCL): on a machine with an NVIDIA GPU and its driver,
#   1. scripts/gpu-check.sh: the whole torch test suite with the [cuda] cases on the GPU, the
#      distributed tests (Gloo) and the teacher–student benchmark, against pip's CUDA LibTorch;
#   2. against Debian 13's libtorch-cuda-dev, from this script's --cuda chroot (bind the GPU's /dev
#      nodes and the driver's libcuda.so.1 in): /work/build/tests/torch/faunae_torch_tests "[cuda]" and
#      ctest -R "faunae distributed";
#   3. data parallelism over NCCL: two processes, one GPU each, connected with backend "nccl"
#      (docs/distributed.md); no test does this yet.
# Then update the table in docs/torch-backend.md, "Supported platforms".
set -euo pipefail
# All of it in one function, read whole before it runs: a checkout or an edit during a long run
# cannot change what is running.
main() {
me=scripts/check-debian13.sh
repo=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "$me: $*" >&2; exit 1; }

mode=cpu shell=0 prepare=0 torch_only=0
for arg in "$@"; do
  case "$arg" in
    --cuda) mode=cuda ;;
    --shell) shell=1 ;;
    --prepare) prepare=1 ;;
    --torch) torch_only=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$arg' (expected --torch, --cuda, --prepare, --shell or --help)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || fail "must run as root (debootstrap, mount and chroot need it); running as uid $(id -u)"

default_dir=/var/cache/faunae/debian13
[ "$mode" = cuda ] && default_dir=/var/cache/faunae/debian13-cuda
root=${FAUNAE_DEBIAN13_DIR:-$default_dir}
case "$root" in
  /*) ;;
  *) fail "FAUNAE_DEBIAN13_DIR must be an absolute path, got '$root'" ;;
esac
[ "$root" != / ] || fail "FAUNAE_DEBIAN13_DIR must not be /"
case "$root/" in
  "$repo"/*) fail "FAUNAE_DEBIAN13_DIR '$root' lies inside the repository '$repo'; the chroot is kept outside it" ;;
esac
jobs=${FAUNAE_JOBS:-$(nproc)}
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || fail "FAUNAE_JOBS must be a positive integer, got '$jobs'"

started=$(date +%s)
phase_start=$started
timings=()
phase() {  # phase NAME: closes the previous phase's timing and announces the next
  local now
  now=$(date +%s)
  [ -n "${phase_name:-}" ] && timings+=("$(printf '%-28s %5d s' "$phase_name" $((now - phase_start)))")
  phase_name=$1 phase_start=$now
  [ -n "$1" ] && echo "== $me [$((now - started)) s] $1"
  return 0
}

# --- the mirror: this machine's own Debian archive ---------------------------------------------------
mirror=${FAUNAE_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # Suites without a dash (bookworm, trixie, stable) are the archive itself; -security and -updates
  # live elsewhere or in the same place.
  mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(TARGET_OF)' 2>/dev/null |
           awk '$2 !~ /-/ && $3 == "main" && $4 == "deb" { print $1; exit }')
  [ -n "$mirror" ] || fail "no Debian archive (a suite without '-', component main, type deb) in this machine's apt" \
                           "sources (/etc/apt/sources.list, /etc/apt/sources.list.d/; \`apt-get indextargets\` lists them); set FAUNAE_DEBIAN_MIRROR"
fi
[[ "$mirror" =~ ^(https?|file):// ]] || fail "FAUNAE_DEBIAN_MIRROR must be an http://, https:// or file:// URI, got '$mirror'"

command -v debootstrap > /dev/null || {
  echo "$me: installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
}

mkdir -p "$(dirname "$root")"
exec 9> "$root.lock"
flock -n 9 || fail "another run holds $root.lock (one run per chroot at a time)"

# --- mounts, always undone on exit --------------------------------------------------------------------
mounted=()
mounts_under() { findmnt -rn -o TARGET | awk -v r="$1" 'index($0, r "/") == 1 || $0 == r'; }
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || echo "$me: could not unmount ${mounted[i]}" >&2
  done
  mounted=()
}
trap unmount_all EXIT
trap 'exit 130' INT TERM  # so that an interrupted run unmounts too
bind() {  # bind SOURCE TARGET [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounted+=("$2")
  [ "${3:-}" = ro ] && mount -o remount,bind,ro "$2"
  return 0
}

# --- the chroot: made once, reused ------------------------------------------------------------------------
phase "chroot $root"
if [ ! -f "$root/.faunae-chroot" ]; then
  leftover=$(mounts_under "$root.partial"; mounts_under "$root")
  [ -z "$leftover" ] || fail "mount points left under $root by an earlier run: $leftover (unmount them first; nothing was deleted)"
  rm -rf "$root.partial" "$root"
  base=/var/cache/faunae/debian13
  if [ "$mode" = cuda ] && [ -f "$base/.faunae-chroot" ] && [ "$base" != "$root" ] && [ -z "$(mounts_under "$base")" ]; then
    echo "$me: copying the CPU chroot $base as the base of $root"
    cp -a "$base" "$root.partial"
    rm -rf "$root.partial/work/build" "$root.partial/work/faunae"
  else
    echo "$me: debootstrap --variant=minbase trixie from $mirror (log: $root.debootstrap.log)"
    debootstrap --variant=minbase --include=ca-certificates trixie "$root.partial" "$mirror" > "$root.debootstrap.log" 2>&1 ||
      fail "debootstrap trixie from $mirror into $root.partial failed (exit $?); see $root.debootstrap.log"
  fi
  echo "made $(date -u +%FT%TZ) by $me from $mirror" > "$root.partial/.faunae-chroot"
  mv "$root.partial" "$root"
fi

# Every run: this machine's mirror, certificate authorities, proxy and name resolution.
components=main
[ "$mode" = cuda ] && components="main contrib non-free non-free-firmware"
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
# Written by $me from this machine's apt sources.
Types: deb
URIs: $mirror
Suites: trixie trixie-updates
Components: $components
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
mkdir -p "$root/usr/local/share/ca-certificates"
if compgen -G "/usr/local/share/ca-certificates/*" > /dev/null; then
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
apt-config dump | grep -iE '^Acquire::[a-z]+::Proxy' > "$root/etc/apt/apt.conf.d/90faunae-proxy" || rm -f "$root/etc/apt/apt.conf.d/90faunae-proxy"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# No services start in the chroot when packages are installed (invoke-rc.d asks this first).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# Inside: /proc, /sys, /dev of this machine; ../shared read-only; the tree copied fresh.
bind /proc "$root/proc"
bind /sys "$root/sys" ro
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
mountpoint -q /dev/shm && bind /dev/shm "$root/dev/shm"  # Gloo and Chromium use it
if [ -d "$repo/../shared" ]; then
  bind "$(cd "$repo/../shared" && pwd)" "$root/work/shared" ro
else
  echo "$me: warning: $repo/../shared not found: the tests that read its data (NAS-Bench-Macro) will fail" >&2
fi
tree=$root/work/faunae
rm -rf "$tree.new"
mkdir -p "$tree.new"
git -C "$repo" ls-files -z -c -o --exclude-standard | (cd "$repo" && tar --null -T - --ignore-failed-read -cf -) | tar -xf - -C "$tree.new"
# Keep the report's npm packages between runs (setup-debian.sh installs them again when the lock changes).
[ -d "$tree/report/node_modules" ] && mv "$tree/report/node_modules" "$tree.new/report/node_modules"
rm -rf "$tree"
mv "$tree.new" "$tree"

in_chroot() {  # runs a command in the chroot with a clean environment
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin FAUNAE_JOBS="$jobs" "$@"
}
in_chroot update-ca-certificates > /dev/null 2>&1 || true
# An earlier run stopped during apt-get install leaves dpkg half done: finish it first.
in_chroot dpkg --configure -a || fail "dpkg --configure -a failed in the chroot $root (exit $?); delete $root to start over"

setup_args=()
[ "$mode" = cuda ] && setup_args=(--cuda)
phase "dependencies (scripts/setup-debian.sh${setup_args[*]:+ ${setup_args[*]}})"
in_chroot bash -c 'cd /work/faunae && scripts/setup-debian.sh "$@"' setup "${setup_args[@]}" ||
  fail "scripts/setup-debian.sh ${setup_args[*]} failed in the chroot $root (exit $?)"
in_chroot bash -c 'echo "Debian $(cat /etc/debian_version); $(g++ --version | head -1); $(cmake --version | head -1)"
  dpkg-query -W -f="\${Package} \${Version}\n" catch2 libfmt-dev 2>/dev/null
  dpkg-query -W -f="\${Package} \${Version}\n" libtorch-dev libtorch-cuda-dev libgloo-dev libgloo-cuda-dev libnccl-dev 2>/dev/null | grep -v " $" || true'

if ((prepare)); then
  phase ""
  printf '   %s\n' "${timings[@]}"
  echo "$me: chroot $root ready ($mode)"
  exit 0
fi
if ((shell)); then
  phase ""
  echo "$me: a shell in $root (the tree in /work/faunae, build in /work/build); exit to unmount"
  in_chroot bash -c 'cd /work/faunae && exec bash -i' || true
  exit 0
fi

set +e  # from here on, every step's status is collected and reported
status=0
if [ "$mode" = cpu ] && ((torch_only)); then
  phase "build and test (torch tests)"
  # scripts/test.sh's configuration; only the torch backend's test executables and the Python package
  # (pybind11 2.13, Python 3.13, python3-torch 2.6: the bindings and faunae.torch_net), and their ctest
  # entries. One goal (faunae_torch_test_executables, CMakeLists.txt), so that make builds them in parallel.
  in_chroot bash -c 'cd /work/faunae && cmake -S . -B /work/build -DCMAKE_BUILD_TYPE=Release -DFAUNAE_WITH_TORCH=ON &&
      cmake --build /work/build -j"$FAUNAE_JOBS" --target faunae_torch_test_executables &&
      ctest --test-dir /work/build --output-on-failure -j"$FAUNAE_JOBS" -R "^faunae (torch|distributed|python)"' 2>&1 | tee "$root/work/test.log"
  status=${PIPESTATUS[0]}
  summary=$(grep -E "tests passed|tests failed" "$root/work/test.log" | tail -1)
  ((status == 0)) || summary+="${summary:+; }FAILED (exit $status); log $root/work/test.log"
elif [ "$mode" = cpu ]; then
  phase "build and test (scripts/test.sh)"
  in_chroot bash -c 'cd /work/faunae && FAUNAE_BUILD_DIR=/work/build scripts/test.sh' 2>&1 | tee "$root/work/test.log"
  status=${PIPESTATUS[0]}
  summary=$(grep -E "tests passed|tests failed" "$root/work/test.log" | tail -1)
  ((status == 0)) || summary+="${summary:+; }FAILED (exit $status); log $root/work/test.log"
else
  phase "configure (CUDA, NCCL)"
  # No GPU is needed to compile and link: the architectures are named, not detected.
  in_chroot bash -c 'cd /work/faunae && TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}" cmake -S . -B /work/build \
      -DCMAKE_BUILD_TYPE=Release -DFAUNAE_WITH_NCCL=ON -DFAUNAE_BUILD_TESTS=ON -DFAUNAE_BUILD_EXAMPLES=ON \
      -DFAUNAE_BUILD_BENCHMARKS=ON' 2>&1 | tee "$root/work/configure.log"
  status=${PIPESTATUS[0]}
  ((status == 0)) || fail "configuring the CUDA build in $root/work/build failed (exit $status); see $root/work/configure.log"
  grep -qE "LibTorch 2\.[0-9.]+ found" "$root/work/configure.log" ||
    fail "the CUDA build found no LibTorch 2.x (rule: 'faunae: LibTorch 2.x found' in $root/work/configure.log)"
  phase "build and link (CUDA)"
  # Everything: the torch backend's tests ([cuda] cases included), the program, the benchmarks, the
  # distributed tests and worker.
  in_chroot cmake --build /work/build -j"$jobs" 2>&1 | tee "$root/work/build.log"
  status=${PIPESTATUS[0]}
  if ((status == 0)); then
    summary="CUDA build: compiled and linked"
    # Linked against libtorch_cuda and NCCL, built with USE_C10D_NCCL: checked, not assumed.
    for t in tests/torch/faunae_torch_tests tests/torch/faunae_distributed_tests examples/faunae; do
      libs=$(in_chroot ldd "/work/build/$t" | grep -oE "lib(torch_cuda|c10_cuda|nccl)\.so[.0-9]*" | sort -u | tr '\n' ' ')
      echo "   $t: ${libs:-no CUDA library}"
      [[ "$libs" == *libtorch_cuda* ]] || { status=1; summary="CUDA build: $t is not linked against libtorch_cuda"; }
    done
    grep -q USE_C10D_NCCL "$root/work/build/tests/torch/CMakeFiles/faunae_distributed_tests.dir/flags.make" ||
      { status=1; summary="CUDA build: faunae_distributed_tests compiled without USE_C10D_NCCL"; }
  else
    summary="CUDA build FAILED (exit $status); log $root/work/build.log"
  fi
fi
phase ""
echo "== $me: $mode, chroot $root, mirror $mirror, $jobs jobs"
printf '   %s\n' "${timings[@]}"
echo "   total                        $(( $(date +%s) - started )) s"
echo "   ${summary:-}"
exit "$status"
}
main "$@"

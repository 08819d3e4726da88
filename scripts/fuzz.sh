#!/usr/bin/env bash
# Builds faunae's libFuzzer targets (tests/fuzz/, clang, ASan + UBSan) in build-fuzz/ and runs them.
#
#   scripts/fuzz.sh [seconds] [target...]   each target (default: all) for `seconds` (default 60), nproc
#                                           at a time (FAUNAE_FUZZ_JOBS), on a copy of its corpus
#                                           tests/fuzz/corpus/<target>/
#   scripts/fuzz.sh --brief                 CI: every target for 10 s (FAUNAE_FUZZ_BRIEF_SECONDS)
#   scripts/fuzz.sh --merge [seconds] [target...]
#                                           the same, then merges the inputs that add coverage into
#                                           tests/fuzz/corpus/<target>/ (the repository's corpus only
#                                           grows when asked; review and commit it by hand)
#   scripts/fuzz.sh --list                  the targets
#
# Prints per target: executions, seconds, corpus size (files) and the outcome. Exits non-zero if any
# target finds a crash, a sanitizer report, a leak, a timeout or an out-of-memory; the input that did
# it is kept in build-fuzz/fuzz-runs/<target>/ with the command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=60 merge=0 list=0
case "${1:-}" in
  --brief) seconds=${FAUNAE_FUZZ_BRIEF_SECONDS:-10}; shift ;;
  --merge) merge=1; shift ;;
  --list) list=1; shift ;;
esac
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi

scripts/setup-debian.sh
dir=build-fuzz
jobs=${FAUNAE_FUZZ_JOBS:-$(nproc)}
# Only the fuzz targets: tests, examples and benchmarks are built (and sanitized) elsewhere.
mkdir -p "$dir"
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE= \
  -DFAUNAE_BUILD_FUZZERS=ON -DFAUNAE_BUILD_TESTS=OFF -DFAUNAE_BUILD_EXAMPLES=OFF -DFAUNAE_BUILD_BENCHMARKS=OFF \
  -DFAUNAE_INSTALL=OFF > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; exit 1; }
read -r -a all < "$dir/fuzz_targets.txt"
IFS=';' read -r -a all <<< "${all[*]}"
if ((list)); then printf '%s\n' "${all[@]}"; exit 0; fi
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do  # the default list, or `pickle` (by name only: tests/fuzz/pickle.cpp)
  [[ " ${all[*]} " == *" $t "* || ( "$t" == pickle && " ${all[*]} " == *" idx "* ) ]] ||
    { echo "scripts/fuzz.sh: unknown target '$t' (built: ${all[*]}, and pickle by name)" >&2; exit 2; }
done
if [ "${targets[*]}" = "${all[*]}" ]; then
  cmake --build "$dir" -j"$jobs" --target faunae_fuzzers  # one goal: its targets build in parallel
else
  cmake --build "$dir" -j"$jobs" --target "${targets[@]/#/fuzz_}"
fi

# One target: fuzzes a copy of its corpus in fuzz-runs/<target>/ and writes its line of the table
# (result.txt) and, when it failed, the sanitizer's first lines (failure.txt).
fuzz_one() {
  local t=$1 run="$root/$dir/fuzz-runs/$1"
  rm -rf "$run"
  mkdir -p "$run/corpus"
  cp -r "tests/fuzz/corpus/$t/." "$run/corpus/"
  # -timeout: one input may take at most 10 s; -rss_limit_mb: LibTorch's targets start near 1 GB.
  # -max_len: the largest seed (a pickled learner state) or 64 KiB, whichever is larger.
  local largest max_len
  largest=$(find "$run/corpus" -type f -printf '%s\n' | sort -n | tail -1)
  max_len=$(( ${largest:-0} > 65536 ? largest : 65536 ))
  echo "$max_len" > "$run/max_len"
  # `pickle` fuzzes LibTorch's zip reader and unpickler, which allocate what a length field says
  # and leak on some errors (tests/fuzz/pickle.cpp): there only memory errors and crashes count.
  local asan=detect_leaks=1 extra=()
  [ "$t" = pickle ] && asan=detect_leaks=0:allocator_may_return_null=1 extra=(-malloc_limit_mb=1048576)
  local start rc=0
  start=$(date +%s%N)
  (cd "$run" && ASAN_OPTIONS=$asan UBSAN_OPTIONS=print_stacktrace=1 "$root/$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
     -timeout=10 -rss_limit_mb=4096 -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$run/" "${extra[@]}" corpus \
     > log.txt 2>&1) || rc=$?
  local ms elapsed execs files artifact outcome
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  elapsed=$(printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log.txt" | tail -1)
  files=$(find "$run/corpus" -type f | wc -l)
  artifact=$(find "$run" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | head -1)
  if ((rc == 0)) && [ -z "$artifact" ]; then
    outcome=ok
  else
    outcome="FAILED (exit $rc): ${artifact:-no input saved}; log $run/log.txt"
    [ -n "$artifact" ] && outcome+="; reproduce: $dir/tests/fuzz/fuzz_$t $artifact"
    grep -m3 -E "^(==[0-9]+==ERROR|SUMMARY|faunae fuzz:)|runtime error" "$run/log.txt" | sed 's/^/    /' > "$run/failure.txt" || true
    [ -s "$run/failure.txt" ] || echo "    (no sanitizer report in the log)" > "$run/failure.txt"
  fi
  printf '%-18s %12s %8s %8s  %s\n' "$t" "${execs:-?}" "$elapsed" "$files" "$outcome" > "$run/result.txt"
}

# FAUNAE_FUZZ_JOBS targets at a time (default: nproc), each a single libFuzzer process for `seconds`;
# the table comes in the targets' order once all have ended.
running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  if (( ++running >= jobs )); then wait -n; running=$((running - 1)); fi
done
wait

failed=0
printf '%-18s %12s %8s %8s  %s\n' target executions seconds corpus outcome
for t in "${targets[@]}"; do
  run="$root/$dir/fuzz-runs/$t"
  if [ ! -f "$run/result.txt" ]; then
    echo "scripts/fuzz.sh: target $t ended without a result (see $run/)" >&2; failed=1; continue
  fi
  cat "$run/result.txt"
  outcome=ok
  if [ -f "$run/failure.txt" ]; then failed=1; outcome=failed; cat "$run/failure.txt" >&2; fi
  if ((merge)) && [ "$outcome" = ok ]; then
    max_len=$(cat "$run/max_len")
    "$root/$dir/tests/fuzz/fuzz_$t" -merge=1 -max_len="$max_len" "tests/fuzz/corpus/$t" "$run/corpus" > "$run/merge.log" 2>&1 ||
      { echo "    merge failed, see $run/merge.log" >&2; failed=1; }
    echo "    merged: tests/fuzz/corpus/$t now holds $(find "tests/fuzz/corpus/$t" -type f | wc -l) files"
  fi
done
exit $failed

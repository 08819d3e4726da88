#!/usr/bin/env bash
# SIGKILL at 20 random moments: fault_search (84 epochs, checkpoint every epoch, 1 ms per evaluation)
# is killed with kill -9 after a seeded-random delay of 1–40 ms, checked, and resumed with --resume,
# until 20 kills have landed (when a run reaches its end before the next kill, a fresh run starts in
# a new folder). With the fail_io shim given, every other launch runs with slow checkpoint writes
# (each write() and fsync() of checkpoint.json.tmp sleeps 2 ms first), so that many kills land
# inside write_file_atomically, between its open, write, fsync and rename. After every kill:
#   - the checkpoint loads (format, checksum, consistent state): never corrupt;
#   - no completed epoch is lost: the checkpoint's epoch ≥ the last epoch of a complete line of the
#     log (hooks run after the checkpoint is written, so a logged epoch is a checkpointed one).
# Each run, resumed to its end, must write a result.json byte for byte equal to that of an
# uninterrupted run with the same seed (architecture, statistics, RNG, full history, evaluator).
#   kill_20.sh path/to/faunae_fault_search work_dir [path/to/libfaunae_fail_io.so [seed]]
set -euo pipefail
search=$1
work=$2
shim=${3:-}
RANDOM=${4:-20}
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
kills_wanted=20
rm -rf "$work"
mkdir -p "$work"

"$search" run "$work/whole" --sleep-us 1000 2> "$work/whole.err" || { cat "$work/whole.err"; exit 1; }

kills=0 in_write=0 round=0 resumes=0 launches=0
while [ "$kills" -lt "$kills_wanted" ]; do
  round=$((round + 1))
  dir="$work/round$round"
  first=1
  while :; do
    launches=$((launches + 1))
    preload=
    [ -n "$shim" ] && [ $((launches % 2)) = 0 ] && preload=$shim
    resume=--resume
    [ "$first" = 1 ] && resume= && first=0
    [ -n "$resume" ] && resumes=$((resumes + 1))
    FAUNAE_FAIL_IO=slow FAUNAE_FAIL_IO_AFTER=2000 FAUNAE_FAIL_IO_PATH=checkpoint.json LD_PRELOAD=$preload \
      "$search" run "$dir" --sleep-us 1000 $resume 2> "$dir.err" &
    pid=$!
    delay=$((1 + RANDOM % 40))
    sleep "$(printf '0.%03d' "$delay")"
    if kill -9 "$pid" 2> /dev/null; then
      wait "$pid" 2> /dev/null || true
      kills=$((kills + 1))
      # A kill inside write_file_atomically leaves checkpoint.json.tmp (never read; the next save
      # truncates it).
      [ -e "$dir/checkpoint.json.tmp" ] && in_write=$((in_write + 1))
      if ! verdict=$("$search" check "$dir"); then
        echo "FAIL after kill $kills ($delay ms into run $round): $verdict"
        exit 1
      fi
      echo "kill $kills after $delay ms: $verdict"
      [ "$kills" -lt "$kills_wanted" ] || break
    else
      # The run ended before the kill.
      wait "$pid" || { echo "FAIL: run $round exited with an error:"; cat "$dir.err"; exit 1; }
      break
    fi
  done
  # Resume to the end and compare with the uninterrupted run.
  if [ ! -e "$dir/result.json" ]; then
    "$search" run "$dir" --sleep-us 0 --resume 2> "$dir.err" || { cat "$dir.err"; exit 1; }
  fi
  cmp -s "$work/whole/result.json" "$dir/result.json" ||
    { echo "FAIL: run $round, resumed after kills, differs from the uninterrupted run"; diff <(head -c 4000 "$work/whole/result.json") <(head -c 4000 "$dir/result.json") | head -20; exit 1; }
  echo "run $round: resumed to the same result as the uninterrupted run"
done
echo "PASS: $kills kills ($in_write inside a checkpoint write), $resumes resumes, $round runs; every checkpoint loaded, no logged epoch lost, every run ended like the uninterrupted one"

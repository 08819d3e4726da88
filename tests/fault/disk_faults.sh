#!/usr/bin/env bash
# Disk faults during a search, injected into the real system calls by libfaunae_fail_io.so
# (LD_PRELOAD; see fail_io.cpp): the disk fills up in the middle of a checkpoint write (ENOSPC, the
# write cut short), the disk turns read-only (EROFS on open), the device reports a write error on
# fsync (EIO), and the disk fills up while the log is written. Each time the search must
#   - stop with exit status 1 and a message naming the file and the system's error;
#   - leave the previous checkpoint intact and loadable, holding every epoch the log reports, and no
#     checkpoint.json.tmp;
#   - once the fault is gone, resume (--resume) to a result.json byte for byte equal to that of an
#     uninterrupted run with the same seed.
#   disk_faults.sh path/to/faunae_fault_search path/to/libfaunae_fail_io.so work_dir
set -euo pipefail
search=$1
shim=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
# A sanitized fault_search accepts a preloaded library ahead of its runtime.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

"$search" run "$work/whole" 2> "$work/whole.err" || { cat "$work/whole.err"; exit 1; }
size=$(stat -c %s "$work/whole/checkpoint.json")

# name | FAUNAE_FAIL_IO | FAUNAE_FAIL_IO_AFTER | FAUNAE_FAIL_IO_PATH | expected in the message
cases=(
  "disk-full|enospc|$((size * 5 / 2))|checkpoint.json|No space left on device"
  "read-only|erofs|4|checkpoint.json|Read-only file system"
  "fsync-eio|eio|6|checkpoint.json|Input/output error"
  "log-disk-full|enospc|20000|log.jsonl|No space left on device"
)
for spec in "${cases[@]}"; do
  IFS='|' read -r name mode after path expect <<< "$spec"
  dir="$work/$name"
  if FAUNAE_FAIL_IO=$mode FAUNAE_FAIL_IO_AFTER=$after FAUNAE_FAIL_IO_PATH=$path LD_PRELOAD=$shim \
     "$search" run "$dir" 2> "$dir.err"; then
    echo "FAIL $name: the search did not notice the fault"; exit 1
  fi
  message=$(grep "fault_search: error:" "$dir.err" || true)
  echo "$name: $message"
  grep -q "$expect" <<< "$message" || { echo "FAIL $name: the message lacks '$expect'"; cat "$dir.err"; exit 1; }
  grep -q "$path" <<< "$message" || { echo "FAIL $name: the message does not name $path"; exit 1; }
  [ ! -e "$dir/checkpoint.json.tmp" ] || { echo "FAIL $name: checkpoint.json.tmp left behind"; exit 1; }
  verdict=$("$search" check "$dir") || { echo "FAIL $name: $verdict"; exit 1; }
  echo "$name: after the fault, $verdict"
  grep -q "checkpoint epoch [1-9]" <<< "$verdict" || { echo "FAIL $name: the fault came before any checkpoint (test setup)"; exit 1; }
  "$search" run "$dir" --resume 2> "$dir.err" || { echo "FAIL $name: resume"; cat "$dir.err"; exit 1; }
  cmp -s "$work/whole/result.json" "$dir/result.json" || { echo "FAIL $name: resumed result differs"; exit 1; }
  "$search" check "$dir" > /dev/null || { echo "FAIL $name: the log is damaged after the resume"; exit 1; }
  echo "$name: resumed to the same result as the uninterrupted run"
done
echo PASS

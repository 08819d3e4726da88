#!/usr/bin/env bash
# A run folder is never silently overwritten or mixed (docs/program.md, "The run folder"):
#  1. a second search (or pipeline) in a folder that holds a finished run is refused, naming the folder
#     and what it holds, and the old run is byte for byte what it was;
#  2. --overwrite moves the old run aside, whole, to <run>.replaced-<UTC time>, and starts a new run
#     with a new id; --overwrite with --resume is refused;
#  3. train, probe, report and export refuse a file of another run (its run_id);
#  4. two processes on one folder: the second stops at once ("in use by pid N on host H"), the first
#     runs to its end, and the folder holds one run (one log, each epoch once);
#  5. kill -9 of the lock holder leaves no lock that blocks: --resume=auto continues the run to the
#     result of an uninterrupted search;
#  6. --resume=auto in an empty folder starts a run; a bad --resume value is refused.
#   run_folder.sh path/to/faunae work_dir
set -euo pipefail
faunae=$1
work=$2
source "$(dirname "${BASH_SOURCE[0]}")/tiny_config.sh"
fresh_work_dir "$work"
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # expect FILE TEXT: the output names TEXT
  grep -qF -- "$2" "$1" || { echo "FAIL: '$2' not in $1:"; cat "$1"; exit 1; }
}
checksums() { (cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum); }
run_id() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['run_id'])" "$1"; }
epochs_of_log() { python3 -c "import json,sys; print(' '.join(str(json.loads(l)['epoch']) for l in open(sys.argv[1]) if l.strip()))" "$1"; }
t0=$SECONDS

# --- 1. a finished run is refused, and stays byte for byte ------------------------------------------
"$faunae" search --run "$work/a" --config "$work/tiny.json" -q > "$work/a.out" 2>&1 || { cat "$work/a.out"; fail "search a"; }
"$faunae" report --run "$work/a" > "$work/a-report.out" 2>&1 || { cat "$work/a-report.out"; fail "report a"; }
id_a=$(run_id "$work/a/config.json")
[ "$(run_id "$work/a/search.json")" = "$id_a" ] || fail "search.json does not record the run's id $id_a"
before=$(checksums "$work/a")
for command in search pipeline; do
  if "$faunae" $command --run "$work/a" --config "$work/tiny.json" --set seed=9 -q > "$work/second.out" 2>&1; then
    fail "a second $command in a finished run folder was accepted"
  fi
  expect "$work/second.out" "faunae $command: the run folder '$work/a' already holds run $id_a: config.json, checkpoint.json at epoch 10"
  expect "$work/second.out" "a finished search of 11 epochs (search.json)"
  expect "$work/second.out" "continue it with --resume, start over with --overwrite"
  [ "$(checksums "$work/a")" = "$before" ] || fail "a refused $command changed the run"
done
echo "1. second search/pipeline refused, run unchanged ($((SECONDS - t0)) s)"

# --- 2. --overwrite moves the old run aside, whole ----------------------------------------------------
if "$faunae" search --run "$work/a" --config "$work/tiny.json" --overwrite --resume -q > "$work/both.out" 2>&1; then
  fail "--overwrite --resume was accepted"
fi
expect "$work/both.out" "--overwrite and --resume exclude each other"
# A bad configuration is refused before --overwrite moves anything.
if "$faunae" search --run "$work/a" --config "$work/tiny.json" --overwrite --set search.evaluator=bogus -q > "$work/bad.out" 2>&1; then
  fail "--overwrite with a bad search.evaluator was accepted"
fi
expect "$work/bad.out" "'search.evaluator' must be one of"
[ "$(checksums "$work/a")" = "$before" ] && ! ls -d "$work"/a.replaced-* > /dev/null 2>&1 ||
  fail "a refused --overwrite moved or changed the run"
"$faunae" search --run "$work/a" --config "$work/tiny.json" --overwrite --set search.max_epochs=1 -q > "$work/overwrite.out" 2>&1 ||
  { cat "$work/overwrite.out"; fail "--overwrite"; }
aside=$(ls -d "$work"/a.replaced-*)
[ "$(echo "$aside" | wc -l)" = 1 ] || fail "expected one aside folder, got: $aside"
expect "$work/overwrite.out" "[faunae] --overwrite: moved run $id_a"
[ "$(checksums "$aside")" = "$before" ] || fail "the run moved aside is not the old run byte for byte"
id_new=$(run_id "$work/a/config.json")
[ "$id_new" != "$id_a" ] && [ "$(run_id "$work/a/search.json")" = "$id_new" ] || fail "the new run has no new id ($id_new)"
[ ! -e "$work/a/report.html" ] || fail "the old run's report.html is left in the new run"
[ "$(epochs_of_log "$work/a/log.jsonl")" = "0 1" ] || fail "the new run's log holds $(epochs_of_log "$work/a/log.jsonl")"
echo "2. --overwrite moved the old run to $(basename "$aside") ($((SECONDS - t0)) s)"

# --- 3. train, probe, report, export refuse another run's files ---------------------------------------
python3 - "$work/a/search.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["run_id"] = "00000000000000ff"; json.dump(j, open(sys.argv[1], "w"))
PY
mkdir -p "$work/a/weights" && : > "$work/a/weights/evolved.pt"
for command in train probe report "export --out $work/exported"; do
  if "$faunae" $command --run "$work/a" > "$work/mixed.out" 2>&1; then fail "$command accepted another run's search.json"; fi
  expect "$work/mixed.out" "faunae ${command%% *}: '$work/a/search.json' belongs to run 00000000000000ff, but the run folder '$work/a' holds run $id_new"
done
echo "3. train/probe/report/export refuse another run's files ($((SECONDS - t0)) s)"

# --- 4. two processes on one folder -----------------------------------------------------------------
# Sections 4 and 5 need a search that outlives four refused starts (about a second each: LibTorch
# loading) and a kill: the tiny search with 40 steps per epoch instead of 2 (the tiny one alone takes
# about 3 s on 2 cores since the program keeps freed memory, cpu_memory.hpp).
write_tiny_config "$work/slow.json" 40
"$faunae" search --run "$work/c" --config "$work/slow.json" -q > "$work/c.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q "^pid $pid " "$work/c/.lock" 2> /dev/null && break; sleep 0.05; done
grep -q "^pid $pid " "$work/c/.lock" || fail "the first process wrote no lock"
for args in "search -q --config $work/tiny.json --set seed=0" "search -q --resume" "search -q --overwrite" "train"; do
  start=$SECONDS
  if "$faunae" $args --run "$work/c" > "$work/c2.out" 2>&1; then fail "'$args' ran beside a running search"; fi
  expect "$work/c2.out" "run folder '$work/c' in use by pid $pid on host $(hostname)"
  [ $((SECONDS - start)) -le 10 ] || fail "the second process took $((SECONDS - start)) s to stop"
done
kill -0 "$pid" 2> /dev/null || fail "the first search ended before the others were tried (too fast to test)"
wait "$pid" || { cat "$work/c.out"; fail "the first search failed"; }
[ "$(epochs_of_log "$work/c/log.jsonl")" = "0 1 2 3 4 5 6 7 8 9 10" ] || fail "log.jsonl holds epochs $(epochs_of_log "$work/c/log.jsonl")"
python3 -c "import json,sys; sys.exit(0 if json.load(open('$work/c/config.json'))['seed'] == 5 else 1)" || fail "config.json is not the first run's"
ls -d "$work"/c.replaced-* > /dev/null 2>&1 && fail "the refused --overwrite moved the running search"
echo "4. second processes refused at once, one run in the folder ($((SECONDS - t0)) s)"

# --- 5. kill -9 of the lock holder, then --resume=auto --------------------------------------------------
"$faunae" search --run "$work/d" --config "$work/slow.json" -q > "$work/d.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  python3 -c "import json,sys; sys.exit(0 if json.load(open('$work/d/checkpoint.json'))['payload']['state']['epoch'] >= 2 else 1)" 2> /dev/null && break
  sleep 0.1
done
kill -9 "$pid" 2> /dev/null || fail "the search ended before it could be killed"
wait "$pid" 2> /dev/null || true
grep -q "^pid $pid " "$work/d/.lock" || fail "the lock file should still name the killed process"
if "$faunae" search --run "$work/d" --config "$work/slow.json" -q > "$work/d2.out" 2>&1; then fail "a new search over a killed run was accepted"; fi
expect "$work/d2.out" "already holds run"
"$faunae" search --run "$work/d" --resume=auto -q > "$work/d3.out" 2>&1 || { cat "$work/d3.out"; fail "--resume=auto after kill -9"; }
expect "$work/d3.out" "resumed from"
python3 - "$work/c/search.json" "$work/d/search.json" <<'PY'
import json, sys
whole, resumed = (json.load(open(p)) for p in sys.argv[1:])
strip = lambda hs: [dict(h, metrics=[m for m in h["metrics"] if m[0] != "seconds"]) for h in hs]
assert whole["found"] == resumed["found"] and strip(whole["history"]) == strip(resumed["history"]), "the resumed run differs"
PY
echo "5. kill -9, then --resume=auto: the uninterrupted result ($((SECONDS - t0)) s)"

# --- 6. --resume=auto in an empty folder starts; bad values -----------------------------------------------
"$faunae" search --run "$work/e" --resume=auto --config "$work/tiny.json" --set search.max_epochs=1 -q > "$work/e.out" 2>&1 ||
  { cat "$work/e.out"; fail "--resume=auto in an empty folder"; }
expect "$work/e.out" "no checkpoint in $work/e yet, starting"
[ -n "$(run_id "$work/e/search.json")" ] || fail "no run id"
if "$faunae" search --run "$work/e" --resume=sometimes -q > "$work/e2.out" 2>&1; then fail "--resume=sometimes accepted"; fi
expect "$work/e2.out" "--resume: takes no value or 'auto', got 'sometimes'"
echo "6. --resume=auto starts an empty folder ($((SECONDS - t0)) s)"
echo PASS

#!/usr/bin/env bash
# The `faunae` program survives SIGKILL: a search killed in the middle (after its checkpoint holds a
# few epochs) and resumed with --resume ends with the same architecture and the same history (losses,
# mutations, eliminations) as an uninterrupted search with the same seed. Also: bad configuration
# keys are refused with a message naming them.
#   kill_resume.sh path/to/faunae work_dir
set -euo pipefail
faunae=$1
work=$2
data=${FAUNAE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
rm -rf "$work"
mkdir -p "$work"
cat > "$work/tiny.json" <<JSON
{
  "data": {"kind": "fashion-mnist", "path": "$data", "images": 320, "validation_fraction": 0.2},
  "space": {"kind": "resnet", "blocks_per_stage": [1, 2], "width": 0.125, "ops": ["conv3", "sa_k3r2", "identity"]},
  "search": {"epochs_per_op": 2, "steps": 2, "batch_size": 16, "queue_size": 64, "shuffle_groups": 2,
             "validation_images": 32, "head_hidden": 32, "head_out": 16},
  "seed": 5, "threads": 1
}
JSON

"$faunae" search --run "$work/whole" --config "$work/tiny.json" -q > "$work/whole.out" 2>&1
epochs=$(python3 -c "import json; print(len(json.load(open('$work/whole/search.json'))['history']))")
echo "uninterrupted: $epochs epochs"

# Kill -9 once the checkpoint holds at least 3 epochs (and before the end).
"$faunae" search --run "$work/killed" --config "$work/tiny.json" -q > "$work/killed.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  if [ -f "$work/killed/checkpoint.json" ] &&
     python3 -c "import json,sys; sys.exit(0 if json.load(open('$work/killed/checkpoint.json'))['payload']['state']['epoch'] >= 2 else 1)" 2> /dev/null; then
    break
  fi
  sleep 0.1
done
kill -9 "$pid" 2> /dev/null || { echo "FAIL: the search ended before it could be killed"; exit 1; }
wait "$pid" 2> /dev/null || true
[ ! -f "$work/killed/search.json" ] || { echo "FAIL: the killed search got to the end"; exit 1; }
echo "killed at epoch $(python3 -c "import json; print(json.load(open('$work/killed/checkpoint.json'))['payload']['state']['epoch'])")"

"$faunae" search --run "$work/killed" --resume -q > "$work/resumed.out" 2>&1
grep -q "resumed from" "$work/resumed.out" || { echo "FAIL: --resume did not resume"; cat "$work/resumed.out"; exit 1; }

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
whole = json.load(open(f"{work}/whole/search.json"))
resumed = json.load(open(f"{work}/killed/search.json"))
def strip(history):  # wall-clock seconds differ; everything else must not
    return [dict(h, metrics=[m for m in h["metrics"] if m[0] != "seconds"]) for h in history]
assert whole["found"] == resumed["found"], (whole["found"], resumed["found"])
assert strip(whole["history"]) == strip(resumed["history"]), "histories differ"
assert whole["alive"] == resumed["alive"]
print("same architecture and history:", whole["found"]["ops"])
# search.max_params defaults to alpha0: the evolved network is no larger than α0.
assert whole["found"]["params"] <= whole["initial"]["params"], (whole["found"]["params"], whole["initial"]["params"])
PY

# A bad key is refused, naming it; nothing is written over the run.
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.epochs_per_opp=3 > "$work/bad.out" 2>&1; then
  echo "FAIL: an unknown key was accepted"; exit 1
fi
grep -q "unknown key 'search.epochs_per_opp'" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.batch_size=15 > "$work/bad.out" 2>&1; then
  echo "FAIL: queue_size 64 with batch 15 was accepted"; exit 1
fi
grep -q "search.queue_size" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.max_params=big > "$work/bad.out" 2>&1; then
  echo "FAIL: search.max_params=big was accepted"; exit 1
fi
grep -q "'search.max_params' must be alpha0, none or a positive number" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
# Found by tests/fuzz/config: a --set value that is neither JSON nor UTF-8 is refused as such (it
# escaped as nlohmann's type_error from the error message that dumped it).
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set $'search.lr=\xff' > "$work/bad.out" 2>&1; then
  echo "FAIL: a --set value of invalid UTF-8 was accepted"; exit 1
fi
grep -q "is not valid UTF-8" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
echo PASS

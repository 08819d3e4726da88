#!/usr/bin/env bash
# The `faunae` program survives SIGKILL: a search killed in the middle (after its checkpoint holds a
# few epochs) and resumed with --resume ends with the same architecture and the same history (losses,
# mutations, eliminations) as an uninterrupted search with the same seed, whatever search.method runs
# it; every method makes as many evaluations as the faithful FaUNAE plans. With the default method
# also: bad configuration keys (and a bad search.method) are refused with a message naming them, and a
# run cannot be resumed under another search.method.
#   kill_resume.sh path/to/faunae work_dir [method [evaluator]]   (method: faunae (default), faunae-ts,
#                                                        faunae-r, random, rea, local; evaluator:
#                                                        contrastive (default), rotation, ...)
set -euo pipefail
faunae=$1
work=$2
method=${3:-faunae}
evaluator=${4:-contrastive}
source "$(dirname "${BASH_SOURCE[0]}")/tiny_config.sh"
fresh_work_dir "$work"
# 20 steps per epoch instead of 2, so that an epoch outlasts the poll below (a Python start and 0.1 s):
# since the program keeps freed memory (cpu_memory.hpp), random search's and REA's tiny epochs took
# under 0.1 s and the search ended before it could be killed.
write_tiny_config "$work/tiny.json" 20
if [ "$method" != faunae ]; then
  # rea with population 4 and tournaments of 2: 4 random members, then 7 children in the 11 evaluations.
  python3 - "$work/tiny.json" "$method" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["search"].update({"method": sys.argv[2], "rea_population": 4, "rea_sample": 2})
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
fi
if [ "$evaluator" != contrastive ]; then
  python3 - "$work/tiny.json" "$evaluator" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["search"].update({"evaluator": sys.argv[2], "rotation_steps": 10, "rotation_batch_size": 32})
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
fi

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

python3 - "$work" "$method" <<'PY'
import json, sys
work, method = sys.argv[1], sys.argv[2]
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
# Every method evaluates as many architectures as the faithful FaUNAE plans: 1 + Σ_{m=2}^{K} m·E.
E = whole["config"]["search"]["epochs_per_op"]
K = max(len(b["ops"]) for b in whole["space"]["blocks"])
planned = 1 + sum(m * E for m in range(2, K + 1))
assert whole["evaluations"] == len(whole["history"]) == planned, (whole["evaluations"], len(whole["history"]), planned)
assert whole["method"] == resumed["method"] == method, (whole["method"], method)
assert whole["finished"] and isinstance(whole["evaluated"], bool), whole
if method in ("random", "rea", "local"):  # the baselines return the best architecture they evaluated
    assert whole["evaluated"], "a baseline returned an architecture it did not evaluate"
    assert whole["found"]["architecture"] in [h["evaluated"] for h in whole["history"]]
print(f"{method}: {planned} evaluations, found evaluated: {whole['evaluated']}")
PY

# The report names the method and renders the run (the new policies log no probabilities).
"$faunae" report --run "$work/killed" > "$work/report.out" 2>&1 || { echo "FAIL: report"; cat "$work/report.out"; exit 1; }
grep -q "method <code>$method</code>" "$work/killed/report.html" || { echo "FAIL: the report does not name the method"; exit 1; }

[ "$method" = faunae ] || { echo PASS; exit 0; }

# A run cannot continue under another method: refused, naming both, and the run's config.json stays.
if "$faunae" search --run "$work/killed" --resume --set search.method=rea -q > "$work/bad.out" 2>&1; then
  echo "FAIL: a faunae run was resumed as rea"; exit 1
fi
grep -q "written by search.method = 'faunae', it cannot continue as search.method = 'rea'" "$work/bad.out" ||
  { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
python3 -c "import json,sys; sys.exit(0 if json.load(open('$work/killed/config.json'))['search']['method'] == 'faunae' else 1)" ||
  { echo "FAIL: a refused --resume changed config.json"; exit 1; }

# A bad key is refused, naming it; nothing is written over the run.
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.epochs_per_opp=3 > "$work/bad.out" 2>&1; then
  echo "FAIL: an unknown key was accepted"; exit 1
fi
grep -q "unknown key 'search.epochs_per_opp'" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.batch_size=15 > "$work/bad.out" 2>&1; then
  echo "FAIL: queue_size 64 with batch 15 was accepted"; exit 1
fi
grep -q "the queue size K = 64 must be a multiple of the batch size, got a batch of 15" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.max_params=big > "$work/bad.out" 2>&1; then
  echo "FAIL: search.max_params=big was accepted"; exit 1
fi
grep -q "'search.max_params' must be alpha0, none or a positive number" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.method=bogus > "$work/bad.out" 2>&1; then
  echo "FAIL: search.method=bogus was accepted"; exit 1
fi
grep -q "'search.method' must be one of faunae, faunae-ts, faunae-lt, faunae-r, random, rea, local, got 'bogus'" "$work/bad.out" ||
  { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set search.method=rea --set search.rea_sample=9 > "$work/bad.out" 2>&1; then
  echo "FAIL: search.rea_sample above the population was accepted"; exit 1
fi
grep -qF "(RegularizedEvolutionOptions: population = rea_population, sample = rea_sample): sample must be in [1, population = 8], got 9" "$work/bad.out" ||
  { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
# Found by tests/fuzz/config: a --set value that is neither JSON nor UTF-8 is refused as such (it
# escaped as nlohmann's type_error from the error message that dumped it).
if "$faunae" search --run "$work/bad" --config "$work/tiny.json" --set $'search.lr=\xff' > "$work/bad.out" 2>&1; then
  echo "FAIL: a --set value of invalid UTF-8 was accepted"; exit 1
fi
grep -q "is not valid UTF-8" "$work/bad.out" || { echo "FAIL: message"; cat "$work/bad.out"; exit 1; }
echo PASS

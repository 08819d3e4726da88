#!/usr/bin/env bash
# ground_truth --keys (benchmarks/end_to_end.sh judges found architectures with it): a key of the
# wrong length or with an op the block lacks is refused with the rule; given keys are trained (and
# only they), the runs file records sample = keys, and the table holds them with within_budget.
#   ground_truth_keys.sh <ground_truth binary> <scratch folder>
set -euo pipefail
bin=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
tiny=(--seeds 0 --train-images 64 --test-images 64 --resolution 14 --batch 32 --threads 1)
expect_refusal() {  # expect_refusal <pattern> <args...>
  local pattern=$1; shift
  if "$bin" "$@" > "$dir/out" 2>&1; then echo "FAIL: accepted $*"; exit 1; fi
  grep -q -- "$pattern" "$dir/out" || { echo "FAIL: $* said:"; cat "$dir/out"; exit 1; }
}
expect_refusal "has 4 characters, the space has 8 blocks" --keys 0123 "${tiny[@]}" --runs "$dir/bad.jsonl"
expect_refusal "character 2 ('7') is not the index in --ops" --keys 00700000 "${tiny[@]}" --runs "$dir/bad.jsonl"
expect_refusal "character 0 ('3') is not the index in --ops" --keys 30000000 "${tiny[@]}" --runs "$dir/bad.jsonl"  # no identity where a stage begins
"$bin" --keys 03030303,00000000 "${tiny[@]}" --runs "$dir/runs.jsonl" --table "$dir/table.json" > "$dir/out"
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(f"{d}/runs.jsonl")]
assert lines[0]["recipe"]["sample"] == "keys", lines[0]
assert sorted(r["key"] for r in lines[1:]) == ["00000000", "03030303"], lines[1:]
assert all(r["why"] == "given" for r in lines[1:])
table = json.load(open(f"{d}/table.json"))
assert sorted(table) == ["00000000", "03030303"], table
w = json.load(open(f"{d}/table.json.provenance.json"))["within_budget"]
assert w == {"03030303": True, "00000000": True}, w   # identity wherever allowed is smaller; α0 is the budget
print("ground_truth --keys: ok")
PY

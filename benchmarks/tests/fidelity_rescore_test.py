#!/usr/bin/env python3
"""fidelity_rescore.py: reproduces the taus evaluator_fidelity stored (same truth seeds), moves them
when the truth has more seeds, and refuses a key or a seed the runs file lacks. Small files of its own."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "fidelity_rescore.py")
sys.path.insert(0, os.path.join(HERE, ".."))
from truth_reliability import kendall_tau_b  # noqa: E402


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args, "--resamples", "50"], capture_output=True, text=True)


def main():
    keys = [f"{i:04d}" for i in range(8)]
    acc = {0: [80, 81, 82, 83, 84, 85, 86, 87], 1: [81, 80, 83, 82, 85, 84, 87, 86], 2: [87, 86, 85, 84, 83, 82, 81, 80]}
    score = [1, 2, 3, 4, 5, 6, 8, 7]
    with tempfile.TemporaryDirectory() as d:
        runs = os.path.join(d, "runs.jsonl")
        with open(runs, "w") as f:
            f.write(json.dumps({"recipe": {"threads": 1}}) + "\n")
            for s, values in acc.items():
                for k, a in zip(keys, values):
                    f.write(json.dumps({"key": k, "seed": s, "test_acc": a, "seconds": 1.0}) + "\n")
        truth01 = [(a + b) / 2 for a, b in zip(acc[0], acc[1])]
        fid = os.path.join(d, "fidelity.json")
        with open(fid, "w") as f:
            json.dump({"keys": keys, "rows": [{"evaluator": "toy", "scores": score, "tau": kendall_tau_b(score, truth01)}]}, f)
        out_json = os.path.join(d, "out.json")
        r = run(runs, fid, "--seeds", "0,1", "--json", out_json)
        assert r.returncode == 0, r.stderr
        rows = json.load(open(out_json))["rows"]
        toy = [x for x in rows if x["evaluator"] == "toy"][0]
        assert abs(toy["tau"] - toy["tau_stored"]) < 1e-12, toy
        assert abs(rows[0]["tau"] - kendall_tau_b(acc[0], acc[1])) < 1e-12, rows[0]
        # With seed 2 (reversed ranking) the truth and the tau change; default = every shared seed.
        r = run(runs, fid, "--json", out_json)
        assert r.returncode == 0, r.stderr
        doc = json.load(open(out_json))
        assert doc["seeds"] == [0, 1, 2], doc["seeds"]
        truth012 = [sum(v) / 3 for v in zip(acc[0], acc[1], acc[2])]
        toy = [x for x in doc["rows"] if x["evaluator"] == "toy"][0]
        assert abs(toy["tau"] - kendall_tau_b(score, truth012)) < 1e-12, toy
        # --mean: the mean of two rows' scores, as a row of its own; a row that is not there is refused.
        with open(fid, "w") as f:
            json.dump({"keys": keys, "rows": [{"evaluator": "toy", "scores": score},
                                              {"evaluator": "other", "scores": list(reversed(score))}]}, f)
        r = run(runs, fid, "--seeds", "0,1", "--mean", f"{fid}=toy,{fid}=other", "--json", out_json)
        assert r.returncode == 0, r.stderr
        mean_row = [x for x in json.load(open(out_json))["rows"] if x["evaluator"].startswith("mean of")][0]
        mean = [(a + b) / 2 for a, b in zip(score, reversed(score))]
        assert abs(mean_row["tau"] - kendall_tau_b(mean, truth01)) < 1e-12, mean_row
        r = run(runs, fid, "--mean", f"{fid}=toy,{fid}=absent")
        assert r.returncode != 0 and "no row 'absent'" in r.stderr, r.stderr
        # Refusals: a seed the runs file lacks, a key it lacks.
        r = run(runs, fid, "--seeds", "0,3")
        assert r.returncode != 0 and "no run with seed(s) [3]" in r.stderr, r.stderr
        with open(fid, "w") as f:
            json.dump({"keys": keys[:7] + ["9999"], "rows": [{"evaluator": "toy", "scores": score}]}, f)
        r = run(runs, fid)
        assert r.returncode != 0 and "9999" in r.stderr, r.stderr
    print("fidelity_rescore: ok")


if __name__ == "__main__":
    main()

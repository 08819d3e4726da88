#!/usr/bin/env python3
"""Is a search method behind local search or the best regularized evolution anywhere? (issue 29)

    benchmarks/search_robustness.py [--build build] [--seeds 2000] [--method lt] [--methods a,b,...]
                                    [--tables macro,channel-resnet,...] [--out DIR] [--markdown]
                                    [--loto a,b,...] [--oracle]

Runs benchmarks/search_quality on every table of TABLES below, in every setting (both budgets, both
kinds of α0: the table's existing network and a random one, without and with evaluation noise), and
compares --method, paired by seed, with local search and with the best of the regularized-evolution
grid in that setting (the REA whose mean is highest there: the baseline a user tuned on the answer).
A setting counts as "behind" when the difference is below -2 SE, "ahead" when above +2 SE.
Per-setting JSON (every row's truth per seed) goes to --out; reruns reuse files that exist
(--fresh reruns them). Standard library only.

The leave-one-table-out report (--markdown) prints each table family on its own, so that a rule
chosen on the others can be read on the one held out.

--oracle asks what choosing among the methods run could reach at best: per setting, whether any of
them is ahead of both baselines or at least not behind (a choice made with hindsight, per setting),
and per kind of α0, the method with the fewest settings behind (then the most ahead) for existing
networks and for random α0, with the pair's record (a choice that knows α0's kind). An upper bound
for rules that pick among these methods; not a method.
"""
import argparse
import json
import math
import os
import subprocess
import sys

SHARED = os.environ.get("FAUNAE_SHARED_DIR", "../shared")
TNB = "benchmarks/data/transnas-bench-101-micro/transnas-bench-101-micro_{}.json"
CBM = "benchmarks/data/channel-bench-macro/channel-bench-macro_{}_cifar10.json"
# family, table file, search_quality flags, budgets (E), existing α0, noise settings (fidelity, noise SD)
TABLES = {
    "macro": (f"{SHARED}/data/nas-bench-macro/nas-bench-macro_cifar10.json", [], "3,20", "11111111",
              [("mean", 0.0), ("run", 0.0)]),
    "channel-resnet": (CBM.format("resnet"), ["--plain"], "3,11", "3333333", [("mean", 0.0), ("run", 0.0)]),
    "channel-mobilenet": (CBM.format("mobilenet"), ["--plain"], "3,11", "3333333", [("mean", 0.0), ("run", 0.0)]),
    "tnb-class_scene": (TNB.format("class_scene"), ["--plain"], "3,11", "333333", [("mean", 0.0), ("mean", 0.5)]),
    "tnb-class_object": (TNB.format("class_object"), ["--plain"], "3,11", "333333", [("mean", 0.0), ("mean", 0.5)]),
    "tnb-jigsaw": (TNB.format("jigsaw"), ["--plain"], "3,11", "333333", [("mean", 0.0), ("mean", 0.5)]),
}
FAMILY = {"macro": "NAS-Bench-Macro", "channel-resnet": "Channel-Bench-Macro", "channel-mobilenet": "Channel-Bench-Macro",
          "tnb-class_scene": "TransNAS-Bench-101 micro", "tnb-class_object": "TransNAS-Bench-101 micro",
          "tnb-jigsaw": "TransNAS-Bench-101 micro"}
BASELINES = ["local", "rea-4-2", "rea-8-4", "rea-16-4", "rea-20-5", "random"]


def paired(a, b):
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    m = sum(d) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in d) / (n - 1)) if n > 1 else 0.0
    se = sd / math.sqrt(n)
    return m, se, (m / se if se > 0 else 0.0)


def run_table(args, name, methods):
    path, flags, budgets, alpha0, noises = TABLES[name]
    out = []
    for fidelity, noise in noises:
        target = os.path.join(args.out, f"{name}-{fidelity}-{noise:g}.json")
        if args.fresh or not os.path.exists(target):
            cmd = [os.path.join(args.build, "benchmarks", "search_quality"), "--table", path, *flags, "--epochs-per-op", budgets,
                   "--alpha0", f"{alpha0},random", "--seeds", str(args.seeds), "--fidelity", fidelity, "--noise", str(noise),
                   "--methods", ",".join(methods), "--json", target]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(target, encoding="utf-8") as f:
            data = json.load(f)
        for setting in data["settings"]:
            rows = {r["key"]: r["truth"] for r in setting["rows"]}
            out.append({"table": name, "fidelity": fidelity, "noise": noise, "evaluations": setting["evaluations"],
                        "alpha0": "existing" if setting["alpha0"] != "random" else "random", "rows": rows})
    return out


def judge(setting, method):
    rows = setting["rows"]
    mean = {k: sum(v) / len(v) for k, v in rows.items()}
    reas = [k for k in rows if k.startswith("rea-")]
    best_rea = max(reas, key=lambda k: mean[k])
    vs_local = paired(rows[method], rows["local"])
    vs_rea = paired(rows[method], rows[best_rea])
    return {"vs_local": vs_local, "vs_best_rea": vs_rea, "best_rea": best_rea, "mean": mean[method],
            "behind": vs_local[2] < -2 or vs_rea[2] < -2, "ahead_of_both": vs_local[2] > 2 and vs_rea[2] > 2}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seeds", type=int, default=2000)
    ap.add_argument("--method", default="lt", help="the method judged (a search_quality method key)")
    ap.add_argument("--methods", default="faunae,faunae-ts,lt", help="methods run besides the baselines")
    ap.add_argument("--tables", default=",".join(TABLES))
    ap.add_argument("--out", default="search-robustness")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--markdown", action="store_true", help="print the per-setting table")
    ap.add_argument("--loto", help="candidates (comma-separated method keys) for a leave-one-family-out choice")
    ap.add_argument("--oracle", action="store_true", help="the best any choice among --methods reaches (upper bounds)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    methods = list(dict.fromkeys(args.methods.split(",") + [args.method] + BASELINES))
    judged = args.method
    settings = []
    for name in args.tables.split(","):
        if name not in TABLES:
            sys.exit(f"search_robustness: unknown table '{name}' (known: {', '.join(TABLES)})")
        settings += run_table(args, name, methods)
    print(f"{judged} against local search and the best REA of the grid, {args.seeds} seeds, paired by seed (difference ± SE (z)):\n")
    print("| table | noise | evaluations | α0 | vs local search | vs best REA (which) | verdict |")
    print("|---|---|---:|---|---:|---:|---|")
    per_table = {}
    for s in settings:
        j = judge(s, judged)
        noise = "none" if s["noise"] == 0 and s["fidelity"] == "mean" else ("measured run" if s["fidelity"] == "run" else f"N(0, {s['noise']:g}²)")
        verdict = "behind" if j["behind"] else ("ahead of both" if j["ahead_of_both"] else "level")
        l, r = j["vs_local"], j["vs_best_rea"]
        if args.markdown:
            print(f"| {s['table']} | {noise} | {s['evaluations']} | {s['alpha0']} | {l[0]:+.3f} ± {l[1]:.3f} ({l[2]:+.1f}) | "
                  f"{r[0]:+.3f} ± {r[1]:.3f} ({r[2]:+.1f}) {j['best_rea']} | {verdict} |")
        t = per_table.setdefault(s["table"], {"n": 0, "behind": 0, "ahead": 0, "worst_z": math.inf})
        t["n"] += 1
        t["behind"] += j["behind"]
        t["ahead"] += j["ahead_of_both"]
        t["worst_z"] = min(t["worst_z"], l[2], r[2])
    print("\n| table | settings | behind (< −2 SE) | ahead of both (> +2 SE) | worst z |")
    print("|---|---:|---:|---:|---:|")
    total = {"n": 0, "behind": 0, "ahead": 0}
    for name, t in per_table.items():
        print(f"| {name} | {t['n']} | {t['behind']} | {t['ahead']} | {t['worst_z']:+.1f} |")
        for k in total:
            total[k] += t[k]
    print(f"| all | {total['n']} | {total['behind']} | {total['ahead']} ({100 * total['ahead'] / max(total['n'], 1):.0f} %) | |")
    if args.loto:
        leave_one_family_out(settings, args.loto.split(","))
    if args.oracle:
        oracle(settings, [m for m in methods if m not in BASELINES and m != "faunae"])


def record(settings, method):
    n = behind = ahead = 0
    for s in settings:
        j = judge(s, method)
        n, behind, ahead = n + 1, behind + j["behind"], ahead + j["ahead_of_both"]
    return n, behind, ahead


def choose_by_kind(verdicts, settings, candidates, among):
    """Per kind of α0, the candidate with the fewest settings behind (ties: the most ahead of both, then
    the order given) over the settings `among` (indices)."""
    chosen = {}
    for kind in ("existing", "random"):
        idx = [i for i in among if settings[i]["alpha0"] == kind]
        rec = {c: (sum(verdicts[i][c]["behind"] for i in idx), sum(verdicts[i][c]["ahead_of_both"] for i in idx)) for c in candidates}
        chosen[kind] = min(candidates, key=lambda c: (rec[c][0], -rec[c][1]))
    return chosen


def oracle_bounds(settings, candidates):
    """Upper bounds for rules that choose among `candidates`:
    - any_ahead / any_not_behind: settings where some candidate is ahead of both / not behind (hindsight per setting);
    - every_behind: the settings where every candidate is behind;
    - by_kind: the choice per kind of α0 on all settings, its (behind, ahead of both);
    - by_kind_held_out: that choice made on all families but one, read on the one held out, summed, and
      the choices {family: {kind: method}}."""
    verdicts = [{c: judge(s, c) for c in candidates} for s in settings]
    everything = range(len(settings))
    chosen = choose_by_kind(verdicts, settings, candidates, everything)
    by_kind = (sum(verdicts[i][chosen[s["alpha0"]]]["behind"] for i, s in enumerate(settings)),
               sum(verdicts[i][chosen[s["alpha0"]]]["ahead_of_both"] for i, s in enumerate(settings)))
    held_behind = held_ahead = 0
    held_choices = {}
    for family in dict.fromkeys(FAMILY[s["table"]] for s in settings):
        train = [i for i in everything if FAMILY[settings[i]["table"]] != family]
        c = held_choices[family] = choose_by_kind(verdicts, settings, candidates, train)
        for i in everything:
            if FAMILY[settings[i]["table"]] == family:
                held_behind += verdicts[i][c[settings[i]["alpha0"]]]["behind"]
                held_ahead += verdicts[i][c[settings[i]["alpha0"]]]["ahead_of_both"]
    return {"n": len(settings), "verdicts": verdicts,
            "any_ahead": sum(any(j["ahead_of_both"] for j in v.values()) for v in verdicts),
            "any_not_behind": sum(any(not j["behind"] for j in v.values()) for v in verdicts),
            "every_behind": [i for i, v in enumerate(verdicts) if all(j["behind"] for j in v.values())],
            "by_kind_choice": chosen, "by_kind": by_kind, "by_kind_held_out": (held_behind, held_ahead), "held_out_choices": held_choices}


def oracle(settings, candidates):
    b = oracle_bounds(settings, candidates)
    n, pct = b["n"], lambda k: f"{100 * k / max(b['n'], 1):.0f} %"
    print(f"\nChoosing among {', '.join(candidates)} (upper bounds, not methods):\n")
    print(f"- per setting, with hindsight: some method ahead of both in {b['any_ahead']} of {n} ({pct(b['any_ahead'])}), "
          f"some method not behind in {b['any_not_behind']} of {n}")
    for i in b["every_behind"]:
        s, v = settings[i], b["verdicts"][i]
        c = max(v, key=lambda k: min(v[k]["vs_local"][2], v[k]["vs_best_rea"][2]))
        print(f"  - every method behind: {s['table']}, noise {s['fidelity']} {s['noise']:g}, {s['evaluations']} evaluations, "
              f"α0 {s['alpha0']} (closest: {c}, {v[c]['vs_local'][0]:+.3f} against local search, "
              f"{v[c]['vs_best_rea'][0]:+.3f} against {v[c]['best_rea']})")
    k = b["by_kind_choice"]
    print(f"- knowing α0's kind: {k['existing']} from an existing network, {k['random']} from a random one: "
          f"behind in {b['by_kind'][0]}, ahead of both in {b['by_kind'][1]} of {n} ({pct(b['by_kind'][1])})")
    for family, c in b["held_out_choices"].items():
        print(f"  - {family} held out: chosen on the others {c['existing']} (existing), {c['random']} (random)")
    hb, ha = b["by_kind_held_out"]
    print(f"- the same choice by kind, leave one family out: behind in {hb}, ahead of both in {ha} of {n} ({pct(ha)})")


def leave_one_family_out(settings, candidates):
    """For each family of tables held out: the candidate with the fewest settings behind on the other
    families (ties: the most ahead of both, then the order given) is chosen, then read on the held-out one."""
    print("\nLeave one family of tables out: the rule is chosen on the other families, then read on the held-out one.\n")
    print("| held out | chosen on the others (behind / ahead of both / settings there) | held out: behind | ahead of both | settings |")
    print("|---|---|---:|---:|---:|")
    for family in dict.fromkeys(FAMILY[s["table"]] for s in settings):
        train = [s for s in settings if FAMILY[s["table"]] != family]
        test = [s for s in settings if FAMILY[s["table"]] == family]
        scored = [(record(train, c), i, c) for i, c in enumerate(candidates)]
        (n, behind, ahead), _, chosen = min(scored, key=lambda t: (t[0][1], -t[0][2], t[1]))
        tn, tb, ta = record(test, chosen)
        print(f"| {family} | {chosen} ({behind} / {ahead} / {n}) | {tb} | {ta} | {tn} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""search_robustness.py: judge() marks "behind" and "ahead of both" by paired z against local search and
the best REA; oracle_bounds() counts what choosing among methods reaches, per setting, per kind of α0,
and per kind with one family of tables held out. Synthetic settings, no search run."""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import search_robustness as sr  # noqa: E402


def setting(table, alpha0, offsets, seeds=200, rng=random.Random(7)):
    """Every method's truth per seed: a shared per-seed level, the method's offset and a little noise."""
    levels = [rng.gauss(90, 1) for _ in range(seeds)]
    rows = {m: [lv + off + rng.gauss(0, 0.01) for lv in levels] for m, off in offsets.items()}
    return {"table": table, "fidelity": "mean", "noise": 0.0, "evaluations": 28, "alpha0": alpha0, "rows": rows}


def check(cond, what):
    if not cond:
        sys.exit(f"search_robustness_test: {what}")


def main():
    base = {"local": 0.0, "rea-8-4": 0.0, "rea-16-4": -0.5}
    # "scan" wins from existing networks, "noscan" from random ones; on jigsaw's existing setting both lose.
    settings = [
        setting("macro", "existing", {**base, "scan": 0.2, "noscan": -0.1}),
        setting("macro", "random", {**base, "scan": 0.1, "noscan": 0.3}),
        setting("channel-resnet", "existing", {**base, "scan": 0.2, "noscan": 0.0}),
        setting("channel-resnet", "random", {**base, "scan": 0.0, "noscan": 0.2}),
        setting("tnb-jigsaw", "existing", {**base, "scan": -0.2, "noscan": -0.3}),
        setting("tnb-jigsaw", "random", {**base, "scan": -0.1, "noscan": 0.2}),
    ]
    j = sr.judge(settings[0], "scan")
    check(j["ahead_of_both"] and not j["behind"] and j["best_rea"] == "rea-8-4", f"judge, clear lead: {j}")
    j = sr.judge(settings[2], "noscan")
    check(not j["ahead_of_both"] and not j["behind"], f"judge, a tie is level: {j}")
    check(sr.judge(settings[0], "noscan")["behind"], "judge, clear loss")

    b = sr.oracle_bounds(settings, ["scan", "noscan"])
    check(b["n"] == 6, b["n"])
    check(b["any_ahead"] == 5 and b["any_not_behind"] == 5, f"per setting: {b['any_ahead']}, {b['any_not_behind']}")
    check(b["every_behind"] == [4], f"every method behind: {b['every_behind']}")
    check(b["by_kind_choice"] == {"existing": "scan", "random": "noscan"}, b["by_kind_choice"])
    check(b["by_kind"] == (1, 5), f"by kind: {b['by_kind']}")
    # Held out, each family's choice comes from the others: the same here, so the same record.
    check(b["by_kind_held_out"] == (1, 5), f"held out: {b['by_kind_held_out']}")
    check(b["held_out_choices"]["TransNAS-Bench-101 micro"] == {"existing": "scan", "random": "noscan"}, b["held_out_choices"])

    # With the macro family alone favouring "scan" from random α0, holding it out changes its choice.
    settings[1] = setting("macro", "random", {**base, "scan": 0.6, "noscan": 0.3})
    settings[3] = setting("channel-resnet", "random", {**base, "scan": 0.2, "noscan": 0.2})
    b = sr.oracle_bounds(settings, ["scan", "noscan"])
    check(b["held_out_choices"]["NAS-Bench-Macro"]["random"] == "noscan", b["held_out_choices"])
    check(b["held_out_choices"]["TransNAS-Bench-101 micro"]["random"] == "scan", b["held_out_choices"])
    print("search_robustness_test: ok")


if __name__ == "__main__":
    main()

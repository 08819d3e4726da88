#!/usr/bin/env python3
"""Summary tables of the search-quality benchmark, computed from the blocks that
benchmarks/search_quality.sh generates in docs/experiment-log.md (tags search-quality-{macro,channel}-{mean,run}).

    benchmarks/search_quality_summary.py [--log docs/experiment-log.md] [--doc docs/benchmarks.md] [--write]

Prints three Markdown tables (the recommended search against the baselines, its ablations, the credit
assignment) and, with --write, replaces the blocks <!-- search-quality-summary:begin --> ... :end -->,
<!-- search-quality-ablations:... --> and <!-- search-quality-credit:... --> with them, in whichever
of --doc and --log holds each (today: the summary in --doc, the other two in --log).
The generated blocks are read from --log (which may be the same file as --doc).
Standard library only; every number comes from the generated blocks, none is typed in by hand.
"""
import argparse
import re
import sys

RECOMMENDED = "FaUNAE-TS (recommended)"
FAITHFUL = "FaUNAE (faithful)"
BENCHMARKS = [("macro", "NAS-Bench-Macro", "NAS"), ("channel", "Channel-Bench-Macro", "Channel")]
NOISE = [("mean", "none"), ("run", "measured runs")]


def block(doc, tag):
    m = re.search(rf"<!-- {re.escape(tag)}:begin -->\n(.*?)<!-- {re.escape(tag)}:end -->", doc, re.S)
    if not m:
        sys.exit(f"search_quality_summary: the log has no block '{tag}' (run benchmarks/search_quality.sh first)")
    return m.group(1)


def settings(text):
    """Yields (evaluations, alpha0, methods, differences) for each '#### E = ...' section of a block."""
    for section in re.split(r"^#### ", text, flags=re.M)[1:]:
        head = re.match(r"E = \d+ → (\d+) evaluations, α0 = (.+)", section)
        if not head:
            continue
        methods = {}
        for row in re.finditer(r"^\| (.+?) \| ([\d.]+) ± ([\d.]+) \| (\d+)% \| (.+?) \|$", section, re.M):
            credit = re.match(r"(\d+)% / (\d+)%", row.group(5))
            methods[row.group(1)] = {"mean": float(row.group(2)), "evaluated": int(row.group(4)),
                                     "credit": (int(credit.group(1)), int(credit.group(2))) if credit else None}
        diffs = {}
        # The difference, its SE and the difference in SEs (computed before rounding: an SE printed as
        # 0.000 still has its ratio).
        for row in re.finditer(r"^- − (.+?): ([+-][\d.]+) ± ([\d.]+) \(([+-][\d.]+) SE\)", section, re.M):
            diffs[row.group(1)] = (float(row.group(2)), float(row.group(3)), float(row.group(4)))
        yield int(head.group(1)), head.group(2).strip(), methods, diffs


def fmt_diff(d, with_z=True):
    mean, se, z = d
    return f"{mean:+.3f} ± {se:.3f}" + (f" ({z:+.1f} SE)" if with_z else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", default="docs/experiment-log.md", help="the file holding the generated blocks")
    ap.add_argument("--doc", default="docs/benchmarks.md", help="the file holding the summary blocks")
    ap.add_argument("--write", action="store_true", help="replace the summary blocks of --doc")
    args = ap.parse_args()
    log = open(args.log, encoding="utf-8").read()

    rows = []
    for key, name, short in BENCHMARKS:
        for fid, noise in NOISE:
            for evaluations, alpha0, methods, diffs in settings(block(log, f"search-quality-{key}-{fid}")):
                rows.append((name, short, noise, evaluations, alpha0, methods, diffs))
    if not rows:
        sys.exit("search_quality_summary: the generated blocks hold no settings")

    summary = ["| Benchmark | Noise | Evaluations | α0 | FaUNAE (faithful) | Random | Best REA | Local search | **FaUNAE-TS** "
               "| TS − best REA | TS − local search |", "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    ahead = {"rea": 0, "local": 0}
    for name, _, noise, ev, a0, m, d in rows:
        rea = max((k for k in m if k.startswith("Regularized evolution")), key=lambda k: m[k]["mean"])
        p = re.search(r"\((.*)\)", rea).group(1)
        for which, other in (("rea", rea), ("local", "Local search")):
            ahead[which] += d[other][2] > 2
        summary.append(f"| {name} | {noise} | {ev} | {a0} | {m[FAITHFUL]['mean']:.3f} | {m['Random search']['mean']:.3f} "
                       f"| {m[rea]['mean']:.3f} ({p}) | {m['Local search']['mean']:.3f} | **{m[RECOMMENDED]['mean']:.3f}** "
                       f"| {fmt_diff(d[rea])} | {fmt_diff(d['Local search'])} |")
    summary.append("")
    summary.append(f"FaUNAE-TS is ahead (paired difference > 2 SE) of the best regularized evolution in {ahead['rea']} of "
                   f"{len(rows)} settings and of local search in {ahead['local']} of {len(rows)}.")

    ablation_names = [k for k in rows[0][5] if k.startswith("FaUNAE-TS") and k != RECOMMENDED]
    ablation_names.append("FaUNAE-R (RegressionElimination), best evaluated")
    ablations = ["| Setting | " + " | ".join(ablation_names) + " |", "|---|" + "---:|" * len(ablation_names)]
    for _, short, noise, ev, a0, m, d in rows:
        cells = [fmt_diff(d[k], with_z=False) if k in d else "—" for k in ablation_names]
        ablations.append(f"| {short}, {noise}, {ev}, {a0} | " + " | ".join(cells) + " |")

    credit = ["| Setting | faithful: worst / best removed | faithful: result evaluated | FaUNAE-TS: worst / best removed "
              "| FaUNAE-TS: result evaluated |", "|---|---:|---:|---:|---:|"]
    for _, short, noise, ev, a0, m, _ in rows:
        f, t = m[FAITHFUL], m[RECOMMENDED]
        credit.append(f"| {short}, {noise}, {ev}, {a0} | {f['credit'][0]}% / {f['credit'][1]}% | {f['evaluated']}% "
                      f"| {t['credit'][0]}% / {t['credit'][1]}% | {t['evaluated']}% |")

    tables = {"search-quality-summary": summary, "search-quality-ablations": ablations, "search-quality-credit": credit}
    for tag, lines in tables.items():
        print("\n".join(lines) + "\n")
    if args.write:
        # Each block goes to whichever file holds its markers: the summary to the results page, the
        # ablation and credit tables to the page or the log.
        files = {path: open(path, encoding="utf-8").read() for path in dict.fromkeys([args.doc, args.log])}
        for tag, lines in tables.items():
            pattern = re.compile(rf"(<!-- {tag}:begin -->\n).*?(<!-- {tag}:end -->)", re.S)
            holders = [path for path, text in files.items() if pattern.search(text)]
            if not holders:
                sys.exit(f"search_quality_summary: neither {args.doc} nor {args.log} has a block <!-- {tag}:begin --> ... <!-- {tag}:end -->")
            for path in holders:
                files[path] = pattern.sub(lambda mm: mm.group(1) + "\n".join(lines) + "\n" + mm.group(2), files[path])
        for path, text in files.items():
            open(path, "w", encoding="utf-8").write(text)

if __name__ == "__main__":
    main()

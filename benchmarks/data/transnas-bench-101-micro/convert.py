#!/usr/bin/env python3
"""Convert TransNAS-Bench-101 (micro / cell space) results, as published in NASLib's zero-cost
benchmark files, to FaUNAE's tabular JSON format: one table per task.

Usage: python3 convert.py SRC_DIR [OUT_DIR]
  SRC_DIR holds these files from github.com/automl/NASLib (branch `zerocost`, commit 8c45f19d…,
  folder run/results/benchmarks/; see README.md, "Re-create"):
    tnb101_classification_synflow.zip   synflow score + final validation metric, 4 tasks
    tnb101_classification_epe_nas.zip   epe_nas score + final validation metric, 4 tasks
    tnb101_micro_fisher_jisgaw_all.zip  fisher score (+ final validation metric), jigsaw
    tnb101_micro_class_object_fisher.zip fisher score, class_object
  and optionally naslib/data/zc_transbench101_micro.json (NASLib commit e5a821c2…), which is only
  used to check the parameter counts computed here (see README.md).
  OUT_DIR defaults to this script's folder.

Upstream record (one per architecture and task, in JSON lists inside the zips):
  {"idx": "17", "arch": "(d0, d1, d2, d3, d4, d5)", "<proxy>": {"score": s, "time": t},
   "val_accuracy": v}
where (d0..d5) are the six digits of the TransNAS-Bench-101 cell code "d0_d1d2_d3d4d5"
(network string "64-41414-d0_d1d2_d3d4d5") and v is the validation metric at the last epoch.

Output entry, key "d0d1d2d3d4d5":
  {"mean_acc": v, "params": encoder parameter count, "synflow": s, "epe_nas": s[, "fisher": s]}

Python 3 standard library only.
"""
import hashlib
import itertools
import json
import math
import os
import statistics
import sys
import zipfile

TASKS = ("class_scene", "class_object", "jigsaw", "room_layout")
SOURCES = (  # (file, proxy, does it carry val_accuracy)
    ("tnb101_classification_synflow.zip", "synflow", True),
    ("tnb101_classification_epe_nas.zip", "epe_nas", True),
    ("tnb101_micro_fisher_jisgaw_all.zip", "fisher", True),
    ("tnb101_micro_class_object_fisher.zip", "fisher", False),
)
ZC_SUBSET = "zc_transbench101_micro.json"  # optional, for the parameter check
OPS = "0123"  # 0 none (zero), 1 skip connect, 2 ReLU-conv1x1-BN, 3 ReLU-conv3x3-BN
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # key position -> (from node, to node)
ALL_KEYS = ["".join(p) for p in itertools.product(OPS, repeat=len(EDGES))]


def parse_arch(text):
    digits = [int(x) for x in text.strip().strip("()").split(",")]
    if len(digits) != 6 or any(d not in range(4) for d in digits):
        raise SystemExit(f"unexpected arch {text!r}")
    return "".join(map(str, digits))


def read_zip(path, proxy):
    """{task: {key: (val_accuracy or None, proxy score)}} for the micro-space members of one zip."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            base = os.path.basename(name)
            if not base.endswith(".json"):
                continue
            parts = base[:-len(".json")].split("--")  # benchmark--<space>--<task>--<start index>
            if len(parts) != 4 or parts[0] != "benchmark":
                raise SystemExit(f"{path}: unexpected member {name}")
            if parts[1] != "transbench101_micro":
                continue
            table = out.setdefault(parts[2], {})
            for rec in json.loads(z.read(name)):
                key = parse_arch(rec["arch"])
                value = (rec.get("val_accuracy"), float(rec[proxy]["score"]))
                if key in table and table[key] != value:
                    raise SystemExit(f"{path}: {parts[2]} {key}: two different records")
                table[key] = value
    return out


def reaches_output(key):
    """Whether node 3 is reachable from node 0 through edges whose op is not 'none'."""
    reach = {0}
    for (a, b), op in zip(EDGES, key):  # EDGES is in topological order of the target node
        if op != "0" and a in reach:
            reach.add(b)
    return 3 in reach


def op_params(op, c_in, c_out, stride):
    """Trainable parameters of one edge op (convolutions without bias; BatchNorm with affine)."""
    if op == "0":
        return 0
    if op == "1":  # identity, or a factorized reduce (two 1x1 convs of c_out/2 filters + BN)
        return 0 if stride == 1 and c_in == c_out else c_in * c_out + 2 * c_out
    k = 1 if op == "2" else 9
    return k * c_in * c_out + 2 * c_out


def encoder_params(key):
    """Parameters of the 64-41414 backbone with this cell (stem + 5 modules of 2 cells; no task head).
    In a module's first cell the edges that leave node 0 map c_in -> c_out with the module's stride;
    every other edge maps c_out -> c_out with stride 1."""
    total = 3 * 32 * 9 + 2 * 32 + 32 * 64 * 9 + 2 * 64  # stem: conv3x3(3->32)+BN, ReLU-conv3x3(32->64)-BN
    c = 64
    for module in "41414":  # 4: channels x2 and stride 2; 1: unchanged
        c_out, stride = (2 * c, 2) if module == "4" else (c, 1)
        for c_in, s in ((c, stride), (c_out, 1)):
            total += sum(op_params(op, c_in, c_out, s) if a == 0 else op_params(op, c_out, c_out, 1)
                         for (a, _), op in zip(EDGES, key))
        c = c_out
    return total


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    src_dir = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.abspath(__file__))

    acc = {t: {} for t in TASKS}      # task -> key -> final validation metric
    proxies = {t: {} for t in TASKS}  # task -> proxy -> key -> score
    for fname, proxy, has_acc in SOURCES:
        path = os.path.join(src_dir, fname)
        print(f"{fname}: sha256 {sha256(path)}")
        for task, table in read_zip(path, proxy).items():
            if task not in TASKS:
                raise SystemExit(f"{fname}: unexpected task {task}")
            if sorted(table) != ALL_KEYS:
                raise SystemExit(f"{fname}: {task}: {len(table)} architectures, not the 4^6 = 4096 cells")
            if proxy in proxies[task]:
                raise SystemExit(f"{fname}: {task}: a second source of {proxy}")
            proxies[task][proxy] = {k: v[1] for k, v in table.items()}
            if has_acc:
                for k, (v, _) in table.items():
                    if k in acc[task] and acc[task][k] != v:
                        raise SystemExit(f"{fname}: {task} {k}: val_accuracy {v} differs from {acc[task][k]}")
                    acc[task][k] = v

    params = {k: encoder_params(k) for k in ALL_KEYS}
    zc_path = os.path.join(src_dir, ZC_SUBSET)
    if os.path.exists(zc_path):  # NASLib's model parameter counts = encoder + a constant task head
        with open(zc_path) as f:
            zc = json.load(f)
        for task, entries in zc.items():
            heads = {round(e["params"]["score"] * 1e6) - params[parse_arch(a)] for a, e in entries.items()}
            if len(heads) != 1:
                raise SystemExit(f"{ZC_SUBSET}: {task}: parameter counts are not encoder + a constant: {heads}")
            print(f"parameter check: {task}: {len(entries)} architectures = encoder + {heads.pop()} (head)")

    disconnected = [k for k in ALL_KEYS if not reaches_output(k)]
    for task in TASKS:
        if sorted(acc[task]) != ALL_KEYS:
            raise SystemExit(f"{task}: no validation metric for every architecture")
        table = {}
        for k in ALL_KEYS:
            entry = {"mean_acc": float(acc[task][k]), "params": params[k]}
            for proxy in sorted(proxies[task]):
                entry[proxy] = proxies[task][proxy][k]
            if not all(math.isfinite(v) for v in entry.values()):
                raise SystemExit(f"{task} {k}: a value is not finite: {entry}")
            table[k] = entry
        dst = os.path.join(out_dir, f"transnas-bench-101-micro_{task}.json")
        with open(dst, "w") as f:
            json.dump(table, f, separators=(",", ":"))
            f.write("\n")
        means = [table[k]["mean_acc"] for k in ALL_KEYS]
        dis = [table[k]["mean_acc"] for k in disconnected]
        best = max(ALL_KEYS, key=lambda k: table[k]["mean_acc"])
        print(f"{dst}: {len(table)} entries, proxies {sorted(proxies[task])}, mean_acc worst {min(means)} "
              f"median {statistics.median(means)} best {table[best]['mean_acc']} ({best}); "
              f"{len(disconnected)} disconnected cells span {min(dis)} .. {max(dis)}; "
              f"{os.path.getsize(dst)} bytes, sha256 {sha256(dst)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The multi-epoch InfoNCE curve of MoCo v2 in Python PyTorch: the reference for faunae's final
training (train_contrastive, moco.hpp), issue 13's "check the training itself".

The Python side of benchmarks/moco_curve.cpp, which runs this script with the same recipe and prints
the two curves side by side. The learner is moco_step.py's MocoStep (the same network, head, queue,
EMA, shuffled BN, InfoNCE, SGD and augmentation as the C++ code, operation for operation); this
script adds what train_contrastive adds: the first N Fashion-MNIST training images, one random
permutation per epoch (the last partial batch dropped), and the cosine schedule over all steps,
lr * (1 + cos(pi * t / T)) / 2 at step t.

Besides the loss it records what explains its level, per epoch: the mean positive logit q.k, the
mean and the mean maximum of the negative logits q.queue (cosine similarities, before the
temperature), and the share of queries whose positive beats every negative.

    /usr/bin/python3 benchmarks/moco_curve.py --images 10000 --epochs 3 --seed 0

Prints one JSON object on stdout (progress on stderr).
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moco_step import MocoStep  # noqa: E402


def load_fashion_mnist(path, n):
    """The first n images of Fashion-MNIST's training set (idx format, gzipped or not), uint8 N x 1 x 28 x 28."""
    name = os.path.join(path, "train-images-idx3-ubyte")
    opener = (lambda: gzip.open(name + ".gz", "rb")) if os.path.exists(name + ".gz") else (lambda: open(name, "rb"))
    with opener() as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            raise ValueError(f"{name}: not an idx3 image file (magic {magic})")
        n = count if n <= 0 else min(n, count)
        data = f.read(n * rows * cols)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(n, 1, rows, cols).clone()


class CurveStep(MocoStep):
    """MocoStep that also keeps the logits' statistics of every step."""

    def info_nce(self, q, k):
        with torch.no_grad():
            pos = (q * k).sum(1)
            neg = q.mm(self.queue.t())
            self.stats = (pos.mean().item(), neg.mean().item(), neg.max(1).values.mean().item(),
                          (pos > neg.max(1).values).float().mean().item())
        return super().info_nce(q, k)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--queue", type=int, default=4096)
    p.add_argument("--lr", type=float, default=0.06)
    p.add_argument("--constant-lr", action="store_true", help="no cosine schedule")
    p.add_argument("--m", type=float, default=0.99)
    p.add_argument("--tau", type=float, default=0.2)
    p.add_argument("--blocks", default="2,2,2,2")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--ops", required=True, help="one op name per block, comma-separated")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)

    images = load_fashion_mnist(args.data, args.images)
    blocks = tuple(int(b) for b in args.blocks.split(","))
    step = CurveStep(args.ops.split(","), args.batch, torch.device("cpu"), "fp32", False, args.seed,
                     queue_size=args.queue, m=args.m, tau=args.tau, lr=args.lr, width=args.width, blocks_per_stage=blocks)
    per_epoch = images.size(0) // args.batch
    total_steps = per_epoch * args.epochs
    order = torch.Generator().manual_seed(args.seed + 3)
    epochs, t = [], 0
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        permutation = torch.randperm(images.size(0), generator=order)
        sums = [0.0] * 5
        for b in range(per_epoch):
            lr = args.lr if args.constant_lr else args.lr * 0.5 * (1.0 + math.cos(math.pi * t / total_steps))
            for group in step.sgd.param_groups:
                group["lr"] = lr
            loss = step.train_step(images.index_select(0, permutation[b * args.batch:(b + 1) * args.batch])).item()
            for i, v in enumerate((loss,) + step.stats):
                sums[i] += v
            t += 1
        mean = [s / per_epoch for s in sums]
        epochs.append({"epoch": epoch, "loss": mean[0], "positive": mean[1], "negative": mean[2], "max_negative": mean[3],
                       "positive_wins": mean[4], "learning_rate": lr, "seconds": time.time() - start})
        print(f"python seed {args.seed} epoch {epoch}: loss {mean[0]:.4f} ({time.time() - start:.0f} s)", file=sys.stderr)
    print(json.dumps({"language": "Python", "torch": torch.__version__, "epochs": epochs}))


if __name__ == "__main__":
    main()

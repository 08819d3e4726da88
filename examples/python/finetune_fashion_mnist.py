#!/usr/bin/env python3
"""Fine-tunes a network exported by `faunae export` on Fashion-MNIST's labels and prints its test accuracy.

    faunae pipeline --run runs/demo
    faunae export --run runs/demo --out exported
    PYTHONPATH=python python3 examples/python/finetune_fashion_mnist.py exported --epochs 1 --limit 10000

The network is rebuilt in plain PyTorch by faunae.torch_net (weights.pt loaded strictly); a linear
classifier on its pooled features is trained with it, by cross-entropy and SGD (momentum 0.9, weight
decay 5e-4, the learning rate following a cosine to 0 over all steps). Images are scaled to [0, 1] and normalised with the mean and stddev the C++ program uses.

The data are the IDX files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
read with gzip and torch alone.
"""

from __future__ import annotations

import argparse
import gzip
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from faunae import torch_net

IDX_MAGIC = {0x00000801: 1, 0x00000803: 3}  # unsigned-byte labels (1 dimension), images (3 dimensions)


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (gzip-compressed or not) as a uint8 tensor of its shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic not in IDX_MAGIC:
        raise ValueError(f"{path}: magic number 0x{magic:08x} is not that of an unsigned-byte IDX file (0x801 or 0x803)")
    dims = IDX_MAGIC[magic]
    header = 4 + 4 * dims
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    if len(data) != header + math.prod(shape):
        raise ValueError(f"{path}: the header announces shape {shape} ({math.prod(shape)} bytes), the file has {len(data) - header}")
    return torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8).view(shape)


def load_split(folder: Path, train: bool, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, 28, 28) uint8 and labels (N,) int64 of the training or test split, the first `limit` (0: all)."""
    prefix = "train" if train else "t10k"
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").long()
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {images.shape[0]} {prefix} images but {labels.shape[0]} labels")
    if limit > 0:
        images, labels = images[:limit], labels[:limit]
    return images.unsqueeze(1), labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exported", type=Path, help="folder written by `faunae export` (network.json, weights.pt)")
    parser.add_argument("--data", type=Path, default=Path("/usr/share/datasets/fashion-mnist"), help="folder of the IDX .gz files")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the training images (default 1)")
    parser.add_argument("--limit", type=int, default=10000, help="first N training images, 0 = all 60000 (default 10000)")
    parser.add_argument("--test-limit", type=int, default=0, help="first N test images, 0 = all 10000 (default)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05, help="initial learning rate (default 0.05)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="classifier initialisation and batch order")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.limit < 0 or args.test_limit < 0:
        parser.error("--limit and --test-limit must be >= 0 (0 = all)")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        parser.error(f"--lr must be positive and finite, got {args.lr}")

    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    net = torch_net.load(args.exported, map_location=device)
    if (net.in_channels, net.input_size) != (1, 28):
        raise SystemExit(
            f"{args.exported}: the network takes {net.in_channels}×{net.input_size}×{net.input_size} images; "
            "Fashion-MNIST's are 1×28×28 (export a run with data.kind = fashion-mnist)"
        )
    mean, std = (torch.tensor(v, device=device).view(1, -1, 1, 1) for v in torch_net.normalization(net))
    classifier = nn.Linear(net.feature_dim, 10).to(device)

    train_x, train_y = load_split(args.data, train=True, limit=args.limit)
    test_x, test_y = load_split(args.data, train=False, limit=args.test_limit)
    n_params = sum(p.numel() for p in net.parameters())
    print(
        f"{args.exported}: {type(net).__name__}, {n_params} parameters, {net.feature_dim} features; "
        f"{len(train_x)} training and {len(test_x)} test images, {args.epochs} epoch(s) on {device}"
    )

    def prepare(images: torch.Tensor) -> torch.Tensor:
        return (images.to(device).float().div_(255) - mean) / std

    params = list(net.parameters()) + list(classifier.parameters())
    sgd = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=5e-4)
    per_epoch = max(1, len(train_x) // args.batch_size)
    total = per_epoch * args.epochs
    step = 0
    start = time.monotonic()
    for epoch in range(1, args.epochs + 1):
        net.train()
        classifier.train()
        order = torch.randperm(len(train_x))
        loss_sum, correct, seen = 0.0, 0, 0
        for i in range(per_epoch):
            for group in sgd.param_groups:
                group["lr"] = 0.5 * args.lr * (1 + math.cos(math.pi * step / total))
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            x, y = prepare(train_x[idx]), train_y[idx].to(device)
            logits = classifier(net(x))
            loss = F.cross_entropy(logits, y)
            sgd.zero_grad(set_to_none=True)
            loss.backward()
            sgd.step()
            step += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
        print(f"epoch {epoch}/{args.epochs}: train loss {loss_sum / seen:.4f}, train accuracy {100 * correct / seen:.2f}%, "
              f"{time.monotonic() - start:.0f} s")

    net.eval()
    classifier.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(test_x), 1000):
            x, y = prepare(test_x[i : i + 1000]), test_y[i : i + 1000].to(device)
            logits = classifier(net(x))
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    print(f"test accuracy {100 * correct / len(test_x):.2f}% ({correct}/{len(test_x)}), test loss {loss_sum / len(test_x):.4f}, "
          f"{time.monotonic() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""FaUNAE over a small user-defined space with a PyTorch evaluator.

    PYTHONPATH=build/python python3 examples/python/search_custom_space.py [--seed 7] [--steps 60]

The space: a 4-block MLP on Fashion-MNIST-sized inputs; each block picks a width or skips itself.
The evaluator trains the architecture for a few steps on synthetic data (a stand-in for your own data
and your label-free loss) and returns the held-out loss: lower is better. FaUNAE evolves α0 from
there, with a model-size budget, and checkpoints after every epoch (run it again to resume).
"""

import argparse
import pathlib

import torch
import torch.nn as nn

import faunae

WIDTHS = {"w32": 32, "w64": 64, "w128": 128, "skip": 0}


def build(names, inputs=64, classes=10):
    layers, width = [], inputs
    for name in names:
        if WIDTHS[name]:
            layers += [nn.Linear(width, WIDTHS[name]), nn.ReLU()]
            width = WIDTHS[name]
    return nn.Sequential(*layers, nn.Linear(width, classes))


class TrainedLoss:
    """Trains the architecture for `steps` Adam steps and returns its held-out cross-entropy."""

    def __init__(self, space, steps, seed):
        g = torch.Generator().manual_seed(seed)
        self.space, self.steps = space, steps
        teacher = nn.Sequential(nn.Linear(64, 48), nn.Tanh(), nn.Linear(48, 10))
        with torch.no_grad():
            for p in teacher.parameters():
                p.copy_(0.8 * torch.randn(p.shape, generator=g))
        x = torch.randn(1200, 64, generator=g)
        with torch.no_grad():
            y = teacher(x).argmax(1)
        self.train, self.held_out = (x[:1000], y[:1000]), (x[1000:], y[1000:])

    def __call__(self, architecture):
        torch.manual_seed(0)  # the same initialisation for the same architecture: a deterministic loss
        net = build(self.space.names(architecture))
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        x, y = self.train
        for step in range(self.steps):
            i = torch.arange(step * 100, step * 100 + 100) % len(x)
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[i]), y[i]).backward()
            opt.step()
        with torch.no_grad():
            loss = nn.functional.cross_entropy(net(self.held_out[0]), self.held_out[1]).item()
        return loss, {"parameters": float(sum(p.numel() for p in net.parameters()))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--steps", type=int, default=60, help="training steps per evaluation")
    parser.add_argument("--checkpoint", default="custom-space.ckpt")
    parser.add_argument("--search", default="FaUNAE", choices=["FaUNAE", "FaUNAETS", "FaUNAER"],
                        help="the paper's search, or a variant (FaUNAETS is the recommended one: docs/baselines.md)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    # Ops with their model size (parameters of the layer, roughly): eq. (2)'s restriction and the budget use it.
    ops = [("w32", 32 * 128.0), ("w64", 64 * 128.0), ("w128", 128 * 128.0), ("skip", 0.0)]
    blocks = [{"name": f"layer{i}", "ops": ops, "identity": "skip"} for i in range(4)]
    space = faunae.BlockSpace(blocks, initial=["w128"] * 4, max_size=70000.0)

    search = getattr(faunae, args.search)(space, seed=args.seed, checkpoint=args.checkpoint)
    evaluator = TrainedLoss(space, args.steps, args.seed)
    if pathlib.Path(args.checkpoint).exists():
        search.load(args.checkpoint)
        print(f"resuming at epoch {search.epoch}")
    found = search.run(evaluator, progress=True)

    best = min(found.history, key=lambda r: r["loss"])
    print(f"{found.evaluations} evaluations; found {space.names(found.architecture)} (evaluated: {found.evaluated})")
    print(f"best evaluated: {space.names(best['evaluated'])}, held-out loss {best['loss']:.3f}")


if __name__ == "__main__":
    main()

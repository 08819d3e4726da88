"""Networks exported by the ``faunae`` program, rebuilt in plain PyTorch.

``faunae export --out FOLDER`` writes two files:

* ``network.json``: ``{"space": ..., "data": ..., "architecture": ...}``, the run's space and data
  configuration and the architecture found (op names per block, and their indices in the space);
* ``weights.pt``: the trained weights, a dict {parameter or buffer name: tensor} (``torch.load``).

This module rebuilds the network from ``network.json`` with the module and parameter names of the C++
networks (``backends/torch/include/faunae/torch/resnet_space.hpp``, ``darts_space.hpp``, ``ops.hpp``),
so the weights load with ``strict=True``, and its forward computes what the C++ forward computes::

    from faunae import torch_net
    net = torch_net.load("exported/")            # eval mode, weights loaded
    features = net(images)                      # (N, net.feature_dim): the pooled features
    maps = net.forward_stages(images)           # one feature map per stage (a detection backbone)
    net.stage_channels, net.stage_strides       # their channels and nominal strides

Inputs are what the C++ program feeds its networks: images scaled to [0, 1] then normalised per
channel with :func:`normalization` (mean, stddev).

Only ``torch`` is needed; the compiled ``faunae`` extension is not imported. Every error in a network
description is a :class:`ValueError` that names the key, the rule and the bad value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "RESNET_OPS",
    "DARTS_OPS",
    "ResNetNetwork",
    "DartsNetwork",
    "build",
    "load",
    "read_network",
    "normalization",
]

#: The candidate ops of the ResNet-block space (``known_resnet_ops()`` in resnet_space.hpp).
RESNET_OPS = ("conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity")
#: The ops of a DARTS edge, in the order of their indices (``darts_ops()`` in darts_space.hpp).
DARTS_OPS = ("none", "skip_connect", "conv_3x3", "conv_5x5", "sep_conv_3x3", "sep_conv_5x5", "max_pool_3x3", "avg_pool_3x3")

#: Input formats: stem name -> (channels, height = width). As examples/faunae/main.cpp's stem_of.
_STEMS = {"gray28": (1, 28), "color32": (3, 32), "imagenet224": (3, 224)}
#: Per-channel mean and stddev the program normalises with (default_augment_options in augment.hpp).
_NORMALIZATION = {
    "gray28": ((0.2860,), (0.3530,)),
    "color32": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "imagenet224": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
_DARTS_STEM_MULTIPLIER = 3  # DartsSpaceOptions::stem_multiplier (not part of the configuration)

PathLike = Union[str, Path]


# --- the ops (ops.hpp) ---------------------------------------------------------------------------


class ConvBnRelu(nn.Module):
    """k×k convolution → BatchNorm → ReLU (``ConvBnReluImpl``: the conv3 / conv5 ops of a ResNet block)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class ReluConvBn(nn.Module):
    """ReLU → k×k convolution → BatchNorm (``ReluConvBnImpl``, DARTS's ReLUConvBN)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(F.relu(x)))


class SepConv(nn.Module):
    """DARTS's separable convolution: twice (ReLU → k×k depth-wise conv → 1×1 conv → BatchNorm), the
    stride on the first depth-wise conv (``SepConvImpl``)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int = 1):
        super().__init__()
        c = channels_in
        self.dw1 = nn.Conv2d(c, c, kernel, stride=stride, padding=kernel // 2, groups=c, bias=False)
        self.pw1 = nn.Conv2d(c, c, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.dw2 = nn.Conv2d(c, c, kernel, padding=kernel // 2, groups=c, bias=False)
        self.pw2 = nn.Conv2d(c, channels_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn1(self.pw1(self.dw1(F.relu(x))))
        return self.bn2(self.pw2(self.dw2(F.relu(y))))


class Pool(nn.Module):
    """3×3 max or average pooling, padding 1; the average excludes the padding (``PoolOpImpl``)."""

    def __init__(self, kind: str, stride: int = 1):
        super().__init__()
        if kind not in ("max", "average"):
            raise ValueError(f"faunae.torch_net.Pool: kind must be 'max' or 'average', got {kind!r}")
        self.kind = kind
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "max":
            return F.max_pool2d(x, 3, self.stride, 1)
        return F.avg_pool2d(x, 3, self.stride, 1, ceil_mode=False, count_include_pad=False)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, stride={self.stride}"


class Zero(nn.Module):
    """DARTS's "none": zeros of the output shape (``ZeroOpImpl``). A cell never runs it: a "none" edge
    contributes nothing. It exists so that every edge holds a module, as in C++."""

    def __init__(self, stride: int = 1):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


class FactorizedReduce(nn.Module):
    """DARTS's FactorizedReduce (``FactorizedReduceImpl``): ReLU, then two 1×1 stride-2 convs on x and on
    x shifted by one pixel, concatenated, then BatchNorm. Halves H and W."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(channels_in, channels_out - channels_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(x)
        return self.bn(torch.cat([self.conv1(y), self.conv2(y[:, :, 1:, 1:])], dim=1))


class SplAtConv2d(nn.Module):
    """ResNeSt's split-attention convolution (``SplAtConv2dImpl``; Zhang et al. 2020).

    k×k group conv to channels·radix (groups = cardinality·radix) → BN → ReLU → the radix splits
    summed → global average pool → 1×1 conv to max(in·radix/reduction_factor, 32) (+bias) → BN → ReLU
    → 1×1 conv to channels·radix (+bias) → softmax over the radix per cardinal group (sigmoid for
    radix 1) → attention-weighted sum of the splits.
    """

    def __init__(
        self,
        channels_in: int,
        channels: int,
        kernel: int,
        stride: int = 1,
        radix: int = 2,
        cardinality: int = 1,
        reduction_factor: int = 4,
    ):
        super().__init__()
        if radix < 1 or cardinality < 1 or reduction_factor < 1:
            raise ValueError(
                "faunae.torch_net.SplAtConv2d: radix, cardinality and reduction_factor must be >= 1, got "
                f"{radix}, {cardinality}, {reduction_factor}"
            )
        if channels_in % (cardinality * radix) != 0 or channels % cardinality != 0:
            raise ValueError(
                f"faunae.torch_net.SplAtConv2d: in channels {channels_in} must be divisible by cardinality*radix = "
                f"{cardinality * radix} and channels {channels} by cardinality"
            )
        self.channels = channels
        self.radix = radix
        self.cardinality = cardinality
        inter = max(channels_in * radix // reduction_factor, 32)
        self.conv = nn.Conv2d(
            channels_in, channels * radix, kernel, stride=stride, padding=kernel // 2, groups=cardinality * radix, bias=False
        )
        self.bn0 = nn.BatchNorm2d(channels * radix)
        self.fc1 = nn.Conv2d(channels, inter, 1, groups=cardinality)
        self.bn1 = nn.BatchNorm2d(inter)
        self.fc2 = nn.Conv2d(inter, channels * radix, 1, groups=cardinality)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn0(self.conv(x)))  # (N, C·r, H, W)
        n = y.size(0)
        if self.radix > 1:
            splits = y.view(n, self.radix, self.channels, y.size(2), y.size(3))
            gap = splits.sum(1)
        else:
            gap = y
        gap = F.adaptive_avg_pool2d(gap, 1)
        gap = F.relu(self.bn1(self.fc1(gap)))
        attention = self.fc2(gap)  # (N, C·r, 1, 1)
        if self.radix > 1:
            # rSoftMax: (N, cardinality, r, C/cardinality) -> softmax over r
            attention = attention.view(n, self.cardinality, self.radix, -1).transpose(1, 2).softmax(1)
            attention = attention.reshape(n, self.radix, self.channels, 1, 1)
            return (attention * splits).sum(1)
        return torch.sigmoid(attention) * y


# --- the ResNet-block space (resnet_space.hpp) -------------------------------------------------------


def _resnet_op(name: str, channels: int, stride: int) -> nn.Module:
    """The candidate op ``name`` of a block (``make_resnet_op``); not identity, which has no module."""
    if name == "conv3":
        return ConvBnRelu(channels, channels, 3, stride)
    if name == "conv5":
        return ConvBnRelu(channels, channels, 5, stride)
    if name in ("sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4"):
        return SplAtConv2d(channels, channels, int(name[4]), stride=stride, radix=int(name[6]))
    raise ValueError(f"faunae.torch_net: unknown ResNet op {name!r} (known: {', '.join(RESNET_OPS)})")


class ResNetBlock(nn.Module):
    """A bottleneck with a searched middle op (``SearchBlockImpl`` holding one op)::

        x → 1×1 reduce → BN → ReLU → op (stride) → 1×1 expand → BN → (+ shortcut) → ReLU

    The shortcut is a 1×1 conv (stride) → BN where the block changes resolution or width, else x.
    With op "identity" the block is skipped (y = x) and has no weights at all.
    """

    def __init__(self, op: str, channels_in: int, mid: int, channels_out: int, stride: int):
        super().__init__()
        self.op = op
        self.ops = nn.ModuleDict()
        if op == "identity":
            return
        self.reduce = nn.Conv2d(channels_in, mid, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(mid)
        self.expand = nn.Conv2d(mid, channels_out, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(channels_out)
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Conv2d(channels_in, channels_out, 1, stride=stride, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(channels_out)
        else:
            self.shortcut = None
            self.shortcut_bn = None
        self.ops[op] = _resnet_op(op, mid, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.op == "identity":
            return x
        y = F.relu(self.reduce_bn(self.reduce(x)))
        y = self.ops[self.op](y)
        y = self.expand_bn(self.expand(y))
        residual = x if self.shortcut is None else self.shortcut_bn(self.shortcut(x))
        return F.relu(y + residual)

    def extra_repr(self) -> str:
        return f"op={self.op}"


def _scaled(channels: int, width: float) -> int:
    """ResNet-50's width ``channels`` times ``width``, a multiple of 8, at least 8 (``scaled()``)."""
    v = int(channels * width + 0.5)  # C++ static_cast: truncation, the value is positive
    return max(8, (v + 7) // 8 * 8)


def _resnet_geometry(blocks_per_stage: Sequence[int], width: float, stem: str) -> list[dict]:
    """The blocks' geometry, as ``ResNetSupernetImpl::build_geometry``: per block its stage, index in
    the stage, channels in, mid and out, stride, and whether identity may replace it."""
    geometry = []
    channels_in = _scaled(64, width)
    for stage, count in enumerate(blocks_per_stage):
        mid = _scaled(64 << min(stage, 3), width)
        for i in range(count):
            stride = 2 if (i == 0 and stage > 0) else 1
            out = 4 * mid
            geometry.append(
                dict(stage=stage, index=i, channels_in=channels_in, mid=mid, channels_out=out, stride=stride,
                     can_skip=stride == 1 and channels_in == out)
            )
            channels_in = out
    return geometry


class ResNetNetwork(nn.Module):
    """The standalone network of an architecture of the ResNet-block space (``ResNetSupernetImpl``
    built with a fixed architecture): stem → stages of blocks → global average pooling.

    ``forward(x)`` returns the pooled features (N, ``feature_dim``); ``forward_stages(x)`` the feature
    map at the end of each stage, with ``stage_channels`` channels and ``stage_strides`` (input pixels
    per feature pixel, nominal: odd sizes round up).
    """

    def __init__(self, stem: str, blocks_per_stage: Sequence[int], width: float, ops: Sequence[str], architecture: Sequence[str]):
        super().__init__()
        if stem not in _STEMS:
            raise ValueError(f"faunae.torch_net.ResNetNetwork: stem must be one of {', '.join(_STEMS)}, got {stem!r}")
        self.stem = stem
        self.in_channels, self.input_size = _STEMS[stem]
        geometry = _resnet_geometry(blocks_per_stage, width, stem)
        block_ops = _resnet_block_ops(geometry, ops)
        names = _check_architecture(list(architecture), block_ops, _resnet_block_names(geometry), "architecture")
        self.architecture = names
        stem_out = _scaled(64, width)
        kernel = 7 if stem == "imagenet224" else 3
        self.stem_conv = nn.Conv2d(
            self.in_channels, stem_out, kernel, stride=2 if stem == "imagenet224" else 1, padding=kernel // 2, bias=False
        )
        self.stem_bn = nn.BatchNorm2d(stem_out)
        self.blocks = nn.ModuleList(
            ResNetBlock(name, g["channels_in"], g["mid"], g["channels_out"], g["stride"]) for g, name in zip(geometry, names)
        )
        self._stage_ends = [b for b, g in enumerate(geometry) if b + 1 == len(geometry) or geometry[b + 1]["stage"] != g["stage"]]
        self.stage_channels = [geometry[b]["channels_out"] for b in self._stage_ends]
        first = 4 if stem == "imagenet224" else 1
        self.stage_strides = [first << s for s in range(len(self._stage_ends))]
        self.feature_dim = self.stage_channels[-1]

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.stem_bn(self.stem_conv(x)))
        if self.stem == "imagenet224":
            y = F.max_pool2d(y, 3, 2, 1)
        return y

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature map at the end of each stage: a list of (N, ``stage_channels[s]``, H_s, W_s)."""
        y = self._stem(x)
        out = []
        for b, block in enumerate(self.blocks):
            y = block(y)
            if b in self._stage_ends:
                out.append(y)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features (N, ``feature_dim``), as the C++ ``forward(x)``."""
        y = self._stem(x)
        for block in self.blocks:
            y = block(y)
        return F.adaptive_avg_pool2d(y, 1).flatten(1)


def _resnet_block_ops(geometry: list[dict], ops: Sequence[str]) -> list[list[str]]:
    """Each block's ops, in the order of their indices: the space's ops, identity only where the block
    keeps resolution and width (not in the first block of a stage)."""
    return [[op for op in ops if op != "identity" or g["can_skip"]] for g in geometry]


def _resnet_block_names(geometry: list[dict]) -> list[str]:
    return [f"stage{g['stage'] + 1}.block{g['index']}" for g in geometry]


# --- the DARTS cell space (darts_space.hpp) ---------------------------------------------------------

#: The 14 edges of a cell, (node, from): node i = 0..3 sums the edges from inputs 0..i+1 (0 and 1 are
#: the two previous cells, 2.. the cell's earlier nodes).
DARTS_EDGES = tuple((node, source) for node in range(4) for source in range(node + 2))


def _darts_op(name: str, channels: int, stride: int) -> nn.Module:
    """The op ``name`` of an edge (``make_darts_op``)."""
    if name == "none":
        return Zero(stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels)
    if name == "conv_3x3":
        return ReluConvBn(channels, channels, 3, stride)
    if name == "conv_5x5":
        return ReluConvBn(channels, channels, 5, stride)
    if name == "sep_conv_3x3":
        return SepConv(channels, channels, 3, stride)
    if name == "sep_conv_5x5":
        return SepConv(channels, channels, 5, stride)
    if name == "max_pool_3x3":
        return Pool("max", stride)
    if name == "avg_pool_3x3":
        return Pool("average", stride)
    raise ValueError(f"faunae.torch_net: unknown DARTS op {name!r} (known: {', '.join(DARTS_OPS)})")


class DartsCell(nn.Module):
    """One cell (``DartsCellImpl`` with one op per edge): the two inputs preprocessed (FactorizedReduce
    for a cell after a reduction cell, else a 1×1 ReLUConvBN), 4 nodes each summing its edges' ops,
    output the 4 nodes concatenated (4·C channels). A reduction cell's edges from its inputs have
    stride 2. A node whose edges are all "none" is zeros."""

    def __init__(self, c_prev_prev: int, c_prev: int, channels: int, reduction: bool, reduction_prev: bool, ops: Sequence[str]):
        super().__init__()
        self.reduction = reduction
        self.channels = channels
        self.ops = list(ops)
        self.preprocess0 = FactorizedReduce(c_prev_prev, channels) if reduction_prev else ReluConvBn(c_prev_prev, channels, 1)
        self.preprocess1 = ReluConvBn(c_prev, channels, 1)
        self.edges = nn.ModuleList()
        for (_, source), name in zip(DARTS_EDGES, self.ops):
            stride = 2 if reduction and source < 2 else 1
            self.edges.append(nn.ModuleDict({name: _darts_op(name, channels, stride)}))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for node in range(4):
            total = None
            for source in range(node + 2):
                name = self.ops[e]
                if name != "none":  # contributes nothing, computes nothing
                    y = self.edges[e][name](states[source])
                    total = y if total is None else total + y
                e += 1
            if total is None:
                ref = states[1]
                s = 2 if self.reduction else 1
                total = ref.new_zeros(ref.size(0), self.channels, (ref.size(2) + s - 1) // s, (ref.size(3) + s - 1) // s)
            states.append(total)
        return torch.cat(states[2:], dim=1)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction}, channels={self.channels}"


class DartsNetwork(nn.Module):
    """The standalone network of an architecture of the DARTS space (``DartsSupernetImpl`` built with a
    fixed architecture): 3×3 conv → BN stem, ``layers`` cells (reduction cells at layers/3 and
    2·layers/3 double the channels and halve the resolution), global average pooling.

    The architecture has 28 ops: the 14 edges of the normal cell, then the 14 of the reduction cell
    (all normal cells share the first, all reduction cells the second). A stage is the cells between
    two reductions: ``forward_stages(x)`` returns the output of the last cell of each.
    """

    EDGES = len(DARTS_EDGES)

    def __init__(self, stem: str, layers: int, channels: int, architecture: Sequence[str]):
        super().__init__()
        if stem not in _STEMS:
            raise ValueError(f"faunae.torch_net.DartsNetwork: stem must be one of {', '.join(_STEMS)}, got {stem!r}")
        self.stem = stem
        self.in_channels, self.input_size = _STEMS[stem]
        self.layers = layers
        block_ops = [list(DARTS_OPS)] * (2 * self.EDGES)
        block_names = [f"{cell}.node{n}.from{s}" for cell in ("normal", "reduce") for n, s in DARTS_EDGES]
        names = _check_architecture(list(architecture), block_ops, block_names, "architecture")
        self.architecture = names
        normal, reduce = names[: self.EDGES], names[self.EDGES :]
        c_stem = _DARTS_STEM_MULTIPLIER * channels
        self.stem_conv = nn.Conv2d(self.in_channels, c_stem, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c_stem)
        self.cells = nn.ModuleList()
        c_pp, c_p, c = c_stem, c_stem, channels
        reduction_prev = False
        for i in range(layers):
            reduction = self.is_reduction(i)
            if reduction:
                c *= 2
            self.cells.append(DartsCell(c_pp, c_p, c, reduction, reduction_prev, reduce if reduction else normal))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c
        self._stage_ends = [i for i in range(layers) if i + 1 == layers or self.is_reduction(i + 1)]
        self.stage_channels = [4 * self.cells[i].channels for i in self._stage_ends]
        self.stage_strides = []
        stride = 1
        for i in range(layers):
            stride *= 2 if self.is_reduction(i) else 1
            if i in self._stage_ends:
                self.stage_strides.append(stride)
        self.feature_dim = c_p

    def is_reduction(self, cell: int) -> bool:
        """Whether cell ``cell`` is a reduction cell (layers/3 and 2·layers/3, from 3 layers on)."""
        return self.layers >= 3 and (cell == self.layers // 3 or cell == 2 * self.layers // 3)

    def _cells(self, x: torch.Tensor, stages: list | None) -> torch.Tensor:
        s0 = s1 = self.stem_bn(self.stem_conv(x))
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if stages is not None and i in self._stage_ends:
                stages.append(s1)
        return s1

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of the last cell of each stage: a list of (N, ``stage_channels[s]``, H_s, W_s)."""
        stages: list[torch.Tensor] = []
        self._cells(x, stages)
        return stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features (N, ``feature_dim``), as the C++ ``forward(x)``."""
        return F.adaptive_avg_pool2d(self._cells(x, None), 1).flatten(1)


# --- network.json ------------------------------------------------------------------------------------


def _fail(where: str, key: str, rule: str, value: Any) -> ValueError:
    return ValueError(f"{where}: {key} must be {rule}, got {value!r}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _get(section: Mapping, key: str, where: str, prefix: str) -> Any:
    if key not in section:
        raise ValueError(f"{where}: {prefix}.{key} is missing")
    return section[key]


def _check_architecture(names: list, block_ops: list[list[str]], block_names: list[str], key: str, where: str = "faunae.torch_net") -> list[str]:
    """Checks that ``names`` has one op name per block, each an op of its block."""
    if len(names) != len(block_ops):
        raise ValueError(f"{where}: {key} has {len(names)} ops, the space has {len(block_ops)} blocks")
    for b, name in enumerate(names):
        if not isinstance(name, str) or name not in block_ops[b]:
            rule = f"an op of block {b} ({block_names[b]}): one of {', '.join(block_ops[b])}"
            if name == "identity" and "identity" not in block_ops[b]:
                rule += "; identity is not allowed there: the block changes resolution or width"
            raise _fail(where, f"{key}[{b}]", rule, name)
    return list(names)


def _stem_of(data: Mapping, where: str) -> str:
    """The stem of the data section, as examples/faunae/main.cpp's stem_of: the kind decides for
    fashion-mnist and cifar10 (their channels and size keys are ignored), channels and size for a folder."""
    if not isinstance(data, Mapping):
        raise _fail(where, "data", "an object", data)
    kind = _get(data, "kind", where, "data")
    if kind == "fashion-mnist":
        return "gray28"
    if kind == "cifar10":
        return "color32"
    if kind != "folder":
        raise _fail(where, "data.kind", "one of fashion-mnist, cifar10, folder", kind)
    channels, size = _get(data, "channels", where, "data"), _get(data, "size", where, "data")
    for stem, (c, s) in _STEMS.items():
        if channels == c and size == s:
            return stem
    raise ValueError(
        f"{where}: a folder of {channels!r}-channel {size!r}×{size!r} images (data.channels, data.size) has no stem; "
        "the networks take channels 1 with size 28, or channels 3 with size 32 or 224"
    )


def _architecture_names(arch: Any, block_ops: list[list[str]], where: str) -> list[str]:
    """The op names of ``arch``, in one of the forms an architecture is written in:

    * what ``faunae export`` writes: {"architecture": [indices], "ops": [names], "params", "flops"}
      (the indices, when given with the names, must agree with them);
    * faunae's architecture JSON: {"format": "faunae.architecture", "blocks": [{"op": name} or name]};
    * a list of op names, or {"architecture": [indices]} alone.
    """
    if isinstance(arch, Sequence) and not isinstance(arch, (str, bytes)):
        return list(arch)
    if not isinstance(arch, Mapping):
        raise _fail(where, "architecture", "an object or a list of op names", arch)
    if "blocks" in arch:
        if arch.get("format", "faunae.architecture") != "faunae.architecture":
            raise _fail(where, "architecture.format", '"faunae.architecture"', arch["format"])
        if arch.get("version", 1) != 1:
            raise _fail(where, "architecture.version", "1", arch["version"])
        blocks = arch["blocks"]
        if not isinstance(blocks, list):
            raise _fail(where, "architecture.blocks", "a list", blocks)
        names = []
        for b, entry in enumerate(blocks):
            if isinstance(entry, Mapping) and "op" in entry:
                names.append(entry["op"])
            elif isinstance(entry, str):
                names.append(entry)
            else:
                raise _fail(where, f"architecture.blocks[{b}]", 'an op name or {"op": name}', entry)
        return names
    indices = arch.get("architecture")
    if indices is not None:
        if not isinstance(indices, list) or not all(_is_int(i) for i in indices):
            raise _fail(where, "architecture.architecture", "a list of op indices", indices)
        if len(indices) != len(block_ops):
            raise ValueError(f"{where}: architecture.architecture has {len(indices)} op indices, the space has {len(block_ops)} blocks")
        for b, i in enumerate(indices):
            if not 0 <= i < len(block_ops[b]):
                raise _fail(where, f"architecture.architecture[{b}]", f"an op index of block {b}, in [0, {len(block_ops[b])})", i)
    if "ops" in arch:
        names = arch["ops"]
        if not isinstance(names, list):
            raise _fail(where, "architecture.ops", "a list of op names", names)
        if indices is not None:
            _check_architecture(names, block_ops, [f"block {b}" for b in range(len(block_ops))], "architecture.ops", where)
            for b, (i, name) in enumerate(zip(indices, names)):
                if block_ops[b][i] != name:
                    raise ValueError(
                        f"{where}: architecture.architecture[{b}] = {i} is op {block_ops[b][i]!r} of block {b}, "
                        f"but architecture.ops[{b}] names {name!r} (the space's ops differ from the run's?)"
                    )
        return names
    if indices is not None:
        return [block_ops[b][i] for b, i in enumerate(indices)]
    raise ValueError(f"{where}: architecture has neither 'ops', 'architecture' nor 'blocks'")


def read_network(path: PathLike) -> dict:
    """Reads ``network.json`` (or the one in folder ``path``) as a dict."""
    path = Path(path)
    if path.is_dir():
        path = path / "network.json"
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"faunae.torch_net.read_network: {path} is not valid JSON: {e}") from e


def build(network: Union[Mapping, PathLike]) -> nn.Module:
    """The network described by ``network`` (the dict of a network.json, or its path), with fresh
    weights and the parameter names of the C++ network. Raises ValueError naming the bad key."""
    if not isinstance(network, Mapping):
        source = Path(network)
        network = read_network(source)
        where = f"faunae.torch_net.build({str(source)!r})"
    else:
        where = "faunae.torch_net.build()"
    for key in ("space", "data", "architecture"):
        if key not in network:
            raise ValueError(f"{where}: the network description has no {key!r} (keys: {', '.join(map(str, network))})")
    space, data = network["space"], network["data"]
    if not isinstance(space, Mapping):
        raise _fail(where, "space", "an object", space)
    stem = _stem_of(data, where)
    kind = _get(space, "kind", where, "space")
    if kind == "resnet":
        blocks_per_stage = _get(space, "blocks_per_stage", where, "space")
        if (
            not isinstance(blocks_per_stage, list)
            or not blocks_per_stage
            or not all(_is_int(b) and 1 <= b <= 64 for b in blocks_per_stage)
        ):
            raise _fail(where, "space.blocks_per_stage", "a non-empty list of block counts in [1, 64]", blocks_per_stage)
        width = _get(space, "width", where, "space")
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not (0.0 < width <= 8.0):
            raise _fail(where, "space.width", "a number in (0, 8]", width)
        ops = _get(space, "ops", where, "space")
        if not isinstance(ops, list) or not ops:
            raise _fail(where, "space.ops", "a non-empty list of op names", ops)
        for i, op in enumerate(ops):
            if op not in RESNET_OPS:
                raise _fail(where, f"space.ops[{i}]", f"one of {', '.join(RESNET_OPS)}", op)
            if op in ops[:i]:
                raise ValueError(f"{where}: space.ops lists {op!r} twice")
        if ops == ["identity"]:
            raise ValueError(f"{where}: space.ops = ['identity'] cannot build a network")
        geometry = _resnet_geometry(blocks_per_stage, float(width), stem)
        block_ops = _resnet_block_ops(geometry, ops)
        names = _architecture_names(network["architecture"], block_ops, where)
        _check_architecture(names, block_ops, _resnet_block_names(geometry), "architecture", where)
        return ResNetNetwork(stem, blocks_per_stage, float(width), ops, names)
    if kind == "darts":
        layers = _get(space, "darts_layers", where, "space")
        if not _is_int(layers) or not 1 <= layers <= 100:
            raise _fail(where, "space.darts_layers", "an integer in [1, 100]", layers)
        channels = _get(space, "darts_channels", where, "space")
        if not _is_int(channels) or not (2 <= channels <= 4096 and channels % 2 == 0):
            raise _fail(where, "space.darts_channels", "an even integer in [2, 4096]", channels)
        block_ops = [list(DARTS_OPS)] * (2 * DartsNetwork.EDGES)
        names = _architecture_names(network["architecture"], block_ops, where)
        block_names = [f"{cell}.node{n}.from{s}" for cell in ("normal", "reduce") for n, s in DARTS_EDGES]
        _check_architecture(names, block_ops, block_names, "architecture", where)
        return DartsNetwork(stem, layers, channels, names)
    raise _fail(where, "space.kind", "resnet or darts", kind)


def load(
    path: PathLike,
    weights: Union[PathLike, Mapping[str, torch.Tensor], None] = None,
    map_location: Union[str, torch.device, None] = "cpu",
) -> nn.Module:
    """The exported network of ``path`` (a folder holding network.json and weights.pt, or the path of
    a network.json), its weights loaded strictly, in eval mode.

    ``weights``: another weights file, or a state dict; by default weights.pt next to network.json.
    ``map_location``: where the tensors go (``torch.load``'s argument); the module is moved there too.
    Raises ValueError naming every missing or unexpected entry, or the first one of the wrong shape.
    """
    path = Path(path)
    json_path = path / "network.json" if path.is_dir() else path
    net = build(json_path)
    if weights is None:
        weights = json_path.parent / "weights.pt"
    if isinstance(weights, Mapping):
        state, origin = dict(weights), "the state dict"
    else:
        state = torch.load(Path(weights), map_location=map_location, weights_only=True)
        origin = str(weights)
        if not isinstance(state, Mapping):
            raise ValueError(f"faunae.torch_net.load: {origin} holds a {type(state).__name__}, not a dict name -> tensor")
    where = f"faunae.torch_net.load({str(path)!r})"
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{where}: {origin} does not match the network of {json_path}: "
            f"missing {missing[:8]}{' ...' if len(missing) > 8 else ''} ({len(missing)}), "
            f"unexpected {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''} ({len(unexpected)})"
        )
    for k, t in expected.items():
        if not isinstance(state[k], torch.Tensor) or state[k].shape != t.shape:
            got = tuple(state[k].shape) if isinstance(state[k], torch.Tensor) else type(state[k]).__name__
            raise ValueError(f"{where}: {k!r} has shape {got} in {origin}, the network expects {tuple(t.shape)}")
    net.load_state_dict(state, strict=True)
    if map_location is not None and not callable(map_location) and not isinstance(map_location, Mapping):
        net.to(map_location)
    return net.eval()


def normalization(network: Union[nn.Module, Mapping, PathLike]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The per-channel (mean, stddev) the program normalises the inputs of ``network`` with (images
    scaled to [0, 1] first): Fashion-MNIST's, CIFAR-10's, or ImageNet's for 224×224 folders."""
    if isinstance(network, (ResNetNetwork, DartsNetwork)):
        stem = network.stem
    else:
        if not isinstance(network, Mapping):
            network = read_network(network)
        stem = _stem_of(network.get("data"), "faunae.torch_net.normalization()")
    return _NORMALIZATION[stem]

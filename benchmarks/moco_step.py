#!/usr/bin/env python3
"""The teacher-student step of faunae's MocoLearner::train_step (MoCo v2), written in Python PyTorch.

The Python side of benchmarks/moco_step.cpp, which runs this script with the same options and
compares images per second. It mirrors, operation for operation:

- the standalone network of backends/torch/include/faunae/torch/resnet_space.hpp for the gray28
  stem, blocks_per_stage {4, 6, 8, 4}, width 0.5: stem conv3x3 -> BN -> ReLU, then search blocks
  (1x1 reduce -> BN -> ReLU -> op -> 1x1 expand -> BN, + shortcut, ReLU), global average pooling;
  the ops conv3/conv5 (ConvBnRelu) and SplAtConv2d as ops.hpp defines them, identity;
- ContrastiveHead (Linear 2048 -> ReLU -> Linear 128), KeyQueue (K = 4096), the EMA of eq. (7)
  with torch._foreach_mul_ / _foreach_add_, shuffled BN over 8 groups, InfoNCE (eq. 6), SGD
  (0.03, momentum 0.9, weight decay 1e-4; foreach where the version has it), autocast and a
  gradient scaler on CUDA, channels-last on CUDA (contrastive.hpp, moco.hpp, device.hpp);
- the augmentation of augment.hpp for 28x28 gray images (default_augment_options(Stem::gray28)),
  batched on tensors with the same operations: random resized crop as per-image affine grids and one
  grid_sample, colour jitter (brightness and contrast, 0.4, p = 0.8) in a random order per image on
  the selected rows (index_select / index_copy), horizontal flip (p = 0.5), clamp, normalise. The
  parameters are drawn on the host from a CPU generator as in C++ (the same amounts of random
  numbers; the values differ, the work is the same).

Counts are printed so that the two sides can be checked to be the same network: parameters of
backbone and head, and multiply-accumulates per image (ResNetSupernet::flops's convention).

Runs with Debian's python3-torch 1.13 and with torch 2.x (CPU or CUDA).

    /usr/bin/python3 benchmarks/moco_step.py --batch 32 --steps 5 --threads 2 [--arch resnet50|mix]
    python3 benchmarks/moco_step.py --batch 32,256 --device cuda --precision bf16 --channels-last

Prints one JSON line per batch size on stdout (progress on stderr). With --serve (how moco_step.cpp
runs it) it holds one learner and answers commands read on stdin (step, augment, ceilings, quit)
with one JSON line each, so that the C++ driver can alternate the two languages step by step.
"""
import argparse
import contextlib
import inspect
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OPS = ("conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity")


def conv_macs(k, cin, cout, groups, s, h, w):
    """MACs of a k x k convolution with 'same' padding (ops.hpp's conv_macs)."""
    ho, wo = (h + s - 1) // s, (w + s - 1) // s
    return k * k * (cin // groups) * cout * ho * wo


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))

    def macs(self, h, w):
        c = self.conv
        return conv_macs(c.kernel_size[0], c.in_channels, c.out_channels, 1, c.stride[0], h, w)


class SplAtConv2d(nn.Module):
    """ResNeSt's split-attention convolution exactly as ops.hpp's SplAtConv2dImpl (cardinality 1, reduction 4)."""

    def __init__(self, cin, channels, kernel, stride=1, radix=2, cardinality=1, reduction_factor=4):
        super().__init__()
        self.radix, self.channels, self.cardinality = radix, channels, cardinality
        self.kernel, self.stride, self.cin = kernel, stride, cin
        self.inter = max(cin * radix // reduction_factor, 32)
        self.conv = nn.Conv2d(cin, channels * radix, kernel, stride=stride, padding=kernel // 2,
                              groups=cardinality * radix, bias=False)
        self.bn0 = nn.BatchNorm2d(channels * radix)
        self.fc1 = nn.Conv2d(channels, self.inter, 1, groups=cardinality)
        self.bn1 = nn.BatchNorm2d(self.inter)
        self.fc2 = nn.Conv2d(self.inter, channels * radix, 1, groups=cardinality)

    def forward(self, x):
        radix, channels = self.radix, self.channels
        y = torch.relu(self.bn0(self.conv(x)))
        n = y.size(0)
        if radix > 1:
            splits = y.view(n, radix, channels, y.size(2), y.size(3))
            gap = splits.sum(1)
        else:
            gap = y
        gap = F.adaptive_avg_pool2d(gap, (1, 1))
        gap = torch.relu(self.bn1(self.fc1(gap)))
        attention = self.fc2(gap)
        if radix > 1:
            attention = attention.view(n, self.cardinality, radix, -1).transpose(1, 2).softmax(1)
            attention = attention.reshape(n, radix, channels, 1, 1)
            return (attention * splits).sum(1)
        return torch.sigmoid(attention) * y

    def macs(self, h, w):
        c, r, card = self.channels, self.radix, self.cardinality
        return (conv_macs(self.kernel, self.cin, c * r, card * r, self.stride, h, w)
                + conv_macs(1, c, self.inter, card, 1, 1, 1) + conv_macs(1, self.inter, c * r, card, 1, 1, 1))


def make_op(name, channels, stride):
    if name == "conv3":
        return ConvBnRelu(channels, channels, 3, stride)
    if name == "conv5":
        return ConvBnRelu(channels, channels, 5, stride)
    if len(name) == 7 and name.startswith("sa_k") and name[5] == "r":
        return SplAtConv2d(channels, channels, int(name[4]), stride=stride, radix=int(name[6]))
    raise ValueError(f"unknown op {name!r}")


class SearchBlock(nn.Module):
    def __init__(self, cin, mid, cout, stride, op):
        super().__init__()
        self.op_name = op
        self.stride = stride
        if op == "identity":
            return
        self.reduce = nn.Conv2d(cin, mid, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(mid)
        self.op = make_op(op, mid, stride)
        self.expand = nn.Conv2d(mid, cout, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(cout)
        self.shortcut = None
        if not (stride == 1 and cin == cout):
            self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(cout)
        self.cin, self.mid, self.cout = cin, mid, cout

    def forward(self, x):
        if self.op_name == "identity":
            return x
        y = torch.relu(self.reduce_bn(self.reduce(x)))
        y = self.op(y)
        y = self.expand_bn(self.expand(y))
        residual = self.shortcut_bn(self.shortcut(x)) if self.shortcut is not None else x
        return torch.relu(y + residual)

    def macs(self, h):
        if self.op_name == "identity":
            return 0, h
        ho = (h + self.stride - 1) // self.stride
        total = conv_macs(1, self.cin, self.mid, 1, 1, h, h) + conv_macs(1, self.mid, self.cout, 1, 1, ho, ho)
        if self.shortcut is not None:
            total += conv_macs(1, self.cin, self.cout, 1, self.stride, h, h)
        return total + self.op.macs(h, h), ho


def scaled(c, width):
    v = int(c * width + 0.5)
    return max(8, (v + 7) // 8 * 8)


def geometry(blocks_per_stage=(4, 6, 8, 4), width=0.5):
    """(in, mid, out, stride) of every block, as ResNetSupernet::build_geometry."""
    out, cin = [], scaled(64, width)
    for s, count in enumerate(blocks_per_stage):
        mid = scaled(64 << min(s, 3), width)
        for i in range(count):
            out.append((cin, mid, 4 * mid, 2 if (i == 0 and s > 0) else 1))
            cin = 4 * mid
    return out


def preset(arch, blocks_per_stage=(4, 6, 8, 4)):
    """resnet50 / mix as moco_step.cpp resolves them, or an explicit comma-separated list."""
    if arch not in ("resnet50", "mix"):
        return arch.split(",")
    names, j = [], 0
    cycle = ("conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4")
    for depth, count in zip((3, 4, 6, 3), blocks_per_stage):
        for i in range(count):
            if i >= depth:
                names.append("identity")
            elif arch == "resnet50":
                names.append("conv3")
            else:
                names.append(cycle[j % len(cycle)])
                j += 1
    return names


class Network(nn.Module):
    """The standalone network of the ResNet space (gray28 stem) for one op per block."""

    def __init__(self, ops, width=0.5, blocks_per_stage=(4, 6, 8, 4)):
        super().__init__()
        stem = scaled(64, width)
        geo = geometry(blocks_per_stage, width)
        if len(ops) != len(geo):
            raise ValueError(f"{len(ops)} op names for {len(geo)} blocks")
        self.stem_conv = nn.Conv2d(1, stem, 3, stride=1, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(stem)
        for (cin, mid, cout, stride), op in zip(geo, ops):
            if op not in OPS:
                raise ValueError(f"unknown op {op!r}")
            if op == "identity" and not (stride == 1 and cin == cout):
                raise ValueError("identity where a block changes resolution or width")
        self.blocks = nn.ModuleList(SearchBlock(cin, mid, cout, stride, op) for (cin, mid, cout, stride), op in zip(geo, ops))
        self.feature_dim = geo[-1][2]

    def forward(self, x):
        y = torch.relu(self.stem_bn(self.stem_conv(x)))
        for block in self.blocks:
            y = block(y)
        return F.adaptive_avg_pool2d(y, (1, 1)).flatten(1)

    def macs(self, size=28):
        c = self.stem_conv
        total, h = conv_macs(3, 1, c.out_channels, 1, 1, size, size), size
        for block in self.blocks:
            m, h = block.macs(h)
            total += m
        return total


class ContrastiveHead(nn.Module):
    def __init__(self, cin, hidden=2048, out=128):
        super().__init__()
        self.fc1 = nn.Linear(cin, hidden)
        self.fc2 = nn.Linear(hidden, out)

    def forward(self, x):
        if x.dim() == 4:
            x = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
        return self.fc2(torch.relu(self.fc1(x)))


# --- augmentation: augment.hpp's recipe for gray28 ------------------------------------------------

class Gray28Augment:
    size, scale, ratio = 28, (0.2, 1.0), (3.0 / 4.0, 4.0 / 3.0)
    brightness, contrast, jitter_p, flip_p = 0.4, 0.4, 0.8, 0.5
    grayscale_p, blur_p = 0.0, 0.0
    mean, std = 0.2860, 0.3530

    def crop_boxes(self, n, height, width, gen):
        """torchvision's RandomResizedCrop.get_params for every image at once (10 attempts, then the centre)."""
        u = torch.rand(n, 40, generator=gen, dtype=torch.float64).view(n, 10, 4)
        area = float(height * width)
        log_r0, log_r1 = math.log(self.ratio[0]), math.log(self.ratio[1])
        target = area * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[..., 0])
        aspect = torch.exp(log_r0 + (log_r1 - log_r0) * u[..., 1])
        w = torch.floor(torch.sqrt(target * aspect) + 0.5)
        h = torch.floor(torch.sqrt(target / aspect) + 0.5)
        ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = ok.to(torch.int64).argmax(1, keepdim=True)  # the first attempt that fits
        found = ok.any(1)
        pick = lambda t: t.gather(1, first).squeeze(1)
        w, h, u2, u3 = pick(w), pick(h), pick(u[..., 2]), pick(u[..., 3])
        top = torch.minimum(torch.floor(u2 * (height - h + 1)), height - h)
        left = torch.minimum(torch.floor(u3 * (width - w + 1)), width - w)
        in_ratio = width / height
        cw, ch = float(width), float(height)
        if in_ratio < self.ratio[0]:
            ch = round(cw / self.ratio[0])
        elif in_ratio > self.ratio[1]:
            cw = round(ch * self.ratio[1])
        centre = torch.tensor([math.floor((width - cw) / 2), math.floor((height - ch) / 2), cw, ch], dtype=torch.float64)
        boxes = torch.stack([left, top, w, h], 1)
        return torch.where(found.view(-1, 1), boxes, centre.view(1, 4))

    def resized_crop(self, x, boxes):
        n, c, height, width = x.shape
        theta = torch.zeros(n, 2, 3, dtype=torch.float64)
        left, top, w, h = boxes.unbind(1)
        theta[:, 0, 0] = w / width
        theta[:, 0, 2] = (2.0 * left + w) / width - 1.0
        theta[:, 1, 1] = h / height
        theta[:, 1, 2] = (2.0 * top + h) / height - 1.0
        grid = F.affine_grid(theta.to(x.device, torch.float32), [n, c, self.size, self.size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    @staticmethod
    def adjust_brightness(x, f):
        return (x * f).clamp(0.0, 1.0)

    @staticmethod
    def adjust_contrast(x, f):
        mean = x.mean((1, 2, 3), keepdim=True)  # the luma of a gray image is the image
        return (f * x + (1.0 - f) * mean).clamp(0.0, 1.0)

    def color_jitter(self, x, gen):
        n = x.size(0)
        u = torch.rand(n, 9, generator=gen, dtype=torch.float64)  # apply, 4 factors, 4 keys of the order
        strength = (self.brightness, self.contrast, 0.0, 0.0)  # saturation and hue: none on gray images
        factors = [max(0.0, 1.0 - s) + (1.0 + s - max(0.0, 1.0 - s)) * u[:, 1 + k] for k, s in enumerate(strength)]
        chosen = u[:, 0] < self.jitter_p
        order = torch.argsort(u[:, 5:9], dim=1)
        adjust = (self.adjust_brightness, self.adjust_contrast)
        for step in range(4):
            for op in (0, 1):
                rows = torch.nonzero(chosen & (order[:, step] == op)).flatten()
                if rows.numel() == 0:
                    continue
                f = factors[op][rows].to(x.device, torch.float32).view(-1, 1, 1, 1)
                if rows.numel() == n:
                    x = adjust[op](x, f)
                else:
                    index = rows.to(x.device)
                    x = x.index_copy(0, index, adjust[op](x.index_select(0, index), f))
        return x

    def __call__(self, images, gen):
        x = images.to(torch.float32).div(255.0)
        x = self.resized_crop(x, self.crop_boxes(x.size(0), x.size(2), x.size(3), gen))
        x = self.color_jitter(x, gen)
        torch.rand(x.size(0), 1, generator=gen, dtype=torch.float64)  # grayscale's draw (p = 0 here)
        torch.rand(x.size(0), 2, generator=gen, dtype=torch.float64)  # blur's draws (p = 0 here)
        flip = torch.rand(x.size(0), 1, generator=gen, dtype=torch.float64)[:, 0] < self.flip_p
        x = torch.where(flip.to(x.device).view(-1, 1, 1, 1), x.flip(3), x).clamp(0.0, 1.0)
        return (x - self.mean) / self.std


# --- the teacher-student step -------------------------------------------------------------------

class MocoStep:
    def __init__(self, ops, batch, device, precision, channels_last, seed,
                 queue_size=4096, hidden=2048, out=128, m=0.999, tau=0.2, lr=0.03, momentum=0.9, weight_decay=1e-4,
                 shuffle_groups=8, width=0.5, blocks_per_stage=(4, 6, 8, 4)):
        torch.manual_seed(seed)
        self.device, self.m, self.tau, self.groups = device, m, tau, shuffle_groups
        self.student = Network(ops, width, blocks_per_stage)
        self.teacher = Network(ops, width, blocks_per_stage)
        self.student_head = ContrastiveHead(self.student.feature_dim, hidden, out)
        self.teacher_head = ContrastiveHead(self.student.feature_dim, hidden, out)
        queue_gen = torch.Generator().manual_seed(seed)
        self.queue = F.normalize(torch.randn(queue_size, out, generator=queue_gen), dim=1).to(device)
        self.pointer = 0
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.channels_last = channels_last and device.type == "cuda"
        for module in self.modules():
            module.to(device)
            if self.channels_last:
                module.to(memory_format=torch.channels_last)
        self.teacher.load_state_dict(self.student.state_dict())
        self.teacher_head.load_state_dict(self.student_head.state_dict())
        for module in (self.teacher, self.teacher_head):
            for p in module.parameters():
                p.requires_grad_(False)
        self.student_params = list(self.student.parameters()) + list(self.student_head.parameters())
        self.teacher_params = list(self.teacher.parameters()) + list(self.teacher_head.parameters())
        extra = {"foreach": True} if "foreach" in inspect.signature(torch.optim.SGD).parameters else {}
        self.sgd = torch.optim.SGD(self.student_params, lr=lr, momentum=momentum, weight_decay=weight_decay, **extra)
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision) if device.type == "cuda" else None
        self.scaler = None
        if self.autocast_dtype == torch.float16:
            self.scaler = torch.amp.GradScaler("cuda") if hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()
        self.augment = Gray28Augment()

    def modules(self):
        return (self.student, self.teacher, self.student_head, self.teacher_head)

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.autocast_dtype)

    def to_device(self, images):
        if self.device.type == "cpu":
            return images
        return images.pin_memory().to(self.device, non_blocking=True)

    def views(self, images):
        x = self.to_device(images)
        x_s, x_t = self.augment(x, self.gen), self.augment(x, self.gen)
        if self.channels_last:
            x_s, x_t = x_s.contiguous(memory_format=torch.channels_last), x_t.contiguous(memory_format=torch.channels_last)
        return x_s, x_t

    def shuffle_bn_forward(self, x):
        n = x.size(0)
        permutation = torch.randperm(n, generator=self.gen)
        inverse = torch.empty_like(permutation).scatter_(0, permutation, torch.arange(n))
        shuffled = x.index_select(0, permutation.to(x.device))
        outputs = [self.teacher_head(self.teacher(chunk)) for chunk in shuffled.chunk(self.groups, 0)]
        return torch.cat(outputs, 0).index_select(0, inverse.to(x.device))

    def info_nce(self, q, k):
        l_pos = (q * k).sum(1, keepdim=True)
        l_neg = q.mm(self.queue.t())
        logits = torch.cat([l_pos, l_neg], 1) / self.tau
        labels = torch.zeros(q.size(0), dtype=torch.long, device=q.device)
        return F.cross_entropy(logits, labels)

    def train_step(self, images):
        for module in self.modules():
            module.train()
        x_s, x_t = self.views(images)
        with self.autocast():
            q = self.student_head(self.student(x_s))
        q = F.normalize(q.float(), dim=1)
        with torch.no_grad():
            torch._foreach_mul_(self.teacher_params, self.m)  # eq. (7)
            torch._foreach_add_(self.teacher_params, self.student_params, alpha=1.0 - self.m)
            with self.autocast():
                k = self.shuffle_bn_forward(x_t)
        k = F.normalize(k.float(), dim=1)
        loss = self.info_nce(q, k)  # eq. (6)
        self.sgd.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.sgd)
            self.scaler.update()
        else:
            loss.backward()
            self.sgd.step()
        with torch.no_grad():
            self.queue[self.pointer:self.pointer + k.size(0)].copy_(k)
        self.pointer = (self.pointer + k.size(0)) % self.queue.size(0)
        return loss.detach()


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_gflops(product, flops, device):
    """GFLOP/s of the best of 7 samples of about 50 ms each (as moco_step.cpp's best_gflops)."""
    for _ in range(2):
        product()
    synchronize(device)
    t0 = time.perf_counter()
    product()
    synchronize(device)
    per_sample = max(1, int(0.05 / max(time.perf_counter() - t0, 1e-6)))
    best = 0.0
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(per_sample):
            product()
        synchronize(device)
        best = max(best, flops * per_sample / (time.perf_counter() - t0) / 1e9)
    return best


def ceilings(n, dtype, device):
    """n x n @ n x n in dtype: torch.mm (BLAS) and the same product as a 1x1 convolution of 16 images of 8x8 pixels."""
    with torch.no_grad():
        a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
        c = torch.empty(n, n, dtype=dtype, device=device)
        matmul = best_gflops(lambda: torch.mm(a, b, out=c), 2.0 * n ** 3, device)
        x, w = torch.randn(16, n, 8, 8, dtype=dtype, device=device), torch.randn(n, n, 1, 1, dtype=dtype, device=device)
        conv = best_gflops(lambda: F.conv2d(x, w), 2.0 * n ** 3, device)
    name = {torch.float32: "Float", torch.bfloat16: "BFloat16", torch.float16: "Half"}[dtype]
    return {"n": n, "dtype": name, "matmul_gflops": matmul, "conv_gemm_gflops": conv}


def peak_rss_mib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class Session:
    """One learner at one batch size: what moco_step.cpp's worker holds, with the same commands."""

    def __init__(self, args, ops, batch):
        self.device, self.precision, self.batch = torch.device(args.device), args.precision, batch
        self.learner = MocoStep(ops, batch, self.device, args.precision, args.channels_last, args.seed)
        student, head = self.learner.student, self.learner.student_head
        macs = student.macs()
        head_macs = head.fc1.in_features * head.fc1.out_features + head.fc2.in_features * head.fc2.out_features
        infonce_macs = self.learner.queue.size(0) * self.learner.queue.size(1)
        flops_per_image = 2.0 * (4 * (macs + head_macs) + 2 * infonce_macs)
        count = lambda module: sum(p.numel() for p in module.parameters())
        self.info = {"language": "Python", "torch": torch.__version__, "device": str(self.device), "precision": args.precision,
                     "channels_last": args.channels_last, "threads": torch.get_num_threads(),
                     "interop_threads": torch.get_num_interop_threads(), "batch": batch, "ops": list(ops),
                     "parameters": {"backbone": count(student), "head": count(head)},
                     "macs_per_image": {"backbone": macs, "head": head_macs, "infonce": infonce_macs},
                     "flops_per_step": flops_per_image * batch}
        data_gen = torch.Generator().manual_seed(args.seed + 11)
        self.images = torch.randint(0, 256, (batch, 1, 28, 28), generator=data_gen, dtype=torch.uint8)
        self.augment_gen = torch.Generator().manual_seed(args.seed + 13)

    def step(self):
        t0 = time.perf_counter()
        loss = self.learner.train_step(self.images).item()  # .item() waits for the device
        return {"s": time.perf_counter() - t0, "loss": loss}

    def augment_views(self):
        t0 = time.perf_counter()
        x = self.learner.to_device(self.images)
        self.learner.augment(x, self.augment_gen), self.learner.augment(x, self.augment_gen)
        synchronize(self.device)
        return {"s": time.perf_counter() - t0}

    def ceilings(self):
        if self.device.type == "cuda" and self.precision != "fp32":
            return ceilings(8192, torch.bfloat16 if self.precision == "bf16" else torch.float16, self.device)
        return ceilings(8192 if self.device.type == "cuda" else 1024, torch.float32, self.device)


def serve(args, ops):
    """The worker of moco_step.cpp's driver: one JSON line per command read on stdin."""
    session = Session(args, ops, args.batch[0])
    print(json.dumps(session.info), flush=True)
    while True:
        command = sys.stdin.readline().strip()
        if command == "step":
            reply = session.step()
        elif command == "augment":
            reply = session.augment_views()
        elif command == "ceilings":
            reply = session.ceilings()
        elif command in ("quit", ""):
            reply = {"peak_rss_mib": peak_rss_mib()}
        else:
            reply = {"error": f"unknown command {command!r}"}
        print(json.dumps(reply), flush=True)
        if command in ("quit", ""):
            return


def measure(args, ops, batch, warmup, steps):
    """Standalone: warm-up and timed steps, the augmentation alone, the ceilings; a summary like the driver's."""
    session = Session(args, ops, batch)
    ceiling = session.ceilings()
    step_s, losses = [], []
    for i in range(warmup + steps):
        r = session.step()
        losses.append(r["loss"])
        if i >= warmup:
            step_s.append(r["s"])
        print(f"  [Python batch {batch}] step {i + 1}/{warmup + steps}: {r['s']:.3f} s{' (warm-up)' if i < warmup else ''}",
              file=sys.stderr, flush=True)
    augment_s = [session.augment_views()["s"] for _ in range(warmup + steps)][warmup:]
    step, aug = statistics.median(step_s), statistics.median(augment_s)
    gflops = session.info["flops_per_step"] / step / 1e9
    return dict(session.info, warmup=warmup, steps=steps, step_s=step_s, augment_s=augment_s, losses=losses,
                median_step_s=step, min_step_s=min(step_s), median_augment_s=aug, images_per_s=batch / step,
                images_per_s_without_augment=batch / (step - aug), step_gflops=gflops, ceilings=ceiling,
                peak_rss_mib=peak_rss_mib())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    per_batch = lambda s: [int(v) for v in s.split(",")]
    parser.add_argument("--batch", type=per_batch, default=[32, 256], help="batch sizes, comma-separated")
    parser.add_argument("--steps", type=per_batch, default=[], help="timed steps (one value or one per batch size; "
                        "default 10 up to batch 64, else 6)")
    parser.add_argument("--warmup", type=per_batch, default=[], help="untimed steps first (likewise; default 2 up to batch 64, else 1)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op and inter-op threads")
    parser.add_argument("--arch", default="resnet50", help="resnet50, mix, or one op name per block, comma-separated")
    parser.add_argument("--ops", help="one op name per block, comma-separated (what moco_step.cpp passes; overrides --arch)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help="answer moco_step.cpp's commands on stdin (one batch size)")
    args = parser.parse_args()
    for name in ("steps", "warmup"):
        if len(getattr(args, name)) not in (0, 1, len(args.batch)):
            parser.error(f"--{name} needs one value or one per batch size")
    if args.precision != "fp32" and not args.device.startswith("cuda"):
        parser.error("mixed precision needs a CUDA device")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    ops = args.ops.split(",") if args.ops else preset(args.arch)
    if args.serve:
        if len(args.batch) != 1:
            parser.error("--serve takes one batch size")
        serve(args, ops)
        return
    for i, batch in enumerate(args.batch):
        pick = lambda v, small, large: (small if batch <= 64 else large) if not v else v[0] if len(v) == 1 else v[i]
        r = measure(args, ops, batch, pick(args.warmup, 2, 1), pick(args.steps, 10, 6))
        c = r["ceilings"]
        print(f"batch {batch}: {r['images_per_s']:.1f} img/s (median step {r['median_step_s']:.3f} s, min {r['min_step_s']:.3f} s, "
              f"augmentation {r['median_augment_s']:.3f} s), step {r['step_gflops']:.1f} GFLOP/s; {c['dtype']} matmul "
              f"{c['matmul_gflops']:.1f}, conv GEMM {c['conv_gemm_gflops']:.1f} GFLOP/s", file=sys.stderr, flush=True)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()

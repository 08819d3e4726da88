// Candidate operations of FaUNAE's two search spaces as torch::nn modules (paper III.A):
// identity, zero, k×k convolution, depth-wise separable convolution, 3×3 max / average pooling, and
// ResNeSt's split-attention convolution (SplAtConv2d, Zhang et al. 2020).
//
// Every op maps (N, C_in, H, W) to (N, C_out, H/stride, W/stride) and derives from CandidateOpImpl so
// that a block can hold its ops in one list and run only the selected one (single path).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <torch/torch.h>

namespace faunae::torch_backend {

/// The interface of every candidate op: a module with a virtual forward.
struct CandidateOpImpl : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  /// Multiply–accumulates of one image of h×w pixels (convolutions and linear maps; BN, ReLU,
  /// pooling and additions are not counted: the convention of ResNet's "4.1 GFLOPs").
  virtual std::int64_t macs(std::int64_t h, std::int64_t w) const = 0;
};

/// MACs of a convolution with `k`×`k` kernel from `in` to `out` channels in `groups` groups, stride `s`
/// and "same" padding, on an h×w input.
inline std::int64_t conv_macs(std::int64_t k, std::int64_t in, std::int64_t out, std::int64_t groups, std::int64_t s,
                              std::int64_t h, std::int64_t w) {
  const std::int64_t ho = (h + s - 1) / s, wo = (w + s - 1) / s;
  return k * k * (in / groups) * out * ho * wo;
}

/// Number of trainable parameters (and buffers excluded) of a module.
inline std::int64_t parameter_count(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

/// Sees the input of every ReLU that the candidate ops and the supernets run on this thread, while
/// it lives (nested observers: the innermost one): NASWOT reads its binary activation codes from
/// them (zero_cost.hpp). Without an observer a ReLU costs one thread-local pointer test more.
class ReluObserver {
 public:
  explicit ReluObserver(std::function<void(const torch::Tensor&)> observe) : observe_(std::move(observe)), previous_(current()) {
    current() = this;
  }
  ~ReluObserver() { current() = previous_; }
  ReluObserver(const ReluObserver&) = delete;
  ReluObserver& operator=(const ReluObserver&) = delete;

  /// The observer of this thread, or nullptr.
  static ReluObserver*& current() {
    static thread_local ReluObserver* observer = nullptr;
    return observer;
  }
  void observe(const torch::Tensor& x) const { observe_(x); }

 private:
  std::function<void(const torch::Tensor&)> observe_;
  ReluObserver* previous_;
};

/// torch::relu(x), with x shown to this thread's ReluObserver first. Every ReLU of the backbones
/// (ops, ResNet blocks and stems) goes through it.
inline torch::Tensor observed_relu(const torch::Tensor& x) {
  if (const ReluObserver* observer = ReluObserver::current()) observer->observe(x);
  return torch::relu(x);
}

/// Identity: returns its input (a skip connection; stride 1 and C_in == C_out only).
struct IdentityOpImpl : CandidateOpImpl {
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
  std::int64_t macs(std::int64_t, std::int64_t) const override { return 0; }
};
TORCH_MODULE(IdentityOp);

/// Zero: the "no connection" op of DARTS cells: zeros of the output shape.
struct ZeroOpImpl : CandidateOpImpl {
  explicit ZeroOpImpl(std::int64_t stride = 1) : stride(stride) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    if (stride == 1) return x.mul(0.0);
    using torch::indexing::Slice;
    return x.index({Slice(), Slice(), Slice(torch::indexing::None, torch::indexing::None, stride),
                    Slice(torch::indexing::None, torch::indexing::None, stride)})
        .mul(0.0);
  }
  std::int64_t macs(std::int64_t, std::int64_t) const override { return 0; }
  std::int64_t stride;
};
TORCH_MODULE(ZeroOp);

/// k×k convolution → BatchNorm → ReLU (the convolution of a ResNet bottleneck).
struct ConvBnReluImpl : CandidateOpImpl {
  ConvBnReluImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1)
      : conv(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)),
        bn(torch::nn::BatchNorm2dOptions(out)) {
    register_module("conv", conv);
    register_module("bn", bn);
  }
  torch::Tensor forward(const torch::Tensor& x) override { return observed_relu(bn(conv(x))); }
  std::int64_t macs(std::int64_t h, std::int64_t w) const override {
    const auto& o = conv->options;
    return conv_macs(o.kernel_size()->at(0), o.in_channels(), o.out_channels(), 1, o.stride()->at(0), h, w);
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
};
TORCH_MODULE(ConvBnRelu);

/// ReLU → k×k convolution → BatchNorm (DARTS's ReLUConvBN, its "conv k×k" op of the cell space).
struct ReluConvBnImpl : CandidateOpImpl {
  ReluConvBnImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1)
      : conv(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)),
        bn(torch::nn::BatchNorm2dOptions(out)) {
    register_module("conv", conv);
    register_module("bn", bn);
  }
  torch::Tensor forward(const torch::Tensor& x) override { return bn(conv(observed_relu(x))); }
  std::int64_t macs(std::int64_t h, std::int64_t w) const override {
    const auto& o = conv->options;
    return conv_macs(o.kernel_size()->at(0), o.in_channels(), o.out_channels(), 1, o.stride()->at(0), h, w);
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
};
TORCH_MODULE(ReluConvBn);

/// Depth-wise separable convolution as DARTS defines it: twice (ReLU → k×k depth-wise conv → 1×1
/// conv → BatchNorm); the stride is on the first depth-wise conv.
struct SepConvImpl : CandidateOpImpl {
  SepConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1)
      : dw1(torch::nn::Conv2dOptions(in, in, kernel).stride(stride).padding(kernel / 2).groups(in).bias(false)),
        pw1(torch::nn::Conv2dOptions(in, in, 1).bias(false)),
        bn1(torch::nn::BatchNorm2dOptions(in)),
        dw2(torch::nn::Conv2dOptions(in, in, kernel).padding(kernel / 2).groups(in).bias(false)),
        pw2(torch::nn::Conv2dOptions(in, out, 1).bias(false)),
        bn2(torch::nn::BatchNorm2dOptions(out)) {
    register_module("dw1", dw1);
    register_module("pw1", pw1);
    register_module("bn1", bn1);
    register_module("dw2", dw2);
    register_module("pw2", pw2);
    register_module("bn2", bn2);
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto y = bn1(pw1(dw1(observed_relu(x))));
    return bn2(pw2(dw2(observed_relu(y))));
  }
  std::int64_t macs(std::int64_t h, std::int64_t w) const override {
    const auto k = dw1->options.kernel_size()->at(0), s = dw1->options.stride()->at(0);
    const auto in = dw1->options.in_channels(), out = pw2->options.out_channels();
    const std::int64_t ho = (h + s - 1) / s, wo = (w + s - 1) / s;
    return conv_macs(k, in, in, in, s, h, w) + conv_macs(1, in, in, 1, 1, ho, wo) + conv_macs(k, in, in, in, 1, ho, wo) +
           conv_macs(1, in, out, 1, 1, ho, wo);
  }
  torch::nn::Conv2d dw1, pw1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d dw2, pw2;
  torch::nn::BatchNorm2d bn2;
};
TORCH_MODULE(SepConv);

enum class PoolKind { max, average };

/// 3×3 max or average pooling (padding 1; the average excludes the padding, as in DARTS).
struct PoolOpImpl : CandidateOpImpl {
  PoolOpImpl(PoolKind kind, std::int64_t stride = 1) : kind(kind), stride(stride) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    if (kind == PoolKind::max) return torch::max_pool2d(x, /*kernel_size=*/3, stride, /*padding=*/1);
    return torch::avg_pool2d(x, /*kernel_size=*/3, stride, /*padding=*/1, /*ceil_mode=*/false,
                             /*count_include_pad=*/false);
  }
  std::int64_t macs(std::int64_t, std::int64_t) const override { return 0; }
  PoolKind kind;
  std::int64_t stride;
};
TORCH_MODULE(PoolOp);

/// DARTS's FactorizedReduce: the skip connection of a reduction cell (halves H and W): two 1×1 convs
/// with stride 2 on x and on x shifted by one pixel, concatenated, then BatchNorm.
struct FactorizedReduceImpl : CandidateOpImpl {
  FactorizedReduceImpl(std::int64_t in, std::int64_t out)
      : conv1(torch::nn::Conv2dOptions(in, out / 2, 1).stride(2).bias(false)),
        conv2(torch::nn::Conv2dOptions(in, out - out / 2, 1).stride(2).bias(false)),
        bn(torch::nn::BatchNorm2dOptions(out)) {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("bn", bn);
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    using torch::indexing::Slice;
    auto y = observed_relu(x);
    auto shifted = y.index({Slice(), Slice(), Slice(1, torch::indexing::None), Slice(1, torch::indexing::None)});
    return bn(torch::cat({conv1(y), conv2(shifted)}, 1));
  }
  std::int64_t macs(std::int64_t h, std::int64_t w) const override {
    const auto in = conv1->options.in_channels();
    return conv_macs(1, in, conv1->options.out_channels() + conv2->options.out_channels(), 1, 2, h, w);
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::BatchNorm2d bn;
};
TORCH_MODULE(FactorizedReduce);

struct SplAtConv2dOptions {
  SplAtConv2dOptions(std::int64_t in, std::int64_t channels, std::int64_t kernel)
      : in_(in), channels_(channels), kernel_(kernel) {}
  TORCH_ARG(std::int64_t, in);
  TORCH_ARG(std::int64_t, channels);
  TORCH_ARG(std::int64_t, kernel);
  TORCH_ARG(std::int64_t, stride) = 1;
  TORCH_ARG(std::int64_t, radix) = 2;
  TORCH_ARG(std::int64_t, cardinality) = 1;
  TORCH_ARG(std::int64_t, reduction_factor) = 4;
};

/// ResNeSt's split-attention convolution (Zhang et al. 2020, SplAtConv2d):
///   k×k group conv to channels·radix (groups = cardinality·radix) → BN → ReLU → split into radix
///   parts, summed → global pooling → 1×1 conv to inter = max(in·radix/reduction, 32) (+bias) → BN →
///   ReLU → 1×1 conv to channels·radix (+bias) → softmax over the radix (per cardinal group) →
///   attention-weighted sum of the splits.
/// Parameters: in·channels·radix·k²/(cardinality·radix) + 2·channels·radix
///   + channels·inter/cardinality + inter + 2·inter + inter·channels·radix/cardinality + channels·radix.
struct SplAtConv2dImpl : CandidateOpImpl {
  explicit SplAtConv2dImpl(const SplAtConv2dOptions& o)
      : options(checked(o)),
        inter_channels(std::max<std::int64_t>(o.in() * o.radix() / o.reduction_factor(), 32)),
        conv(torch::nn::Conv2dOptions(o.in(), o.channels() * o.radix(), o.kernel())
                 .stride(o.stride())
                 .padding(o.kernel() / 2)
                 .groups(o.cardinality() * o.radix())
                 .bias(false)),
        bn0(torch::nn::BatchNorm2dOptions(o.channels() * o.radix())),
        fc1(torch::nn::Conv2dOptions(o.channels(), inter_channels, 1).groups(o.cardinality())),
        bn1(torch::nn::BatchNorm2dOptions(inter_channels)),
        fc2(torch::nn::Conv2dOptions(inter_channels, o.channels() * o.radix(), 1).groups(o.cardinality())) {
    register_module("conv", conv);
    register_module("bn0", bn0);
    register_module("fc1", fc1);
    register_module("bn1", bn1);
    register_module("fc2", fc2);
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    const auto radix = options.radix();
    const auto channels = options.channels();
    auto y = observed_relu(bn0(conv(x)));  // (N, C·r, H, W)
    const auto n = y.size(0);
    torch::Tensor gap;
    torch::Tensor splits;
    if (radix > 1) {
      splits = y.view({n, radix, channels, y.size(2), y.size(3)});
      gap = splits.sum(1);
    } else {
      gap = y;
    }
    gap = torch::adaptive_avg_pool2d(gap, {1, 1});
    gap = observed_relu(bn1(fc1(gap)));
    auto attention = fc2(gap);  // (N, C·r, 1, 1)
    if (radix > 1) {
      // rSoftMax: (N, card, r, C/card) → softmax over r
      const auto card = options.cardinality();
      attention = attention.view({n, card, radix, -1}).transpose(1, 2).softmax(1);
      attention = attention.reshape({n, radix, channels, 1, 1});
      return (attention * splits).sum(1);
    }
    return torch::sigmoid(attention) * y;
  }

  std::int64_t macs(std::int64_t h, std::int64_t w) const override {
    const auto& o = options;
    const auto c = o.channels(), r = o.radix(), card = o.cardinality();
    return conv_macs(o.kernel(), o.in(), c * r, card * r, o.stride(), h, w) + conv_macs(1, c, inter_channels, card, 1, 1, 1) +
           conv_macs(1, inter_channels, c * r, card, 1, 1, 1);
  }

  // Checked before any member is built, so a bad option gets our message, not a conv's.
  static const SplAtConv2dOptions& checked(const SplAtConv2dOptions& o) {
    TORCH_CHECK(o.radix() >= 1 && o.cardinality() >= 1 && o.reduction_factor() >= 1,
                "SplAtConv2d: radix, cardinality and reduction_factor must be >= 1, got ", o.radix(), ", ",
                o.cardinality(), ", ", o.reduction_factor());
    TORCH_CHECK(o.in() % (o.cardinality() * o.radix()) == 0 && o.channels() % o.cardinality() == 0,
                "SplAtConv2d: in channels ", o.in(), " must be divisible by cardinality*radix = ",
                o.cardinality() * o.radix(), " and channels ", o.channels(), " by cardinality");
    return o;
  }

  SplAtConv2dOptions options;
  std::int64_t inter_channels;
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn0;
  torch::nn::Conv2d fc1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d fc2;
};
TORCH_MODULE(SplAtConv2d);

}  // namespace faunae::torch_backend

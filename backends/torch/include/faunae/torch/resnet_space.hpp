// The ResNet-block search space of FaUNAE (paper III.A, Fig. 2b) as a single-path supernet.
//
// Stem → stages of search blocks → global average pooling. A search block is ResNet's bottleneck with
// its 3×3 convolution replaced by a candidate op:
//     x → 1×1 reduce (C_in→C_mid) → BN → ReLU → op (C_mid→C_mid, stride) → 1×1 expand (C_mid→4·C_mid)
//       → BN → (+ shortcut) → ReLU
// with 7 candidates per block: conv3, conv5, SAConv k3r2, k3r4, k5r2, k5r4, identity. The 1×1 convs
// and the shortcut are shared by the ops of a block; each op keeps its own weights (weight sharing
// across mutations). A forward runs only the ops α selects ("fmap in memory").
//
// Identity (depth mutation) skips the whole block: y = x. It is offered only where the block keeps
// resolution and width, i.e. not in the first block of a stage (which strides and/or widens, as in
// ResNet where that block always exists); an architecture with identity there is refused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "faunae/core/architecture.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"
#include "faunae/torch/ops.hpp"
#include "faunae/torch/stem.hpp"
#include "faunae/torch/supernet.hpp"

namespace faunae::torch_backend {

struct ResNetSpaceOptions {
  Stem stem = Stem::gray28;
  /// Search blocks per stage. ResNet-50 has {3, 4, 6, 3}; more blocks let the search trade depth
  /// for block size (over-parameterized supernet).
  std::vector<std::int64_t> blocks_per_stage{4, 6, 8, 4};
  /// Multiplier of ResNet-50's bottleneck widths {64, 128, 256, 512} (the paper searches at 0.5).
  double width = 0.5;
  /// Candidate op names, from: conv3, conv5, sa_k3r2, sa_k3r4, sa_k5r2, sa_k5r4, identity.
  std::vector<std::string> ops{"conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity"};

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("stem", self.stem), f("blocks_per_stage", self.blocks_per_stage), f("width", self.width), f("ops", self.ops);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where) const;
};

/// Every op name a ResNet-block space knows.
inline std::vector<std::string> known_resnet_ops() {
  return {"conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity"};
}

inline void ResNetSpaceOptions::check(std::string_view where) const {
  if (blocks_per_stage.empty()) throw InvalidArgument(fmt::format("{}: blocks_per_stage is empty", where));
  for (std::size_t s = 0; s < blocks_per_stage.size(); ++s)
    if (blocks_per_stage[s] < 1 || blocks_per_stage[s] > 64)
      throw InvalidArgument(fmt::format("{}: blocks_per_stage[{}] must be in [1, 64], got {}", where, s, blocks_per_stage[s]));
  if (!(width > 0.0 && width <= 8.0)) throw InvalidArgument(fmt::format("{}: width must be in (0, 8], got {}", where, width));
  if (ops.empty()) throw InvalidArgument(fmt::format("{}: ops is empty", where));
  const auto known = known_resnet_ops();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (std::find(known.begin(), known.end(), ops[i]) == known.end())
      throw InvalidArgument(fmt::format("{}: unknown op '{}' (known: {})", where, ops[i], fmt::join(known, ", ")));
    for (std::size_t j = 0; j < i; ++j)
      if (ops[j] == ops[i]) throw InvalidArgument(fmt::format("{}: op '{}' is listed twice", where, ops[i]));
  }
  if (ops.size() == 1 && ops[0] == "identity") throw InvalidArgument(fmt::format("{}: identity alone cannot build a network", where));
}

/// Geometry of one search block, fixed by the options.
struct BlockGeometry {
  std::int64_t stage = 0, in = 0, mid = 0, out = 0, stride = 1;
  bool can_skip() const { return stride == 1 && in == out; }
};

/// Builds the candidate op called `name` for a block (not identity, which has no module).
inline std::shared_ptr<CandidateOpImpl> make_resnet_op(const std::string& name, std::int64_t channels, std::int64_t stride) {
  if (name == "conv3") return std::make_shared<ConvBnReluImpl>(channels, channels, 3, stride);
  if (name == "conv5") return std::make_shared<ConvBnReluImpl>(channels, channels, 5, stride);
  if (name.size() == 7 && name.rfind("sa_k", 0) == 0 && name[5] == 'r') {
    const std::int64_t kernel = name[4] - '0', radix = name[6] - '0';
    if ((kernel == 3 || kernel == 5) && (radix == 2 || radix == 4))
      return std::make_shared<SplAtConv2dImpl>(SplAtConv2dOptions(channels, channels, kernel).stride(stride).radix(radix));
  }
  throw InvalidArgument(fmt::format("faunae::torch_backend::make_resnet_op(): unknown op '{}' (known: {})", name,
                                    fmt::join(known_resnet_ops(), ", ")));
}

/// One search block: shared 1×1 reduce / expand / shortcut around the candidate ops it holds.
struct SearchBlockImpl : torch::nn::Module {
  SearchBlockImpl(const BlockGeometry& g, const std::vector<std::string>& op_names)
      : geometry(g) {
    ops = register_module("ops", torch::nn::ModuleDict());
    const bool only_identity =
        std::all_of(op_names.begin(), op_names.end(), [](const std::string& n) { return n == "identity"; });
    if (only_identity) return;  // a standalone network's skipped block: no weights at all
    reduce = register_module("reduce", torch::nn::Conv2d(torch::nn::Conv2dOptions(g.in, g.mid, 1).bias(false)));
    reduce_bn = register_module("reduce_bn", torch::nn::BatchNorm2d(g.mid));
    expand = register_module("expand", torch::nn::Conv2d(torch::nn::Conv2dOptions(g.mid, g.out, 1).bias(false)));
    expand_bn = register_module("expand_bn", torch::nn::BatchNorm2d(g.out));
    if (!g.can_skip()) {
      shortcut = register_module("shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(g.in, g.out, 1).stride(g.stride).bias(false)));
      shortcut_bn = register_module("shortcut_bn", torch::nn::BatchNorm2d(g.out));
    }
    std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> candidates;
    for (const auto& name : op_names)
      if (name != "identity") candidates.emplace_back(name, make_resnet_op(name, g.mid, g.stride));
    ops->update(candidates);
  }

  /// Runs the block with op `name` (identity: the input itself).
  torch::Tensor forward(const torch::Tensor& x, const std::string& name) {
    if (name == "identity") return x;
    auto y = observed_relu(reduce_bn(reduce(x)));
    y = std::static_pointer_cast<CandidateOpImpl>((*ops)[name])->forward(y);
    y = expand_bn(expand(y));
    const auto residual = shortcut ? shortcut_bn(shortcut(x)) : x;
    return observed_relu(y + residual);
  }

  /// Parameters used when this block runs op `name` (0 for identity): MS of eq. (2).
  std::int64_t parameters_with(const std::string& name) const {
    if (name == "identity") return 0;
    std::int64_t n = parameter_count(*reduce) + parameter_count(*reduce_bn) + parameter_count(*expand) +
                     parameter_count(*expand_bn) + parameter_count(*(*ops)[name]);
    if (shortcut) n += parameter_count(*shortcut) + parameter_count(*shortcut_bn);
    return n;
  }

  BlockGeometry geometry;
  torch::nn::Conv2d reduce{nullptr};
  torch::nn::BatchNorm2d reduce_bn{nullptr};
  torch::nn::Conv2d expand{nullptr};
  torch::nn::BatchNorm2d expand_bn{nullptr};
  torch::nn::Conv2d shortcut{nullptr};
  torch::nn::BatchNorm2d shortcut_bn{nullptr};
  torch::nn::ModuleDict ops{nullptr};
};
TORCH_MODULE(SearchBlock);

/// The supernet (all ops of every block), or, built with a fixed architecture, the standalone network
/// holding only the chosen op of each block; parameter names are the same in both, so weights move
/// between them by name.
class ResNetSupernetImpl : public torch::nn::Module {
 public:
  explicit ResNetSupernetImpl(ResNetSpaceOptions options, std::optional<Architecture> only = std::nullopt)
      : options_(std::move(options)) {
    options_.check("faunae::torch_backend::ResNetSupernet");
    build_geometry();
    if (only) check(*only, "faunae::torch_backend::ResNetSupernet: the fixed architecture");
    stem_conv = register_module("stem_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels(), stem_out(), stem_kernel())
                                                                   .stride(options_.stem == Stem::imagenet224 ? 2 : 1)
                                                                   .padding(stem_kernel() / 2)
                                                                   .bias(false)));
    stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(stem_out()));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (std::size_t b = 0; b < geometry_.size(); ++b) {
      std::vector<std::string> names;
      for (std::size_t k = 0; k < op_names_[b].size(); ++k)
        if (!only || (*only)[b] == k) names.push_back(op_names_[b][k]);
      blocks->push_back(SearchBlock(geometry_[b], names));
    }
    fixed_ = only;
  }

  /// Pooled features (N, feature_dim()) of `x` through architecture `a` (only its ops run).
  torch::Tensor forward(const torch::Tensor& x, const Architecture& a) {
    TORCH_CHECK(a.size() == geometry_.size(), "ResNetSupernet::forward(): architecture has ", a.size(),
                " blocks, the space has ", geometry_.size());
    auto y = observed_relu(stem_bn(stem_conv(x)));
    if (options_.stem == Stem::imagenet224) y = torch::max_pool2d(y, 3, 2, 1);
    for (std::size_t b = 0; b < geometry_.size(); ++b) {
      TORCH_CHECK(a[b] < op_names_[b].size(), "ResNetSupernet::forward(): block ", b, " op index ", a[b], " out of range");
      y = blocks->ptr<SearchBlockImpl>(b)->forward(y, op_names_[b][a[b]]);
    }
    return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
  }

  /// Forward of a standalone network (built with a fixed architecture).
  torch::Tensor forward(const torch::Tensor& x) {
    TORCH_CHECK(fixed_.has_value(), "ResNetSupernet::forward(x): this is a supernet; pass the architecture");
    return forward(x, *fixed_);
  }

  const ResNetSpaceOptions& options() const noexcept { return options_; }
  std::size_t num_blocks() const noexcept { return geometry_.size(); }
  const BlockGeometry& geometry(std::size_t b) const { return geometry_.at(b); }
  const std::vector<std::string>& op_names(std::size_t b) const { return op_names_.at(b); }
  std::int64_t feature_dim() const { return geometry_.back().out; }
  const std::optional<Architecture>& fixed_architecture() const noexcept { return fixed_; }

  /// Throws InvalidArchitecture unless `a` has one op of its block per block (identity only where allowed).
  void check(const Architecture& a, std::string_view where) const {
    if (a.size() != geometry_.size())
      throw InvalidArchitecture(fmt::format("{}: has {} blocks, the ResNet space has {}", where, a.size(), geometry_.size()));
    for (std::size_t b = 0; b < a.size(); ++b)
      if (a[b] >= op_names_[b].size())
        throw InvalidArchitecture(fmt::format("{}: block {} uses op index {}, the block has {} ops ({}){}", where, b, a[b],
                                              op_names_[b].size(), fmt::join(op_names_[b], ", "),
                                              geometry_[b].can_skip() ? "" : "; identity is not allowed there: the block changes resolution or width"));
  }

  /// The search space description: blocks, op names, each op's parameter count (from the real modules,
  /// MS of eq. (2)), identity ops, and α0.
  BlockSpace space(const Architecture& initial) const {
    TORCH_CHECK(!fixed_.has_value(), "ResNetSupernet::space(): a standalone network is not a search space");
    std::vector<Block> out(geometry_.size());
    for (std::size_t b = 0; b < geometry_.size(); ++b) {
      out[b].name = fmt::format("stage{}.block{}", geometry_[b].stage + 1, index_in_stage(b));
      for (std::size_t k = 0; k < op_names_[b].size(); ++k) {
        const auto& name = op_names_[b][k];
        out[b].ops.push_back(Op{name, static_cast<double>(blocks->ptr<SearchBlockImpl>(b)->parameters_with(name))});
        if (name == "identity") out[b].identity = k;
      }
    }
    return BlockSpace(std::move(out), initial);
  }

  /// ResNet-50 remapped into the space: the first {3, 4, 6, 3} blocks of each stage use conv3 (ResNet's
  /// bottleneck), the others are skipped (identity). Needs conv3 and identity among the ops and at least
  /// ResNet-50's blocks per stage.
  Architecture resnet50() const {
    const std::vector<std::int64_t> depth{3, 4, 6, 3};
    if (options_.blocks_per_stage.size() != 4)
      throw InvalidArgument("faunae::torch_backend::ResNetSupernet::resnet50(): needs 4 stages");
    Architecture a(std::vector<OpIndex>(geometry_.size(), 0));
    for (std::size_t b = 0; b < geometry_.size(); ++b) {
      const auto stage = static_cast<std::size_t>(geometry_[b].stage);
      if (options_.blocks_per_stage[stage] < depth[stage])
        throw InvalidArgument(fmt::format("faunae::torch_backend::ResNetSupernet::resnet50(): stage {} has {} blocks, "
                                          "ResNet-50 needs {}", stage + 1, options_.blocks_per_stage[stage], depth[stage]));
      const bool kept = static_cast<std::int64_t>(index_in_stage(b)) < depth[stage];
      a[b] = op_index(b, kept ? "conv3" : "identity", "resnet50()");
    }
    return a;
  }

  /// A uniformly random architecture (each block's op uniform over its ops).
  Architecture random_architecture(Rng& rng) const {
    Architecture a(std::vector<OpIndex>(geometry_.size(), 0));
    for (std::size_t b = 0; b < geometry_.size(); ++b) a[b] = static_cast<OpIndex>(rng.below(op_names_[b].size()));
    return a;
  }

  OpIndex op_index(std::size_t b, const std::string& name, std::string_view who) const {
    const auto& names = op_names_.at(b);
    for (std::size_t k = 0; k < names.size(); ++k)
      if (names[k] == name) return k;
    throw InvalidArgument(fmt::format("faunae::torch_backend::ResNetSupernet::{}: block {} has no op '{}' (it has {})",
                                      who, b, name, fmt::join(names, ", ")));
  }

  /// Multiply–accumulate count of a forward of one image through `a` at the stem's input size
  /// (convolutions and the attention 1×1s; BN, ReLU, pooling and additions are not counted), the
  /// convention of ResNet's "4.1 GFLOPs".
  std::int64_t flops(const Architecture& a) const {
    check(a, "faunae::torch_backend::ResNetSupernet::flops()");
    const std::int64_t stem_stride = options_.stem == Stem::imagenet224 ? 2 : 1;
    std::int64_t total = conv_macs(stem_kernel(), in_channels(), stem_out(), 1, stem_stride, input_size(), input_size());
    std::int64_t h = (input_size() + stem_stride - 1) / stem_stride;
    if (options_.stem == Stem::imagenet224) h = (h + 1) / 2;
    for (std::size_t b = 0; b < geometry_.size(); ++b) {
      const auto& g = geometry_[b];
      const auto& name = op_names_[b][a[b]];
      if (name == "identity") continue;
      const std::int64_t ho = (h + g.stride - 1) / g.stride;
      total += conv_macs(1, g.in, g.mid, 1, 1, h, h) + conv_macs(1, g.mid, g.out, 1, 1, ho, ho);
      if (!g.can_skip()) total += conv_macs(1, g.in, g.out, 1, g.stride, h, h);
      total += std::static_pointer_cast<CandidateOpImpl>((*blocks->ptr<SearchBlockImpl>(b)->ops)[name])->macs(h, h);
      h = ho;
    }
    return total;
  }

  /// Parameters of the network that `a` selects (stem, chosen ops and their blocks' shared parts).
  std::int64_t parameters(const Architecture& a) const {
    check(a, "faunae::torch_backend::ResNetSupernet::parameters()");
    std::int64_t n = parameter_count(*stem_conv) + parameter_count(*stem_bn);
    for (std::size_t b = 0; b < geometry_.size(); ++b)
      n += blocks->ptr<SearchBlockImpl>(b)->parameters_with(op_names_[b][a[b]]);
    return n;
  }

  std::int64_t input_size() const { return options_.stem == Stem::gray28 ? 28 : options_.stem == Stem::color32 ? 32 : 224; }
  std::int64_t in_channels() const { return stem_channels(options_.stem); }

  torch::nn::Conv2d stem_conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  torch::nn::ModuleList blocks{nullptr};

 private:
  std::int64_t stem_out() const { return scaled(64); }
  std::int64_t stem_kernel() const { return options_.stem == Stem::imagenet224 ? 7 : 3; }
  std::int64_t scaled(std::int64_t c) const {
    // multiple of 8 so that radix-4 splits and groups divide evenly
    const auto v = static_cast<std::int64_t>(static_cast<double>(c) * options_.width + 0.5);
    return std::max<std::int64_t>(8, (v + 7) / 8 * 8);
  }
  std::size_t index_in_stage(std::size_t b) const {
    std::size_t i = 0;
    while (b > 0 && geometry_[b - 1].stage == geometry_[b].stage) --b, ++i;
    return i;
  }

  void build_geometry() {
    std::int64_t in = stem_out();
    for (std::size_t s = 0; s < options_.blocks_per_stage.size(); ++s) {
      const std::int64_t mid = scaled(64LL << std::min<std::size_t>(s, 3));
      for (std::int64_t i = 0; i < options_.blocks_per_stage[s]; ++i) {
        BlockGeometry g{static_cast<std::int64_t>(s), in, mid, 4 * mid, (i == 0 && s > 0) ? 2 : 1};
        geometry_.push_back(g);
        std::vector<std::string> names;
        for (const auto& op : options_.ops)
          if (op != "identity" || g.can_skip()) names.push_back(op);
        op_names_.push_back(std::move(names));
        in = g.out;
      }
    }
  }

  ResNetSpaceOptions options_;
  std::vector<BlockGeometry> geometry_;
  std::vector<std::vector<std::string>> op_names_;
  std::optional<Architecture> fixed_;
};
TORCH_MODULE(ResNetSupernet);
static_assert(Supernet<ResNetSupernet>);

}  // namespace faunae::torch_backend

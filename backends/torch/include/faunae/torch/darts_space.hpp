// The DARTS cell space of FaUNAE on CIFAR-10 (paper III.A and IV.C.1; Liu et al., DARTS, 2019).
//
// A network of L cells (reduction cells at L/3 and 2L/3, which halve the resolution and double the
// channels; normal cells elsewhere). A cell takes the outputs of the two previous cells, has 4
// intermediate nodes, and node i sums one op on each edge from the cell's two inputs and the nodes
// before it (2 + 3 + 4 + 5 = 14 edges); the cell outputs the 4 nodes concatenated. FaUNAE puts one op
// per edge, from 8: none (zero), skip, conv 3×3, conv 5×5, sep conv 3×3, sep conv 5×5, max pool 3×3,
// avg pool 3×3. All normal cells share one architecture and all reduction cells another, so the
// search sees 28 blocks: the 14 edges of the normal cell, then the 14 of the reduction cell.
//
// Single path: an edge runs only its op; a "none" edge is not computed at all. On the edges of a
// reduction cell that leave the cell's inputs (stride 2), skip is DARTS's FactorizedReduce, and it is
// the identity (the depth mutation's op) everywhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "faunae/core/architecture.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"
#include "faunae/torch/ops.hpp"
#include "faunae/torch/supernet.hpp"

namespace faunae::torch_backend {

inline const std::vector<std::string>& darts_ops() {
  static const std::vector<std::string> ops{"none",         "skip_connect", "conv_3x3",     "conv_5x5",
                                            "sep_conv_3x3", "sep_conv_5x5", "max_pool_3x3", "avg_pool_3x3"};
  return ops;
}

struct DartsSpaceOptions {
  std::int64_t layers = 6;        ///< cells (paper: 6 while searching, 10 after)
  std::int64_t channels = 16;     ///< C of the first cells (paper: 36 or 100 for the final network)
  std::int64_t in_channels = 3;   ///< 3 for CIFAR-10, 1 for Fashion-MNIST
  std::int64_t input_size = 32;   ///< H = W of the input
  std::int64_t stem_multiplier = 3;

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("layers", self.layers), f("channels", self.channels), f("in_channels", self.in_channels),
        f("input_size", self.input_size), f("stem_multiplier", self.stem_multiplier);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where) const {
    if (layers < 1 || layers > 100) throw InvalidArgument(fmt::format("{}: layers must be in [1, 100], got {}", where, layers));
    if (channels < 2 || channels % 2 != 0 || channels > 4096)
      throw InvalidArgument(fmt::format("{}: channels must be even and in [2, 4096], got {}", where, channels));
    if (in_channels < 1) throw InvalidArgument(fmt::format("{}: in_channels must be >= 1, got {}", where, in_channels));
    if (input_size < 4) throw InvalidArgument(fmt::format("{}: input_size must be >= 4, got {}", where, input_size));
    if (stem_multiplier < 1) throw InvalidArgument(fmt::format("{}: stem_multiplier must be >= 1, got {}", where, stem_multiplier));
  }
};

/// Edges of one cell, in order: for node i = 0..3, the edges from inputs j = 0..i+1 (0, 1 = the two
/// previous cells, 2.. = earlier nodes). 14 in all.
struct DartsEdge {
  std::int64_t node, from;
};
inline const std::vector<DartsEdge>& darts_edges() {
  static const std::vector<DartsEdge> edges = [] {
    std::vector<DartsEdge> e;
    for (std::int64_t node = 0; node < 4; ++node)
      for (std::int64_t from = 0; from < node + 2; ++from) e.push_back({node, from});
    return e;
  }();
  return edges;
}

inline std::shared_ptr<CandidateOpImpl> make_darts_op(const std::string& name, std::int64_t c, std::int64_t stride) {
  if (name == "none") return std::make_shared<ZeroOpImpl>(stride);
  if (name == "skip_connect") {
    if (stride == 1) return std::make_shared<IdentityOpImpl>();
    return std::make_shared<FactorizedReduceImpl>(c, c);
  }
  if (name == "conv_3x3") return std::make_shared<ReluConvBnImpl>(c, c, 3, stride);
  if (name == "conv_5x5") return std::make_shared<ReluConvBnImpl>(c, c, 5, stride);
  if (name == "sep_conv_3x3") return std::make_shared<SepConvImpl>(c, c, 3, stride);
  if (name == "sep_conv_5x5") return std::make_shared<SepConvImpl>(c, c, 5, stride);
  if (name == "max_pool_3x3") return std::make_shared<PoolOpImpl>(PoolKind::max, stride);
  if (name == "avg_pool_3x3") return std::make_shared<PoolOpImpl>(PoolKind::average, stride);
  throw InvalidArgument(fmt::format("faunae::torch_backend::make_darts_op(): unknown op '{}' (known: {})", name,
                                    fmt::join(darts_ops(), ", ")));
}

/// One cell. `ops` holds, per edge, either all 8 candidates (supernet) or only the chosen one.
struct DartsCellImpl : torch::nn::Module {
  DartsCellImpl(std::int64_t c_prev_prev, std::int64_t c_prev, std::int64_t c, bool reduction, bool reduction_prev,
                const std::vector<std::vector<std::string>>& ops_per_edge)
      : reduction(reduction), channels(c) {
    if (reduction_prev) preprocess0 = register_module("preprocess0", std::make_shared<FactorizedReduceImpl>(c_prev_prev, c));
    else preprocess0 = register_module("preprocess0", std::make_shared<ReluConvBnImpl>(c_prev_prev, c, 1));
    preprocess1 = register_module("preprocess1", std::make_shared<ReluConvBnImpl>(c_prev, c, 1));
    edges = register_module("edges", torch::nn::ModuleList());
    for (std::size_t e = 0; e < darts_edges().size(); ++e) {
      const std::int64_t stride = reduction && darts_edges()[e].from < 2 ? 2 : 1;
      torch::nn::ModuleDict candidates;
      std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> items;
      for (const auto& name : ops_per_edge[e]) items.emplace_back(name, make_darts_op(name, c, stride));
      candidates->update(items);
      edges->push_back(candidates);
    }
  }

  /// `chosen[e]` names the op of edge e.
  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& s1, const std::vector<const std::string*>& chosen) {
    std::vector<torch::Tensor> states{preprocess0->forward(s0), preprocess1->forward(s1)};
    std::size_t e = 0;
    for (std::int64_t node = 0; node < 4; ++node) {
      torch::Tensor sum;
      for (std::int64_t from = 0; from < node + 2; ++from, ++e) {
        const std::string& name = *chosen[e];
        if (name == "none") continue;  // zero: contributes nothing, computes nothing
        auto op = std::static_pointer_cast<CandidateOpImpl>((*edges->ptr<torch::nn::ModuleDictImpl>(e))[name]);
        auto y = op->forward(states[static_cast<std::size_t>(from)]);
        sum = sum.defined() ? sum + y : y;
      }
      if (!sum.defined()) {  // every edge into the node is "none"
        const auto& ref = states[1];
        const std::int64_t s = reduction ? 2 : 1;
        sum = torch::zeros({ref.size(0), channels, (ref.size(2) + s - 1) / s, (ref.size(3) + s - 1) / s}, ref.options());
      }
      states.push_back(sum);
    }
    return torch::cat({states[2], states[3], states[4], states[5]}, 1);
  }

  bool reduction;
  std::int64_t channels;
  std::shared_ptr<CandidateOpImpl> preprocess0, preprocess1;
  torch::nn::ModuleList edges{nullptr};
};
TORCH_MODULE(DartsCell);

/// The DARTS supernet (every op on every edge), or with a fixed architecture the standalone network
/// with only the chosen ops; parameter names agree between the two.
class DartsSupernetImpl : public torch::nn::Module {
 public:
  static constexpr std::size_t kEdges = 14;

  explicit DartsSupernetImpl(DartsSpaceOptions options, std::optional<Architecture> only = std::nullopt)
      : options_(options) {
    options_.check("faunae::torch_backend::DartsSupernet");
    if (only) check(*only, "faunae::torch_backend::DartsSupernet: the fixed architecture");
    const std::int64_t c_stem = options_.stem_multiplier * options_.channels;
    stem_conv = register_module("stem_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.in_channels, c_stem, 3).padding(1).bias(false)));
    stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(c_stem));
    cells = register_module("cells", torch::nn::ModuleList());
    std::int64_t c_pp = c_stem, c_p = c_stem, c = options_.channels;
    bool reduction_prev = false;
    for (std::int64_t i = 0; i < options_.layers; ++i) {
      const bool reduction = is_reduction(i);
      if (reduction) c *= 2;
      std::vector<std::vector<std::string>> ops(kEdges);
      for (std::size_t e = 0; e < kEdges; ++e) {
        if (only) ops[e] = {darts_ops()[(*only)[block_of(reduction, e)]]};
        else ops[e] = darts_ops();
      }
      cells->push_back(DartsCell(c_pp, c_p, c, reduction, reduction_prev, ops));
      reduction_prev = reduction;
      c_pp = c_p;
      c_p = 4 * c;
    }
    feature_dim_ = c_p;
    fixed_ = only;
  }

  bool is_reduction(std::int64_t cell) const {
    return options_.layers >= 3 && (cell == options_.layers / 3 || cell == 2 * options_.layers / 3);
  }
  /// Block index of edge e of a normal (0..13) or reduction (14..27) cell.
  static std::size_t block_of(bool reduction, std::size_t edge) { return (reduction ? kEdges : 0) + edge; }

  torch::Tensor forward(const torch::Tensor& x, const Architecture& a) {
    TORCH_CHECK(a.size() == 2 * kEdges, "DartsSupernet::forward(): architecture has ", a.size(), " blocks, the space has 28");
    std::vector<const std::string*> normal(kEdges), reduce(kEdges);
    for (std::size_t e = 0; e < kEdges; ++e) {
      TORCH_CHECK(a[e] < 8 && a[kEdges + e] < 8, "DartsSupernet::forward(): op index out of range at edge ", e);
      normal[e] = &darts_ops()[a[e]];
      reduce[e] = &darts_ops()[a[kEdges + e]];
    }
    auto s0 = stem_bn(stem_conv(x));
    auto s1 = s0;
    for (std::size_t i = 0; i < cells->size(); ++i) {
      auto cell = cells->ptr<DartsCellImpl>(i);
      auto out = cell->forward(s0, s1, cell->reduction ? reduce : normal);
      s0 = s1;
      s1 = out;
    }
    return torch::adaptive_avg_pool2d(s1, {1, 1}).flatten(1);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    TORCH_CHECK(fixed_.has_value(), "DartsSupernet::forward(x): this is a supernet; pass the architecture");
    return forward(x, *fixed_);
  }

  void check(const Architecture& a, std::string_view where) const {
    if (a.size() != 2 * kEdges)
      throw InvalidArchitecture(fmt::format("{}: has {} blocks, the DARTS space has 28 (14 normal-cell edges, then 14 "
                                            "reduction-cell edges)", where, a.size()));
    for (std::size_t b = 0; b < a.size(); ++b)
      if (a[b] >= darts_ops().size())
        throw InvalidArchitecture(fmt::format("{}: block {} uses op index {}, an edge has 8 ops ({})", where, b, a[b],
                                              fmt::join(darts_ops(), ", ")));
  }

  /// The space: 28 blocks of 8 ops, each op's size = its parameters summed over the cells that share
  /// the edge (MS of eq. (2)); identity = skip_connect where the edge keeps the resolution.
  BlockSpace space(const Architecture& initial) const {
    TORCH_CHECK(!fixed_.has_value(), "DartsSupernet::space(): a standalone network is not a search space");
    std::vector<Block> blocks(2 * kEdges);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const bool reduction = b >= kEdges;
      const std::size_t e = b % kEdges;
      const auto& edge = darts_edges()[e];
      blocks[b].name = fmt::format("{}.node{}.from{}", reduction ? "reduce" : "normal", edge.node, edge.from);
      for (std::size_t k = 0; k < darts_ops().size(); ++k) {
        double size = 0;
        for (std::size_t i = 0; i < cells->size(); ++i) {
          auto cell = cells->ptr<DartsCellImpl>(i);
          if (cell->reduction != reduction) continue;
          size += static_cast<double>(parameter_count(*(*cell->edges->ptr<torch::nn::ModuleDictImpl>(e))[darts_ops()[k]]));
        }
        blocks[b].ops.push_back(Op{darts_ops()[k], size});
      }
      if (!(reduction && edge.from < 2)) blocks[b].identity = 1;  // skip_connect is the identity there
    }
    return BlockSpace(std::move(blocks), initial);
  }

  Architecture random_architecture(Rng& rng) const {
    Architecture a(std::vector<OpIndex>(2 * kEdges, 0));
    for (std::size_t b = 0; b < a.size(); ++b) a[b] = static_cast<OpIndex>(rng.below(darts_ops().size()));
    return a;
  }

  /// The cells as DARTS writes a genotype: per node the (op, input) pairs of its edges that are not
  /// "none"; inputs 0 and 1 are the two previous cells, 2.. the cell's earlier nodes.
  std::string genotype(const Architecture& a) const {
    check(a, "faunae::torch_backend::DartsSupernet::genotype()");
    auto cell = [&](bool reduction) {
      std::vector<std::string> parts;
      for (std::size_t e = 0; e < kEdges; ++e) {
        const auto& name = darts_ops()[a[block_of(reduction, e)]];
        if (name != "none") parts.push_back(fmt::format("('{}', {})", name, darts_edges()[e].from));
      }
      return fmt::format("[{}]", fmt::join(parts, ", "));
    };
    return fmt::format("Genotype(normal={}, normal_concat=range(2, 6), reduce={}, reduce_concat=range(2, 6))", cell(false),
                       cell(true));
  }

  /// Multiply–accumulates of one image through `a` (see CandidateOpImpl::macs).
  std::int64_t flops(const Architecture& a) const {
    check(a, "faunae::torch_backend::DartsSupernet::flops()");
    std::int64_t h = options_.input_size;
    std::int64_t total = conv_macs(3, options_.in_channels, options_.stem_multiplier * options_.channels, 1, 1, h, h);
    std::int64_t h_pp = h, h_p = h;
    for (std::size_t i = 0; i < cells->size(); ++i) {
      auto cell = cells->ptr<DartsCellImpl>(i);
      total += cell->preprocess0->macs(h_pp, h_pp) + cell->preprocess1->macs(h_p, h_p);
      const std::int64_t h_in = h_p;
      const std::int64_t h_out = cell->reduction ? (h_in + 1) / 2 : h_in;
      for (std::size_t e = 0; e < kEdges; ++e) {
        const auto& name = darts_ops()[a[block_of(cell->reduction, e)]];
        const std::int64_t h_edge = darts_edges()[e].from < 2 ? h_in : h_out;
        total += std::static_pointer_cast<CandidateOpImpl>((*cell->edges->ptr<torch::nn::ModuleDictImpl>(e))[name])->macs(h_edge, h_edge);
      }
      h_pp = h_p;
      h_p = h_out;
    }
    return total;
  }

  /// Parameters of the network `a` selects.
  std::int64_t parameters(const Architecture& a) const {
    check(a, "faunae::torch_backend::DartsSupernet::parameters()");
    std::int64_t n = parameter_count(*stem_conv) + parameter_count(*stem_bn);
    for (std::size_t i = 0; i < cells->size(); ++i) {
      auto cell = cells->ptr<DartsCellImpl>(i);
      n += parameter_count(*cell->preprocess0) + parameter_count(*cell->preprocess1);
      for (std::size_t e = 0; e < kEdges; ++e)
        n += parameter_count(*(*cell->edges->ptr<torch::nn::ModuleDictImpl>(e))[darts_ops()[a[block_of(cell->reduction, e)]]]);
    }
    return n;
  }

  const DartsSpaceOptions& options() const noexcept { return options_; }
  std::int64_t feature_dim() const noexcept { return feature_dim_; }
  const std::optional<Architecture>& fixed_architecture() const noexcept { return fixed_; }

  torch::nn::Conv2d stem_conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  torch::nn::ModuleList cells{nullptr};

 private:
  DartsSpaceOptions options_;
  std::int64_t feature_dim_ = 0;
  std::optional<Architecture> fixed_;
};
TORCH_MODULE(DartsSupernet);
static_assert(Supernet<DartsSupernet>);

}  // namespace faunae::torch_backend

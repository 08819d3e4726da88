// FaunaeMutation: the evolution probability of FaUNAE (paper III.B, eqs. 1–3).
//
//   p_mt  (eq. 1): keep the current op with 1 − ε; move to another op with probability ε shared in
//                  proportion to (1 − sa_k / Σ sa), so rarely sampled ("younger") ops are favoured.
//   p_rm  (eq. 2): the restriction metric, a softmax over the negative model size of each op.
//   p     (eq. 3): λ1 · p_mt + (1 − λ1) · p_rm; each block draws its op from p independently.
//
// Decisions where the paper is silent or inconsistent (docs/algorithm.md gives the reasons):
//  - eq. (1): the printed factor 1/(K−1) does not make the other ops sum to ε, so the weights
//    (1 − sa_k/Σ sa) are normalized over the other alive ops; Σ runs over the alive ops of the block;
//    while Σ sa = 0, or when all weights are 0 (K = 2 and the current op never sampled), the others
//    share ε equally.
//  - eq. (2): as printed it is negative; we use softmax(−MS/s). Raw parameter counts overflow exp,
//    so MS is divided by a scale s: by default the largest size alive in the block (MS/s ∈ [0, 1],
//    the same preference in every stage), or a fixed `size_unit` if one is given.
//  - Only alive ops (eq. 10 has not removed them) get probability; the op or depth kind of a
//    mutation follows from whether the identity op is involved.
#pragma once

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/error.hpp"

namespace faunae {

struct FaunaeMutationOptions {
  double epsilon = 0.5;    ///< ε of eq. (1): probability mass of leaving the current op (docs/algorithm.md: why 0.5)
  double lambda1 = 0.9;    ///< λ1 of eq. (3) (paper: 0.9); 1 switches the size restriction off
  double size_unit = 0.0;  ///< scale s of eq. (2); 0 = the largest alive op size of each block

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("epsilon", self.epsilon), f("lambda1", self.lambda1), f("size_unit", self.size_unit);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where = "faunae::FaunaeMutation") const {
    const auto unit_interval = [&](const char* name, double v) {
      if (!(v >= 0.0 && v <= 1.0)) throw InvalidArgument(fmt::format("{}: {} must be in [0, 1], got {}", where, name, v));
    };
    unit_interval("epsilon", epsilon);
    unit_interval("lambda1", lambda1);
    if (!std::isfinite(size_unit) || size_unit < 0.0)
      throw InvalidArgument(fmt::format("{}: size_unit must be finite and >= 0 (0 = per-block maximum), got {}", where, size_unit));
  }
};

class FaunaeMutation {
 public:
  FaunaeMutation() : FaunaeMutation(FaunaeMutationOptions{}) {}
  explicit FaunaeMutation(FaunaeMutationOptions options) : options_(options) { options_.check(); }

  const FaunaeMutationOptions& options() const noexcept { return options_; }

  nlohmann::json config() const {
    return {{"policy", "FaunaeMutation"},
            {"epsilon", options_.epsilon},
            {"lambda1", options_.lambda1},
            {"size_unit", options_.size_unit}};
  }

  Proposal propose(const BlockSpace& space, const SearchState& state, Rng& rng) {
    const OpStatistics& stats = state.stats;
    refresh_restriction(space, stats);
    Proposal proposal{state.current, BlockOpTable<double>(stats.loss.rows(), stats.loss.cols())};  // every entry written below
    for (Eigen::Index b = 0; b < stats.loss.rows(); ++b) {
      auto p = proposal.probabilities.row(b);
      const double total = evolution_probability(stats, b, state.current[static_cast<std::size_t>(b)], p);
      proposal.architecture[static_cast<std::size_t>(b)] = draw(p, total, rng);
    }
    return proposal;
  }

  /// p of eq. (3) for every block of `state` (rows) over its ops (columns); zero for removed ops.
  BlockOpTable<double> probabilities(const BlockSpace& space, const SearchState& state) {
    refresh_restriction(space, state.stats);
    BlockOpTable<double> p = BlockOpTable<double>::Zero(state.stats.loss.rows(), state.stats.loss.cols());
    for (Eigen::Index b = 0; b < p.rows(); ++b)
      evolution_probability(state.stats, b, state.current[static_cast<std::size_t>(b)], p.row(b));
    return p;
  }

  /// p_rm of eq. (2) for every (block, op) of the alive set in `stats` (zero for removed ops).
  const BlockOpTable<double>& restriction_probability(const BlockSpace& space, const OpStatistics& stats) {
    refresh_restriction(space, stats);
    return restriction_;
  }

 private:
  /// Rng::categorical(p) given Σ p summed in index order, as categorical() sums it: the same draw,
  /// one pass less.
  template <class Row>
  static OpIndex draw(const Row& p, double total, Rng& rng) {
    if (!(total > 0.0) || !std::isfinite(total))
      return rng.categorical(std::span<const double>(p.data(), static_cast<std::size_t>(p.size())));  // throws
    const double target = rng.uniform() * total;
    double cumulative = 0.0;
    OpIndex last_positive = 0;
    for (Eigen::Index k = 0; k < p.size(); ++k) {
      if (p(k) <= 0.0) continue;
      cumulative += p(k);
      last_positive = static_cast<OpIndex>(k);
      if (target < cumulative) return last_positive;
    }
    return last_positive;
  }

  /// p of eq. (3) for block b with current op `current`, written into `p` (one entry per column);
  /// returns Σ p. Needs refresh_restriction() first.
  template <class Row>
  double evolution_probability(const OpStatistics& stats, Eigen::Index b, OpIndex current, Row&& p) const {
    // Plain loops over the block's row (row-major: contiguous); Eigen's expression machinery costs
    // more than the arithmetic on rows of 3-7 ops.
    const Eigen::Index cols = stats.alive.cols();
    const bool* alive = stats.alive.data() + b * cols;
    const std::int64_t* sa = stats.samples.data() + b * cols;
    const auto c = static_cast<Eigen::Index>(current);
    Eigen::Index ops_left = 0;
    double total_samples = 0.0;
    for (Eigen::Index k = 0; k < cols; ++k)
      if (alive[k]) {
        ++ops_left;
        total_samples += static_cast<double>(sa[k]);
      }
    if (ops_left <= 1) {
      for (Eigen::Index k = 0; k < cols; ++k) p(k) = 0.0;
      p(c) = 1.0;
      return 1.0;
    }
    // eq. (1): p_mt
    double weight_sum = 0.0;
    for (Eigen::Index k = 0; k < cols; ++k) {
      const double w = !alive[k] || k == c ? 0.0
                       : total_samples > 0.0 ? 1.0 - static_cast<double>(sa[k]) / total_samples
                                             : 1.0;
      p(k) = w;
      weight_sum += w;
    }
    const double eps = options_.epsilon;
    const double others = static_cast<double>(ops_left - 1);
    const double l1 = options_.lambda1;
    const double* rm = l1 < 1.0 ? restriction_.data() + b * cols : nullptr;
    double total = 0.0;
    for (Eigen::Index k = 0; k < cols; ++k) {
      double v = k == c ? 1.0 - eps
                 : !alive[k] ? 0.0
                 : weight_sum > 0.0 ? eps * p(k) / weight_sum
                                    : eps / others;
      // eq. (3): p = λ1 p_mt + (1 − λ1) p_rm, with p_rm of eq. (2) cached per alive set
      v *= l1;
      if (rm) v += (1.0 - l1) * rm[k];
      p(k) = v;
      total += v;
    }
    return total;
  }

  // The cache key is the space's content id (not its address: another space can take the same
  // address) and the alive set, which changes only when ops are eliminated.
  bool restriction_cached(const BlockSpace& space, const OpStatistics& stats) const {
    return cached_space_id_ == space.content_id() && cached_alive_.rows() == stats.alive.rows() &&
           cached_alive_.cols() == stats.alive.cols() &&
           std::equal(stats.alive.data(), stats.alive.data() + stats.alive.size(), cached_alive_.data());
  }

  void refresh_restriction(const BlockSpace& space, const OpStatistics& stats) {
    if (restriction_cached(space, stats)) return;
    restriction_.setZero(stats.alive.rows(), stats.alive.cols());
    for (Eigen::Index b = 0; b < stats.alive.rows(); ++b) {
      const auto& ops = space.blocks()[static_cast<std::size_t>(b)].ops;
      double scale = options_.size_unit;
      double smallest = std::numeric_limits<double>::infinity();
      if (scale == 0.0)
        for (Eigen::Index k = 0; k < stats.alive.cols(); ++k)
          if (stats.alive(b, k)) scale = std::max(scale, ops[static_cast<std::size_t>(k)].size);
      if (scale == 0.0) scale = 1.0;  // every alive op has size 0: p_rm is uniform
      for (Eigen::Index k = 0; k < stats.alive.cols(); ++k)
        if (stats.alive(b, k)) smallest = std::min(smallest, ops[static_cast<std::size_t>(k)].size / scale);
      double total = 0.0;
      for (Eigen::Index k = 0; k < stats.alive.cols(); ++k) {
        if (!stats.alive(b, k)) continue;
        // eq. (2): softmax over −MS/s, shifted by the smallest size so exp never overflows
        restriction_(b, k) = std::exp(-(ops[static_cast<std::size_t>(k)].size / scale - smallest));
        total += restriction_(b, k);
      }
      restriction_.row(b) /= total;
    }
    cached_alive_ = stats.alive;
    cached_space_id_ = space.content_id();
  }

  FaunaeMutationOptions options_;
  BlockOpTable<double> restriction_;
  BlockOpTable<bool> cached_alive_;
  std::uint64_t cached_space_id_ = 0;
};

static_assert(MutationPolicy<FaunaeMutation>);

}  // namespace faunae

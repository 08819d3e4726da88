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
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/error.hpp"

namespace faunae {

struct FaunaeMutationOptions {
  double epsilon = 0.2;    ///< ε of eq. (1): probability mass of leaving the current op
  double lambda1 = 0.9;    ///< λ1 of eq. (3) (paper: 0.9); 1 switches the size restriction off
  double size_unit = 0.0;  ///< scale s of eq. (2); 0 = the largest alive op size of each block
};

class FaunaeMutation {
 public:
  FaunaeMutation() : FaunaeMutation(FaunaeMutationOptions{}) {}
  explicit FaunaeMutation(FaunaeMutationOptions options) : options_(options) {
    check_unit_interval("epsilon", options_.epsilon);
    check_unit_interval("lambda1", options_.lambda1);
    if (!std::isfinite(options_.size_unit) || options_.size_unit < 0.0)
      throw InvalidArgument(fmt::format("faunae::FaunaeMutation: size_unit must be finite and >= 0 (0 = per-block "
                                        "maximum), got {}",
                                        options_.size_unit));
  }

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
    Proposal proposal{state.current, BlockOpTable<double>::Zero(stats.loss.rows(), stats.loss.cols())};
    for (Eigen::Index b = 0; b < stats.loss.rows(); ++b) {
      auto p = proposal.probabilities.row(b);
      evolution_probability(stats, b, state.current[static_cast<std::size_t>(b)], p);
      proposal.architecture[static_cast<std::size_t>(b)] =
          rng.categorical(std::span<const double>(p.data(), static_cast<std::size_t>(p.size())));
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
  /// p of eq. (3) for block b with current op `current`, written into `p` (one entry per column).
  /// Needs refresh_restriction() first.
  template <class Row>
  void evolution_probability(const OpStatistics& stats, Eigen::Index b, OpIndex current, Row&& p) const {
    const auto alive = stats.alive.row(b);
    const auto cols = alive.size();
    const auto c = static_cast<Eigen::Index>(current);
    const auto ops_left = alive.count();
    p.setZero();
    if (ops_left <= 1) {
      p(c) = 1.0;
      return;
    }
    // eq. (1): p_mt
    double total_samples = 0.0;
    for (Eigen::Index k = 0; k < cols; ++k)
      if (alive(k)) total_samples += static_cast<double>(stats.samples(b, k));
    double weight_sum = 0.0;
    for (Eigen::Index k = 0; k < cols; ++k) {
      if (!alive(k) || k == c) continue;
      const double w = total_samples > 0.0 ? 1.0 - static_cast<double>(stats.samples(b, k)) / total_samples : 1.0;
      p(k) = w;
      weight_sum += w;
    }
    const double eps = options_.epsilon;
    const double others = static_cast<double>(ops_left - 1);
    for (Eigen::Index k = 0; k < cols; ++k) {
      if (!alive(k) || k == c) continue;
      p(k) = weight_sum > 0.0 ? eps * p(k) / weight_sum : eps / others;
    }
    p(c) = 1.0 - eps;
    // eq. (3): p = λ1 p_mt + (1 − λ1) p_rm, with p_rm of eq. (2) cached per alive set
    const double l1 = options_.lambda1;
    p *= l1;
    if (l1 < 1.0) p += (1.0 - l1) * restriction_.row(b);
  }

  static void check_unit_interval(const char* name, double v) {
    if (!(v >= 0.0 && v <= 1.0))
      throw InvalidArgument(fmt::format("faunae::FaunaeMutation: {} must be in [0, 1], got {}", name, v));
  }

  // The cache key is the alive set and the op sizes, not the space's address: another space can
  // take the same address (a reassigned variable) and must not get the old p_rm.
  bool restriction_cached(const BlockSpace& space, const OpStatistics& stats) const {
    if (cached_alive_.rows() != stats.alive.rows() || cached_alive_.cols() != stats.alive.cols() ||
        !(cached_alive_ == stats.alive).all() || cached_sizes_.rows() != stats.alive.rows() ||
        cached_sizes_.cols() != stats.alive.cols())
      return false;
    for (Eigen::Index b = 0; b < cached_sizes_.rows(); ++b) {
      const auto& ops = space.blocks()[static_cast<std::size_t>(b)].ops;
      for (Eigen::Index k = 0; k < cached_sizes_.cols(); ++k)
        if (cached_sizes_(b, k) != (static_cast<std::size_t>(k) < ops.size() ? ops[static_cast<std::size_t>(k)].size : -1.0))
          return false;
    }
    return true;
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
    cached_sizes_.setConstant(stats.alive.rows(), stats.alive.cols(), -1.0);  // -1: no op in that column
    for (Eigen::Index b = 0; b < stats.alive.rows(); ++b) {
      const auto& ops = space.blocks()[static_cast<std::size_t>(b)].ops;
      for (std::size_t k = 0; k < ops.size() && static_cast<Eigen::Index>(k) < stats.alive.cols(); ++k)
        cached_sizes_(b, static_cast<Eigen::Index>(k)) = ops[k].size;
    }
  }

  FaunaeMutationOptions options_;
  BlockOpTable<double> restriction_;
  BlockOpTable<bool> cached_alive_;
  BlockOpTable<double> cached_sizes_;
};

static_assert(MutationPolicy<FaunaeMutation>);

}  // namespace faunae

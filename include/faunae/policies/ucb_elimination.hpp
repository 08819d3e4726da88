// Elimination policies: when and which op each block loses (paper III.D, eqs. 9–10, Algorithm 1).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/error.hpp"

namespace faunae {

/// Number of mutation epochs of the FaUNAE schedule when the widest block has `max_ops` = M ops:
/// Σ_{m=2}^{M} m·E (paper IV.B). α0's own evaluation comes on top: 1 + this = evaluations used.
constexpr std::size_t schedule_length(std::size_t max_ops, std::size_t epochs_per_op) noexcept {
  std::size_t total = 0;
  for (std::size_t m = 2; m <= max_ops; ++m) total += m * epochs_per_op;
  return total;
}

struct UcbEliminationOptions {
  std::size_t epochs_per_op = 3;  ///< E of Algorithm 1: eliminate after K·E epochs (paper: 3)

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("epochs_per_op", self.epochs_per_op);
  }
  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where = "faunae::UcbElimination") const {
    if (epochs_per_op == 0) throw InvalidArgument(fmt::format("{}: epochs_per_op (E) must be at least 1, got 0", where));
  }
};

/// Algorithm 1's schedule (line 8): ops are due to be removed once K·E epochs have passed since the last
/// elimination, K = the most ops left in any block, while some block has more than one op.
inline bool elimination_due(const SearchState& s, std::size_t epochs_per_op) {
  const std::size_t k = s.stats.max_ops_left();
  return k > 1 && s.epochs_since_elimination >= k * epochs_per_op;
}

/// UcbElimination: after K·E epochs with K ops left (K = the most ops left in any block), every block
/// with more than one op drops argmax_k w(o_k) (eq. 10), where (eq. 9)
///     w(o_k^i) = l(o_k^i) − sqrt(2 log N / sa_k^i).
///
/// Decisions (docs/algorithm.md): N counts every architecture evaluated so far (α0 included), so
/// N = Σ_k sa_k^i in every block, as in UCB; an op never sampled has an infinite exploration bonus
/// (w = −∞) and is never removed before it has been tried; ties go to the lowest op index. When the
/// block's current op is removed, the block moves to the remaining op with the lowest w (the most
/// promising one under the same score).
class UcbElimination {
 public:
  UcbElimination() : UcbElimination(UcbEliminationOptions{}) {}
  explicit UcbElimination(UcbEliminationOptions options) : options_(options) { options_.check(); }

  const UcbEliminationOptions& options() const noexcept { return options_; }
  std::size_t epochs_per_op() const noexcept { return options_.epochs_per_op; }
  nlohmann::json config() const { return {{"policy", "UcbElimination"}, {"epochs_per_op", options_.epochs_per_op}}; }
  std::size_t total_epochs(const BlockSpace& space) const {
    return schedule_length(space.max_ops(), options_.epochs_per_op);
  }

  bool due(const BlockSpace&, const SearchState& s) const {
    return elimination_due(s, options_.epochs_per_op);
  }

  bool finished(const BlockSpace&, const SearchState& s) const { return s.stats.max_ops_left() <= 1; }

  /// w(o_k^i) of eq. (9); −∞ for an op never sampled.
  static double score(const OpStatistics& stats, std::size_t block, OpIndex op, std::size_t total_evaluations) {
    const auto sa = stats.samples(Eigen::Index(block), Eigen::Index(op));
    if (sa == 0) return -std::numeric_limits<double>::infinity();
    const double n = static_cast<double>(total_evaluations);
    return stats.loss(Eigen::Index(block), Eigen::Index(op)) - std::sqrt(2.0 * std::log(n) / static_cast<double>(sa));
  }

  std::vector<Elimination> select(const BlockSpace& space, const SearchState& s) const {
    return select(space, s, s.stats.alive);
  }

  /// The same, choosing only among the ops marked in `removable` (the search withholds the ops a
  /// model-size budget needs); a block with no removable op keeps all its ops this round.
  std::vector<Elimination> select(const BlockSpace&, const SearchState& s, const BlockOpTable<bool>& removable) const {
    std::vector<Elimination> out;
    const OpStatistics& stats = s.stats;
    for (std::size_t b = 0; b < stats.num_blocks(); ++b) {
      if (stats.ops_left(b) <= 1) continue;
      std::optional<OpIndex> worst;
      double worst_w = -std::numeric_limits<double>::infinity();
      for (OpIndex k = 0; k < static_cast<OpIndex>(stats.alive.cols()); ++k) {
        if (!stats.is_alive(b, k) || !removable(Eigen::Index(b), Eigen::Index(k))) continue;
        const double w = score(stats, b, k, s.evaluations);
        if (!worst || w > worst_w) {  // eq. (10): argmax_k w, first index on ties
          worst = k;
          worst_w = w;
        }
      }
      if (!worst) continue;
      Elimination e{b, *worst, worst_w, std::nullopt};
      if (*worst == s.current[b]) {
        double best_w = std::numeric_limits<double>::infinity();
        for (OpIndex k = 0; k < static_cast<OpIndex>(stats.alive.cols()); ++k) {
          if (!stats.is_alive(b, k) || k == *worst) continue;
          const double w = score(stats, b, k, s.evaluations);
          if (!e.replacement || w < best_w) {
            e.replacement = k;
            best_w = w;
          }
        }
      }
      out.push_back(e);
    }
    return out;
  }

 private:
  UcbEliminationOptions options_;
};

struct NoEliminationOptions {
  std::size_t epochs_per_op = 3;  ///< E: run as many epochs as UcbElimination({.epochs_per_op = E}) would
  std::size_t epochs = 0;         ///< a fixed number of mutation epochs instead (0: use epochs_per_op)

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("epochs_per_op", self.epochs_per_op), f("epochs", self.epochs);
  }
  /// Throws InvalidArgument naming `where` and the two options if neither gives a number of epochs.
  void check(std::string_view where = "faunae::NoElimination") const {
    if (epochs_per_op == 0 && epochs == 0)
      throw InvalidArgument(fmt::format(
          "{}: give epochs_per_op > 0 or a fixed number of epochs > 0, got epochs_per_op 0 and epochs 0", where));
  }
};

/// NoElimination (ablation): never removes an op; the search runs a fixed number of mutation epochs,
/// by default as many as UcbElimination({.epochs_per_op = E}) would on the same space, so both use
/// equal evaluations.
class NoElimination {
 public:
  NoElimination() : NoElimination(NoEliminationOptions{}) {}
  explicit NoElimination(NoEliminationOptions options) : options_(options) { options_.check(); }

  const NoEliminationOptions& options() const noexcept { return options_; }
  nlohmann::json config() const {
    return {{"policy", "NoElimination"}, {"epochs_per_op", options_.epochs_per_op}, {"epochs", options_.epochs}};
  }
  std::size_t total_epochs(const BlockSpace& space) const {
    return options_.epochs > 0 ? options_.epochs : schedule_length(space.max_ops(), options_.epochs_per_op);
  }
  bool due(const BlockSpace&, const SearchState&) const { return false; }
  std::vector<Elimination> select(const BlockSpace&, const SearchState&) const { return {}; }
  bool finished(const BlockSpace& space, const SearchState& s) const { return s.epoch >= total_epochs(space); }

 private:
  NoEliminationOptions options_;
};

static_assert(EliminationPolicy<UcbElimination>);
static_assert(detail::HasSelectRemovable<UcbElimination>);
static_assert(EliminationPolicy<NoElimination>);

}  // namespace faunae

// RegressionElimination: a variant of FaUNAE's elimination step (NOT the paper's; see
// UcbElimination for that). Same schedule as Algorithm 1 (after K·E epochs with K ops left, every
// block with more than one op loses one), but the op to remove is chosen by a least-squares credit
// assignment instead of eq. (9).
//
// Why: eq. (4) gives every op of α_n the whole loss of α_n, smoothed with λ2 = 0.3, so l(o) is
// mostly the loss of the *last* architecture that used o, whatever the other blocks held; and the
// bonus of eq. (9) has the scale of a loss in [0, 1], so with few evaluations it mostly removes the
// most sampled op, which is the current one. Here every evaluated architecture in the history is a
// row of an additive model
//     a_h ≈ μ + Σ_i β(o^i_h)            (one effect per (block, op), ridge-regularized)
// fitted by ridge regression; block i then drops argmax_k β(o_k^i), the op whose estimated effect
// on the loss is worst, and a block whose current op is removed moves to the alive op with the
// lowest β. As in UcbElimination, an op never sampled is never removed (nothing is known about it).
//
// Cost per elimination: O(H·ν²) to accumulate the normal equations over H evaluated architectures
// and ν blocks, plus one LDLᵀ solve of size Σ_i |Ω^i|; eliminations happen M − 1 times per search.
// Measured on NAS-Bench-Macro in docs/benchmarks.md.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/error.hpp"
#include "faunae/policies/ucb_elimination.hpp"

namespace faunae {

struct RegressionEliminationOptions {
  std::size_t epochs_per_op = 3;  ///< E of Algorithm 1: eliminate after K·E epochs (paper: 3)
  double ridge = 1.0;             ///< ridge penalty on the op effects, in units of one evaluation

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("epochs_per_op", self.epochs_per_op), f("ridge", self.ridge);
  }
  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where = "faunae::RegressionElimination") const {
    if (epochs_per_op == 0) throw InvalidArgument(fmt::format("{}: epochs_per_op (E) must be at least 1, got 0", where));
    if (!(std::isfinite(ridge) && ridge > 0.0)) throw InvalidArgument(fmt::format("{}: ridge must be finite and > 0, got {}", where, ridge));
  }
};

class RegressionElimination {
 public:
  RegressionElimination() : RegressionElimination(RegressionEliminationOptions{}) {}
  explicit RegressionElimination(RegressionEliminationOptions options) : options_(options) { options_.check(); }

  const RegressionEliminationOptions& options() const noexcept { return options_; }
  nlohmann::json config() const {
    return {{"policy", "RegressionElimination"}, {"epochs_per_op", options_.epochs_per_op}, {"ridge", options_.ridge}};
  }
  std::size_t total_epochs(const BlockSpace& space) const {
    return schedule_length(space.max_ops(), options_.epochs_per_op);
  }

  bool due(const BlockSpace&, const SearchState& s) const {
    return elimination_due(s, options_.epochs_per_op);
  }
  bool finished(const BlockSpace&, const SearchState& s) const { return s.stats.max_ops_left() <= 1; }

  /// β(o_k^i) for every (block, op) cell of `s`: the ridge estimate of the op's additive effect on
  /// the loss, fitted on every architecture in s.history (0 for cells never sampled).
  BlockOpTable<double> effects(const SearchState& s) const {
    const Eigen::Index rows = s.stats.loss.rows();
    const Eigen::Index cols = s.stats.loss.cols();
    const Eigen::Index cells = rows * cols;
    BlockOpTable<double> beta = BlockOpTable<double>::Zero(rows, cols);
    if (s.history.empty()) return beta;
    double mean_loss = 0.0;
    for (const EpochRecord& r : s.history) mean_loss += r.loss;
    mean_loss /= static_cast<double>(s.history.size());
    // Normal equations (XᵀX + ridge·I) β = Xᵀ(a − ā); X has one indicator per block in each row.
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(cells, cells);
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(cells);
    std::vector<Eigen::Index> cell(static_cast<std::size_t>(rows));
    for (const EpochRecord& r : s.history) {
      for (Eigen::Index b = 0; b < rows; ++b) cell[static_cast<std::size_t>(b)] = b * cols + static_cast<Eigen::Index>(r.evaluated[static_cast<std::size_t>(b)]);
      for (const Eigen::Index i : cell) {
        rhs(i) += r.loss - mean_loss;
        for (const Eigen::Index j : cell) gram(i, j) += 1.0;
      }
    }
    gram.diagonal().array() += options_.ridge;
    const Eigen::VectorXd solution = gram.ldlt().solve(rhs);
    for (Eigen::Index b = 0; b < rows; ++b)
      for (Eigen::Index k = 0; k < cols; ++k) beta(b, k) = solution(b * cols + k);
    return beta;
  }

  std::vector<Elimination> select(const BlockSpace& space, const SearchState& s) const {
    return select(space, s, s.stats.alive);
  }

  /// The same, choosing only among the ops marked in `removable` (see UcbElimination).
  std::vector<Elimination> select(const BlockSpace&, const SearchState& s, const BlockOpTable<bool>& removable) const {
    const OpStatistics& stats = s.stats;
    const BlockOpTable<double> beta = effects(s);
    const auto cols = static_cast<OpIndex>(stats.alive.cols());
    std::vector<Elimination> out;
    for (std::size_t b = 0; b < stats.num_blocks(); ++b) {
      if (stats.ops_left(b) <= 1) continue;
      // An op never sampled scores −∞ and stays (as in eq. 9); ties go to the lowest op index.
      auto score = [&](OpIndex k) {
        return stats.sampled(b, k) ? beta(Eigen::Index(b), Eigen::Index(k)) : -std::numeric_limits<double>::infinity();
      };
      std::optional<OpIndex> worst;
      double worst_score = -std::numeric_limits<double>::infinity();
      for (OpIndex k = 0; k < cols; ++k) {
        if (!stats.is_alive(b, k) || !removable(Eigen::Index(b), Eigen::Index(k))) continue;
        const double w = score(k);
        if (!worst || w > worst_score) {
          worst = k;
          worst_score = w;
        }
      }
      if (!worst) continue;
      Elimination e{b, *worst, worst_score, std::nullopt};
      if (*worst == s.current[b]) {
        double best = std::numeric_limits<double>::infinity();
        for (OpIndex k = 0; k < cols; ++k) {
          if (!stats.is_alive(b, k) || k == *worst) continue;
          const double w = beta(Eigen::Index(b), Eigen::Index(k));  // never sampled: 0, the average
          if (!e.replacement || w < best) {
            e.replacement = k;
            best = w;
          }
        }
      }
      out.push_back(e);
    }
    return out;
  }

 private:
  RegressionEliminationOptions options_;
};

static_assert(EliminationPolicy<RegressionElimination>);
static_assert(detail::HasSelectRemovable<RegressionElimination>);

}  // namespace faunae

// PosteriorElimination: the elimination step of the recommended search FaUNAE-TS (NOT the paper's;
// it replaces eq. (9), keeps Algorithm 1's K·E schedule and eq. (10)).
//
// After K·E epochs with K ops left, every block with more than one op drops the op whose additive
// effect on the loss is worst even optimistically: argmax_k μ(o_k^i) − κ·sd(o_k^i) under the posterior
// of AdditiveLossModel (μ, sd in loss units; κ = `optimism`). Unlike eq. (9), μ credits an op with what
// it contributed across every architecture that used it, and sd shrinks with its own samples only.
// The base architecture's op is never removed: the base is the best architecture the acceptance rule
// kept, so the search ends on an architecture it evaluated (with ArchitectureAcceptance), consistent
// with the surviving ops. With `spare_best_observed` = k, the ops of the k best architectures observed
// so far are never removed either (the ops local search would keep; the search then ends on its
// planned budget, total_epochs()). With `keep_unscanned_neighbours`, an op is removed only once the
// base's one-block neighbour with it has been evaluated (or lies outside the size budget): never the
// move local search would try next from the base (the search then ends on total_epochs() too).
//
// The model is held through a SharedAdditiveModel: a default-constructed PosteriorElimination has its
// own; share_with(mutation) makes it read the mutation policy's model instead (same prior only). A
// Search calls share_with on its own mutation policy when it has one, as FaUNAE-TS's ThompsonMutation
// does, so the history is absorbed once for both policies, with the same results bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/error.hpp"
#include "faunae/policies/additive_model.hpp"
#include "faunae/policies/ucb_elimination.hpp"

namespace faunae {

struct PosteriorEliminationOptions {
  std::size_t epochs_per_op = 3;  ///< E of Algorithm 1: eliminate after K·E epochs (paper: 3)
  double optimism = 1.0;          ///< κ: posterior standard deviations of benefit of the doubt
  /// Remove a block's worst op only when it is confidently worse than the block's best: its optimistic
  /// loss μ − κ·sd still above the best op's pessimistic μ + κ·sd (an ablation of FaUNAE-LT,
  /// docs/benchmarks.md: it costs more than it saves). The search then ends
  /// after total_epochs() whether or not one op per block is left.
  bool confident_only = false;
  /// Never remove an op that one of the `spare_best_observed` best architectures observed so far (by
  /// their observed loss, earlier first among equals) uses: the ops local search would keep. On
  /// spaces whose ops interact, the op a later improvement needs can look bad in the model's additive
  /// credit (measured on TransNAS-Bench-101's cells, docs/benchmarks.md). 0 = off. With it the search
  /// also ends after total_epochs() whether or not one op per block is left.
  std::size_t spare_best_observed = 0;
  /// Remove an op only when the base's one-block neighbour that uses it has been evaluated (or is
  /// beyond the size budget): elimination never takes away a move local search would still try from
  /// the base, the best architecture observed. A block whose removable ops are all unscanned keeps its
  /// ops until a scan (FaUNAE-LT's scan_base_neighbourhood) reaches them; an op whose neighbour the
  /// space's is_valid() forbids is never removed by this rule. With it the search ends after
  /// total_epochs() whether or not one op per block is left.
  bool keep_unscanned_neighbours = false;
  AdditiveModelOptions model;     ///< the credit model's prior (the same as ThompsonMutation's by default)

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("epochs_per_op", self.epochs_per_op), f("optimism", self.optimism), f("confident_only", self.confident_only),
        f("spare_best_observed", self.spare_best_observed), f("keep_unscanned_neighbours", self.keep_unscanned_neighbours),
        f("model", self.model);
  }
  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where = "faunae::PosteriorElimination") const {
    if (epochs_per_op == 0) throw InvalidArgument(fmt::format("{}: epochs_per_op (E) must be at least 1, got 0", where));
    if (!(std::isfinite(optimism) && optimism >= 0.0))
      throw InvalidArgument(fmt::format("{}: optimism must be finite and >= 0, got {}", where, optimism));
    model.check(where);
  }
};

class PosteriorElimination {
 public:
  PosteriorElimination() : PosteriorElimination(PosteriorEliminationOptions{}) {}
  explicit PosteriorElimination(PosteriorEliminationOptions options) : options_(options), model_(options.model) {
    options_.check();
  }

  const PosteriorEliminationOptions& options() const noexcept { return options_; }
  const SharedAdditiveModel& shared_model() const noexcept { return model_; }

  /// Reads the credit model of `mutation` (ThompsonMutation) from now on instead of its own, if both
  /// have the same prior (model options); returns whether they share one. The search calls it on
  /// construction and before every epoch (search/search.hpp), which links its policies again after a
  /// copy or a move of the search (these copy the models apart).
  template <class Mutation>
    requires detail::HasSharedAdditiveModel<Mutation>
  bool share_with(const Mutation& mutation) {
    return model_.share(mutation.shared_model());
  }

  /// What a checkpoint records; `confident_only`, `spare_best_observed` and
  /// `keep_unscanned_neighbours` only when set (checkpoints from before them resume as they ran).
  nlohmann::json config() const {
    nlohmann::json c = {{"policy", "PosteriorElimination"},
                        {"epochs_per_op", options_.epochs_per_op},
                        {"optimism", options_.optimism},
                        {"noise_fraction", options_.model.noise_fraction}};
    if (options_.confident_only) c["confident_only"] = true;
    if (options_.spare_best_observed > 0) c["spare_best_observed"] = options_.spare_best_observed;
    if (options_.keep_unscanned_neighbours) c["keep_unscanned_neighbours"] = true;
    return c;
  }
  std::size_t total_epochs(const BlockSpace& space) const { return schedule_length(space.max_ops(), options_.epochs_per_op); }

  bool due(const BlockSpace&, const SearchState& s) const {
    return elimination_due(s, options_.epochs_per_op);
  }
  bool finished(const BlockSpace& space, const SearchState& s) const {
    return s.stats.max_ops_left() <= 1 ||
           ((options_.confident_only || options_.spare_best_observed > 0 || options_.keep_unscanned_neighbours) &&
            s.epoch >= total_epochs(space));
  }

  std::vector<Elimination> select(const BlockSpace& space, const SearchState& s) const {
    return select(space, s, s.stats.alive);
  }

  /// The same, choosing only among the ops marked in `removable` (the search withholds the ops a
  /// model-size budget needs); a block with no removable op other than the base's keeps all its ops.
  std::vector<Elimination> select(const BlockSpace& space, const SearchState& s, const BlockOpTable<bool>& removable) const {
    model_->update(space, s);
    const Eigen::VectorXd mean = model_->mean();
    std::vector<Elimination> out;
    const std::vector<const Architecture*> spared = best_observed(s, options_.spare_best_observed);
    Architecture neighbour = s.current;
    const auto is_spared = [&](std::size_t b, OpIndex k) {
      if (std::any_of(spared.begin(), spared.end(), [&](const Architecture* a) { return (*a)[b] == k; })) return true;
      if (!options_.keep_unscanned_neighbours) return false;
      neighbour[b] = k;  // the base's one-block neighbour with op k in block b
      const bool scanned = !space.within_max_size(neighbour) || s.evaluated().contains(neighbour);
      neighbour[b] = s.current[b];
      return !scanned;
    };
    for (std::size_t b = 0; b < s.stats.num_blocks(); ++b) {
      if (s.stats.ops_left(b) <= 1) continue;
      std::optional<OpIndex> worst;
      double worst_score = -std::numeric_limits<double>::infinity();
      double best_pessimistic = std::numeric_limits<double>::infinity();  // min over alive ops of μ + κ·sd
      for (OpIndex k = 0; k < space.num_ops(b); ++k) {
        if (!s.stats.is_alive(b, k)) continue;
        const std::size_t c = model_->cell(b, k);
        if (options_.confident_only)
          best_pessimistic = std::min(best_pessimistic, mean(static_cast<Eigen::Index>(c)) + options_.optimism * model_->sd(c));
        if (!removable(Eigen::Index(b), Eigen::Index(k)) || k == s.current[b] || is_spared(b, k)) continue;
        double score = mean(static_cast<Eigen::Index>(c));
        if (options_.optimism > 0.0) score -= options_.optimism * model_->sd(c);
        if (!worst || score > worst_score) {  // ties: the lowest op index
          worst = k;
          worst_score = score;
        }
      }
      if (worst && options_.confident_only && !(worst_score > best_pessimistic)) continue;  // not confidently worse
      if (worst) out.push_back(Elimination{b, *worst, worst_score, std::nullopt});
    }
    return out;
  }

 private:
  // The `count` architectures of the history with the lowest observed loss (the earlier record first
  // among equal losses).
  static std::vector<const Architecture*> best_observed(const SearchState& s, std::size_t count) {
    std::vector<const Architecture*> out;
    if (count == 0 || s.history.empty()) return out;
    std::vector<std::size_t> order(s.history.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const std::size_t n = std::min(count, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(), [&](std::size_t x, std::size_t y) {
      return s.history[x].loss < s.history[y].loss || (s.history[x].loss == s.history[y].loss && x < y);
    });
    for (std::size_t i = 0; i < n; ++i) out.push_back(&s.history[order[i]].evaluated);
    return out;
  }

  PosteriorEliminationOptions options_;
  // The credit model, its own or the mutation policy's, absorbing the history incrementally (the same
  // numbers as a model built at once: records are absorbed one by one in history order either way).
  // select() is const and updates it: the model is a cache of the history.
  SharedAdditiveModel model_;
};

static_assert(EliminationPolicy<PosteriorElimination>);
static_assert(detail::HasSelectRemovable<PosteriorElimination>);

}  // namespace faunae

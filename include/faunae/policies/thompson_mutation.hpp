// ThompsonMutation: the mutation step of the recommended search FaUNAE-TS (NOT the paper's; it
// replaces eqs. (1)–(3), docs/algorithm.md and docs/baselines.md).
//
// Each epoch draws the op effects once from the posterior of the additive credit model
// (AdditiveLossModel) and mutates α_{n−1} where the draw promises the most: every block's best alive
// op under the draw is a candidate, and the (at most `max_changes`) blocks with the largest promised
// gain switch to it. This is Thompson sampling: an op is tried with the posterior probability that it
// is its block's best, so ops tried rarely (wide posteriors) are explored, as eq. (1) intends, and
// ops that have kept losing are not. A trust region of `max_changes` blocks keeps the search close to
// α_{n−1}, so the trial-and-test of eq. (5) compares neighbours.
//
// α0's neighbourhood first (`single_block_from_alpha0`, on by default): while the base is still the
// initial architecture α0 (no proposal accepted yet, no elimination moved it), each proposal changes
// one block only. FaUNAE starts from an existing, usually good network; until one of its one-block
// edits is found better, two-block moves mostly combine edits that are each no better, and the search
// walks away from α0's neighbourhood on noise. Measured in docs/benchmarks.md (ablation "two blocks
// from the start").
//
// When the draw's architecture was evaluated already (or the draw keeps α_{n−1}), the unevaluated
// one-block neighbour of α_{n−1} with the lowest drawn loss is proposed instead; when every neighbour
// was evaluated, an unevaluated architecture drawn uniformly. Proposals stay within the space's
// model-size budget (max_size), which is FaUNAE's size restriction here.
//
// The model is held through a SharedAdditiveModel: a default-constructed ThompsonMutation has its
// own; in FaUNAE-TS, PosteriorElimination reads the same one (the search links them), so each history
// record is absorbed once.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/error.hpp"
#include "faunae/policies/additive_model.hpp"

namespace faunae {

struct ThompsonMutationOptions {
  std::size_t max_changes = 2;  ///< trust region: blocks changed per proposal (0 = any number)
  /// While the base is still α0 (nothing accepted yet), one block per proposal instead of max_changes.
  bool single_block_from_alpha0 = true;
  AdditiveModelOptions model;   ///< the credit model's prior

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("max_changes", self.max_changes), f("single_block_from_alpha0", self.single_block_from_alpha0), f("model", self.model);
  }
  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where = "faunae::ThompsonMutation") const { model.check(where); }
};

class ThompsonMutation {
 public:
  ThompsonMutation() : ThompsonMutation(ThompsonMutationOptions{}) {}
  explicit ThompsonMutation(ThompsonMutationOptions options) : options_(options), model_(options.model) { options_.check(); }

  const ThompsonMutationOptions& options() const noexcept { return options_; }
  /// The credit model's handle, through which another policy of the same search can read the model
  /// (PosteriorElimination::share_with). Read-only: the set of evaluated architectures is kept in
  /// step with this model, so the policy never swaps it for another.
  const SharedAdditiveModel& shared_model() const noexcept { return model_; }
  /// What a checkpoint records of this policy. `single_block_from_alpha0` appears only when it is set,
  /// so that a checkpoint written before the option existed resumes with it off, as it ran.
  nlohmann::json config() const {
    nlohmann::json c = {{"policy", "ThompsonMutation"}, {"max_changes", options_.max_changes}, {"noise_fraction", options_.model.noise_fraction}};
    if (options_.single_block_from_alpha0) c["single_block_from_alpha0"] = true;
    return c;
  }

  Proposal propose(const BlockSpace& space, const SearchState& s, Rng& rng) {
    refresh(space, s);
    model_->sample(rng, draw_);
    const std::size_t blocks = space.num_blocks();
    const auto drawn = [&](std::size_t b, OpIndex k) { return draw_(static_cast<Eigen::Index>(model_->cell(b, k))); };
    const auto budget = space.max_size();
    double size = space.size_of(s.current);

    // Every block's best alive op under the draw, and what switching to it gains.
    gains_.clear();
    for (std::size_t b = 0; b < blocks; ++b) {
      const OpIndex c = s.current[b];
      OpIndex best = c;
      for (OpIndex k = 0; k < space.num_ops(b); ++k)
        if (s.stats.is_alive(b, k) && drawn(b, k) < drawn(b, best)) best = k;
      if (best != c) gains_.push_back({drawn(b, c) - drawn(b, best), b, best});
    }
    std::sort(gains_.begin(), gains_.end(), [](const Gain& x, const Gain& y) {
      return x.gain > y.gain || (x.gain == y.gain && x.block < y.block);
    });
    Architecture proposal = s.current;
    std::size_t changes = 0;
    const std::size_t max_changes = trust_region(s);
    for (const Gain& g : gains_) {
      if (max_changes > 0 && changes == max_changes) break;
      const double new_size = size - space.op_size(g.block, proposal[g.block]) + space.op_size(g.block, g.op);
      if (budget && new_size > *budget) continue;
      proposal[g.block] = g.op;
      size = new_size;
      ++changes;
    }
    if (changes > 0 && !evaluated_.contains(proposal)) return {std::move(proposal), {}};

    // Fallback 1: the unevaluated one-block neighbour of α_{n−1} with the lowest drawn loss.
    std::optional<std::pair<std::size_t, OpIndex>> best_neighbour;
    double best_delta = std::numeric_limits<double>::infinity();
    const double current_size = space.size_of(s.current);
    Architecture n = s.current;
    for (std::size_t b = 0; b < blocks; ++b) {
      for (OpIndex k = 0; k < space.num_ops(b); ++k) {
        if (k == s.current[b] || !s.stats.is_alive(b, k)) continue;
        if (budget && current_size - space.op_size(b, s.current[b]) + space.op_size(b, k) > *budget) continue;
        const double delta = drawn(b, k) - drawn(b, s.current[b]);
        if (delta >= best_delta) continue;
        n[b] = k;
        if (!evaluated_.contains(n)) {
          best_delta = delta;
          best_neighbour = {b, k};
        }
      }
      n[b] = s.current[b];
    }
    if (best_neighbour) {
      n[best_neighbour->first] = best_neighbour->second;
      return {std::move(n), {}};
    }
    // Fallback 2: an unevaluated architecture of alive ops, drawn uniformly (bounded tries).
    Architecture random = s.current;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      for (std::size_t b = 0; b < blocks; ++b)
        random[b] = s.stats.nth_alive(b, static_cast<std::size_t>(rng.below(s.stats.ops_left(b))));
      if (space.within_max_size(random) && !evaluated_.contains(random)) break;
    }
    return {std::move(random), {}};
  }

 private:
  struct Gain {
    double gain;
    std::size_t block;
    OpIndex op;
  };

  // Blocks a proposal may change (0 = any): one while the base is still α0 (history[0] evaluated α0),
  // when single_block_from_alpha0 is set; max_changes otherwise. A function of the state alone.
  std::size_t trust_region(const SearchState& s) const {
    const bool at_alpha0 = !s.history.empty() && s.current == s.history.front().evaluated;
    return options_.single_block_from_alpha0 && at_alpha0 ? 1 : options_.max_changes;
  }

  // The model and the set of evaluated architectures absorb the history records they have not seen
  // (both start over on a history that does not extend theirs: the set whenever the model does, by
  // its generation, even if another policy's update made it start over): pure functions of the
  // history, so a resumed search sees the same numbers bit for bit.
  void refresh(const BlockSpace& space, const SearchState& s) {
    model_->update(space, s);
    if (model_->generation() != generation_) {
      evaluated_.clear();
      absorbed_ = 0;
      generation_ = model_->generation();
    }
    for (; absorbed_ < s.history.size(); ++absorbed_) evaluated_.insert(s.history[absorbed_].evaluated);
  }

  ThompsonMutationOptions options_;
  SharedAdditiveModel model_;  // its own, or shared with PosteriorElimination (FaUNAE-TS)
  Eigen::VectorXd draw_;
  std::vector<Gain> gains_;
  std::set<Architecture> evaluated_;
  std::size_t absorbed_ = 0;
  std::uint64_t generation_ = 0;
};

static_assert(MutationPolicy<ThompsonMutation>);

}  // namespace faunae

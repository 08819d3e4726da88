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
// α0's whole neighbourhood first (`scan_alpha0_neighbourhood`, on by default): when the search plans
// more evaluations than α0 has one-block neighbours (+ 1, so that the scan leaves at least one
// evaluation to act on it; the search tells the policy its budget, plan_evaluations()), every such
// neighbour that is still alive and unevaluated is proposed before any other move, the one with the
// lowest drawn loss first. With ArchitectureAcceptance the base then follows the best observed of α0
// and its neighbours: local search's best-improvement first step (White et al. 2020) instead of the
// first improvement, which under evaluation noise is mostly the luckiest draw. With a smaller budget
// (or one the search cannot tell) the rule is off and `single_block_from_alpha0` applies. Measured in
// docs/benchmarks.md (ablation "without the scan of α0's neighbourhood"). The scan is for an existing
// network: from a random α0 the search does better with it off (ahead of local search and the best
// regularized evolution in 21 of 24 random-α0 settings of six tables, behind in none; with it on, 16;
// docs/experiment-log.md, issue 29 attempt (n)).
//
// Every base's whole neighbourhood first (`scan_base_neighbourhood`, off by default; on in FaUNAE-LT,
// search/variants.hpp): the α0 scan repeated. A scan has a centre, fixed while its unevaluated
// one-block neighbours (alive ops, within the size budget) are proposed, lowest drawn loss first; with
// ArchitectureAcceptance the base follows the best observed, so each scan is one best-improvement
// step of local search. When the centre's neighbourhood is exhausted, the base becomes the next
// centre if it moved and the evaluations left exceed its neighbourhood; otherwise (a local optimum,
// or too little budget for a whole step) the draw's multi-block moves run until the base moves. The
// first centre is α0, under the α0 scan's budget rule; this option replaces that scan.
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
#include <optional>
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
  /// When the budget exceeds α0's one-block neighbourhood, evaluate all of it before any other move.
  bool scan_alpha0_neighbourhood = true;
  /// Every base's whole neighbourhood before any multi-block move (FaUNAE-LT); any budget.
  bool scan_base_neighbourhood = false;
  AdditiveModelOptions model;   ///< the credit model's prior

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("max_changes", self.max_changes), f("single_block_from_alpha0", self.single_block_from_alpha0),
        f("scan_alpha0_neighbourhood", self.scan_alpha0_neighbourhood), f("scan_base_neighbourhood", self.scan_base_neighbourhood),
        f("model", self.model);
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
  /// What a checkpoint records of this policy. `single_block_from_alpha0` and
  /// `scan_alpha0_neighbourhood` appear only when they are set, so that a checkpoint written before an
  /// option existed resumes with it off, as it ran.
  nlohmann::json config() const {
    nlohmann::json c = {{"policy", "ThompsonMutation"}, {"max_changes", options_.max_changes}, {"noise_fraction", options_.model.noise_fraction}};
    if (options_.single_block_from_alpha0) c["single_block_from_alpha0"] = true;
    if (options_.scan_alpha0_neighbourhood) c["scan_alpha0_neighbourhood"] = true;
    if (options_.scan_base_neighbourhood) c["scan_base_neighbourhood"] = true;
    return c;
  }

  /// The evaluations the search plans, α0's included (the search calls this; 1 or less: unknown,
  /// and the scan of α0's neighbourhood stays off).
  void plan_evaluations(std::size_t planned) noexcept { planned_evaluations_ = planned; }
  std::size_t planned_evaluations() const noexcept { return planned_evaluations_; }

  Proposal propose(const BlockSpace& space, const SearchState& s, Rng& rng) {
    const Rng::State rng_before = rng.state();
    refresh(space, s);
    model_->sample(rng, draw_);
    const std::size_t blocks = space.num_blocks();
    const auto drawn = [&](std::size_t b, OpIndex k) { return draw_(static_cast<Eigen::Index>(model_->cell(b, k))); };
    if (std::optional<Architecture> n = options_.scan_base_neighbourhood ? base_scan_proposal(space, s, drawn, rng_before, rng.state())
                                                                          : scan_proposal(space, s, drawn, rng_before, rng.state()))
      return {std::move(*n), {}};
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
  // when single_block_from_alpha0 is set, unless the scan has evaluated α0's whole neighbourhood
  // already; max_changes otherwise. A function of the state alone.
  std::size_t trust_region(const SearchState& s) const {
    const bool at_alpha0 = !s.history.empty() && s.current == s.history.front().evaluated;
    return options_.single_block_from_alpha0 && at_alpha0 && !scan_done_ ? 1 : options_.max_changes;
  }

  // α0's one-block neighbours in the whole space (all ops, within the size budget): what the scan's
  // budget is compared with.
  static std::size_t neighbourhood_size(const BlockSpace& space, const Architecture& alpha0) {
    std::size_t n = 0;
    Architecture a = alpha0;
    for (std::size_t b = 0; b < a.size(); ++b) {
      for (OpIndex k = 0; k < space.num_ops(b); ++k) {
        if (k == alpha0[b]) continue;
        a[b] = k;
        n += space.within_max_size(a);
      }
      a[b] = alpha0[b];
    }
    return n;
  }

  // The scan of α0's neighbourhood (scan_alpha0_neighbourhood): the unevaluated one-block neighbour of
  // α0 (alive ops only, within the size budget) with the lowest drawn loss, while there is one and the
  // budget allows the scan. A neighbour the space rejected in this epoch (the search asks again, with
  // the generator where this call left it) is not proposed again in it. Once no neighbour is left the
  // scan is over for good (ops only die and evaluations only accumulate), which scan_done_ caches;
  // both caches depend only on the history, so a resumed search proposes what the uninterrupted one did.
  template <class Drawn>
  std::optional<Architecture> scan_proposal(const BlockSpace& space, const SearchState& s, const Drawn& drawn,
                                            const Rng::State& rng_before, const Rng::State& rng_after) {
    if (!options_.scan_alpha0_neighbourhood || s.history.empty() || scan_done_) return std::nullopt;
    const Architecture& alpha0 = s.history.front().evaluated;
    if (scan_size_for_ != generation_) {
      scan_size_ = neighbourhood_size(space, alpha0);
      scan_size_for_ = generation_;
    }
    if (planned_evaluations_ <= scan_size_ + 1) return std::nullopt;
    for (std::size_t b = 0; b < alpha0.size(); ++b)
      if (!s.stats.is_alive(b, alpha0[b])) {  // α0 lost an op: its neighbours are no longer proposable
        scan_done_ = true;
        return std::nullopt;
      }
    bool any_left = false;
    std::optional<Architecture> n = scan_step(space, s, alpha0, drawn, rng_before, rng_after, any_left);
    if (!any_left) scan_done_ = true;
    return n;
  }

  // One step of a scan around `centre` (both scans): the unevaluated one-block neighbour of `centre`
  // (alive ops, within the size budget) with the lowest drawn loss, skipping the neighbours the space
  // rejected in this epoch (the search asks again with the generator where this call left it), and
  // remembered as rejected should the search ask again. None when no neighbour is left (`any_left`
  // false) or when every one left was rejected in this epoch.
  template <class Drawn>
  std::optional<Architecture> scan_step(const BlockSpace& space, const SearchState& s, const Architecture& centre, const Drawn& drawn,
                                        const Rng::State& rng_before, const Rng::State& rng_after, bool& any_left) {
    if (!(rejected_at_ == s.history.size() && rejected_rng_ == rng_before)) rejected_.clear();
    std::optional<std::pair<std::size_t, OpIndex>> best;
    double best_delta = std::numeric_limits<double>::infinity();
    any_left = false;
    Architecture n = centre;
    for (std::size_t b = 0; b < centre.size(); ++b) {
      for (OpIndex k = 0; k < space.num_ops(b); ++k) {
        if (k == centre[b] || !s.stats.is_alive(b, k)) continue;
        n[b] = k;
        if (space.within_max_size(n) && !evaluated_.contains(n)) {
          any_left = true;
          const double delta = drawn(b, k) - drawn(b, centre[b]);
          if (delta < best_delta && std::find(rejected_.begin(), rejected_.end(), n) == rejected_.end()) {
            best_delta = delta;
            best = {b, k};
          }
        }
      }
      n[b] = centre[b];
    }
    if (!best) return std::nullopt;
    n[best->first] = best->second;
    rejected_.push_back(n);
    rejected_at_ = s.history.size();
    rejected_rng_ = rng_after;
    return n;
  }

  // The scan of every base's neighbourhood (scan_base_neighbourhood): a scan step around the scan's
  // centre. The centre is fixed while its neighbourhood is scanned (the base follows the best
  // observed, so a scan is one best-improvement step of local search); refresh() moves it
  // (centre_for_next_proposal). None while no scan runs.
  template <class Drawn>
  std::optional<Architecture> base_scan_proposal(const BlockSpace& space, const SearchState& s, const Drawn& drawn,
                                                 const Rng::State& rng_before, const Rng::State& rng_after) {
    if (s.history.empty() || !centre_active_) return std::nullopt;
    bool any_left = false;
    return scan_step(space, s, centre_, drawn, rng_before, rng_after, any_left);
  }

  // Whether `centre` (all of its ops alive) has an unevaluated one-block neighbour of alive ops within
  // the size budget, as of the records absorbed so far.
  bool has_unevaluated_neighbour(const BlockSpace& space, const Architecture& centre) const {
    Architecture n = centre;
    for (std::size_t b = 0; b < centre.size(); ++b) {
      for (OpIndex k = 0; k < space.num_ops(b); ++k) {
        if (k == centre[b] || !alive_(Eigen::Index(b), Eigen::Index(k))) continue;
        n[b] = k;
        if (space.within_max_size(n) && !evaluated_.contains(n)) return true;
      }
      n[b] = centre[b];
    }
    return false;
  }

  // The centre of the scan for the proposal that follows the records absorbed so far, from the base
  // those records left (`base`, the last record's architecture) and the alive ops (alive_): the first
  // centre is α0 when the budget exceeds its neighbourhood (+ 1); a centre whose neighbourhood is
  // exhausted (or which lost an op) gives way to the base when the base differs and the evaluations
  // left (planned − absorbed) exceed the base's neighbourhood, else no scan runs until that holds.
  // A pure function of the history and the planned budget, so a resumed search has the same centres.
  void centre_for_next_proposal(const BlockSpace& space, const Architecture& base, std::size_t absorbed) {
    if (absorbed == 1) {
      centre_ = base;
      centre_active_ = planned_evaluations_ > neighbourhood_size(space, base) + 1;
      if (centre_active_) return;
    }
    bool centre_alive = centre_.size() == base.size();
    for (std::size_t b = 0; centre_alive && b < centre_.size(); ++b) centre_alive = alive_(Eigen::Index(b), Eigen::Index(centre_[b]));
    if (centre_active_ && centre_alive && has_unevaluated_neighbour(space, centre_)) return;
    centre_active_ = false;
    const std::size_t left = planned_evaluations_ > absorbed ? planned_evaluations_ - absorbed : 0;
    if (base != centre_ && left > neighbourhood_size(space, base)) {
      centre_ = base;
      centre_active_ = has_unevaluated_neighbour(space, base);
    }
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
      scan_done_ = false;
      rejected_.clear();
      centre_ = Architecture();
      centre_active_ = false;
    }
    if (options_.scan_base_neighbourhood && absorbed_ == 0) alive_.setConstant(Eigen::Index(space.num_blocks()), Eigen::Index(space.max_ops()), true);
    for (; absorbed_ < s.history.size(); ++absorbed_) {
      const EpochRecord& r = s.history[absorbed_];
      evaluated_.insert(r.evaluated);
      if (!options_.scan_base_neighbourhood) continue;
      for (const Elimination& e : r.eliminations) alive_(Eigen::Index(e.block), Eigen::Index(e.op)) = false;
      centre_for_next_proposal(space, r.architecture, absorbed_ + 1);
    }
  }

  ThompsonMutationOptions options_;
  SharedAdditiveModel model_;  // its own, or shared with PosteriorElimination (FaUNAE-TS)
  Eigen::VectorXd draw_;
  std::vector<Gain> gains_;
  std::set<Architecture> evaluated_;
  std::size_t absorbed_ = 0;
  std::uint64_t generation_ = 0;
  std::size_t planned_evaluations_ = 0;  // told by the search (plan_evaluations)
  // The scan of α0's neighbourhood: its size (for the model generation it was computed for), whether
  // it is over, and the neighbours proposed in the current epoch (a re-ask skips them).
  std::size_t scan_size_ = 0;
  std::uint64_t scan_size_for_ = std::numeric_limits<std::uint64_t>::max();
  bool scan_done_ = false;
  std::vector<Architecture> rejected_;
  // The scan of every base's neighbourhood: the alive ops as of the records absorbed (from their
  // eliminations), the scan's centre and whether a scan runs.
  BlockOpTable<bool> alive_;
  Architecture centre_;
  bool centre_active_ = false;
  std::size_t rejected_at_ = 0;
  Rng::State rejected_rng_{};
};

static_assert(MutationPolicy<ThompsonMutation>);

}  // namespace faunae

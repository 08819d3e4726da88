// Acceptance policies: after α_n is evaluated, which architecture the next epoch mutates from, and
// what the search returns (the AcceptancePolicy concept, concepts/policies.hpp).
//
//   BlockwiseAcceptance     eq. (5), the paper's: each mutated block keeps its new op iff
//                           l(o_n) < l(o_{n−1}) under the smoothed losses of eq. (4).
//   ArchitectureAcceptance  eq. (5) at the architecture level (NOT the paper's): α_n replaces
//                           α_{n−1} iff its mean observed loss is lower. Used by the recommended
//                           search (docs/baselines.md, docs/algorithm.md).
//   IncumbentAcceptance     the base is always the best architecture evaluated so far (lowest mean
//                           observed loss); what random search and regularized evolution return.
//   LocalSearchAcceptance   White et al. (2020): move to the best of the current architecture's
//                           neighbourhood once all of it is evaluated; restarts are accepted.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/error.hpp"
#include "faunae/policies/best_evaluated.hpp"

namespace faunae {

namespace detail {
/// Mean observed loss of `a` over the history (NaN if it was never evaluated).
inline double mean_observed_loss(const SearchState& s, const Architecture& a) {
  const EvaluatedIndex::Tally* t = s.evaluated().find(a);
  return t ? t->mean() : std::numeric_limits<double>::quiet_NaN();
}

/// Whether `a` was evaluated in the search so far.
inline bool was_evaluated(const SearchState& s, const Architecture& a) { return s.evaluated().contains(a); }

/// Calls f(n) for every neighbour n of `base` (one block moved to another alive op) within the space's
/// model-size budget; `n` is a scratch architecture, valid during the call only.
template <class F>
void for_each_neighbour(const BlockSpace& space, const SearchState& s, const Architecture& base, F&& f) {
  Architecture n = base;
  for (std::size_t b = 0; b < n.size(); ++b) {
    for (OpIndex k = 0; k < space.num_ops(b); ++k) {
      if (k == base[b] || !s.stats.is_alive(b, k)) continue;
      n[b] = k;
      if (space.within_max_size(n)) f(static_cast<const Architecture&>(n));
    }
    n[b] = base[b];
  }
}
}  // namespace detail

/// eq. (5): a mutated block keeps its new op iff l(o_n) < l(o_{n−1}) (eq. 4's smoothed losses, read
/// after this epoch's update); an old op never sampled loses. The paper's rule.
class BlockwiseAcceptance {
 public:
  nlohmann::json config() const { return {{"policy", "BlockwiseAcceptance"}}; }

  Architecture accept(const BlockSpace&, const SearchState& s) const {
    const Architecture& evaluated = s.history.back().evaluated;
    Architecture next = s.current;
    for (std::size_t b = 0; b < next.size(); ++b) {
      const OpIndex from = s.current[b], to = evaluated[b];
      if (from == to) continue;
      const double loss_from = s.stats.loss(Eigen::Index(b), Eigen::Index(from));
      const double loss_to = s.stats.loss(Eigen::Index(b), Eigen::Index(to));
      if (std::isnan(loss_from) || loss_to < loss_from) next[b] = to;
    }
    return next;
  }
};

/// eq. (5) at the architecture level (a variant, NOT the paper's): α_n replaces α_{n−1} as a whole
/// iff the mean of its observed losses is lower than that of α_{n−1} (α_{n−1} never evaluated, e.g.
/// after an elimination moved it: α_n is accepted). Credit goes to the architecture that earned it,
/// not to each block of it.
class ArchitectureAcceptance {
 public:
  nlohmann::json config() const { return {{"policy", "ArchitectureAcceptance"}}; }

  Architecture accept(const BlockSpace&, const SearchState& s) const {
    const Architecture& evaluated = s.history.back().evaluated;
    if (evaluated == s.current) return s.current;
    const double old_loss = detail::mean_observed_loss(s, s.current);
    const double new_loss = detail::mean_observed_loss(s, evaluated);
    return std::isnan(old_loss) || new_loss < old_loss ? evaluated : s.current;
  }
};

/// The base is the best architecture evaluated so far (lowest mean observed loss, ties: first
/// evaluated), and so is the result. Random search and regularized evolution use it.
class IncumbentAcceptance {
 public:
  nlohmann::json config() const { return {{"policy", "IncumbentAcceptance"}}; }
  Architecture accept(const BlockSpace&, const SearchState& s) const { return best_evaluated(s).architecture; }
  Architecture result(const BlockSpace&, const SearchState& s) const {
    return s.history.empty() ? s.current : best_evaluated(s).architecture;
  }
};

/// Local search (White, Nolen, Savani, "Local search is state of the art for neural architecture
/// search benchmarks", 2020): the base α stays while its neighbours (every architecture one op away)
/// are evaluated (LocalSearchMutation proposes them); once all are, the base moves to the best of α
/// and its neighbours (mean observed loss); a proposal that is not a neighbour of α is a restart
/// (α was a local optimum) and becomes the base. The result is the best architecture evaluated.
class LocalSearchAcceptance {
 public:
  nlohmann::json config() const { return {{"policy", "LocalSearchAcceptance"}}; }

  Architecture accept(const BlockSpace& space, const SearchState& s) const {
    const Architecture& evaluated = s.history.back().evaluated;
    std::size_t differing = 0;
    for (std::size_t b = 0; b < evaluated.size(); ++b) differing += evaluated[b] != s.current[b];
    if (differing > 1) return evaluated;  // a restart
    const EvaluatedIndex& seen = s.evaluated();
    // Move while the base's whole neighbourhood (within the budget) is evaluated and holds a better
    // architecture: a walk through already evaluated architectures costs no evaluation.
    Architecture base = s.current;
    for (;;) {
      const auto next = best_of_evaluated_neighbourhood(space, s, seen, base);
      if (!next || *next == base) return base;
      base = *next;
    }
  }

  Architecture result(const BlockSpace&, const SearchState& s) const {
    return s.history.empty() ? s.current : best_evaluated(s).architecture;
  }

 private:
  // The best of `base` and its neighbours within the budget, if every such neighbour was evaluated;
  // nullopt while some neighbour is still to be evaluated.
  static std::optional<Architecture> best_of_evaluated_neighbourhood(const BlockSpace& space, const SearchState& s,
                                                                     const EvaluatedIndex& seen,
                                                                     const Architecture& base) {
    Architecture best = base;
    double best_loss = detail::mean_observed_loss(s, base);
    if (std::isnan(best_loss)) best_loss = std::numeric_limits<double>::infinity();
    bool complete = true;
    // The same neighbourhood (alive ops, within the budget) that LocalSearchMutation proposes from.
    detail::for_each_neighbour(space, s, base, [&](const Architecture& n) {
      if (!complete) return;
      if (!seen.contains(n)) {
        complete = false;  // the neighbourhood is not fully evaluated yet
        return;
      }
      const double l = detail::mean_observed_loss(s, n);
      if (l < best_loss) {
        best_loss = l;
        best = n;
      }
    });
    if (!complete) return std::nullopt;
    return best;
  }
};

static_assert(AcceptancePolicy<BlockwiseAcceptance>);
static_assert(AcceptancePolicy<ArchitectureAcceptance>);
static_assert(AcceptancePolicy<IncumbentAcceptance>);
static_assert(AcceptancePolicy<LocalSearchAcceptance>);
static_assert(detail::HasResult<IncumbentAcceptance>);

}  // namespace faunae

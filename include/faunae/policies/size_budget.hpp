// The model-size budget of a search (BlockSpace::max_size, eq. (2)'s restriction made a hard limit):
// eliminations that keep an architecture within the budget reachable, and an architecture brought back
// within it after an elimination. Search::step (search/search.hpp) uses both.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "faunae/concepts/policies.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/search_state.hpp"

namespace faunae::detail {

// The smallest size among the ops of block b alive in `alive`, leaving out op `except` if given.
inline double smallest_alive_size(const BlockSpace& space, const BlockOpTable<bool>& alive, std::size_t b,
                                  std::optional<OpIndex> except = {}) {
  double m = std::numeric_limits<double>::infinity();
  for (OpIndex k = 0; k < space.num_ops(b); ++k)
    if (alive(Eigen::Index(b), Eigen::Index(k)) && k != except) m = std::min(m, space.op_size(b, k));
  return m;
}

// The elimination policy's choice. Under a model-size budget, eliminations must leave an
// architecture within the budget reachable: Σ_b (smallest alive op of block b) ≤ max_size. Taken
// block by block in the policy's order, a removal that would break this makes the search withhold
// the ops whose removal raises that block's smallest size, and ask the policy again through its
// detected hook `select(space, state, removable)`. Each round withholds at least one op, and a block
// with two ops or more always keeps a removable one, so this ends.
template <EliminationPolicy Policy>
std::vector<Elimination> select_within_budget(const BlockSpace& space, const SearchState& state, Policy& policy) {
  const auto budget = space.max_size();
  if (!budget) return policy.select(space, state);
  const BlockOpTable<bool>& alive_now = state.stats.alive;
  BlockOpTable<bool> removable = alive_now;
  for (;;) {
    std::vector<Elimination> chosen;
    if constexpr (HasSelectRemovable<Policy>) chosen = policy.select(space, state, removable);
    else chosen = policy.select(space, state);
    double reachable = 0.0;  // Σ_b smallest alive size after the removals taken so far
    for (std::size_t b = 0; b < space.num_blocks(); ++b) reachable += smallest_alive_size(space, alive_now, b);
    bool feasible = true;
    for (const Elimination& e : chosen) {
      if (e.block >= space.num_blocks() || e.op >= space.num_ops(e.block)) break;  // eliminate() reports it
      const double before = smallest_alive_size(space, alive_now, e.block);
      const double after = smallest_alive_size(space, alive_now, e.block, e.op);
      if (reachable - before + after <= *budget) {
        reachable += after - before;
        continue;
      }
      if constexpr (!HasSelectRemovable<Policy>) {
        throw InvalidArgument(fmt::format(
            "faunae::Search::step(): at epoch {} the elimination policy removes op {} of block {}, after which no "
            "architecture within the space's max_size {} is reachable; the policy has no select(space, state, "
            "removable) through which the search could keep that op",
            state.epoch, e.op, e.block, *budget));
      } else {
        for (OpIndex k = 0; k < space.num_ops(e.block); ++k)
          if (smallest_alive_size(space, alive_now, e.block, k) > before) removable(Eigen::Index(e.block), Eigen::Index(k)) = false;
        feasible = false;
        break;
      }
    }
    if (feasible) return chosen;
  }
}

// Brings an architecture over the model-size budget back within it after an elimination: moves,
// one block at a time, to a smaller alive op, the one with the lowest smoothed loss first (eq. 4;
// never sampled last; ties: the larger saving, then the lower block). Ends within the budget, since
// select_within_budget() kept the smallest ops reachable.
template <class LossOf>
void shrink_to_budget(const BlockSpace& space, Architecture& next, const BlockOpTable<bool>& alive, std::vector<Elimination>& chosen,
                      LossOf&& loss_of) {
  const auto budget = space.max_size();
  if (!budget) return;
  while (space.size_of(next) > *budget) {
    std::optional<std::pair<std::size_t, OpIndex>> best;
    for (std::size_t b = 0; b < next.size(); ++b)
      for (OpIndex k = 0; k < space.num_ops(b); ++k) {
        if (!alive(Eigen::Index(b), Eigen::Index(k)) || space.op_size(b, k) >= space.op_size(b, next[b])) continue;
        if (!best) {
          best = {b, k};
          continue;
        }
        const auto [bb, bk] = *best;
        const double saving = space.op_size(b, next[b]) - space.op_size(b, k);
        const double best_saving = space.op_size(bb, next[bb]) - space.op_size(bb, bk);
        if (loss_of(b, k) < loss_of(bb, bk) || (loss_of(b, k) == loss_of(bb, bk) && saving > best_saving)) best = {b, k};
      }
    if (!best) break;  // cannot happen when the smallest ops are reachable; the caller reports it
    next[best->first] = best->second;
    for (Elimination& e : chosen)
      if (e.block == best->first && e.replacement) e.replacement = best->second;
  }
}

}  // namespace faunae::detail

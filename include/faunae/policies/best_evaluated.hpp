// best_evaluated: a result-selection rule for a finished search (NOT the paper's; the paper returns
// the base architecture α left when every block has one op, which is SearchResult::architecture).
//
// The faithful result can be an architecture that was never evaluated: the last elimination round
// (eq. 10) may move a block to another op right before the search ends. best_evaluated instead
// returns the architecture with the lowest mean observed loss among those the search evaluated (the
// "incumbent" that random search and regularized evolution return), averaging repeated
// evaluations of the same architecture so that one lucky noisy draw counts less.
//
//   faunae::SearchResult found = search.run(evaluator);
//   faunae::Incumbent best = faunae::best_evaluated(found.history);
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <span>
#include <utility>

#include "faunae/core/error.hpp"
#include "faunae/core/search_state.hpp"

namespace faunae {

/// An architecture the search evaluated, with its mean observed loss.
struct Incumbent {
  Architecture architecture;
  double mean_loss = std::numeric_limits<double>::infinity();
  std::size_t evaluations = 0;  ///< how many times it was evaluated
  std::size_t first_epoch = 0;  ///< the epoch of its first evaluation
};

/// The evaluated architecture with the lowest mean loss over its evaluations in `history` (every
/// EpochRecord, α0's included); ties go to the one evaluated first. Throws on an empty history.
inline Incumbent best_evaluated(std::span<const EpochRecord> history) {
  if (history.empty()) throw InvalidArgument("faunae::best_evaluated(): the history is empty (nothing was evaluated)");
  struct Tally {
    double sum = 0.0;
    std::size_t count = 0;
    std::size_t first_epoch = 0;
  };
  std::map<Architecture, Tally> tally;
  for (const EpochRecord& r : history) {
    auto [it, inserted] = tally.try_emplace(r.evaluated);
    if (inserted) it->second.first_epoch = r.epoch;
    it->second.sum += r.loss;
    ++it->second.count;
  }
  Incumbent best;
  for (const auto& [architecture, t] : tally) {
    const double mean = t.sum / static_cast<double>(t.count);
    if (best.evaluations == 0 || mean < best.mean_loss || (mean == best.mean_loss && t.first_epoch < best.first_epoch))
      best = Incumbent{architecture, mean, t.count, t.first_epoch};
  }
  return best;
}

/// The same for the search so far, from the state's EvaluatedIndex: O(log n) per new record instead of
/// a pass over the whole history (what IncumbentAcceptance asks every epoch). Throws on an empty history.
inline Incumbent best_evaluated(const SearchState& s) {
  const EvaluatedIndex& index = s.evaluated();
  const Architecture* best = index.best();
  if (!best) throw InvalidArgument("faunae::best_evaluated(): the history is empty (nothing was evaluated)");
  const EvaluatedIndex::Tally& t = *index.find(*best);
  return Incumbent{*best, t.mean(), t.count, t.first_epoch};
}

}  // namespace faunae

// EvaluatedIndex: what a search has evaluated, by architecture (times evaluated, mean observed loss,
// first epoch), and the best of them, kept up to date with the history in O(log n) per new record.
//
// Derived data of SearchState::history, never serialized: SearchState::evaluated() brings it up to
// date before answering, so that the acceptance and mutation policies that ask "was α evaluated?",
// "what is its mean loss?" or "which is the incumbent?" every epoch cost O(log n) instead of a scan of
// the whole history (random search at 20,000 evaluations: O(n² log n) per search before).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <tuple>

#include "faunae/core/architecture.hpp"

namespace faunae {

struct EpochRecord;

class EvaluatedIndex {
 public:
  /// One evaluated architecture: Σ of its observed losses (in history order), how many, and when first.
  struct Tally {
    double sum = 0.0;
    std::size_t count = 0;
    std::size_t first_epoch = 0;
    double mean() const noexcept { return sum / static_cast<double>(count); }
  };

  /// Absorbs the records of `history` not absorbed yet. A history that is not an extension of what
  /// was absorbed (shorter, or its record at the last absorbed position differs: an epoch rolled back
  /// and redone otherwise) is absorbed again from the start. Records are identified by their epoch,
  /// evaluated architecture and loss, which is all the index depends on.
  template <class Record>
  void sync(std::span<const Record> history) {
    if (absorbed_ > history.size() || (absorbed_ > 0 && !same_as_last(history[absorbed_ - 1]))) clear();
    for (std::size_t i = absorbed_; i < history.size(); ++i) absorb(history[i].evaluated, history[i].loss, history[i].epoch);
  }

  /// The tally of `a`, or nullptr if it was not evaluated.
  const Tally* find(const Architecture& a) const {
    const auto it = tallies_.find(a);
    return it == tallies_.end() ? nullptr : &it->second;
  }
  bool contains(const Architecture& a) const { return tallies_.contains(a); }
  /// Distinct architectures evaluated.
  std::size_t size() const noexcept { return tallies_.size(); }
  bool empty() const noexcept { return tallies_.empty(); }

  /// The evaluated architecture with the lowest mean observed loss, ties to the one evaluated first;
  /// nullptr when nothing was evaluated.
  const Architecture* best() const noexcept { return ranking_.empty() ? nullptr : &std::get<2>(*ranking_.begin()); }

  void clear() {
    tallies_.clear();
    ranking_.clear();
    absorbed_ = 0;
  }

 private:
  template <class Record>
  bool same_as_last(const Record& r) const {
    return r.epoch == last_epoch_ && std::bit_cast<std::uint64_t>(r.loss) == last_loss_bits_ && r.evaluated == last_evaluated_;
  }

  void absorb(const Architecture& a, double loss, std::size_t epoch) {
    auto [it, inserted] = tallies_.try_emplace(a);
    Tally& t = it->second;
    if (inserted) t.first_epoch = epoch;
    else ranking_.erase({t.mean(), t.first_epoch, a});
    t.sum += loss;
    ++t.count;
    ranking_.emplace(t.mean(), t.first_epoch, a);
    ++absorbed_;
    last_epoch_ = epoch;
    last_loss_bits_ = std::bit_cast<std::uint64_t>(loss);
    last_evaluated_ = a;
  }

  std::map<Architecture, Tally> tallies_;
  // Every evaluated architecture ordered as best_evaluated() ranks them: lowest mean, ties to the first
  // evaluated (then, for a hand-made history with repeated epochs, the lowest architecture).
  std::set<std::tuple<double, std::size_t, Architecture>> ranking_;
  std::size_t absorbed_ = 0;
  std::size_t last_epoch_ = 0;
  std::uint64_t last_loss_bits_ = 0;
  Architecture last_evaluated_;
};

}  // namespace faunae

// Baselines as policies of the generic search driver, so that every comparison with FaUNAE uses the
// same space, evaluator, number of evaluations, checkpoints, hooks and SearchResult
// (docs/baselines.md):
//
//   RandomSearch<S>          RandomMutation               + NoElimination + IncumbentAcceptance
//   RegularizedEvolution<S>  RegularizedEvolutionMutation + NoElimination + IncumbentAcceptance
//   LocalSearch<S>           LocalSearchMutation          + NoElimination + LocalSearchAcceptance
//
//   auto search = faunae::regularized_evolution(space, {.evaluations = 100, .seed = 7});
//   faunae::SearchResult found = search.run(evaluator, logger);   // found.evaluated == true
//
// Epoch 0 evaluates α0 like every search, and counts: `evaluations` = 1 + the mutation epochs. Every
// policy here derives what it does from the search state (history, alive ops) and draws only from the
// search's generator, so a checkpoint resumes a baseline bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/policies.hpp"
#include "faunae/concepts/search_space.hpp"
#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"
#include "faunae/policies/acceptance.hpp"
#include "faunae/policies/ucb_elimination.hpp"
#include "faunae/search/search.hpp"

namespace faunae {

namespace detail {
template <SearchSpace S>
Architecture random_architecture_for(const S& space, Rng& rng, std::size_t attempts, std::string_view who) {
  const std::size_t n = space.num_blocks();
  Architecture a(std::vector<OpIndex>(n, 0));
  for (std::size_t t = 0; t < attempts; ++t) {
    for (std::size_t b = 0; b < n; ++b) a[b] = static_cast<OpIndex>(rng.below(space.num_ops(b)));
    bool fits = true;
    if constexpr (HasSizeBudget<S>) {
      if (const std::optional<double> budget = space.max_size()) {
        double size = 0.0;
        for (std::size_t b = 0; b < n; ++b) size += static_cast<double>(space.op_size(b, a[b]));
        fits = size <= *budget;
      }
    }
    if (fits && space.is_valid(a)) return a;
  }
  throw InvalidArgument(fmt::format(
      "{}: no valid architecture in {} uniform draws (attempts); the space's is_valid() (or its max_size) rejects them",
      who, attempts));
}
}  // namespace detail

/// An architecture drawn uniformly: each block's op uniform over its ops, the whole draw repeated
/// while the space's is_valid() (or its max_size() budget, if it has one) rejects it, at most
/// `attempts` times; then InvalidArgument. Uniform over the architectures the space allows.
template <SearchSpace S>
Architecture random_architecture(const S& space, Rng& rng, std::size_t attempts = 10000) {
  return detail::random_architecture_for(space, rng, attempts, "faunae::random_architecture()");
}

namespace detail {
/// Kept for callers outside the library that still use it; prefer faunae::random_architecture.
template <SearchSpace S>
Architecture sample_uniform(const S& space, Rng& rng, std::string_view who, std::size_t attempts = 10000) {
  return random_architecture_for(space, rng, attempts, who);
}

/// Draws of a proposal repeated inside a policy while it exceeds the model-size budget; past them
/// the driver rejects the proposal and asks again.
inline constexpr std::size_t kBudgetRedraws = 1000;

/// Each block's op uniform among its alive ops, redrawn while over the budget. With every op alive
/// this is the draw of random_architecture (same generator calls).
inline Architecture random_alive_architecture(const BlockSpace& space, const SearchState& s, Rng& rng) {
  Architecture a(std::vector<OpIndex>(space.num_blocks(), 0));
  for (std::size_t attempt = 0; attempt < kBudgetRedraws; ++attempt) {
    for (std::size_t b = 0; b < a.size(); ++b)
      a[b] = s.stats.nth_alive(b, static_cast<std::size_t>(rng.below(s.stats.ops_left(b))));
    if (space.within_max_size(a)) break;
  }
  return a;
}

/// `a` with one block, uniform among the blocks with more than one alive op, moved to a uniformly
/// chosen other alive op; redrawn while over the budget. Ops of `a` no longer alive are first replaced
/// by a uniform alive op (only after an elimination, which the baselines do not have). Returns `a` if
/// no block can change.
inline Architecture mutate_one_block(const BlockSpace& space, const SearchState& s, Architecture a, Rng& rng) {
  for (std::size_t b = 0; b < a.size(); ++b)
    if (!s.stats.is_alive(b, a[b])) a[b] = s.stats.nth_alive(b, static_cast<std::size_t>(rng.below(s.stats.ops_left(b))));
  std::vector<std::size_t> blocks;
  for (std::size_t b = 0; b < a.size(); ++b)
    if (s.stats.ops_left(b) > 1) blocks.push_back(b);
  if (blocks.empty()) return a;
  Architecture child = a;
  for (std::size_t attempt = 0; attempt < kBudgetRedraws; ++attempt) {
    child = a;
    const std::size_t b = blocks[static_cast<std::size_t>(rng.below(blocks.size()))];
    // the k-th alive op other than a[b]
    std::size_t k = static_cast<std::size_t>(rng.below(s.stats.ops_left(b) - 1));
    for (OpIndex op = 0; op < space.num_ops(b); ++op)
      if (op != a[b] && s.stats.is_alive(b, op) && k-- == 0) {
        child[b] = op;
        break;
      }
    if (space.within_max_size(child)) break;
  }
  return child;
}

}  // namespace detail

// --- mutation policies -------------------------------------------------------------------------

/// Random search (Bergstra & Bengio, JMLR 2012; Li & Talwalkar, UAI 2019 for NAS): every proposal is
/// an architecture drawn uniformly, independent of the search so far (each block's op uniform among
/// its alive ops; the driver redraws while the space rejects it).
class RandomMutation {
 public:
  nlohmann::json config() const { return {{"policy", "RandomMutation"}}; }

  Proposal propose(const BlockSpace& space, const SearchState& s, Rng& rng) const {
    return Proposal{detail::random_alive_architecture(space, s, rng), {}};
  }
};

struct RegularizedEvolutionOptions {
  std::size_t population = 20;  ///< P: the population, the last P evaluated architectures (aging)
  std::size_t sample = 5;       ///< S: tournament size, drawn without replacement from the population

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("population", self.population), f("sample", self.sample);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where = "faunae::RegularizedEvolutionMutation") const {
    if (population == 0) throw InvalidArgument(fmt::format("{}: population must be at least 1, got 0", where));
    if (sample == 0 || sample > population)
      throw InvalidArgument(fmt::format("{}: sample must be in [1, population = {}], got {}", where, population, sample));
  }
};

/// Regularized (aging) evolution (Real, Aggarwal, Huang, Le, AAAI 2019, Algorithm 1). The population
/// is the last P records of the history:
///  - while fewer than P architectures were evaluated, a uniformly random architecture (the initial
///    population; α0, evaluated at epoch 0, is its first member);
///  - afterwards a tournament: S distinct members drawn uniformly (partial Fisher–Yates), the one
///    with the lowest loss (ties: the first drawn) is the parent; the child is the parent with one
///    block, uniform among those with more than one alive op, moved to a uniformly chosen other alive
///    op. Evaluating the child and dropping the oldest member is the history moving on by one.
/// Stateless: everything comes from the history, so a checkpoint resumes it bit for bit.
class RegularizedEvolutionMutation {
 public:
  RegularizedEvolutionMutation() : RegularizedEvolutionMutation(RegularizedEvolutionOptions{}) {}
  explicit RegularizedEvolutionMutation(RegularizedEvolutionOptions options) : options_(options) { options_.check(); }

  const RegularizedEvolutionOptions& options() const noexcept { return options_; }
  nlohmann::json config() const {
    return {{"policy", "RegularizedEvolutionMutation"}, {"population", options_.population}, {"sample", options_.sample}};
  }

  Proposal propose(const BlockSpace& space, const SearchState& s, Rng& rng) const {
    if (s.history.size() < options_.population) return Proposal{detail::random_alive_architecture(space, s, rng), {}};
    const std::size_t first = s.history.size() - options_.population;
    std::vector<std::size_t> members(options_.population);
    for (std::size_t i = 0; i < members.size(); ++i) members[i] = first + i;
    std::size_t parent = members[0];
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < options_.sample; ++i) {
      const std::size_t j = i + static_cast<std::size_t>(rng.below(members.size() - i));
      std::swap(members[i], members[j]);
      if (s.history[members[i]].loss < best) {
        best = s.history[members[i]].loss;
        parent = members[i];
      }
    }
    return Proposal{detail::mutate_one_block(space, s, s.history[parent].evaluated, rng), {}};
  }

 private:
  RegularizedEvolutionOptions options_;
};

/// Local search (White, Nolen, Savani, "Local search is state of the art for neural architecture
/// search benchmarks", 2020), with LocalSearchAcceptance as its acceptance policy. The base α =
/// `s.current`; its neighbours are the architectures one alive op away (within the model-size budget).
///  1. A neighbour of α not evaluated yet, uniformly chosen. If the space's is_valid() rejects it, the
///     driver asks again and gets another of them (no neighbour is proposed twice in one epoch).
///  2. All evaluated (or rejected), and the best neighbour (mean observed loss) is better than α but
///     the acceptance has not moved there (α's neighbourhood was complete before α became the base):
///     that neighbour again, whose evaluation lets LocalSearchAcceptance move.
///  3. Otherwise α is a local optimum: a restart, a uniformly random architecture not evaluated yet
///     (at most kRestartDraws draws, then whatever the last draw was). LocalSearchAcceptance makes
///     it the base.
class LocalSearchMutation {
 public:
  static constexpr std::size_t kRestartDraws = 1000;

  nlohmann::json config() const { return {{"policy", "LocalSearchMutation"}}; }

  Proposal propose(const BlockSpace& space, const SearchState& s, Rng& rng) {
    const EvaluatedIndex& seen = s.evaluated();
    // A re-ask in the same epoch continues the same draw without replacement; anything else (a new
    // epoch, a fresh object after load, an epoch retried after a failure: the generator differs)
    // starts afresh, so this cache never changes what a seed or a checkpoint reproduces.
    if (!pending_ || pending_->evaluations != s.evaluations || pending_->rng_after != rng.state()) {
      pending_ = Pending{s.evaluations, {}, unevaluated_neighbours(space, s, seen), 0};
    }
    Pending& p = *pending_;
    Architecture proposal;
    if (p.tried < p.candidates.size()) {  // 1. partial Fisher–Yates over the unevaluated neighbours
      const std::size_t j = p.tried + static_cast<std::size_t>(rng.below(p.candidates.size() - p.tried));
      std::swap(p.candidates[p.tried], p.candidates[j]);
      proposal = p.candidates[p.tried++];
    } else if (auto better = better_neighbour(space, s); better && !(s.history.back().evaluated == *better)) {
      proposal = std::move(*better);  // 2.
    } else {  // 3. a restart (not one of the neighbours the space rejected in this epoch either)
      for (std::size_t draw = 0; draw < kRestartDraws; ++draw) {
        proposal = detail::random_alive_architecture(space, s, rng);
        if (!seen.contains(proposal) &&
            std::find(p.candidates.begin(), p.candidates.end(), proposal) == p.candidates.end())
          break;
      }
    }
    p.rng_after = rng.state();
    return Proposal{std::move(proposal), {}};
  }

 private:
  struct Pending {
    std::size_t evaluations = 0;
    Rng::State rng_after{};
    std::vector<Architecture> candidates;
    std::size_t tried = 0;
  };

  static std::vector<Architecture> unevaluated_neighbours(const BlockSpace& space, const SearchState& s,
                                                          const EvaluatedIndex& seen) {
    std::vector<Architecture> out;
    detail::for_each_neighbour(space, s, s.current, [&](const Architecture& n) {
      if (!seen.contains(n)) out.push_back(n);
    });
    return out;
  }

  // The evaluated neighbour with the lowest mean observed loss if it is lower than α's (ties: the
  // first in block, op order, as LocalSearchAcceptance ranks them).
  static std::optional<Architecture> better_neighbour(const BlockSpace& space, const SearchState& s) {
    auto mean = [&](const Architecture& a) { return detail::mean_observed_loss(s, a); };
    double best_loss = mean(s.current);
    if (std::isnan(best_loss)) best_loss = std::numeric_limits<double>::infinity();
    std::optional<Architecture> best;
    detail::for_each_neighbour(space, s, s.current, [&](const Architecture& n) {
      const double l = mean(n);
      if (l < best_loss) {  // false for NaN (never evaluated)
        best_loss = l;
        best = n;
      }
    });
    return best;
  }

  std::optional<Pending> pending_;
};

static_assert(MutationPolicy<RandomMutation>);
static_assert(MutationPolicy<RegularizedEvolutionMutation>);
static_assert(MutationPolicy<LocalSearchMutation>);

// --- the searches ------------------------------------------------------------------------------

template <SearchSpace S>
using RandomSearch = Search<S, RandomMutation, NoElimination, IncumbentAcceptance>;
template <SearchSpace S>
using RegularizedEvolution = Search<S, RegularizedEvolutionMutation, NoElimination, IncumbentAcceptance>;
template <SearchSpace S>
using LocalSearch = Search<S, LocalSearchMutation, NoElimination, LocalSearchAcceptance>;

/// What every baseline builder takes.
struct BaselineOptions {
  std::size_t evaluations = 100;         ///< architectures evaluated, α0's included: 1 + the mutation epochs (≥ 2)
  std::uint64_t seed = 0;                ///< the search's generator (and, without `initial`, α0's draw)
  std::optional<Architecture> initial;   ///< α0; default: random_architecture(space, Rng(seed ^ kBaselineInitialStream))
  std::filesystem::path checkpoint;      ///< if set, the search is saved there after every epoch (SearchOptions::checkpoint)
  std::string run_id;                    ///< SearchOptions::run_id: recorded in checkpoints, another run's refused
};

/// Without BaselineOptions::initial, a baseline starts from random_architecture(space,
/// Rng(seed ^ kBaselineInitialStream)): a generator of its own, so α0 does not shift the search's draws.
inline constexpr std::uint64_t kBaselineInitialStream = fnv1a64("faunae.baselines.initial");

namespace detail {
template <SearchSpace S>
SearchOptions baseline_search_options(const S& space, const BaselineOptions& o, std::string_view who) {
  // NoElimination reads epochs = 0 as "use epochs_per_op", so one evaluation (α0 alone) cannot be asked of it.
  if (o.evaluations < 2)
    throw InvalidArgument(fmt::format("{}: evaluations must be at least 2 (α0 and one proposal), got {}", who, o.evaluations));
  SearchOptions options;
  options.seed = o.seed;
  options.checkpoint = o.checkpoint;
  options.run_id = o.run_id;
  if (o.initial) {
    options.initial = *o.initial;
  } else {
    Rng rng(o.seed ^ kBaselineInitialStream);
    options.initial = random_architecture_for(space, rng, 10000, fmt::format("{}: a random α0", who));
  }
  return options;
}

/// evaluations − 1 mutation epochs after α0's evaluation.
inline NoElimination fixed_schedule(std::size_t evaluations) {
  return NoElimination(NoEliminationOptions{.epochs = evaluations - 1});
}
}  // namespace detail

/// Random search with `options.evaluations` evaluations (α0's included). `space` must outlive it.
template <SearchSpace S>
RandomSearch<S> random_search(const S& space, const BaselineOptions& options) {
  return RandomSearch<S>(space, detail::baseline_search_options(space, options, "faunae::random_search()"),
                         RandomMutation(), detail::fixed_schedule(options.evaluations), IncumbentAcceptance());
}

/// Regularized evolution with `options.evaluations` evaluations (α0's included, as the first member of
/// the initial population). With evaluations ≤ population it is random search.
template <SearchSpace S>
RegularizedEvolution<S> regularized_evolution(const S& space, const BaselineOptions& options,
                                              RegularizedEvolutionOptions evolution = {}) {
  RegularizedEvolutionMutation mutation(evolution);  // checks the options before α0 is drawn
  return RegularizedEvolution<S>(space,
                                 detail::baseline_search_options(space, options, "faunae::regularized_evolution()"),
                                 std::move(mutation), detail::fixed_schedule(options.evaluations), IncumbentAcceptance());
}

/// Local search with `options.evaluations` evaluations (α0's included); returns the best evaluated.
template <SearchSpace S>
LocalSearch<S> local_search(const S& space, const BaselineOptions& options) {
  return LocalSearch<S>(space, detail::baseline_search_options(space, options, "faunae::local_search()"),
                        LocalSearchMutation(), detail::fixed_schedule(options.evaluations), LocalSearchAcceptance());
}

}  // namespace faunae

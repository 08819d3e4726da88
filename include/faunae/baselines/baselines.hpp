// Baselines under the same concepts as FaUNAE, so every comparison uses the same space, evaluator
// and number of evaluations: random search, and regularized evolution (Real et al., AAAI 2019).
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "faunae/concepts/evaluator.hpp"
#include "faunae/concepts/search_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"

namespace faunae {

/// One evaluated architecture.
struct Trial {
  Architecture architecture;
  double loss = 0.0;
};

/// What a baseline returns: the best architecture it evaluated (lowest loss), and every trial.
struct BaselineResult {
  Architecture architecture;
  double loss = std::numeric_limits<double>::infinity();
  std::size_t evaluations = 0;
  std::vector<Trial> history;
};

namespace detail {
template <SearchSpace S>
Architecture sample_uniform(const S& space, Rng& rng, std::string_view who, std::size_t attempts = 10000) {
  const std::size_t n = space.num_blocks();
  Architecture a(std::vector<OpIndex>(n, 0));
  for (std::size_t t = 0; t < attempts; ++t) {
    for (std::size_t b = 0; b < n; ++b) a[b] = static_cast<OpIndex>(rng.below(space.num_ops(b)));
    if (space.is_valid(a)) return a;
  }
  throw InvalidArgument(fmt::format("{}: no valid architecture in {} uniform draws; the space's is_valid() rejects them",
                                    who, attempts));
}

template <Evaluator E>
double checked_loss(E& evaluator, const Architecture& a, std::string_view who) {
  const double loss = to_evaluation(evaluator.evaluate(a)).loss;
  if (!std::isfinite(loss))
    throw EvaluationError(fmt::format("{}: the evaluator returned a non-finite loss ({}) on {}", who, loss, a.to_string()));
  return loss;
}

inline void record_trial(BaselineResult& r, Architecture a, double loss) {
  if (loss < r.loss) {
    r.loss = loss;
    r.architecture = a;
  }
  ++r.evaluations;
  r.history.push_back(Trial{std::move(a), loss});
}
}  // namespace detail

/// Random search: `evaluations` architectures drawn uniformly (each block's op uniform, redrawn while
/// the space rejects the combination); returns the one with the lowest loss.
class RandomSearch {
 public:
  RandomSearch(std::size_t evaluations, std::uint64_t seed) : evaluations_(evaluations), seed_(seed) {
    if (evaluations_ == 0) throw InvalidArgument("faunae::RandomSearch: evaluations must be at least 1, got 0");
  }

  template <SearchSpace S, Evaluator E>
  BaselineResult run(const S& space, E& evaluator) const {
    Rng rng(seed_);
    BaselineResult r;
    for (std::size_t i = 0; i < evaluations_; ++i) {
      Architecture a = detail::sample_uniform(space, rng, "faunae::RandomSearch::run()");
      const double loss = detail::checked_loss(evaluator, a, "faunae::RandomSearch::run()");
      detail::record_trial(r, std::move(a), loss);
    }
    return r;
  }

 private:
  std::size_t evaluations_;
  std::uint64_t seed_;
};

struct RegularizedEvolutionOptions {
  std::size_t evaluations = 100;  ///< total architectures evaluated, the initial population included
  std::size_t population = 20;    ///< P: the population (a queue: the oldest dies)
  std::size_t sample = 5;         ///< S: tournament size, drawn without replacement from the population
  std::uint64_t seed = 0;
};

/// Regularized (aging) evolution, Real et al. 2019, Algorithm 1: P random architectures; then each
/// cycle samples S of the population, mutates the best of them in one block (a uniformly chosen
/// block gets a uniformly chosen *other* op), evaluates the child, adds it and removes the oldest.
/// Returns the best architecture ever evaluated.
class RegularizedEvolution {
 public:
  explicit RegularizedEvolution(RegularizedEvolutionOptions options) : options_(options) {
    if (options_.population < 1)
      throw InvalidArgument("faunae::RegularizedEvolution: population must be at least 1, got 0");
    if (options_.sample < 1 || options_.sample > options_.population)
      throw InvalidArgument(fmt::format("faunae::RegularizedEvolution: sample must be in [1, population = {}], got {}",
                                        options_.population, options_.sample));
    if (options_.evaluations < options_.population)
      throw InvalidArgument(fmt::format("faunae::RegularizedEvolution: evaluations ({}) must be at least the population ({})",
                                        options_.evaluations, options_.population));
  }

  template <SearchSpace S, Evaluator E>
  BaselineResult run(const S& space, E& evaluator) const {
    constexpr std::string_view who = "faunae::RegularizedEvolution::run()";
    Rng rng(options_.seed);
    BaselineResult r;
    std::deque<Trial> population;
    while (population.size() < options_.population) {
      Architecture a = detail::sample_uniform(space, rng, who);
      const double loss = detail::checked_loss(evaluator, a, who);
      population.push_back(Trial{a, loss});
      detail::record_trial(r, std::move(a), loss);
    }
    std::vector<std::size_t> index(population.size());
    while (r.evaluations < options_.evaluations) {
      // tournament: S distinct members (partial Fisher–Yates), the lowest loss wins
      for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
      std::size_t parent = 0;
      double best = std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < options_.sample; ++i) {
        const std::size_t j = i + static_cast<std::size_t>(rng.below(index.size() - i));
        std::swap(index[i], index[j]);
        if (population[index[i]].loss < best) {
          best = population[index[i]].loss;
          parent = index[i];
        }
      }
      Architecture child = mutate_one_block(space, population[parent].architecture, rng);
      const double loss = detail::checked_loss(evaluator, child, who);
      population.push_back(Trial{child, loss});
      population.pop_front();  // aging: the oldest dies, not the worst
      detail::record_trial(r, std::move(child), loss);
    }
    return r;
  }

  /// One block, chosen uniformly among those with more than one op, gets a uniformly chosen other op;
  /// redrawn (bounded) while the space rejects the child. Returns the parent if no block can change.
  template <SearchSpace S>
  static Architecture mutate_one_block(const S& space, const Architecture& parent, Rng& rng) {
    std::vector<std::size_t> mutable_blocks;
    for (std::size_t b = 0; b < space.num_blocks(); ++b)
      if (space.num_ops(b) > 1) mutable_blocks.push_back(b);
    if (mutable_blocks.empty()) return parent;
    for (int attempt = 0; attempt < 10000; ++attempt) {
      Architecture child = parent;
      const std::size_t b = mutable_blocks[static_cast<std::size_t>(rng.below(mutable_blocks.size()))];
      const auto k = static_cast<OpIndex>(rng.below(space.num_ops(b) - 1));
      child[b] = k >= parent[b] ? k + 1 : k;
      if (space.is_valid(child)) return child;
    }
    throw InvalidArgument("faunae::RegularizedEvolution: no valid one-block mutation in 10000 draws");
  }

 private:
  RegularizedEvolutionOptions options_;
};

}  // namespace faunae

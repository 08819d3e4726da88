// Baselines: RandomSearch and RegularizedEvolution use exactly the requested evaluations, are
// reproducible by seed, return the lowest-loss trial; RE ages its population (a queue).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace faunae_test;
using faunae::BaselineResult;
using faunae::InvalidArgument;
using faunae::RandomSearch;
using faunae::RegularizedEvolution;
using faunae::RegularizedEvolutionOptions;

namespace {

/// Distinct losses for every call: a fixed landscape plus a tiny call counter (no ties).
struct CountingEvaluator {
  std::size_t calls = 0;
  std::vector<Architecture> seen;
  double evaluate(const Architecture& a) {
    seen.push_back(a);
    return synthetic_loss(a) + 1e-9 * static_cast<double>(++calls);
  }
};

std::size_t differing_blocks(const Architecture& x, const Architecture& y) {
  std::size_t n = 0;
  for (std::size_t b = 0; b < x.size(); ++b) n += x[b] != y[b] ? 1 : 0;
  return n;
}

void check_best_is_min(const BaselineResult& r) {
  REQUIRE_FALSE(r.history.empty());
  const auto best = std::min_element(r.history.begin(), r.history.end(),
                                     [](const auto& a, const auto& b) { return a.loss < b.loss; });
  CHECK(r.loss == best->loss);
  CHECK(r.architecture == best->architecture);
}

}  // namespace

TEST_CASE("RandomSearch evaluates exactly n architectures and returns the best", "[baselines]") {
  const BlockSpace space = synthetic_space(5, 4);
  CountingEvaluator evaluator;
  const auto r = RandomSearch(37, 1).run(space, evaluator);
  CHECK(evaluator.calls == 37);
  CHECK(r.evaluations == 37);
  CHECK(r.history.size() == 37);
  check_best_is_min(r);
  for (std::size_t i = 0; i < r.history.size(); ++i) CHECK(r.history[i].architecture == evaluator.seen[i]);
}

TEST_CASE("RandomSearch is reproducible by seed and respects is_valid", "[baselines][reproducibility]") {
  // the space forbids op 0 in both of two adjacent blocks
  const BlockSpace base = synthetic_space(4, 3);
  const BlockSpace space(base.blocks(), base.initial_architecture(),
                         [](const Architecture& a) { return !(a[0] == 0 && a[1] == 0); });
  CountingEvaluator e1, e2, e3;
  const auto a = RandomSearch(50, 9).run(space, e1);
  const auto b = RandomSearch(50, 9).run(space, e2);
  const auto c = RandomSearch(50, 10).run(space, e3);
  CHECK(e1.seen == e2.seen);
  CHECK(a.architecture == b.architecture);
  CHECK(e1.seen != e3.seen);
  for (const auto& t : a.history) CHECK(space.is_valid(t.architecture));
  REQUIRE_THROWS_MATCHES(RandomSearch(0, 1), InvalidArgument, What(Contains("evaluations") && Contains("got 0")));
}

TEST_CASE("RegularizedEvolution evaluates exactly the requested number and returns the best", "[baselines]") {
  const BlockSpace space = synthetic_space(6, 4);
  CountingEvaluator evaluator;
  const RegularizedEvolution re({.evaluations = 120, .population = 20, .sample = 5, .seed = 3});
  const auto r = re.run(space, evaluator);
  CHECK(evaluator.calls == 120);
  CHECK(r.evaluations == 120);
  CHECK(r.history.size() == 120);
  check_best_is_min(r);
  // after the random population, every child differs from some member of the current
  // population (the previous 20 trials) in exactly one block
  for (std::size_t i = 20; i < r.history.size(); ++i) {
    bool has_parent = false;
    for (std::size_t j = i - 20; j < i; ++j)
      has_parent |= differing_blocks(r.history[i].architecture, r.history[j].architecture) == 1;
    INFO("trial " << i);
    CHECK(has_parent);
  }
}

TEST_CASE("RegularizedEvolution ages its population: the parent is the best of the last P trials", "[baselines]") {
  // With S = P every tournament sees the whole population, so the parent of trial i is the best of
  // trials i-P .. i-1 (a queue), not the best ever (which an elitist population would keep).
  const BlockSpace space = synthetic_space(5, 4);
  constexpr std::size_t P = 6;
  CountingEvaluator evaluator;
  const auto r = RegularizedEvolution({.evaluations = 200, .population = P, .sample = P, .seed = 8}).run(space, evaluator);
  std::size_t window_best_is_not_global_best = 0;
  double best_so_far = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < r.history.size(); ++i) {
    if (i >= P) {
      std::size_t parent = i - P;
      for (std::size_t j = i - P; j < i; ++j)
        if (r.history[j].loss < r.history[parent].loss) parent = j;
      INFO("trial " << i << " parent " << parent);
      CHECK(differing_blocks(r.history[i].architecture, r.history[parent].architecture) == 1);
      if (r.history[parent].loss > best_so_far) ++window_best_is_not_global_best;
    }
    best_so_far = std::min(best_so_far, r.history[i].loss);
  }
  // the check above distinguished aging from elitism at least once
  CHECK(window_best_is_not_global_best > 0);
}

TEST_CASE("RegularizedEvolution is reproducible by seed", "[baselines][reproducibility]") {
  const BlockSpace space = synthetic_space(5, 3);
  CountingEvaluator e1, e2, e3;
  const RegularizedEvolutionOptions o{.evaluations = 60, .population = 10, .sample = 3, .seed = 4};
  RegularizedEvolution(o).run(space, e1);
  RegularizedEvolution(o).run(space, e2);
  auto other = o;
  other.seed = 5;
  RegularizedEvolution(other).run(space, e3);
  CHECK(e1.seen == e2.seen);
  CHECK(e1.seen != e3.seen);
}

TEST_CASE("RegularizedEvolution validates its options", "[baselines][errors]") {
  REQUIRE_THROWS_MATCHES(RegularizedEvolution({.evaluations = 10, .population = 0, .sample = 1}), InvalidArgument,
                         What(Contains("population must be at least 1")));
  REQUIRE_THROWS_MATCHES(RegularizedEvolution({.evaluations = 10, .population = 5, .sample = 0}), InvalidArgument,
                         What(Contains("sample") && Contains("got 0")));
  REQUIRE_THROWS_MATCHES(RegularizedEvolution({.evaluations = 10, .population = 5, .sample = 6}), InvalidArgument,
                         What(Contains("sample must be in [1, population = 5], got 6")));
  REQUIRE_THROWS_MATCHES(RegularizedEvolution({.evaluations = 4, .population = 5, .sample = 2}), InvalidArgument,
                         What(Contains("evaluations (4)") && Contains("population (5)")));
  CHECK_NOTHROW(RegularizedEvolution({.evaluations = 5, .population = 5, .sample = 5}));
}

TEST_CASE("RegularizedEvolution with evaluations == population is random search of the population", "[baselines]") {
  const BlockSpace space = synthetic_space(3, 3);
  CountingEvaluator evaluator;
  const auto r = RegularizedEvolution({.evaluations = 7, .population = 7, .sample = 2, .seed = 1}).run(space, evaluator);
  CHECK(evaluator.calls == 7);
  check_best_is_min(r);
}

TEST_CASE("mutate_one_block changes exactly one block to another op", "[baselines]") {
  const BlockSpace space = synthetic_space(4, 3);
  faunae::Rng rng(6);
  const Architecture parent{1, 2, 0, 1};
  for (int i = 0; i < 200; ++i) {
    const auto child = RegularizedEvolution::mutate_one_block(space, parent, rng);
    CHECK(differing_blocks(child, parent) == 1);
    CHECK(space.is_valid(child));
  }
  // blocks with a single op cannot change
  std::vector<Block> blocks{Block{"fixed", {{"only", 1.0}}, std::nullopt}, Block{"free", {{"a", 1.0}, {"b", 2.0}}, std::nullopt}};
  const BlockSpace mixed(blocks, Architecture{0, 0});
  for (int i = 0; i < 50; ++i) CHECK(RegularizedEvolution::mutate_one_block(mixed, Architecture{0, 0}, rng) == Architecture{0, 1});
  const BlockSpace frozen({Block{"fixed", {{"only", 1.0}}, std::nullopt}}, Architecture{0});
  CHECK(RegularizedEvolution::mutate_one_block(frozen, Architecture{0}, rng) == Architecture{0});
}

TEST_CASE("baselines report a non-finite loss as an EvaluationError", "[baselines][errors]") {
  const BlockSpace space = synthetic_space(2, 3);
  auto fn = [](const Architecture&) { return std::numeric_limits<double>::quiet_NaN(); };
  faunae::FunctionEvaluator evaluator(fn);
  REQUIRE_THROWS_MATCHES(RandomSearch(3, 1).run(space, evaluator), faunae::EvaluationError,
                         What(Contains("RandomSearch") && Contains("non-finite")));
  REQUIRE_THROWS_MATCHES(RegularizedEvolution({.evaluations = 3, .population = 2, .sample = 1}).run(space, evaluator),
                         faunae::EvaluationError, What(Contains("RegularizedEvolution") && Contains("non-finite")));
}

TEST_CASE("baselines on NAS-Bench-Macro use the same evaluation budget as FaUNAE", "[baselines][tabular]") {
  const auto& table = nas_bench_macro();
  const faunae::tabular::TabularSpace space(table, "11111111");
  const std::size_t budget = 1 + faunae::schedule_length(3, 3);
  faunae::tabular::TabularEvaluator e1(table, 1), e2(table, 1);
  const auto rs = RandomSearch(budget, 2).run(space, e1);
  const auto re = RegularizedEvolution({.evaluations = budget, .population = 8, .sample = 3, .seed = 2}).run(space, e2);
  CHECK(e1.evaluations() == budget);
  CHECK(e2.evaluations() == budget);
  CHECK(rs.evaluations == budget);
  CHECK(re.evaluations == budget);
  check_best_is_min(rs);
  check_best_is_min(re);
}

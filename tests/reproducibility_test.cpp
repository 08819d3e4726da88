// A seed fixes a whole search: same seed, same history (architectures, losses, probabilities);
// another seed, another history.
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::Search;
using faunae::SearchOptions;
using faunae::tabular::TabularEvaluator;
using faunae::tabular::TabularSpace;

namespace {

std::vector<Architecture> evaluated(const faunae::SearchState& s) {
  std::vector<Architecture> out;
  for (const auto& r : s.history) out.push_back(r.evaluated);
  return out;
}

std::vector<double> losses(const faunae::SearchState& s) {
  std::vector<double> out;
  for (const auto& r : s.history) out.push_back(r.loss);
  return out;
}

}  // namespace

TEST_CASE("the same seeds give the same history on NAS-Bench-Macro", "[reproducibility][tabular]") {
  const auto& table = nas_bench_macro();
  const TabularSpace space(table, "00000000");
  const std::uint64_t seed = GENERATE(0u, 1u, 123456789u);
  CAPTURE(seed);
  faunae::FaUNAE<TabularSpace> a(space, {.seed = seed});
  faunae::FaUNAE<TabularSpace> b(space, {.seed = seed});
  TabularEvaluator ea(table, seed + 1);
  TabularEvaluator eb(table, seed + 1);
  const auto ra = a.run(ea);
  const auto rb = b.run(eb);
  CHECK(ra.architecture == rb.architecture);
  REQUIRE(ra.history.size() == rb.history.size());
  for (std::size_t i = 0; i < ra.history.size(); ++i) {
    const auto& x = ra.history[i];
    const auto& y = rb.history[i];
    INFO("epoch " << i);
    CHECK(x.evaluated == y.evaluated);
    CHECK(x.architecture == y.architecture);
    CHECK(x.loss == y.loss);
    CHECK(x.metrics == y.metrics);
    REQUIRE(x.probabilities.rows() == y.probabilities.rows());
    REQUIRE(x.probabilities.cols() == y.probabilities.cols());
    CHECK((x.probabilities == y.probabilities).all());
    CHECK(x.mutations.size() == y.mutations.size());
    CHECK(x.eliminations.size() == y.eliminations.size());
  }
  CHECK(a.to_json(&ea) == b.to_json(&eb));
}

TEST_CASE("another search seed gives another history", "[reproducibility][tabular]") {
  const auto& table = nas_bench_macro();
  const TabularSpace space(table, "11111111");
  std::vector<std::vector<Architecture>> runs;
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    faunae::FaUNAE<TabularSpace> search(space, {.seed = seed});
    TabularEvaluator evaluator(table, 99);  // the same evaluator noise every time
    search.run(evaluator);
    runs.push_back(evaluated(search.state()));
  }
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (std::size_t j = i + 1; j < runs.size(); ++j) {
      INFO("seeds " << i << " and " << j);
      CHECK(runs[i] != runs[j]);
    }
}

TEST_CASE("another evaluator seed gives other losses for the same search seed", "[reproducibility][tabular]") {
  const auto& table = nas_bench_macro();
  const TabularSpace space(table, "11111111");
  faunae::FaUNAE<TabularSpace> a(space, {.seed = 5});
  faunae::FaUNAE<TabularSpace> b(space, {.seed = 5});
  TabularEvaluator ea(table, 1);
  TabularEvaluator eb(table, 2);
  a.run(ea);
  b.run(eb);
  CHECK(losses(a.state()) != losses(b.state()));
}

TEST_CASE("a deterministic evaluator: only the search seed decides", "[reproducibility]") {
  const BlockSpace space = synthetic_space(6, 5);
  auto fn = [](const Architecture& a) { return synthetic_loss(a); };
  faunae::FunctionEvaluator evaluator(fn);
  Search<BlockSpace> a(space, {.seed = 77});
  Search<BlockSpace> b(space, {.seed = 77});
  Search<BlockSpace> c(space, {.seed = 78});
  a.run(evaluator);
  b.run(evaluator);
  c.run(evaluator);
  CHECK(a.to_json() == b.to_json());
  CHECK(a.to_json()["state"]["history"] == b.to_json()["state"]["history"]);
  CHECK(evaluated(a.state()) != evaluated(c.state()));
}

TEST_CASE("a copied search continues exactly like the original", "[reproducibility]") {
  const BlockSpace space = synthetic_space(4, 4);
  NoisyEvaluator e1(3);
  Search<BlockSpace> original(space, {.seed = 9});
  faunae::StopAfter stop(5);
  original.run(e1, stop);
  Search<BlockSpace> copy = original;
  NoisyEvaluator e2 = e1;
  original.run(e1);
  copy.run(e2);
  CHECK(copy.to_json(&e2) == original.to_json(&e1));
}

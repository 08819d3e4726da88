// Baselines as policies of faunae::Search: random search, regularized evolution and local search use
// exactly the requested evaluations (α0's included), return the best evaluated architecture, are
// reproducible by seed and resume bit for bit from a checkpoint; REA's tournament and aging, local
// search's moves and restarts; bad options are refused with the option and the value.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::BaselineOptions;
using faunae::EpochRecord;
using faunae::InvalidArgument;
using faunae::RegularizedEvolutionMutation;
using faunae::RegularizedEvolutionOptions;
using faunae::SearchResult;
using faunae::SearchState;
using faunae::StopAfter;

namespace {

enum class Kind { random, evolution, local };

std::string name(Kind k) {
  switch (k) {
    case Kind::random: return "random search";
    case Kind::evolution: return "regularized evolution";
    case Kind::local: return "local search";
  }
  return "?";
}

/// Runs the baseline `kind` built from `options` (REA with P = 5, S = 3) with `hooks`, and also
/// returns its checkpoint JSON (with the evaluator's state), for comparisons.
template <class Space, class E, class... Hooks>
std::pair<SearchResult, nlohmann::json> run_baseline(Kind kind, const Space& space, const BaselineOptions& options,
                                                     E& evaluator, Hooks&... hooks) {
  auto finish = [&](auto search) {
    SearchResult r = search.run(evaluator, hooks...);
    return std::pair{std::move(r), search.to_json(&evaluator)};
  };
  switch (kind) {
    case Kind::random: return finish(faunae::random_search(space, options));
    case Kind::evolution: return finish(faunae::regularized_evolution(space, options, {.population = 5, .sample = 3}));
    case Kind::local: return finish(faunae::local_search(space, options));
  }
  throw std::logic_error("unknown kind");
}

/// A deterministic loss, distinct for every architecture of a space with at most 10 ops per block.
double distinct_loss(const Architecture& a) {
  double key = 0.0;
  for (std::size_t b = 0; b < a.size(); ++b) key = 10.0 * key + static_cast<double>(a[b]);
  return synthetic_loss(a) + 1e-9 * key;
}

struct DistinctEvaluator {
  std::size_t calls = 0;
  std::vector<Architecture> seen;
  double evaluate(const Architecture& a) {
    ++calls;
    seen.push_back(a);
    return distinct_loss(a);
  }
};

struct EpochCounter {
  std::size_t epochs = 0, ends = 0;
  void on_epoch(const EpochRecord&, const SearchState&) { ++epochs; }
  void on_end(const SearchResult&, const SearchState&) { ++ends; }
};

std::size_t differing_blocks(const Architecture& x, const Architecture& y) {
  std::size_t n = 0;
  for (std::size_t b = 0; b < x.size(); ++b) n += x[b] != y[b] ? 1 : 0;
  return n;
}

const EpochRecord& lowest_loss(const std::vector<EpochRecord>& history) {
  return *std::min_element(history.begin(), history.end(), [](const auto& x, const auto& y) { return x.loss < y.loss; });
}

/// A search state for calling a mutation policy directly: `history` as the evaluated architectures
/// with their losses, the base `current`.
SearchState state_with(const BlockSpace& space, const std::vector<std::pair<Architecture, double>>& history,
                       Architecture current) {
  SearchState s;
  s.stats.reset(space);
  for (std::size_t i = 0; i < history.size(); ++i) {
    EpochRecord r;
    r.epoch = i;
    r.evaluated = history[i].first;
    r.architecture = current;
    r.loss = history[i].second;
    s.history.push_back(std::move(r));
  }
  s.current = std::move(current);
  s.evaluations = history.size();
  s.epoch = history.empty() ? 0 : history.size() - 1;
  return s;
}

}  // namespace

// --- budgets, results, hooks -------------------------------------------------------------------

TEST_CASE("each baseline evaluates exactly the requested number and returns the best evaluated", "[baselines]") {
  const Kind kind = GENERATE(Kind::random, Kind::evolution, Kind::local);
  CAPTURE(name(kind));
  const BlockSpace space = synthetic_space(5, 4);
  DistinctEvaluator evaluator;
  EpochCounter counter;
  const auto [r, json] = run_baseline(kind, space, {.evaluations = 37, .seed = 1}, evaluator, counter);
  CHECK(evaluator.calls == 37);
  CHECK(r.evaluations == 37);
  CHECK(r.epochs == 36);
  CHECK(r.history.size() == 37);
  CHECK(r.finished);
  CHECK(counter.epochs == 37);  // hooks see every epoch, α0's included
  CHECK(counter.ends == 1);
  // α0 is drawn from its own stream of the seed
  faunae::Rng rng(1 ^ faunae::kBaselineInitialStream);
  CHECK(r.history.front().evaluated == faunae::random_architecture(space, rng));
  for (std::size_t i = 0; i < r.history.size(); ++i) CHECK(r.history[i].evaluated == evaluator.seen[i]);
  // the result is the best evaluated architecture
  CHECK(r.evaluated);
  CHECK(r.architecture == lowest_loss(r.history).evaluated);
  CHECK(distinct_loss(r.architecture) == lowest_loss(r.history).loss);
}

TEST_CASE("a baseline starts from options.initial when given", "[baselines]") {
  const Kind kind = GENERATE(Kind::random, Kind::evolution, Kind::local);
  CAPTURE(name(kind));
  const BlockSpace space = synthetic_space(4, 3);
  DistinctEvaluator evaluator;
  const Architecture alpha0{0, 1, 2, 0};
  const auto [r, json] = run_baseline(kind, space, {.evaluations = 6, .seed = 3, .initial = alpha0}, evaluator);
  CHECK(r.history.front().evaluated == alpha0);
  CHECK(evaluator.calls == 6);
}

TEST_CASE("baselines are reproducible by seed", "[baselines][reproducibility]") {
  const Kind kind = GENERATE(Kind::random, Kind::evolution, Kind::local);
  CAPTURE(name(kind));
  const BlockSpace space = synthetic_space(5, 3);
  DistinctEvaluator e1, e2, e3;
  const auto a = run_baseline(kind, space, {.evaluations = 40, .seed = 9}, e1);
  const auto b = run_baseline(kind, space, {.evaluations = 40, .seed = 9}, e2);
  const auto c = run_baseline(kind, space, {.evaluations = 40, .seed = 10}, e3);
  CHECK(e1.seen == e2.seen);
  CHECK(a.second == b.second);
  CHECK(a.first.architecture == b.first.architecture);
  CHECK(e1.seen != e3.seen);
}

TEST_CASE("baselines propose only what the space allows: is_valid and max_size", "[baselines]") {
  const Kind kind = GENERATE(Kind::random, Kind::evolution, Kind::local);
  CAPTURE(name(kind));
  // op 0 in both of the first two blocks is forbidden; sizes 0, 10, 20 per block, at most 40 in all
  const BlockSpace base = synthetic_space(4, 3);
  const BlockSpace space = BlockSpace(base.blocks(), Architecture{1, 1, 1, 1},
                                      [](const Architecture& a) { return !(a[0] == 0 && a[1] == 0); })
                               .with_max_size(40.0);
  DistinctEvaluator evaluator;
  const auto [r, json] = run_baseline(kind, space, {.evaluations = 30, .seed = 4}, evaluator);
  CHECK(evaluator.calls == 30);
  for (const auto& record : r.history) {
    CHECK(space.is_valid(record.evaluated));
    CHECK(space.size_of(record.evaluated) <= 40.0);
  }
}

TEST_CASE("baselines report a non-finite loss as an EvaluationError", "[baselines][errors]") {
  const Kind kind = GENERATE(Kind::random, Kind::evolution, Kind::local);
  CAPTURE(name(kind));
  const BlockSpace space = synthetic_space(2, 3);
  faunae::FunctionEvaluator evaluator([](const Architecture&) { return std::numeric_limits<double>::quiet_NaN(); });
  REQUIRE_THROWS_MATCHES(run_baseline(kind, space, {.evaluations = 3}, evaluator), faunae::EvaluationError,
                         What(Contains("non-finite")));
}

TEST_CASE("baselines on NAS-Bench-Macro use the same evaluation budget as FaUNAE", "[baselines][tabular]") {
  const Kind kind = GENERATE(Kind::random, Kind::evolution, Kind::local);
  CAPTURE(name(kind));
  const auto& table = nas_bench_macro();
  const faunae::tabular::TabularSpace space(table, "11111111");
  const std::size_t budget = faunae::planned_evaluations(space, faunae::UcbElimination({.epochs_per_op = 3}));
  faunae::tabular::TabularEvaluator evaluator(table, 1);
  const auto [r, json] = run_baseline(kind, space, {.evaluations = budget, .seed = 2}, evaluator);
  CHECK(evaluator.evaluations() == budget);
  CHECK(r.evaluations == budget);
  CHECK(r.evaluated);
  CHECK(r.architecture == lowest_loss(r.history).evaluated);
}

// --- checkpoints -------------------------------------------------------------------------------

TEST_CASE("each baseline resumes bit for bit from a checkpoint saved mid-run", "[baselines][checkpoint]") {
  const Kind kind = GENERATE(Kind::random, Kind::evolution, Kind::local);
  const std::size_t stop_at = GENERATE(0u, 3u, 4u, 11u);  // REA: 4 fills the population (P = 5)
  CAPTURE(name(kind), stop_at);
  const BlockSpace space = synthetic_space(3, 3);
  TempDir dir;
  const auto path = dir / "baseline.ckpt";

  NoisyEvaluator e1(1000);
  const auto [expected, expected_json] = run_baseline(kind, space, {.evaluations = 25, .seed = 5}, e1);

  // interrupted after `stop_at` mutation epochs; the automatic checkpoint holds that epoch
  NoisyEvaluator e2(1000);
  StopAfter stop(stop_at);
  const BaselineOptions saving{.evaluations = 25, .seed = 5, .checkpoint = path};
  const auto [partial, partial_json] = run_baseline(kind, space, saving, e2, stop);
  REQUIRE(partial.epochs == stop_at);
  REQUIRE_FALSE(partial.finished);

  // a fresh search and a differently seeded evaluator: load must restore both
  NoisyEvaluator e3(777);
  auto resume = [&](auto search) {
    search.load(path, e3);
    CHECK(search.to_json(&e3) == partial_json);
    SearchResult r = search.run(e3);
    return std::pair{std::move(r), search.to_json(&e3)};
  };
  const BaselineOptions plain{.evaluations = 25, .seed = 5};
  const auto [result, json] = kind == Kind::random      ? resume(faunae::random_search(space, plain))
                              : kind == Kind::evolution ? resume(faunae::regularized_evolution(space, plain, {.population = 5, .sample = 3}))
                                                        : resume(faunae::local_search(space, plain));
  CHECK(json == expected_json);  // state, history, generator and evaluator state
  CHECK(result.architecture == expected.architecture);
  CHECK(result.evaluated == expected.evaluated);
  CHECK(result.evaluations == expected.evaluations);
  REQUIRE(result.history.size() == expected.history.size());
  for (std::size_t i = 0; i < result.history.size(); ++i) {
    CHECK(result.history[i].evaluated == expected.history[i].evaluated);
    CHECK(result.history[i].loss == expected.history[i].loss);
  }
}

TEST_CASE("a checkpoint of one baseline is refused by another", "[baselines][checkpoint][errors]") {
  const BlockSpace space = synthetic_space(3, 3);
  TempDir dir;
  const auto path = dir / "rs.ckpt";
  NoisyEvaluator e(1);
  auto rs = faunae::random_search(space, {.evaluations = 5, .seed = 1});
  rs.run(e);
  rs.save(path, e);
  auto re = faunae::regularized_evolution(space, {.evaluations = 5, .seed = 1});
  REQUIRE_THROWS_MATCHES(re.load(path, e), faunae::IoError, What(Contains("other parameters")));
  auto bigger = faunae::random_search(space, {.evaluations = 6, .seed = 1});
  REQUIRE_THROWS_MATCHES(bigger.load(path, e), faunae::IoError, What(Contains("other parameters")));
}

// --- random search -----------------------------------------------------------------------------

TEST_CASE("random_architecture draws every op and refuses a space that rejects everything", "[baselines]") {
  const BlockSpace base = synthetic_space(3, 3);
  const BlockSpace space(base.blocks(), base.initial_architecture(), [](const Architecture& a) { return a[2] != 0; });
  faunae::Rng rng(2);
  std::set<Architecture> drawn;
  for (int i = 0; i < 500; ++i) {
    const Architecture a = faunae::random_architecture(space, rng);
    CHECK(space.is_valid(a));
    drawn.insert(a);
  }
  CHECK(drawn.size() == 18);  // all 27 but the 9 with op 0 in block 2

  struct RejectAll {
    std::size_t num_blocks() const { return 2; }
    std::size_t num_ops(std::size_t) const { return 3; }
    std::string op_name(std::size_t, std::size_t k) const { return fmt::format("op{}", k); }
    double op_size(std::size_t, std::size_t) const { return 1.0; }
    std::optional<faunae::OpIndex> identity_op(std::size_t) const { return std::nullopt; }
    Architecture initial_architecture() const { return Architecture{0, 0}; }
    bool is_valid(const Architecture&) const { return false; }
  };
  REQUIRE_THROWS_MATCHES(faunae::random_architecture(RejectAll{}, rng, 5), InvalidArgument,
                         What(Contains("random_architecture") && Contains("in 5 uniform draws")));
  REQUIRE_THROWS_MATCHES(faunae::random_search(RejectAll{}, {.evaluations = 5}), InvalidArgument,
                         What(Contains("random_search") && Contains("random α0")));
}

// --- regularized evolution ---------------------------------------------------------------------

TEST_CASE("regularized evolution fills its population as random search does", "[baselines][evolution]") {
  // Before P architectures are evaluated, REA's proposals are random search's draws (same generator).
  const BlockSpace space = synthetic_space(5, 4);
  DistinctEvaluator e1, e2;
  faunae::random_search(space, {.evaluations = 12, .seed = 6}).run(e1);
  faunae::regularized_evolution(space, {.evaluations = 12, .seed = 6}, {.population = 12, .sample = 4}).run(e2);
  CHECK(e1.seen == e2.seen);
}

TEST_CASE("regularized evolution ages its population: the parent is the best of the last P", "[baselines][evolution]") {
  // With S = P every tournament sees the whole population, so the parent of record i is the best of
  // records i−P .. i−1 (aging), not the best ever (which an elitist population would keep).
  const BlockSpace space = synthetic_space(5, 4);
  constexpr std::size_t P = 6;
  DistinctEvaluator evaluator;
  const SearchResult r =
      faunae::regularized_evolution(space, {.evaluations = 200, .seed = 8}, {.population = P, .sample = P}).run(evaluator);
  REQUIRE(r.history.size() == 200);
  std::size_t window_best_is_not_global_best = 0;
  double best_so_far = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < r.history.size(); ++i) {
    if (i >= P) {
      std::size_t parent = i - P;
      for (std::size_t j = i - P; j < i; ++j)
        if (r.history[j].loss < r.history[parent].loss) parent = j;
      INFO("record " << i << " parent " << parent);
      CHECK(differing_blocks(r.history[i].evaluated, r.history[parent].evaluated) == 1);
      if (r.history[parent].loss > best_so_far) ++window_best_is_not_global_best;
    }
    best_so_far = std::min(best_so_far, r.history[i].loss);
  }
  CHECK(window_best_is_not_global_best > 0);  // the check above told aging from elitism
}

TEST_CASE("regularized evolution's parent is the best of S members drawn from the last P", "[baselines][evolution]") {
  // 3 blocks with 10 ops; record j evaluated (j, j, j): any two records differ in every block, so a
  // child (one block changed) identifies its parent. Losses: record 1 is the best ever, but outside the
  // population (the last P = 6: records 4..9), whose best is record 7 and worst record 5.
  std::vector<Op> ops;
  for (int k = 0; k < 10; ++k) ops.push_back(Op{fmt::format("op{}", k), 1.0});
  const BlockSpace space = faunae::uniform_space(3, ops, Architecture{0, 0, 0});
  const std::vector<double> losses{5.0, 0.1, 4.0, 3.0, 2.5, 9.0, 2.0, 1.0, 3.5, 4.5};
  std::vector<std::pair<Architecture, double>> history;
  for (std::size_t j = 0; j < losses.size(); ++j) history.push_back({Architecture{j, j, j}, losses[j]});
  const SearchState s = state_with(space, history, Architecture{9, 9, 9});
  auto parent_of = [&](const Architecture& child) {
    for (std::size_t j = 0; j < losses.size(); ++j)
      if (differing_blocks(child, Architecture{j, j, j}) == 1) return j;
    FAIL("the child " << child.to_string() << " is not one block away from any record");
    return std::size_t{0};
  };
  constexpr int draws = 3000;

  SECTION("S = 2") {
    RegularizedEvolutionMutation rea({.population = 6, .sample = 2});
    faunae::Rng rng(11);
    std::map<std::size_t, int> parents;
    for (int i = 0; i < draws; ++i) ++parents[parent_of(rea.propose(space, s, rng).architecture)];
    for (const auto& [j, n] : parents) {
      CHECK(j >= 4);   // a population member
      CHECK(j != 5);   // the worst member never wins a tournament of two distinct members
    }
    // record 7 is in the sample with probability 1 − C(5,2)/C(6,2) = 1/3 and then wins
    CHECK(parents[7] > draws / 3 - 150);
    CHECK(parents[7] < draws / 3 + 150);
  }
  SECTION("S = P") {
    RegularizedEvolutionMutation rea({.population = 6, .sample = 6});
    faunae::Rng rng(12);
    for (int i = 0; i < 200; ++i) CHECK(parent_of(rea.propose(space, s, rng).architecture) == 7);
  }
  SECTION("S = 1: a uniform member") {
    RegularizedEvolutionMutation rea({.population = 6, .sample = 1});
    faunae::Rng rng(13);
    std::map<std::size_t, int> parents;
    for (int i = 0; i < draws; ++i) ++parents[parent_of(rea.propose(space, s, rng).architecture)];
    CHECK(parents.size() == 6);
    for (const auto& [j, n] : parents) {
      CHECK(j >= 4);
      CHECK(n > draws / 6 - 120);
      CHECK(n < draws / 6 + 120);
    }
  }
}

TEST_CASE("regularized evolution's child changes one block with more than one alive op", "[baselines][evolution]") {
  // block 0 has a single op, so every child changes block 1
  std::vector<Block> blocks{Block{"fixed", {{"only", 1.0}}, std::nullopt},
                            Block{"free", {{"a", 1.0}, {"b", 2.0}, {"c", 3.0}}, std::nullopt}};
  const BlockSpace space(blocks, Architecture{0, 0});
  SearchState s = state_with(space, {{Architecture{0, 0}, 1.0}}, Architecture{0, 0});
  s.stats.alive(1, 2) = false;  // op c removed: the child must take b
  RegularizedEvolutionMutation rea({.population = 1, .sample = 1});
  faunae::Rng rng(3);
  for (int i = 0; i < 50; ++i) CHECK(rea.propose(space, s, rng).architecture == Architecture{0, 1});
}

TEST_CASE("regularized evolution options are validated", "[baselines][evolution][errors]") {
  REQUIRE_THROWS_MATCHES(RegularizedEvolutionMutation({.population = 0, .sample = 1}), InvalidArgument,
                         What(Contains("population must be at least 1, got 0")));
  REQUIRE_THROWS_MATCHES(RegularizedEvolutionMutation({.population = 5, .sample = 0}), InvalidArgument,
                         What(Contains("sample must be in [1, population = 5], got 0")));
  REQUIRE_THROWS_MATCHES(RegularizedEvolutionMutation({.population = 5, .sample = 6}), InvalidArgument,
                         What(Contains("sample must be in [1, population = 5], got 6")));
  CHECK_NOTHROW(RegularizedEvolutionMutation({.population = 5, .sample = 5}));
  const BlockSpace space = synthetic_space(2, 3);
  REQUIRE_THROWS_MATCHES(faunae::regularized_evolution(space, {.evaluations = 10}, {.population = 4, .sample = 7}),
                         InvalidArgument, What(Contains("sample must be in [1, population = 4], got 7")));
}

TEST_CASE("baseline options are validated", "[baselines][errors]") {
  const BlockSpace space = synthetic_space(2, 3);
  for (const std::size_t bad : {0u, 1u}) {
    CAPTURE(bad);
    const std::string message = fmt::format("evaluations must be at least 2 (α0 and one proposal), got {}", bad);
    REQUIRE_THROWS_MATCHES(faunae::random_search(space, {.evaluations = bad}), InvalidArgument,
                           What(Contains("faunae::random_search()") && Contains(message)));
    REQUIRE_THROWS_MATCHES(faunae::regularized_evolution(space, {.evaluations = bad}), InvalidArgument,
                           What(Contains("faunae::regularized_evolution()") && Contains(message)));
    REQUIRE_THROWS_MATCHES(faunae::local_search(space, {.evaluations = bad}), InvalidArgument,
                           What(Contains("faunae::local_search()") && Contains(message)));
  }
  REQUIRE_THROWS_AS(faunae::random_search(space, {.evaluations = 5, .initial = Architecture{0, 7}}),
                    faunae::InvalidArchitecture);
  CHECK_NOTHROW(faunae::local_search(space, {.evaluations = 2}));
}

// --- local search ------------------------------------------------------------------------------

TEST_CASE("local search climbs an additive landscape to the global optimum, then restarts", "[baselines][local]") {
  // 3 blocks × 3 ops; the loss adds one term per block (synthetic_loss: op 2 best everywhere). Every
  // local optimum of an additive loss is the global one, (2, 2, 2).
  const BlockSpace space = synthetic_space(3, 3);
  const Architecture optimum{2, 2, 2};
  DistinctEvaluator evaluator;
  const SearchResult r = faunae::local_search(space, {.evaluations = 24, .seed = 2, .initial = Architecture{0, 0, 0}}).run(evaluator);
  CHECK(r.architecture == optimum);
  CHECK(r.evaluated);

  // Until the base is the optimum, every proposal is an unevaluated neighbour of the base (or the
  // base's best neighbour again); the base only moves to an architecture one block away.
  std::set<Architecture> seen{r.history[0].evaluated};
  std::size_t at_optimum = 0;  // the first epoch after which the optimum is the base
  for (std::size_t i = 1; i < r.history.size() && at_optimum == 0; ++i) {
    const Architecture& base = r.history[i - 1].architecture;
    INFO("epoch " << i << " base " << base.to_string() << " evaluated " << r.history[i].evaluated.to_string());
    CHECK(differing_blocks(r.history[i].evaluated, base) == 1);
    CHECK(differing_blocks(r.history[i].architecture, base) <= 1);
    seen.insert(r.history[i].evaluated);
    if (r.history[i].architecture == optimum) at_optimum = i;
  }
  REQUIRE(at_optimum > 0);
  // At the optimum its neighbourhood gets evaluated, then a restart: an architecture not evaluated
  // before, at least two blocks away, which becomes the base.
  std::size_t restart = 0;
  for (std::size_t i = at_optimum + 1; i < r.history.size(); ++i) {
    const Architecture& base = r.history[i - 1].architecture;
    if (differing_blocks(r.history[i].evaluated, base) >= 2) {
      restart = i;
      CHECK(base == optimum);
      CHECK_FALSE(seen.contains(r.history[i].evaluated));
      CHECK(r.history[i].architecture == r.history[i].evaluated);
      break;
    }
    seen.insert(r.history[i].evaluated);
  }
  CHECK(restart > 0);
}

TEST_CASE("local search restarts at a local optimum and finds the global one", "[baselines][local]") {
  // 2 blocks × 3 ops. α0 = (0, 0) (loss 1) is a local optimum: its four neighbours have loss 2; the
  // global optimum (2, 2) (loss 0) is two blocks away; everything else has loss 3.
  const BlockSpace space = faunae::uniform_space(2, {{"a", 1.0}, {"b", 1.0}, {"c", 1.0}}, Architecture{0, 0});
  faunae::FunctionEvaluator evaluator([](const Architecture& a) {
    if (a == Architecture{0, 0}) return 1.0;
    if (a == Architecture{2, 2}) return 0.0;
    return a[0] == 0 || a[1] == 0 ? 2.0 : 3.0;
  });
  const SearchResult r = faunae::local_search(space, {.evaluations = 10, .seed = 4, .initial = Architecture{0, 0}}).run(evaluator);
  REQUIRE(r.history.size() == 10);
  for (std::size_t i = 1; i <= 4; ++i) {  // the neighbourhood of α0, each once
    CHECK(differing_blocks(r.history[i].evaluated, Architecture{0, 0}) == 1);
    CHECK(r.history[i].architecture == Architecture{0, 0});  // no move: α0 is better
  }
  // epoch 5: a restart, two blocks away, and the base moves there
  CHECK(differing_blocks(r.history[5].evaluated, Architecture{0, 0}) == 2);
  CHECK(r.history[5].architecture == r.history[5].evaluated);
  // whichever restart it drew, the walk from there ends in (2, 2) or back at α0, where the last
  // unevaluated architecture left is (2, 2)
  CHECK(r.architecture == Architecture{2, 2});
  CHECK(r.evaluated);
}

TEST_CASE("local search proposes the better neighbour again when the acceptance has not moved there",
          "[baselines][local]") {
  // The base (1, 1) has all four neighbours evaluated and (1, 2) is better than it: LocalSearchAcceptance
  // moves only after an evaluation, so the mutation proposes (1, 2) again; right after that evaluation
  // (the acceptance did not move: the neighbourhood is not complete under its rule) it restarts.
  const BlockSpace space = faunae::uniform_space(2, {{"a", 1.0}, {"b", 1.0}, {"c", 1.0}}, Architecture{0, 0});
  std::vector<std::pair<Architecture, double>> history{{Architecture{1, 1}, 2.0}, {Architecture{0, 1}, 3.0},
                                                       {Architecture{2, 1}, 3.0}, {Architecture{1, 2}, 1.0},
                                                       {Architecture{1, 0}, 3.0}};
  faunae::LocalSearchMutation ls;
  faunae::Rng rng(1);
  CHECK(ls.propose(space, state_with(space, history, Architecture{1, 1}), rng).architecture == Architecture{1, 2});
  history.push_back({Architecture{1, 2}, 1.0});
  const Architecture restart = ls.propose(space, state_with(space, history, Architecture{1, 1}), rng).architecture;
  CHECK(differing_blocks(restart, Architecture{1, 1}) == 2);
  CHECK(std::none_of(history.begin(), history.end(), [&](const auto& h) { return h.first == restart; }));
}

TEST_CASE("local search asked again in one epoch proposes each unevaluated neighbour once, then restarts",
          "[baselines][local]") {
  // The driver re-asks while the space's is_valid() rejects a proposal; the policy must then move on
  // to the other neighbours instead of failing after max_proposal_attempts.
  const BlockSpace space = synthetic_space(2, 3);
  const SearchState s = state_with(space, {{Architecture{1, 1}, 1.0}}, Architecture{1, 1});
  faunae::LocalSearchMutation ls;
  faunae::Rng rng(5);
  std::set<Architecture> proposed;
  for (int i = 0; i < 4; ++i) {
    const Architecture a = ls.propose(space, s, rng).architecture;
    CHECK(differing_blocks(a, Architecture{1, 1}) == 1);
    proposed.insert(a);
  }
  CHECK(proposed.size() == 4);
  // all four were rejected: a restart
  CHECK(differing_blocks(ls.propose(space, s, rng).architecture, Architecture{1, 1}) == 2);

  // Through the driver: a space that forbids every neighbour of α0 but one still runs to the end.
  const BlockSpace strict(space.blocks(), Architecture{1, 1}, [](const Architecture& a) {
    return differing_blocks(a, Architecture{1, 1}) != 1 || a == Architecture{1, 2};
  });
  DistinctEvaluator evaluator;
  const SearchResult r = faunae::local_search(strict, {.evaluations = 6, .seed = 1, .initial = Architecture{1, 1}}).run(evaluator);
  CHECK(r.evaluations == 6);
  CHECK(r.history[1].evaluated == Architecture{1, 2});
  for (const auto& record : r.history) CHECK(strict.is_valid(record.evaluated));
}

// The incumbent and "was it evaluated?" come from SearchState::evaluated(), an index kept up to date
// with the history instead of a pass over it every epoch. It must answer exactly as a full pass does,
// also after the history was rolled back (a failed epoch) or replaced.
TEST_CASE("the evaluated index answers as a pass over the history, after growth, rollback and replacement", "[baselines][incumbent]") {
  faunae::Rng rng(2024);
  SearchState s;
  const auto draw_record = [&](std::size_t epoch) {
    EpochRecord r;
    r.epoch = epoch;
    // Few distinct architectures and losses with ties, so that repeats, equal means and ties to the
    // first evaluated all happen.
    r.evaluated = faunae::Architecture({static_cast<faunae::OpIndex>(rng.below(3)), static_cast<faunae::OpIndex>(rng.below(2))});
    r.loss = static_cast<double>(rng.below(4)) * 0.25;
    return r;
  };
  const auto check = [&] {
    const faunae::Incumbent full = faunae::best_evaluated(s.history);
    const faunae::Incumbent indexed = faunae::best_evaluated(s);
    REQUIRE(indexed.architecture == full.architecture);
    CHECK(indexed.mean_loss == full.mean_loss);
    CHECK(indexed.evaluations == full.evaluations);
    CHECK(indexed.first_epoch == full.first_epoch);
    std::set<faunae::Architecture> seen;
    for (const auto& r : s.history) seen.insert(r.evaluated);
    CHECK(s.evaluated().size() == seen.size());
    for (faunae::OpIndex a = 0; a < 3; ++a)
      for (faunae::OpIndex b = 0; b < 2; ++b)
        CHECK(s.evaluated().contains(faunae::Architecture({a, b})) == seen.contains(faunae::Architecture({a, b})));
  };
  for (std::size_t epoch = 0; epoch < 200; ++epoch) {
    s.history.push_back(draw_record(epoch));
    check();
    if (epoch % 7 == 3) {  // a failed epoch: the record is popped, and the epoch is redone otherwise
      s.history.pop_back();
      s.history.push_back(draw_record(epoch));
      check();
    }
    if (epoch % 50 == 49) {  // a loaded checkpoint: another state whose history has the same length
      SearchState other;
      for (std::size_t e = 0; e <= epoch; ++e) other.history.push_back(draw_record(e));
      s = other;
      check();
    }
  }
  const SearchState copy = s;  // a copy answers for its own history
  s.history.resize(10);
  check();
  CHECK(faunae::best_evaluated(copy).architecture == faunae::best_evaluated(copy.history).architecture);
  s.history.clear();
  CHECK_THROWS_AS(faunae::best_evaluated(s), InvalidArgument);
}

// Search: eq. (4) smoothing, eq. (5) accept/revert, failing evaluators, options, max_epochs.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::FaunaeMutation;
using faunae::FaunaeMutationOptions;
using faunae::MutationKind;
using faunae::NoElimination;
using faunae::Search;
using faunae::SearchOptions;
using faunae::UcbElimination;

namespace {

using ScriptedSearch = Search<BlockSpace, ScriptedMutation, NoElimination>;

// 2 blocks × ops {a, b, c} (no identity), α0 = [0, 0].
BlockSpace abc_space(BlockSpace::Validity validity = {}) {
  std::vector<Block> blocks(2, Block{"", {{"a", 1.0}, {"b", 2.0}, {"c", 3.0}}, std::nullopt});
  blocks[0].name = "first";
  blocks[1].name = "second";
  return BlockSpace(blocks, Architecture{0, 0}, std::move(validity));
}

double loss_at(const faunae::SearchState& s, Eigen::Index b, Eigen::Index k) { return s.stats.loss(b, k); }

/// Removes block 0's current op at epoch `at`, naming `replacement` as its successor.
struct RemoveCurrentAt {
  std::size_t at;
  faunae::OpIndex replacement;
  std::size_t epochs;
  bool due(const BlockSpace&, const faunae::SearchState& s) const { return s.epoch == at; }
  std::vector<faunae::Elimination> select(const BlockSpace&, const faunae::SearchState& s) const {
    return {faunae::Elimination{0, s.current[0], 0.0, replacement}};
  }
  bool finished(const BlockSpace&, const faunae::SearchState& s) const { return s.epoch >= epochs; }
};

}  // namespace

TEST_CASE("eq. (4): smoothed losses after scripted epochs equal the hand values", "[search][eq4]") {
  const BlockSpace space = abc_space();
  ScriptedSearch search(space, SearchOptions{.lambda2 = 0.3},
                        ScriptedMutation({{1, 0}, {1, 2}, {0, 2}}), NoElimination({.epochs_per_op = 0, .epochs = 3}));
  ScriptedEvaluator evaluator({1.0, 0.5, 2.0, 0.1});
  const auto result = search.run(evaluator);
  REQUIRE(evaluator.calls() == 4);
  REQUIRE(result.evaluations == 4);
  REQUIRE(result.epochs == 3);
  CHECK(result.finished);
  // epoch 0: α0 = [0,0], a = 1.0           -> l(0,a) = 1.0 (first sample), l(1,a) = 1.0
  // epoch 1: [1,0], a = 0.5                 -> l(0,b) = 0.5 (first), l(1,a) = .3·1.0 + .7·0.5 = 0.65
  // epoch 2: [1,2], a = 2.0                 -> l(0,b) = .3·0.5 + .7·2.0 = 1.55, l(1,c) = 2.0 (first)
  // epoch 3: [0,2], a = 0.1                 -> l(0,a) = .3·1.0 + .7·0.1 = 0.37, l(1,c) = .3·2.0 + .7·0.1 = 0.67
  const auto& s = search.state();
  CHECK(loss_at(s, 0, 0) == Approx(0.37).margin(1e-12));
  CHECK(loss_at(s, 0, 1) == Approx(1.55).margin(1e-12));
  CHECK(std::isnan(loss_at(s, 0, 2)));
  CHECK(loss_at(s, 1, 0) == Approx(0.65).margin(1e-12));
  CHECK(std::isnan(loss_at(s, 1, 1)));
  CHECK(loss_at(s, 1, 2) == Approx(0.67).margin(1e-12));
  CHECK(s.stats.samples(0, 0) == 2);
  CHECK(s.stats.samples(0, 1) == 2);
  CHECK(s.stats.samples(0, 2) == 0);
  CHECK(s.stats.samples(1, 0) == 2);
  CHECK(s.stats.samples(1, 1) == 0);
  CHECK(s.stats.samples(1, 2) == 2);

  // eq. (5) on the same script:
  //   epoch 1: block 0 a->b: l(b) = 0.5 < l(a) = 1.0: accepted          -> α = [1,0]
  //   epoch 2: block 1 a->c: l(c) = 2.0 >= l(a) = 0.65: reverted         -> α = [1,0]
  //   epoch 3: block 0 b->a: 0.37 < 1.55 accepted; block 1 a->c: 0.67 >= 0.65 reverted -> α = [0,0]
  const auto& h = s.history;
  REQUIRE(h.size() == 4);
  CHECK(h[0].epoch == 0);
  CHECK(h[0].evaluated == Architecture{0, 0});
  CHECK(h[0].mutations.empty());
  CHECK(h[0].probabilities.size() == 0);
  CHECK(h[1].architecture == Architecture{1, 0});
  CHECK(h[2].architecture == Architecture{1, 0});
  CHECK(h[3].architecture == Architecture{0, 0});
  CHECK(result.architecture == Architecture{0, 0});

  REQUIRE(h[1].mutations.size() == 1);
  CHECK(h[1].mutations[0].block == 0);
  CHECK(h[1].mutations[0].from == 0);
  CHECK(h[1].mutations[0].to == 1);
  CHECK(h[1].mutations[0].kind == MutationKind::op);
  CHECK(h[1].mutations[0].loss_from == Approx(1.0));
  CHECK(h[1].mutations[0].loss_to == Approx(0.5));
  CHECK(h[1].mutations[0].accepted);

  REQUIRE(h[2].mutations.size() == 1);
  CHECK(h[2].mutations[0].block == 1);
  CHECK_FALSE(h[2].mutations[0].accepted);

  REQUIRE(h[3].mutations.size() == 2);
  CHECK(h[3].mutations[0].block == 0);
  CHECK(h[3].mutations[0].loss_from == Approx(1.55));
  CHECK(h[3].mutations[0].loss_to == Approx(0.37));
  CHECK(h[3].mutations[0].accepted);
  CHECK(h[3].mutations[1].block == 1);
  CHECK(h[3].mutations[1].loss_from == Approx(0.65));
  CHECK(h[3].mutations[1].loss_to == Approx(0.67));
  CHECK_FALSE(h[3].mutations[1].accepted);
  for (std::size_t e = 0; e < h.size(); ++e) CHECK(h[e].loss == std::vector<double>{1.0, 0.5, 2.0, 0.1}[e]);
}

TEST_CASE("eq. (4): lambda2 = 0 keeps only the last loss, lambda2 = 1 only the first", "[search][eq4]") {
  const BlockSpace space = abc_space();
  for (const double lambda2 : {0.0, 1.0}) {
    ScriptedSearch search(space, SearchOptions{.lambda2 = lambda2}, ScriptedMutation({{0, 0}, {0, 0}}),
                          NoElimination({.epochs_per_op = 0, .epochs = 2}));
    ScriptedEvaluator evaluator({4.0, 2.0, 1.0});
    search.run(evaluator);
    CHECK(loss_at(search.state(), 0, 0) == (lambda2 == 0.0 ? 1.0 : 4.0));
    CHECK(search.state().stats.samples(0, 0) == 3);
  }
}

TEST_CASE("eq. (5): equal smoothed losses keep the old op", "[search][eq5]") {
  const BlockSpace space = abc_space();
  // epoch 0: [0,0] a = 1 -> l(1,a) = 1. epoch 1: [0,1] a = 1 -> l(1,b) = 1 (first sample) = l(1,a): kept a.
  ScriptedSearch search(space, {}, ScriptedMutation({{0, 1}}), NoElimination({.epochs_per_op = 0, .epochs = 1}));
  ScriptedEvaluator evaluator({1.0, 1.0});
  search.run(evaluator);
  const auto& m = search.state().history.at(1).mutations;
  REQUIRE(m.size() == 1);
  CHECK(m[0].loss_from == m[0].loss_to);
  CHECK_FALSE(m[0].accepted);
  CHECK(search.state().current == Architecture{0, 0});
}

TEST_CASE("eq. (5): an old op that was never sampled always loses", "[search][eq5]") {
  const BlockSpace space = abc_space();
  // epoch 1: [1,0], a = 5 > l(0,a) = 1: reverted; then block 0 loses its current op a, replaced by
  // c, which was never sampled. epoch 2: [1,0], a = 9: l(0,b) = .3·5 + .7·9 = 7.8, yet accepted
  // because l(0,c) is undefined.
  Search<BlockSpace, ScriptedMutation, RemoveCurrentAt> search(space, {}, ScriptedMutation({{1, 0}, {1, 0}}),
                                                                RemoveCurrentAt{1, 2, 2});
  ScriptedEvaluator evaluator({1.0, 5.0, 9.0});
  search.run(evaluator);
  const auto& h = search.state().history;
  REQUIRE(h.size() == 3);
  REQUIRE(h[1].mutations.size() == 1);
  CHECK_FALSE(h[1].mutations[0].accepted);
  REQUIRE(h[1].eliminations.size() == 1);
  CHECK(h[1].eliminations[0].op == 0);
  CHECK(h[1].eliminations[0].replacement == faunae::OpIndex{2});
  CHECK(h[1].architecture == Architecture{2, 0});
  CHECK_FALSE(search.state().stats.is_alive(0, 0));
  REQUIRE(h[2].mutations.size() == 1);
  CHECK(h[2].mutations[0].from == 2);
  CHECK(std::isnan(h[2].mutations[0].loss_from));
  CHECK(h[2].mutations[0].loss_to == Approx(7.8).margin(1e-12));
  CHECK(h[2].mutations[0].accepted);
  CHECK(search.state().current == Architecture{1, 0});
}

TEST_CASE("eq. (5): accepted blocks that combine into an invalid architecture are all reverted", "[search][eq5]") {
  // The space forbids [1, 0].
  const BlockSpace space = abc_space([](const Architecture& a) { return !(a[0] == 1 && a[1] == 0); });
  // epoch 0: [0,0] a = 1                  -> l(0,a) = 1, l(1,a) = 1
  // epoch 1: [0,2] a = 3: block 1 a->c, 3 >= 1 reverted; l(0,a) = .3 + 2.1 = 2.4
  // epoch 2: [1,1] a = 2: block 0 a->b 2 < 2.4 accepted, block 1 a->b 2 >= 1 reverted -> [1,0] invalid
  ScriptedSearch search(space, {}, ScriptedMutation({{0, 2}, {1, 1}}), NoElimination({.epochs_per_op = 0, .epochs = 2}));
  ScriptedEvaluator evaluator({1.0, 3.0, 2.0});
  search.run(evaluator);
  const auto& r = search.state().history.at(2);
  CHECK(r.reverted_as_invalid);
  REQUIRE(r.mutations.size() == 2);
  CHECK_FALSE(r.mutations[0].accepted);
  CHECK_FALSE(r.mutations[1].accepted);
  CHECK(r.mutations[0].loss_to < r.mutations[0].loss_from);  // it would have been accepted alone
  CHECK(search.state().current == Architecture{0, 0});
  CHECK_FALSE(search.state().history.at(1).reverted_as_invalid);
}

TEST_CASE("mutations to or from the identity op are depth mutations", "[search][eq5]") {
  const BlockSpace space = synthetic_space(3, 3);  // identity, op1, op2; α0 = [1,1,1]
  ScriptedSearch search(space, {}, ScriptedMutation({{0, 2, 1}, {1, 2, 0}}), NoElimination({.epochs_per_op = 0, .epochs = 2}));
  ScriptedEvaluator evaluator({1.0, 0.5, 0.2});
  search.run(evaluator);
  const auto& h = search.state().history;
  REQUIRE(h[1].mutations.size() == 2);
  CHECK(h[1].mutations[0].kind == MutationKind::depth);  // op1 -> identity
  CHECK(h[1].mutations[1].kind == MutationKind::op);     // op1 -> op2
  REQUIRE(h[2].mutations.size() >= 1);
  CHECK(h[2].mutations[0].block == 0);
  CHECK(h[2].mutations[0].from == 0);
  CHECK(h[2].mutations[0].kind == MutationKind::depth);  // identity -> op1
}

TEST_CASE("a failing evaluator leaves the state untouched and the search can go on", "[search][errors]") {
  const BlockSpace space = synthetic_space(4, 3);
  enum class Mode { ok, nan, inf, neg_inf, throws };
  Mode mode = Mode::ok;
  auto fn = [&mode](const Architecture& a) -> double {
    switch (mode) {
      case Mode::nan: return std::numeric_limits<double>::quiet_NaN();
      case Mode::inf: return std::numeric_limits<double>::infinity();
      case Mode::neg_inf: return -std::numeric_limits<double>::infinity();
      case Mode::throws: throw std::runtime_error("GPU fell off the bus");
      case Mode::ok: break;
    }
    return synthetic_loss(a);
  };
  faunae::FunctionEvaluator evaluator(fn);
  auto clean_fn = [](const Architecture& a) { return synthetic_loss(a); };
  faunae::FunctionEvaluator clean(clean_fn);

  const SearchOptions options{.seed = 5};
  Search<BlockSpace> reference(space, options);
  reference.run(clean);

  const auto [failing_mode, message] = GENERATE(table<Mode, const char*>({{Mode::nan, "non-finite loss (nan)"},
                                                                         {Mode::inf, "non-finite loss (inf)"},
                                                                         {Mode::neg_inf, "non-finite loss (-inf)"},
                                                                         {Mode::throws, "GPU fell off the bus"}}));
  const std::size_t fail_after = GENERATE(0u, 1u, 5u);  // mutation epochs completed before the failure
  CAPTURE(message, fail_after);

  Search<BlockSpace> search(space, options);
  mode = Mode::ok;
  if (fail_after > 0) {
    for (std::size_t i = 0; i <= fail_after; ++i) search.step(evaluator);  // α0 + fail_after epochs
  }
  const nlohmann::json before = search.to_json();
  const auto history_size = search.state().history.size();
  const auto rng = search.state().rng;
  const auto stats = search.state().stats;
  const auto epoch = search.state().epoch;

  mode = failing_mode;
  REQUIRE_THROWS_MATCHES(search.step(evaluator), faunae::EvaluationError,
                         What(Contains(message) && Contains(fmt::format("kept at epoch {}", epoch))));
  CHECK(search.state().history.size() == history_size);
  CHECK(search.state().rng == rng);
  CHECK(search.state().stats == stats);
  CHECK(search.state().epoch == epoch);
  CHECK(search.to_json() == before);
  // run() reports the same failure
  REQUIRE_THROWS_AS(search.run(evaluator), faunae::EvaluationError);
  CHECK(search.to_json() == before);

  // After the failure, the search continues to exactly the end of an undisturbed run.
  mode = Mode::ok;
  const auto result = search.run(evaluator);
  CHECK(result.finished);
  CHECK(search.to_json() == reference.to_json());
}

TEST_CASE("an evaluator returning an Evaluation keeps its metrics in the history", "[search]") {
  const BlockSpace space = synthetic_space(2, 3);
  auto fn = [](const Architecture& a) { return faunae::Evaluation{synthetic_loss(a), {{"accuracy", 0.5}, {"seconds", 2.0}}}; };
  faunae::FunctionEvaluator evaluator(fn);
  Search<BlockSpace> search(space, {.max_epochs = 3});
  search.run(evaluator);
  for (const auto& r : search.state().history) {
    CHECK(r.loss == synthetic_loss(r.evaluated));
    REQUIRE(r.metrics.size() == 2);
    CHECK(r.metrics[0].first == "accuracy");
    CHECK(r.metrics[1].second == 2.0);
  }
}

TEST_CASE("max_epochs caps run and a later run does not go past it", "[search]") {
  const BlockSpace space = synthetic_space(3, 4);
  auto fn = [](const Architecture& a) { return synthetic_loss(a); };
  faunae::FunctionEvaluator evaluator(fn);
  Search<BlockSpace> search(space, {.seed = 1, .max_epochs = 7});
  CHECK(search.planned_epochs() == 7);
  auto r = search.run(evaluator);
  CHECK(r.epochs == 7);
  CHECK(r.evaluations == 8);
  CHECK_FALSE(r.finished);
  r = search.run(evaluator);
  CHECK(r.epochs == 7);
  CHECK(r.history.size() == 8);
}

TEST_CASE("step after the end does nothing and says stop", "[search]") {
  const BlockSpace space = synthetic_space(2, 2);  // schedule_length(2, 1) = 2 mutation epochs
  auto fn = [](const Architecture& a) { return synthetic_loss(a); };
  faunae::FunctionEvaluator evaluator(fn);
  Search<BlockSpace> search(space, {}, FaunaeMutation(), UcbElimination({.epochs_per_op = 1}));
  const auto r = search.run(evaluator);
  REQUIRE(r.finished);
  REQUIRE(r.evaluations == 3);
  const auto before = search.to_json();
  CHECK(search.step(evaluator));
  CHECK(search.to_json() == before);
}

TEST_CASE("reset returns to alpha0 with empty statistics", "[search]") {
  const BlockSpace space = synthetic_space(3, 3);
  auto fn = [](const Architecture& a) { return synthetic_loss(a); };
  faunae::FunctionEvaluator evaluator(fn);
  Search<BlockSpace> fresh(space, {.seed = 3});
  Search<BlockSpace> search(space, {.seed = 3});
  search.run(evaluator);
  search.reset();
  CHECK(search.to_json() == fresh.to_json());
  CHECK_FALSE(search.state().started());
}

TEST_CASE("options.initial replaces the space's alpha0", "[search]") {
  const BlockSpace space = synthetic_space(3, 3);
  ScriptedEvaluator evaluator({1.0});
  Search<BlockSpace> search(space, {.initial = Architecture{2, 0, 2}});
  search.step(evaluator);
  CHECK(evaluator.evaluated().at(0) == Architecture{2, 0, 2});
  CHECK(search.state().current == Architecture{2, 0, 2});
}

TEST_CASE("bad search options are rejected with the bad value in the message", "[search][errors]") {
  const BlockSpace space = synthetic_space(3, 3);
  using faunae::InvalidArchitecture;
  using faunae::InvalidArgument;
  REQUIRE_THROWS_MATCHES(Search<BlockSpace>(space, {.lambda2 = -0.1}), InvalidArgument,
                         What(Contains("lambda2") && Contains("-0.1")));
  REQUIRE_THROWS_MATCHES(Search<BlockSpace>(space, {.lambda2 = 1.5}), InvalidArgument,
                         What(Contains("lambda2") && Contains("1.5")));
  REQUIRE_THROWS_MATCHES(Search<BlockSpace>(space, {.lambda2 = std::nan("")}), InvalidArgument,
                         What(Contains("lambda2")));
  REQUIRE_THROWS_MATCHES(Search<BlockSpace>(space, {.checkpoint_every = 0}), InvalidArgument,
                         What(Contains("checkpoint_every")));
  REQUIRE_THROWS_MATCHES(Search<BlockSpace>(space, {.max_proposal_attempts = 0}), InvalidArgument,
                         What(Contains("max_proposal_attempts")));
  REQUIRE_THROWS_MATCHES(Search<BlockSpace>(space, {.initial = Architecture{0, 0}}), InvalidArchitecture,
                         What(Contains("options.initial") && Contains("2 blocks") && Contains("3")));
  REQUIRE_THROWS_MATCHES(Search<BlockSpace>(space, {.initial = Architecture{0, 7, 0}}), InvalidArchitecture,
                         What(Contains("block 1") && Contains("op index 7")));
  REQUIRE_THROWS_MATCHES(UcbElimination({.epochs_per_op = 0}), InvalidArgument, What(Contains("epochs_per_op") && Contains("got 0")));
  REQUIRE_THROWS_MATCHES(NoElimination({.epochs_per_op = 0, .epochs = 0}), InvalidArgument, What(Contains("epochs_per_op")));
  CHECK_NOTHROW(NoElimination({.epochs_per_op = 0, .epochs = 5}));
  CHECK_NOTHROW(Search<BlockSpace>(space, {.lambda2 = 0.0}));
  CHECK_NOTHROW(Search<BlockSpace>(space, {.lambda2 = 1.0}));
}

TEST_CASE("an alpha0 that the space rejects is refused", "[search][errors]") {
  // a user space whose is_valid() rejects its own α0
  struct PickySpace {
    std::size_t num_blocks() const { return 2; }
    std::size_t num_ops(std::size_t) const { return 2; }
    std::string op_name(std::size_t, std::size_t k) const { return k == 0 ? "x" : "y"; }
    double op_size(std::size_t, std::size_t) const { return 1.0; }
    std::optional<faunae::OpIndex> identity_op(std::size_t) const { return std::nullopt; }
    Architecture initial_architecture() const { return Architecture{1, 1}; }
    bool is_valid(const Architecture& a) const { return !(a[0] == 1 && a[1] == 1); }
  };
  const PickySpace space;
  REQUIRE_THROWS_MATCHES(Search<PickySpace>(space), faunae::InvalidArchitecture,
                         What(Contains("[1, 1]") && Contains("is_valid")));
  CHECK_NOTHROW(Search<PickySpace>(space, {.initial = Architecture{0, 1}}));
}

TEST_CASE("a space that rejects every proposal ends in a clear error after max_proposal_attempts", "[search][errors]") {
  // one block, ops x and y; y is forbidden; ε = 1 always proposes y.
  const BlockSpace space({Block{"only", {{"x", 1.0}, {"y", 2.0}}, std::nullopt}}, Architecture{0},
                         [](const Architecture& a) { return a[0] == 0; });
  Search<BlockSpace> search(space, {.max_proposal_attempts = 17}, FaunaeMutation({.epsilon = 1.0, .lambda1 = 1.0}));
  ScriptedEvaluator evaluator({1.0});
  search.step(evaluator);
  const auto before = search.to_json();
  REQUIRE_THROWS_MATCHES(search.step(evaluator), faunae::InvalidArgument,
                         What(Contains("no valid architecture in 17 proposals") && Contains("epoch 1")));
  CHECK(evaluator.calls() == 1);
  CHECK(search.to_json() == before);  // a failed epoch leaves no trace, the RNG included
}

TEST_CASE("a replacement the space rejects is repaired with the alive op of lowest smoothed loss", "[search][eq5]") {
  // 2 blocks × {a, b, c, d}; the space forbids d in block 0 next to a in block 1.
  std::vector<Block> blocks(2, Block{"", {{"a", 1.0}, {"b", 2.0}, {"c", 3.0}, {"d", 4.0}}, std::nullopt});
  blocks[0].name = "x";
  blocks[1].name = "y";
  const BlockSpace space(blocks, Architecture{0, 0}, [](const Architecture& a) { return !(a[0] == 3 && a[1] == 0); });
  // epoch 0: [a,a] 1.0. epoch 1: [b,b] 3.0, both reverted (3 >= 1). epoch 2: [c,b] 2.0: block 0 reverted
  // (2 >= 1), block 1 b -> b no change... l(0,b) = 3, l(0,c) = 2. Then block 0 loses a, and the
  // policy's replacement d is forbidden: the repair tries b (l = 3) and c (l = 2) by loss: c.
  Search<BlockSpace, ScriptedMutation, RemoveCurrentAt> search(space, {}, ScriptedMutation({{1, 1}, {2, 1}}),
                                                                RemoveCurrentAt{2, 3, 2});
  ScriptedEvaluator evaluator({1.0, 3.0, 2.0});
  search.run(evaluator);
  const auto& r = search.state().history.at(2);
  REQUIRE(r.eliminations.size() == 1);
  CHECK(r.eliminations[0].op == 0);
  CHECK(r.eliminations[0].replacement == faunae::OpIndex{2});
  CHECK(r.architecture == Architecture{2, 0});
  CHECK(search.state().current == Architecture{2, 0});
  CHECK_FALSE(search.state().stats.is_alive(0, 0));
  CHECK(search.state().stats.is_alive(0, 3));
}

TEST_CASE("an elimination no replacement can repair fails and rolls the epoch back", "[search][errors]") {
  // the space allows only a in block 0 while block 1 is a
  std::vector<Block> blocks(2, Block{"", {{"a", 1.0}, {"b", 2.0}, {"c", 3.0}}, std::nullopt});
  blocks[0].name = "x";
  blocks[1].name = "y";
  const BlockSpace space(blocks, Architecture{0, 0}, [](const Architecture& a) { return a[0] == 0 || a[1] != 0; });
  Search<BlockSpace, ScriptedMutation, RemoveCurrentAt> search(space, {}, ScriptedMutation({{0, 1}}),
                                                                RemoveCurrentAt{1, 2, 1});
  ScriptedEvaluator evaluator({1.0, 5.0});
  search.step(evaluator);
  const auto before = search.to_json();
  REQUIRE_THROWS_MATCHES(search.step(evaluator), faunae::InvalidArgument,
                         What(Contains("no replacement makes the architecture") && Contains("valid")));
  CHECK(search.to_json() == before);
  CHECK(search.state().history.size() == 1);
}

TEST_CASE("the default lambda2 of eq. (4) is the paper's 0.3", "[search][eq4]") {
  CHECK(SearchOptions{}.lambda2 == 0.3);
  CHECK(SearchOptions{}.checkpoint.empty());
  CHECK(SearchOptions{}.max_epochs == 0);
}

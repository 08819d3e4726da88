// A model-size budget (BlockSpace::with_max_size, SearchSpace's optional max_size()): validity,
// errors, and full searches that must end within the budget even when bigger ops score better.
#include <cmath>
#include <limits>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::Elimination;
using faunae::OpIndex;
using faunae::Search;
using faunae::SearchState;
using faunae::UcbElimination;

namespace {

/// Loss falls with model size: an unconstrained search drifts to the biggest ops.
struct BiggerIsBetter {
  const BlockSpace* space;
  double evaluate(const Architecture& a) const { return 10.0 - 0.01 * space->size_of(a) + 0.001 * double(a[0]); }
};

/// A user space with its own budget hook (not a BlockSpace).
struct BudgetedSpace {
  BlockSpace inner = synthetic_space(3, 4);  // sizes 0, 10, 20, 30; α0 = {1, 1, 1} (size 30)
  std::size_t num_blocks() const { return inner.num_blocks(); }
  std::size_t num_ops(std::size_t b) const { return inner.num_ops(b); }
  std::string_view op_name(std::size_t b, std::size_t k) const { return inner.op_name(b, k); }
  double op_size(std::size_t b, std::size_t k) const { return inner.op_size(b, k); }
  std::optional<OpIndex> identity_op(std::size_t b) const { return inner.identity_op(b); }
  Architecture initial_architecture() const { return inner.initial_architecture(); }
  bool is_valid(const Architecture&) const { return true; }  // the budget comes from max_size() alone
  std::optional<double> max_size() const { return 40.0; }
};

/// UcbElimination without the `removable` hook.
struct PlainUcb {
  UcbElimination inner{{.epochs_per_op = 1}};
  bool due(const BlockSpace& s, const SearchState& st) const { return inner.due(s, st); }
  std::vector<Elimination> select(const BlockSpace& s, const SearchState& st) const { return inner.select(s, st); }
  bool finished(const BlockSpace& s, const SearchState& st) const { return inner.finished(s, st); }
};

}  // namespace

static_assert(faunae::SearchSpace<BudgetedSpace> && faunae::HasSizeBudget<BudgetedSpace>);
static_assert(faunae::HasSizeBudget<BlockSpace>);
static_assert(faunae::EliminationPolicy<PlainUcb> && !faunae::detail::HasSelectRemovable<PlainUcb>);

TEST_CASE("with_max_size: Σ of op sizes against the budget, checked on construction", "[budget][space]") {
  const BlockSpace space = synthetic_space(3, 4);  // α0 = {1, 1, 1}: size 30
  CHECK_FALSE(space.max_size());
  const BlockSpace budget = space.with_max_size(30.0);
  CHECK(budget.max_size() == 30.0);
  CHECK(budget.size_of(Architecture{3, 0, 0}) == 30.0);
  CHECK(budget.is_valid(Architecture{3, 0, 0}));
  CHECK(budget.is_valid(Architecture{1, 1, 1}));
  CHECK_FALSE(budget.is_valid(Architecture{3, 1, 0}));
  CHECK(space.is_valid(Architecture{3, 1, 0}));  // the original is untouched
  REQUIRE_THROWS_MATCHES(budget.check_architecture(Architecture{3, 3, 3}, "here"), faunae::InvalidArchitecture,
                         What(Contains("here") && Contains("model size 90") && Contains("max_size 30")));
  REQUIRE_THROWS_MATCHES(space.with_max_size(29.0), faunae::InvalidArchitecture,
                         What(Contains("α0") && Contains("model size 30")));
  REQUIRE_THROWS_MATCHES(space.with_max_size(-1.0), faunae::InvalidArgument, What(Contains("finite and >= 0")));
  REQUIRE_THROWS_MATCHES(space.with_max_size(std::numeric_limits<double>::quiet_NaN()), faunae::InvalidArgument,
                         What(Contains("max_size")));
  // no identity: the smallest op of every block is 10, three blocks → 30 at least
  const BlockSpace no_skip = faunae::uniform_space(3, {{"a", 10.0}, {"b", 20.0}}, Architecture{0, 0, 0});
  REQUIRE_THROWS_MATCHES(no_skip.with_max_size(25.0), faunae::InvalidArgument,
                         What(Contains("no architecture fits max_size 25") && Contains("30")));
}

TEST_CASE("a snapshot keeps the budget of a space's max_size() hook", "[budget][space]") {
  const BudgetedSpace user;
  const BlockSpace snap = BlockSpace::snapshot(user);
  CHECK(snap.max_size() == 40.0);
  CHECK_FALSE(snap.is_valid(Architecture{3, 2, 0}));
  CHECK(snap.is_valid(Architecture{2, 2, 0}));
}

TEST_CASE("a full search under a budget never leaves it, though bigger ops score better", "[budget][search]") {
  const BlockSpace free_space = synthetic_space(5, 5);  // sizes 0..40; α0 = {1,1,1,1,1}: size 50
  const BlockSpace space = free_space.with_max_size(free_space.size_of(free_space.initial_architecture()));
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    INFO("seed " << seed);
    BiggerIsBetter evaluator{&space};
    Search<BlockSpace> search(space, {.seed = seed}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
    const auto result = search.run(evaluator);
    CHECK(result.finished);
    CHECK(result.epochs == faunae::schedule_length(5, 2));
    for (std::size_t b = 0; b < 5; ++b) CHECK(search.state().stats.ops_left(b) == 1);
    CHECK(space.size_of(result.architecture) <= 50.0);
    for (const auto& r : result.history) {
      CHECK(space.size_of(r.evaluated) <= 50.0);
      CHECK(space.size_of(r.architecture) <= 50.0);
    }
    // Without the budget the same search ends well above it: the budget is what kept it small.
    BiggerIsBetter free_evaluator{&free_space};
    Search<BlockSpace> unconstrained(free_space, {.seed = seed}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
    CHECK(free_space.size_of(unconstrained.run(free_evaluator).architecture) > 50.0);
  }
}

TEST_CASE("a budget from a user space's max_size() binds the search too", "[budget][search]") {
  const BudgetedSpace user;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    BiggerIsBetter evaluator{&user.inner};
    Search<BudgetedSpace> search(user, {.seed = seed}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
    const auto result = search.run(evaluator);
    CHECK(result.finished);
    for (const auto& r : result.history) CHECK(user.inner.size_of(r.architecture) <= 40.0);
  }
}

TEST_CASE("a policy without select(space, state, removable) stops with a clear error under a budget", "[budget][search]") {
  // Three blocks {identity 0, op1 10}; budget 10 from α0 = {1, 0, 0}. Eliminating both identities
  // of blocks 1 and 2 would leave size ≥ 20: the hookless policy must be refused.
  const BlockSpace base = faunae::uniform_space(3, {{"identity", 0.0}, {"op1", 10.0}}, Architecture{1, 0, 0}, "identity");
  const BlockSpace space = base.with_max_size(10.0);
  struct IdentityIsWorse {
    double evaluate(const Architecture& a) const {
      double l = 1.0;
      for (auto k : a.ops()) l -= 0.1 * double(k);
      return l;
    }
  } evaluator;
  Search<BlockSpace, faunae::FaunaeMutation, PlainUcb> plain(space, {.seed = 3});
  REQUIRE_THROWS_MATCHES(plain.run(evaluator), faunae::InvalidArgument,
                         What(Contains("max_size 10") && Contains("removable")));
  // UcbElimination is told which ops must stay and ends within the budget.
  Search<BlockSpace, faunae::FaunaeMutation, UcbElimination> ucb(space, {.seed = 3}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 1}));
  const auto result = ucb.run(evaluator);
  CHECK(result.finished);
  CHECK(space.size_of(result.architecture) <= 10.0);
}

TEST_CASE("a checkpoint under a budget resumes to the same result, and not under another budget", "[budget][checkpoint]") {
  const BlockSpace free_space = synthetic_space(5, 5);
  const BlockSpace space = free_space.with_max_size(50.0);
  const BlockSpace other = free_space.with_max_size(60.0);
  TempDir dir;
  const auto path = dir / "search.ckpt";
  BiggerIsBetter evaluator{&space};
  Search<BlockSpace> uninterrupted(space, {.seed = 9}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
  const auto expected = uninterrupted.run(evaluator);

  Search<BlockSpace> first(space, {.seed = 9}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
  faunae::StopAfter stop(17);
  first.run(evaluator, stop);
  first.save(path);
  Search<BlockSpace> wrong(other, {.seed = 9}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
  REQUIRE_THROWS_MATCHES(wrong.load(path), faunae::IoError, What(Contains("max_size")));
  Search<BlockSpace> resumed(space, {.seed = 9}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
  resumed.load(path);
  const auto result = resumed.run(evaluator);
  CHECK(result.architecture == expected.architecture);
  CHECK(result.history.size() == expected.history.size());
  CHECK(faunae::detail::state_to_json(resumed.state()) == faunae::detail::state_to_json(uninterrupted.state()));
}

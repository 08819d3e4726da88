// UcbElimination and NoElimination: eqs. (9)-(10) on a crafted state, and the K·E schedule of full runs.
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::Elimination;
using faunae::NoElimination;
using faunae::OpIndex;
using faunae::schedule_length;
using faunae::Search;
using faunae::SearchState;
using faunae::UcbElimination;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void set_row(SearchState& s, Eigen::Index b, std::vector<std::int64_t> sa, std::vector<double> loss,
             std::vector<bool> alive = {true, true, true}) {
  for (Eigen::Index k = 0; k < 3; ++k) {
    s.stats.samples(b, k) = sa[std::size_t(k)];
    s.stats.loss(b, k) = loss[std::size_t(k)];
    s.stats.alive(b, k) = alive[std::size_t(k)];
  }
}

const Elimination* for_block(const std::vector<Elimination>& list, std::size_t b) {
  for (const auto& e : list)
    if (e.block == b) return &e;
  return nullptr;
}

/// Checks every elimination of a real run against eqs. (9)-(10), recomputed from the state the
/// hook sees (the statistics are those eq. (9) used; only `alive` has changed since).
struct EliminationChecker {
  std::size_t calls = 0;
  void on_elimination(const Elimination& x, const SearchState& s) {
    ++calls;
    const auto b = x.block;
    const std::size_t n = s.evaluations;
    INFO("epoch " << s.epoch << " block " << b << " op " << x.op);
    CHECK_FALSE(s.stats.is_alive(b, x.op));
    CHECK(x.score == UcbElimination::score(s.stats, b, x.op, n));
    // N = Σ_k sa_k in every block (α0 included)
    CHECK(s.stats.samples.row(Eigen::Index(b)).sum() == std::int64_t(n));
    bool any_sampled_left = false;
    for (OpIndex k = 0; k < OpIndex(s.stats.alive.cols()); ++k) {
      if (!s.stats.is_alive(b, k)) continue;
      any_sampled_left |= s.stats.sampled(b, k);
      const double w = UcbElimination::score(s.stats, b, k, n);
      // eq. (10): the removed op had the largest w; ties went to the lowest index
      CHECK((w < x.score || (w == x.score && k > x.op)));
    }
    // an op never sampled is only removed if no alive op had been sampled either
    if (!s.stats.sampled(b, x.op)) CHECK_FALSE(any_sampled_left);
    if (x.replacement) {
      CHECK(s.current[b] == *x.replacement);
      const double w_rep = UcbElimination::score(s.stats, b, *x.replacement, n);
      for (OpIndex k = 0; k < OpIndex(s.stats.alive.cols()); ++k)
        if (s.stats.is_alive(b, k) && k != *x.replacement) {
          const double w = UcbElimination::score(s.stats, b, k, n);
          CHECK((w_rep < w || (w_rep == w && *x.replacement < k)));
        }
    }
    CHECK(s.stats.is_alive(b, s.current[b]));
  }
};

std::vector<std::size_t> elimination_epochs(const SearchState& s) {
  std::vector<std::size_t> epochs;
  for (const auto& r : s.history)
    if (!r.eliminations.empty()) epochs.push_back(r.epoch);
  return epochs;
}

}  // namespace

TEST_CASE("schedule_length is sum over m = 2..M of m times E", "[elimination]") {
  STATIC_REQUIRE(schedule_length(7, 3) == 81);  // 3·(2+3+4+5+6+7)
  STATIC_REQUIRE(schedule_length(3, 3) == 15);  // 3·(2+3)
  STATIC_REQUIRE(schedule_length(2, 1) == 2);
  STATIC_REQUIRE(schedule_length(1, 3) == 0);
  STATIC_REQUIRE(schedule_length(4, 10) == 90);
}

TEST_CASE("eq. (9): w = l - sqrt(2 log N / sa), minus infinity if never sampled", "[elimination]") {
  const BlockSpace space = synthetic_space(1, 3);
  SearchState s;
  s.stats.reset(space);
  set_row(s, 0, {5, 3, 0}, {1.0, 1.2, kNaN});
  // 2 ln 10 = 4.605170186; w0 = 1.0 - sqrt(4.605170186/5) = 1.0 - 0.9597051824 = 0.0402948176
  //                          w1 = 1.2 - sqrt(4.605170186/3) = 1.2 - 1.2389740629 = -0.0389740629
  CHECK(UcbElimination::score(s.stats, 0, 0, 10) == Approx(0.0402948176).epsilon(0).margin(1e-9));
  CHECK(UcbElimination::score(s.stats, 0, 1, 10) == Approx(-0.0389740629).epsilon(0).margin(1e-9));
  CHECK(UcbElimination::score(s.stats, 0, 2, 10) == -std::numeric_limits<double>::infinity());
  // N = 1: log 1 = 0, w is the loss itself
  CHECK(UcbElimination::score(s.stats, 0, 1, 1) == 1.2);
}

TEST_CASE("eq. (10): which op each block loses in a crafted state", "[elimination]") {
  const BlockSpace space = synthetic_space(5, 3);
  SearchState s;
  s.stats.reset(space);
  s.evaluations = 10;  // N of eq. (9), α0 included
  s.current = Architecture{0, 0, 1, 1, 0};
  // block 0: w = {0.0403, -0.0390, 0.9 - 1.5174271294 = -0.6174271294}: op 0 goes although op 1 has the
  //          larger loss (it was sampled more); op 0 is current, its replacement is the lowest w: op 2.
  set_row(s, 0, {5, 3, 2}, {1.0, 1.2, 0.9});
  // block 1: w = {0.5 - 0.8110989182 = -0.3110989182, 2.0 - 1.2389740629 = 0.7610259371, -inf}:
  //          op 1 goes; op 2 (never sampled) stays; op 0 is current and stays.
  set_row(s, 1, {7, 3, 0}, {0.5, 2.0, kNaN});
  // block 2: one op left: nothing to remove.
  set_row(s, 2, {4, 6, 0}, {0.1, 0.2, kNaN}, {false, true, false});
  // block 3: equal w for ops 0 and 1: the lowest index goes; current op 1 stays.
  set_row(s, 3, {5, 5, 0}, {1.0, 1.0, kNaN});
  // block 4: current op 0 has the largest w (2.0 - 0.8760...); op 2 was never sampled (w = -inf),
  //          so it is the replacement rather than op 1 (w = 0.1 - 1.0730...).
  set_row(s, 4, {6, 4, 0}, {2.0, 0.1, kNaN});

  const UcbElimination policy({.epochs_per_op = 3});
  const auto out = policy.select(space, s);
  CHECK(out.size() == 4);

  const Elimination* e0 = for_block(out, 0);
  REQUIRE(e0);
  CHECK(e0->op == 0);
  CHECK(e0->score == Approx(0.0402948176).epsilon(0).margin(1e-9));
  CHECK(e0->replacement == OpIndex{2});

  const Elimination* e1 = for_block(out, 1);
  REQUIRE(e1);
  CHECK(e1->op == 1);
  CHECK(e1->score == Approx(0.7610259371).epsilon(0).margin(1e-9));
  CHECK_FALSE(e1->replacement);

  CHECK(for_block(out, 2) == nullptr);

  const Elimination* e3 = for_block(out, 3);
  REQUIRE(e3);
  CHECK(e3->op == 0);
  CHECK_FALSE(e3->replacement);

  const Elimination* e4 = for_block(out, 4);
  REQUIRE(e4);
  CHECK(e4->op == 0);
  CHECK(e4->score == Approx(2.0 - std::sqrt(2.0 * std::log(10.0) / 6.0)).margin(1e-12));
  CHECK(e4->replacement == OpIndex{2});
}

TEST_CASE("an op never sampled is never removed while a sampled one is left", "[elimination]") {
  const BlockSpace space = synthetic_space(1, 3);
  SearchState s;
  s.stats.reset(space);
  s.evaluations = 1;
  s.current = Architecture{0};
  // op 0 sampled once with an excellent loss (w = -1e300), ops 1 and 2 never sampled (w = -inf):
  // op 0 goes; its replacement is the lowest w, a tie at -inf, so the lowest index: op 1.
  set_row(s, 0, {1, 0, 0}, {-1e300, kNaN, kNaN});
  const auto out = UcbElimination({.epochs_per_op = 3}).select(space, s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].op == 0);
  CHECK(out[0].score == -1e300);
  CHECK(out[0].replacement == OpIndex{1});
}

TEST_CASE("UcbElimination is due after K times E epochs and finished at one op per block", "[elimination]") {
  const BlockSpace space = synthetic_space(2, 3);
  SearchState s;
  s.stats.reset(space);
  const UcbElimination policy({.epochs_per_op = 3});
  CHECK(policy.total_epochs(space) == 15);
  s.epochs_since_elimination = 8;
  CHECK_FALSE(policy.due(space, s));
  s.epochs_since_elimination = 9;  // K = 3
  CHECK(policy.due(space, s));
  s.stats.alive(0, 2) = false;
  s.stats.alive(1, 2) = false;  // K = 2: due after 6
  s.epochs_since_elimination = 5;
  CHECK_FALSE(policy.due(space, s));
  s.epochs_since_elimination = 6;
  CHECK(policy.due(space, s));
  CHECK_FALSE(policy.finished(space, s));
  s.stats.alive(0, 1) = false;  // block 1 still has 2 ops: K = 2
  CHECK_FALSE(policy.finished(space, s));
  s.stats.alive(1, 0) = false;  // one op each: K = 1
  CHECK(policy.finished(space, s));
  s.epochs_since_elimination = 100;
  CHECK_FALSE(policy.due(space, s));
}

TEST_CASE("a full FaUNAE run uses 1 + schedule_length evaluations and ends with one op per block", "[elimination][search]") {
  const BlockSpace space = synthetic_space(4, 7);
  NoisyEvaluator evaluator(17);
  Search<BlockSpace> search(space, {.seed = 11}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 3}));
  CHECK(search.planned_epochs() == 81);
  EliminationChecker checker;
  const auto result = search.run(evaluator, checker);
  CHECK(result.finished);
  CHECK(result.epochs == 81);
  CHECK(result.evaluations == 82);
  CHECK(evaluator.calls() == 82);
  CHECK(result.history.size() == 82);
  // K = 7, 6, ..., 2: rounds after 21, +18, +15, +12, +9, +6 epochs
  CHECK(elimination_epochs(search.state()) == std::vector<std::size_t>{21, 39, 54, 66, 75, 81});
  CHECK(search.state().elimination_rounds == 6);
  CHECK(checker.calls == 6 * 4);
  for (std::size_t b = 0; b < 4; ++b) {
    CHECK(search.state().stats.ops_left(b) == 1);
    CHECK(search.state().stats.is_alive(b, result.architecture[b]));
  }
  for (const auto& r : result.history) {
    if (r.epoch == 0) continue;
    REQUIRE(r.probabilities.rows() == 4);
    for (std::size_t b = 0; b < 4; ++b) {
      CHECK(r.probabilities.row(Eigen::Index(b)).sum() == Approx(1.0).margin(1e-12));
      CHECK(r.probabilities(Eigen::Index(b), Eigen::Index(r.evaluated[b])) > 0.0);
    }
  }
}

TEST_CASE("blocks of different widths: K is the widest block, narrow blocks stop at one op", "[elimination][search]") {
  std::vector<Block> blocks;
  for (std::size_t width : {2u, 3u, 5u}) {
    Block b{fmt::format("w{}", width), {}, OpIndex{0}};
    b.ops.push_back({"identity", 0.0});
    for (std::size_t k = 1; k < width; ++k) b.ops.push_back({fmt::format("op{}", k), 5.0 * double(k)});
    blocks.push_back(b);
  }
  const BlockSpace space(blocks, Architecture{1, 1, 1});
  NoisyEvaluator evaluator(3);
  Search<BlockSpace> search(space, {.seed = 2}, faunae::FaunaeMutation(), UcbElimination({.epochs_per_op = 2}));
  EliminationChecker checker;
  const auto result = search.run(evaluator, checker);
  CHECK(result.epochs == schedule_length(5, 2));  // 28
  CHECK(result.evaluations == 29);
  CHECK(elimination_epochs(search.state()) == std::vector<std::size_t>{10, 18, 24, 28});
  std::vector<std::size_t> per_round;
  for (const auto& r : result.history)
    if (!r.eliminations.empty()) per_round.push_back(r.eliminations.size());
  CHECK(per_round == std::vector<std::size_t>{3, 2, 1, 1});
  CHECK(checker.calls == 7);
  for (std::size_t b = 0; b < 3; ++b) CHECK(search.state().stats.ops_left(b) == 1);
}

TEST_CASE("FaUNAE on NAS-Bench-Macro: 15 epochs, 16 evaluations, one op per layer", "[elimination][tabular]") {
  const auto& table = nas_bench_macro();
  const faunae::tabular::TabularSpace space(table, "11111111");
  faunae::tabular::TabularEvaluator evaluator(table, 4);
  faunae::FaUNAE<faunae::tabular::TabularSpace> search(space, {.seed = 4});
  EliminationChecker checker;
  const auto result = search.run(evaluator, checker);
  CHECK(result.finished);
  CHECK(result.evaluations == 1 + schedule_length(3, 3));
  CHECK(evaluator.evaluations() == 16);
  CHECK(elimination_epochs(search.state()) == std::vector<std::size_t>{9, 15});
  CHECK(checker.calls == 16);
  for (std::size_t b = 0; b < 8; ++b) CHECK(search.state().stats.ops_left(b) == 1);
  CHECK(space.is_valid(result.architecture));
}

TEST_CASE("NoElimination runs the same number of epochs and keeps every op", "[elimination][search]") {
  const BlockSpace space = synthetic_space(3, 4);
  NoisyEvaluator evaluator(1);
  faunae::FaUNAENoElimination<BlockSpace> search(space, {.seed = 1}, faunae::FaunaeMutation(), NoElimination({.epochs_per_op = 3}));
  const auto result = search.run(evaluator);
  CHECK(result.finished);
  CHECK(result.epochs == schedule_length(4, 3));
  CHECK(result.evaluations == 1 + schedule_length(4, 3));
  CHECK(elimination_epochs(search.state()).empty());
  for (std::size_t b = 0; b < 3; ++b) CHECK(search.state().stats.ops_left(b) == 4);

  faunae::FaUNAENoElimination<BlockSpace> fixed(space, {}, faunae::FaunaeMutation(), NoElimination({.epochs_per_op = 3, .epochs = 10}));
  CHECK(fixed.planned_epochs() == 10);
  CHECK(fixed.run(evaluator).epochs == 10);
}

// FaUNAE-TS, the recommended search: the additive credit model against hand-computed posteriors,
// the acceptance policies, and the search as a whole (finds the optimum of an additive landscape,
// returns an evaluated architecture, keeps the budget, resumes bit for bit, refuses bad options).
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "catch.hpp"

#include "faunae/faunae.hpp"
#include "test_support.hpp"

using faunae::AdditiveLossModel;
using faunae::Architecture;
using faunae::ArchitectureAcceptance;
using faunae::BlockSpace;
using faunae::BlockwiseAcceptance;
using faunae::EpochRecord;
using faunae::FaUNAETS;
using faunae::InvalidArgument;
using faunae::PosteriorElimination;
using faunae::SearchResult;
using faunae::SearchState;
using faunae::StopAfter;
using faunae::ThompsonMutation;
using faunae_test::NoisyEvaluator;
using faunae_test::synthetic_loss;
using faunae_test::synthetic_space;
using faunae_test::TempDir;
using faunae_test::What;
using faunae_test::Contains;

namespace {

SearchState state_with(const BlockSpace& space, const std::vector<std::pair<Architecture, double>>& evaluations) {
  SearchState s;
  s.stats.reset(space);
  s.current = space.initial_architecture();
  for (const auto& [a, loss] : evaluations) {
    EpochRecord r;
    r.epoch = s.history.size();
    r.evaluated = a;
    r.loss = loss;
    s.history.push_back(r);
  }
  s.evaluations = s.history.size();
  return s;
}

}  // namespace

TEST_CASE("AdditiveLossModel: the posterior mean and sd of a hand-computed case", "[faunae-ts][model]") {
  // One block, two ops; losses 1 and 3 on op 0, 5 on op 1. ā = 3, s_a = sqrt(8/3), y = (−2, 0, 2)/s_a.
  // ν = 1, noise_fraction 0.5: λ = 0.5; XᵀX = diag(2, 1); Xᵀy = (−2/s_a, 2/s_a).
  // μ = (−2/(2.5 s_a), 2/(1.5 s_a)) in standardized units, × s_a in loss units: (−0.8, 1.3333…).
  // sd = sqrt(0.5) · s_a / sqrt(2.5) and sqrt(0.5) · s_a / sqrt(1.5).
  const BlockSpace space = faunae::uniform_space(1, {{"a", 0.0}, {"b", 0.0}}, Architecture{0});
  const SearchState s = state_with(space, {{Architecture{0}, 1.0}, {Architecture{0}, 3.0}, {Architecture{1}, 5.0}});
  AdditiveLossModel model({.noise_fraction = 0.5});
  model.update(space, s);
  const Eigen::VectorXd mean = model.mean();
  CHECK(mean(0) == Approx(-0.8).epsilon(1e-12));
  CHECK(mean(1) == Approx(4.0 / 3.0).epsilon(1e-12));
  const double sa = std::sqrt(8.0 / 3.0);
  CHECK(model.sd(0) == Approx(std::sqrt(0.5) * sa / std::sqrt(2.5)).epsilon(1e-12));
  CHECK(model.sd(1) == Approx(std::sqrt(0.5) * sa / std::sqrt(1.5)).epsilon(1e-12));
}

TEST_CASE("AdditiveLossModel: incremental updates equal the normal equations, and draws have the posterior's moments",
          "[faunae-ts][model]") {
  const BlockSpace space = synthetic_space(3, 3);
  std::vector<std::pair<Architecture, double>> evals;
  faunae::Rng rng(4);
  for (int i = 0; i < 12; ++i) {
    const Architecture a = faunae::random_architecture(space, rng);
    evals.emplace_back(a, synthetic_loss(a) + 0.05 * rng.normal());
  }
  const SearchState s = state_with(space, evals);
  // One record at a time (as a search feeds it) and all at once give the same numbers bit for bit.
  AdditiveLossModel one_by_one, at_once;
  for (std::size_t h = 1; h <= evals.size(); ++h) {
    SearchState prefix = s;
    prefix.history.resize(h);
    one_by_one.update(space, prefix);
  }
  at_once.update(space, s);
  REQUIRE(one_by_one.mean() == at_once.mean());
  // Against the dense normal equations.
  const Eigen::Index p = 9;
  double abar = 0, var = 0;
  for (const auto& [a, l] : evals) abar += l / 12.0;
  for (const auto& [a, l] : evals) var += (l - abar) * (l - abar) / 12.0;
  const double sa = std::sqrt(var);
  Eigen::MatrixXd xtx = Eigen::MatrixXd::Identity(p, p) * (3 * 0.5);
  Eigen::VectorXd xty = Eigen::VectorXd::Zero(p);
  for (const auto& [a, l] : evals)
    for (std::size_t b = 0; b < 3; ++b) {
      xty(Eigen::Index(3 * b + a[b])) += (l - abar) / sa;
      for (std::size_t c = 0; c < 3; ++c) xtx(Eigen::Index(3 * b + a[b]), Eigen::Index(3 * c + a[c])) += 1.0;
    }
  const Eigen::VectorXd expected = sa * xtx.ldlt().solve(xty);
  const Eigen::VectorXd got = at_once.mean();
  for (Eigen::Index i = 0; i < p; ++i) CHECK(got(i) == Approx(expected(i)).margin(1e-10));
  // 20000 draws: mean and the variance of cell 4 within a few standard errors.
  faunae::Rng draws(9);
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(p), x;
  double sum_sq4 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    at_once.sample(draws, x);
    sum += x;
    sum_sq4 += (x(4) - got(4)) * (x(4) - got(4));
  }
  const double sd4 = at_once.sd(4);
  for (Eigen::Index i = 0; i < p; ++i) CHECK(sum(i) / n == Approx(got(i)).margin(5 * at_once.sd(std::size_t(i)) / std::sqrt(n)));
  CHECK(std::sqrt(sum_sq4 / n) == Approx(sd4).epsilon(0.03));
}

TEST_CASE("acceptance policies: eq. (5) per block, and the architecture-level variant", "[faunae-ts][acceptance]") {
  const BlockSpace space = synthetic_space(2, 3);  // α0 = (1, 1)
  SearchState s = state_with(space, {{Architecture{1, 1}, 2.0}, {Architecture{2, 0}, 1.5}});
  // eq. (4) statistics as the driver leaves them: op (0,2) better than (0,1); op (1,0) worse than (1,1).
  s.stats.loss(0, 1) = 2.0;
  s.stats.loss(1, 1) = 2.0;
  s.stats.loss(0, 2) = 1.5;
  s.stats.loss(1, 0) = 2.5;
  CHECK(BlockwiseAcceptance().accept(space, s) == Architecture{2, 1});  // block 0 keeps, block 1 reverts
  CHECK(ArchitectureAcceptance().accept(space, s) == Architecture{2, 0});  // 1.5 < 2.0: the whole α_n
  s.history.back().loss = 2.5;
  CHECK(ArchitectureAcceptance().accept(space, s) == Architecture{1, 1});
  // α_{n−1} never evaluated (moved by an elimination): α_n is accepted.
  s.current = Architecture{0, 0};
  CHECK(ArchitectureAcceptance().accept(space, s) == Architecture{2, 0});
  // IncumbentAcceptance: the lowest mean observed loss.
  s.history.push_back(EpochRecord{.epoch = 2, .evaluated = Architecture{1, 1}, .loss = 3.0});
  CHECK(faunae::IncumbentAcceptance().accept(space, s) == Architecture{1, 1});  // mean 2.5 = 2.5: first evaluated
}

TEST_CASE("ThompsonMutation changes one block of α0 until a proposal is accepted, then up to max_changes",
          "[faunae-ts][mutation]") {
  const BlockSpace space = synthetic_space(6, 4);
  const Architecture alpha0 = space.initial_architecture();
  const auto changed_blocks = [](const Architecture& x, const Architecture& y) {
    std::size_t n = 0;
    for (std::size_t b = 0; b < x.size(); ++b) n += x[b] != y[b];
    return n;
  };
  // Only α0 evaluated: the base is α0, every proposal is one of its one-block neighbours.
  SearchState at_alpha0 = state_with(space, {{alpha0, 1.0}});
  // α0 and one accepted two-block move: the base has left α0, proposals may change two blocks.
  Architecture moved = alpha0;
  moved[0] = 2;
  moved[1] = 2;
  SearchState after_move = state_with(space, {{alpha0, 1.0}, {moved, 0.5}});
  after_move.current = moved;

  std::size_t two_from_alpha0 = 0, two_after_move = 0, two_without_rule = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    faunae::Rng rng(seed);
    ThompsonMutation rule;
    const Architecture p0 = rule.propose(space, at_alpha0, rng).architecture;
    CHECK(changed_blocks(p0, alpha0) == 1);
    two_from_alpha0 += changed_blocks(p0, alpha0) == 2;

    ThompsonMutation rule_after;
    const Architecture p1 = rule_after.propose(space, after_move, rng).architecture;
    CHECK(changed_blocks(p1, moved) >= 1);
    CHECK(changed_blocks(p1, moved) <= 2);
    two_after_move += changed_blocks(p1, moved) == 2;

    ThompsonMutation without_rule({.single_block_from_alpha0 = false});
    const Architecture p2 = without_rule.propose(space, at_alpha0, rng).architecture;
    CHECK(changed_blocks(p2, alpha0) <= 2);
    two_without_rule += changed_blocks(p2, alpha0) == 2;
  }
  CHECK(two_from_alpha0 == 0);
  CHECK(two_after_move > 0);
  CHECK(two_without_rule > 0);
  CHECK(ThompsonMutation().config().at("single_block_from_alpha0") == true);
  // Off, the policy records what it recorded before the option existed: such checkpoints resume.
  CHECK(ThompsonMutation({.single_block_from_alpha0 = false, .scan_alpha0_neighbourhood = false}).config() ==
        nlohmann::json({{"policy", "ThompsonMutation"}, {"max_changes", 2}, {"noise_fraction", 0.5}}));
}

namespace {
std::size_t blocks_changed(const Architecture& x, const Architecture& y) {
  std::size_t n = 0;
  for (std::size_t b = 0; b < x.size(); ++b) n += x[b] != y[b];
  return n;
}
std::vector<Architecture> evaluated_in_order(const SearchResult& r) {
  std::vector<Architecture> out;
  for (const auto& h : r.history) out.push_back(h.evaluated);
  return out;
}
}  // namespace

TEST_CASE("ThompsonMutation scans α0's whole neighbourhood first when the budget exceeds it",
          "[faunae-ts][mutation][scan]") {
  // 4 blocks × 4 ops: α0 has 12 one-block neighbours. E = 3 plans 1 + (4 + 3 + 2)·3 = 28 evaluations
  // (the scan is on); the first elimination comes after K·E = 12 epochs, so epochs 1–12 are the scan.
  const BlockSpace space = synthetic_space(4, 4);
  const Architecture alpha0 = space.initial_architecture();
  struct Exact {
    double evaluate(const Architecture& a) const { return synthetic_loss(a); }
  };
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    CAPTURE(seed);
    FaUNAETS<BlockSpace> search(space, {.seed = seed}, ThompsonMutation(), PosteriorElimination({.epochs_per_op = 3}));
    REQUIRE(search.planned_evaluations() == 28);
    CHECK(search.mutation_policy().planned_evaluations() == 28);  // told by the search
    Exact evaluator;
    const SearchResult r = search.run(evaluator);
    std::set<Architecture> scanned;
    for (std::size_t e = 1; e <= 12; ++e) {
      CHECK(blocks_changed(r.history[e].evaluated, alpha0) == 1);
      scanned.insert(r.history[e].evaluated);
    }
    CHECK(scanned.size() == 12);  // every neighbour once
    // After the scan the base is (one of) the best of α0's neighbourhood: op 2 in one block.
    double best = synthetic_loss(alpha0);
    for (const Architecture& a : scanned) best = std::min(best, synthetic_loss(a));
    CHECK(synthetic_loss(r.history[12].architecture) == best);
    CHECK(r.architecture == Architecture{2, 2, 2, 2});
  }

  // Off: with a budget no larger than the neighbourhood + 1 (E = 1: 10 evaluations), and by option.
  // Either way the search proposes what it proposed before the option existed.
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    CAPTURE(seed);
    NoisyEvaluator e1(seed), e2(seed);
    FaUNAETS<BlockSpace> small(space, {.seed = seed}, ThompsonMutation(), PosteriorElimination({.epochs_per_op = 1}));
    FaUNAETS<BlockSpace> without(space, {.seed = seed}, ThompsonMutation({.scan_alpha0_neighbourhood = false}),
                                 PosteriorElimination({.epochs_per_op = 1}));
    CHECK(evaluated_in_order(small.run(e1)) == evaluated_in_order(without.run(e2)));
  }
  std::size_t left_neighbourhood = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    FaUNAETS<BlockSpace> without(space, {.seed = seed}, ThompsonMutation({.scan_alpha0_neighbourhood = false}),
                                 PosteriorElimination({.epochs_per_op = 3}));
    NoisyEvaluator e(seed);
    const SearchResult r = without.run(e);
    for (std::size_t ep = 1; ep <= 12; ++ep) left_neighbourhood += blocks_changed(r.history[ep].evaluated, alpha0) != 1;
  }
  CHECK(left_neighbourhood > 0);
  CHECK(ThompsonMutation().config().at("scan_alpha0_neighbourhood") == true);
  CHECK_FALSE(ThompsonMutation({.scan_alpha0_neighbourhood = false}).config().contains("scan_alpha0_neighbourhood"));
}

TEST_CASE("the scan of α0's neighbourhood skips what the space rejects, and resumes bit for bit in the middle",
          "[faunae-ts][mutation][scan][checkpoint]") {
  // A rule across blocks (α0 = 1111) that forbids two of α0's 12 neighbours, 3111 and 1211. The
  // driver asks again after each rejection; the scan must move on instead of failing.
  const BlockSpace base = synthetic_space(4, 4);
  const BlockSpace space(base.blocks(), base.initial_architecture(), [](const Architecture& a) {
    return !(a[0] == 3 && a[1] == 1) && !(a[0] == 1 && a[1] == 2);
  });
  const Architecture alpha0 = space.initial_architecture();
  const PosteriorElimination elimination({.epochs_per_op = 3});
  FaUNAETS<BlockSpace> whole(space, {.seed = 8}, ThompsonMutation(), elimination);
  NoisyEvaluator e1(2);
  const SearchResult expected = whole.run(e1);
  REQUIRE(expected.finished);
  std::set<Architecture> scanned;
  for (std::size_t e = 1; e <= 10; ++e) {
    CHECK(blocks_changed(expected.history[e].evaluated, alpha0) == 1);
    scanned.insert(expected.history[e].evaluated);
  }
  CHECK(scanned.size() == 10);
  for (const auto& h : expected.history) CHECK(space.is_valid(h.evaluated));

  for (std::size_t stop_at : {3u, 10u, 11u}) {
    CAPTURE(stop_at);
    TempDir dir;
    FaUNAETS<BlockSpace> first(space, {.seed = 8}, ThompsonMutation(), elimination);
    NoisyEvaluator e2(2);
    StopAfter stop(stop_at);
    first.run(e2, stop);
    first.save(dir / "scan.ckpt", e2);
    FaUNAETS<BlockSpace> resumed(space, {.seed = 8}, ThompsonMutation(), elimination);
    NoisyEvaluator e3(99);
    resumed.load(dir / "scan.ckpt", e3);
    resumed.run(e3);
    CHECK(resumed.to_json(&e3) == whole.to_json(&e1));
  }
}

TEST_CASE("FaUNAE-TS finds the optimum of an additive landscape and returns an evaluated architecture",
          "[faunae-ts][search]") {
  const BlockSpace space = synthetic_space(4, 4);  // optimum: op 2 in every block
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    CAPTURE(seed);
    FaUNAETS<BlockSpace> search(space, {.seed = seed}, ThompsonMutation(), PosteriorElimination({.epochs_per_op = 4}));
    struct Exact {
      double evaluate(const Architecture& a) const { return synthetic_loss(a); }
    } evaluator;
    const SearchResult r = search.run(evaluator);
    CHECK(r.finished);
    CHECK(r.evaluated);
    CHECK(r.evaluations == search.planned_evaluations());
    CHECK(r.evaluations == faunae::planned_evaluations(space, PosteriorElimination({.epochs_per_op = 4})));
    CHECK(r.architecture == Architecture{2, 2, 2, 2});
    for (std::size_t b = 0; b < 4; ++b) CHECK(search.state().stats.ops_left(b) == 1);
  }
}

TEST_CASE("FaUNAE-TS keeps the model-size budget", "[faunae-ts][budget]") {
  // Bigger ops score better, the budget allows op 1 everywhere at most (size 10 each).
  const BlockSpace space = synthetic_space(4, 4).with_max_size(40.0);
  struct BiggerIsBetter {
    double evaluate(const Architecture& a) const {
      double l = 10;
      for (auto k : a) l -= static_cast<double>(k);
      return l;
    }
  } evaluator;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    FaUNAETS<BlockSpace> search(space, {.seed = seed});
    const SearchResult r = search.run(evaluator);
    CHECK(r.finished);
    CHECK(space.size_of(r.architecture) <= 40.0);
    for (const EpochRecord& rec : r.history) CHECK(space.size_of(rec.evaluated) <= 40.0);
  }
}

TEST_CASE("FaUNAE-TS resumes bit for bit from a checkpoint, across elimination rounds", "[faunae-ts][checkpoint]") {
  const BlockSpace space = synthetic_space(4, 4);
  const PosteriorElimination elimination({.epochs_per_op = 2});
  for (std::size_t stop_at : {1u, 7u, 8u, 15u}) {
    CAPTURE(stop_at);
    TempDir dir;
    const auto path = dir / "ts.ckpt";
    FaUNAETS<BlockSpace> whole(space, {.seed = 3}, ThompsonMutation(), elimination);
    NoisyEvaluator e1(1000);
    const SearchResult expected = whole.run(e1);
    REQUIRE(expected.finished);

    FaUNAETS<BlockSpace> first(space, {.seed = 3}, ThompsonMutation(), elimination);
    NoisyEvaluator e2(1000);
    StopAfter stop(stop_at);
    first.run(e2, stop);
    first.save(path, e2);

    FaUNAETS<BlockSpace> resumed(space, {.seed = 3}, ThompsonMutation(), elimination);
    NoisyEvaluator e3(5);
    resumed.load(path, e3);
    const SearchResult got = resumed.run(e3);
    CHECK(resumed.to_json(&e3) == whole.to_json(&e1));
    CHECK(got.architecture == expected.architecture);
    CHECK(got.evaluated == expected.evaluated);
  }
  // The same policy object reused on a loaded checkpoint of another history starts its model over.
  FaUNAETS<BlockSpace> reused(space, {.seed = 3}, ThompsonMutation(), elimination);
  NoisyEvaluator e4(1000);
  StopAfter stop(9);
  reused.run(e4, stop);
  FaUNAETS<BlockSpace> other(space, {.seed = 3}, ThompsonMutation(), elimination);
  NoisyEvaluator e5(1000);
  StopAfter stop5(4);
  other.run(e5, stop5);
  TempDir dir;
  other.save(dir / "other.ckpt", e5);
  reused.load(dir / "other.ckpt", e4);
  const SearchResult a = reused.run(e4);
  NoisyEvaluator e6(1);
  FaUNAETS<BlockSpace> fresh(space, {.seed = 3}, ThompsonMutation(), elimination);
  fresh.load(dir / "other.ckpt", e6);
  const SearchResult b = fresh.run(e6);
  CHECK(a.architecture == b.architecture);
  CHECK(reused.to_json(&e4) == fresh.to_json(&e6));
}

namespace {
// ThompsonMutation without its shared_model(): the search cannot link PosteriorElimination to it, so
// each policy keeps a model of its own (FaUNAE-TS before the two shared one).
struct SeparateModelThompsonMutation : ThompsonMutation {
  using ThompsonMutation::ThompsonMutation;
  const faunae::SharedAdditiveModel& shared_model() const = delete;
};
using SeparateModelsTS =
    faunae::Search<BlockSpace, SeparateModelThompsonMutation, PosteriorElimination, ArchitectureAcceptance>;
}  // namespace

TEST_CASE("FaUNAE-TS's policies share one credit model, with the same history as two separate models",
          "[faunae-ts][model][shared]") {
  const BlockSpace space = synthetic_space(5, 4);
  const auto shares = [](auto& search) {
    return search.elimination_policy().shared_model().shares_with(search.mutation_policy().shared_model());
  };
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    CAPTURE(seed);
    FaUNAETS<BlockSpace> shared(space, {.seed = seed}, ThompsonMutation(), PosteriorElimination({.epochs_per_op = 2}));
    SeparateModelsTS separate(space, {.seed = seed}, SeparateModelThompsonMutation(), PosteriorElimination({.epochs_per_op = 2}));
    CHECK(shares(shared));
    NoisyEvaluator e1(100 + seed), e2(100 + seed);
    const SearchResult a = shared.run(e1);
    const SearchResult b = separate.run(e2);
    REQUIRE(a.finished);
    CHECK(a.history.size() == b.history.size());
    CHECK(shared.to_json(&e1) == separate.to_json(&e2));  // every record, elimination scores included

    // A copy's policies hold a copy of the model, not the original's, and are linked again by the
    // copy's next epoch; the copy and the original then go on as the search with separate models does.
    FaUNAETS<BlockSpace> original(space, {.seed = seed}, ThompsonMutation(), PosteriorElimination({.epochs_per_op = 2}));
    NoisyEvaluator e3(100 + seed);
    StopAfter stop(5 + seed);
    original.run(e3, stop);
    FaUNAETS<BlockSpace> copy = original;
    NoisyEvaluator e4 = e3;
    CHECK(!copy.elimination_policy().shared_model().shares_with(original.mutation_policy().shared_model()));
    while (!original.finished() || !copy.finished()) {  // interleaved: the two must not disturb each other
      if (!original.finished()) original.step(e3);
      if (!copy.finished()) copy.step(e4);
    }
    CHECK(shares(copy));
    CHECK(original.to_json(&e3) == separate.to_json(&e2));
    CHECK(copy.to_json(&e4) == separate.to_json(&e2));
  }
  // Different priors: each policy keeps its own model (and the search still runs).
  FaUNAETS<BlockSpace> priors(space, {.seed = 1}, ThompsonMutation({.model = {.noise_fraction = 0.25}}),
                              PosteriorElimination({.epochs_per_op = 2}));
  CHECK_FALSE(shares(priors));
  NoisyEvaluator e5(1);
  CHECK(priors.run(e5).finished);
  // Each policy alone, default-constructed, has a model of its own.
  CHECK_FALSE(PosteriorElimination().shared_model().shares_with(ThompsonMutation().shared_model()));
  const SearchState s = state_with(space, {{space.initial_architecture(), 1.0}, {Architecture{2, 1, 1, 1, 1}, 0.5}});
  CHECK(PosteriorElimination().select(space, s).size() == 5);
  faunae::Search<BlockSpace, ThompsonMutation, faunae::NoElimination, ArchitectureAcceptance> alone(
      space, {.seed = 1}, ThompsonMutation(), faunae::NoElimination({.epochs = 12}));
  NoisyEvaluator e6(1);
  CHECK(alone.run(e6).epochs == 12);
}

TEST_CASE("FaUNAE-TS refuses bad options, naming them", "[faunae-ts][errors]") {
  REQUIRE_THROWS_MATCHES(ThompsonMutation({.model = {.noise_fraction = 0.0}}), InvalidArgument,
                         What(Contains("noise_fraction") && Contains("got 0")));
  REQUIRE_THROWS_MATCHES(PosteriorElimination({.epochs_per_op = 0}), InvalidArgument,
                         What(Contains("epochs_per_op") && Contains("got 0")));
  REQUIRE_THROWS_MATCHES(PosteriorElimination({.optimism = -1.0}), InvalidArgument,
                         What(Contains("optimism") && Contains("-1")));
  REQUIRE_THROWS_MATCHES(PosteriorElimination({.model = {.noise_fraction = NAN}}), InvalidArgument,
                         What(Contains("noise_fraction") && Contains("nan")));
}

// --- FaUNAE-LT (issue 29): every base's neighbourhood first, confident elimination ------------------

namespace {
/// Blocks interact: the loss is additive (synthetic_loss) except that ops 2 in blocks 0 and 1 together
/// cost more than either alone, so the best one-block move from some bases is not the additive one.
struct Interacting {
  double evaluate(const Architecture& a) const { return synthetic_loss(a) + (a[0] == 2 && a[1] == 2 ? 0.5 : 0.0); }
};
}  // namespace

TEST_CASE("FaUNAE-LT scans each new base's whole neighbourhood while the budget covers it, as best-improvement steps",
          "[faunae-lt][mutation][scan]") {
  // 4 blocks × 4 ops, E = 3: 28 evaluations, 12 neighbours per base.
  const BlockSpace space = synthetic_space(4, 4);
  const Architecture alpha0 = space.initial_architecture();
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    CAPTURE(seed);
    auto search = faunae::faunae_lt(space, {.seed = seed}, 3);
    REQUIRE(search.planned_evaluations() == 28);
    CHECK(search.mutation_policy().options().scan_base_neighbourhood);
    CHECK_FALSE(search.elimination_policy().options().confident_only);  // FaUNAE-TS's elimination
    Interacting evaluator;
    const SearchResult r = search.run(evaluator);
    CHECK(r.evaluations == 28);
    // Epochs 1–12: α0's 12 neighbours; the base is then the best of them.
    std::set<Architecture> first;
    for (std::size_t e = 1; e <= 12; ++e) {
      CHECK(blocks_changed(r.history[e].evaluated, alpha0) == 1);
      first.insert(r.history[e].evaluated);
    }
    CHECK(first.size() == 12);
    const Architecture centre = r.history[12].architecture;
    double best = evaluator.evaluate(alpha0);
    for (const Architecture& a : first) best = std::min(best, evaluator.evaluate(a));
    CHECK(evaluator.evaluate(centre) == best);
    // 15 evaluations left > 12: the new base's neighbourhood is scanned next (at least 12 − 3 − 4 of
    // its neighbours are new: α0 and two of α0's neighbours are among them, and the elimination at
    // epoch 12 removes at most one op per block), one block away from it, none evaluated before.
    std::set<Architecture> seen(first.begin(), first.end());
    seen.insert(alpha0);
    for (std::size_t e = 13; e <= 17; ++e) {
      CHECK(blocks_changed(r.history[e].evaluated, centre) == 1);
      CHECK(seen.insert(r.history[e].evaluated).second);
    }
  }
}

TEST_CASE("FaUNAE-LT without a budget for the scans proposes what FaUNAE-TS does, and its options appear in the checkpoint",
          "[faunae-lt][mutation]") {
  const BlockSpace space = synthetic_space(4, 4);
  // E = 1: 10 evaluations, not more than α0's 12 neighbours + 1: no scan at all, the same proposals as
  // FaUNAE-TS without its α0 scan (off at this budget too).
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    CAPTURE(seed);
    NoisyEvaluator e1(seed), e2(seed);
    FaUNAETS<BlockSpace> lt(space, {.seed = seed}, ThompsonMutation(faunae::faunae_lt_mutation_options()),
                            PosteriorElimination({.epochs_per_op = 1}));
    FaUNAETS<BlockSpace> ts(space, {.seed = seed}, ThompsonMutation(), PosteriorElimination({.epochs_per_op = 1}));
    CHECK(evaluated_in_order(lt.run(e1)) == evaluated_in_order(ts.run(e2)));
  }
  CHECK(ThompsonMutation(faunae::faunae_lt_mutation_options()).config().at("scan_base_neighbourhood") == true);
  CHECK_FALSE(ThompsonMutation().config().contains("scan_base_neighbourhood"));
  CHECK(PosteriorElimination({.epochs_per_op = 3, .confident_only = true}).config().at("confident_only") == true);
  CHECK_FALSE(PosteriorElimination().config().contains("confident_only"));
}

TEST_CASE("confident elimination removes only ops confidently worse than the block's best, and ends on the planned budget",
          "[faunae-lt][elimination]") {
  const BlockSpace space = synthetic_space(3, 3);
  // Block 0: op 1 seen often and much worse (op 2 never); block 1: its ops all but equal; block 2:
  // op 2 seen once, a little worse.
  std::vector<std::pair<Architecture, double>> evals;
  for (int i = 0; i < 6; ++i) {
    evals.push_back({Architecture{0, 0, 0}, 1.0});
    evals.push_back({Architecture{1, 0, 0}, 3.0});
  }
  for (int i = 0; i < 3; ++i) {
    evals.push_back({Architecture{0, 1, 0}, 1.02});
    evals.push_back({Architecture{0, 2, 0}, 0.99});
    evals.push_back({Architecture{0, 0, 1}, 1.0});
  }
  evals.push_back({Architecture{0, 0, 2}, 1.05});
  SearchState s = state_with(space, evals);
  s.current = Architecture{0, 0, 0};
  const PosteriorElimination confident({.epochs_per_op = 1, .confident_only = true});
  const PosteriorElimination always({.epochs_per_op = 1});
  const auto chosen = confident.select(space, s);
  const auto forced = always.select(space, s);
  CHECK(forced.size() == 3);  // FaUNAE-TS's: one op in every block
  REQUIRE(chosen.size() == 1);
  CHECK(chosen[0].block == 0);
  CHECK(chosen[0].op == 1);
  // It ends after the planned epochs even with several ops left.
  s.epoch = confident.total_epochs(space);
  CHECK(confident.finished(space, s));
  CHECK_FALSE(always.finished(space, s));
}

TEST_CASE("FaUNAE-LT resumes bit for bit in the middle of a scan and across elimination rounds", "[faunae-lt][checkpoint]") {
  const BlockSpace space = synthetic_space(4, 4);
  auto whole = faunae::faunae_lt(space, {.seed = 11}, 3);
  NoisyEvaluator e1(7);
  const SearchResult expected = whole.run(e1);
  for (std::size_t stop_at : {5u, 12u, 13u, 20u}) {
    CAPTURE(stop_at);
    TempDir dir;
    auto first = faunae::faunae_lt(space, {.seed = 11}, 3);
    NoisyEvaluator e2(7);
    StopAfter stop(stop_at);
    first.run(e2, stop);
    first.save(dir / "lt.ckpt", e2);
    auto resumed = faunae::faunae_lt(space, {.seed = 11}, 3);
    NoisyEvaluator e3(99);
    resumed.load(dir / "lt.ckpt", e3);
    const SearchResult got = resumed.run(e3);
    CHECK(resumed.to_json(&e3) == whole.to_json(&e1));
    CHECK(got.architecture == expected.architecture);
  }
}

TEST_CASE("spare_best_observed keeps the ops of the best observed architectures, and the search ends on the planned budget",
          "[faunae-lt][elimination]") {
  const BlockSpace space = synthetic_space(2, 3);
  // Block 0: op 2 is bad on average (three poor architectures) but is in the second-best architecture
  // observed, {2, 1}; the best is {0, 0}.
  std::vector<std::pair<Architecture, double>> evals = {
      {Architecture{0, 0}, 1.0}, {Architecture{2, 1}, 1.1}, {Architecture{2, 0}, 3.0}, {Architecture{2, 2}, 3.2},
      {Architecture{2, 1}, 2.9}, {Architecture{1, 0}, 1.5}, {Architecture{1, 1}, 1.6}, {Architecture{0, 2}, 1.4}};
  SearchState s = state_with(space, evals);
  s.current = Architecture{0, 0};
  const PosteriorElimination plain({.epochs_per_op = 1});
  const PosteriorElimination spare1({.epochs_per_op = 1, .spare_best_observed = 1});
  const PosteriorElimination spare2({.epochs_per_op = 1, .spare_best_observed = 2});
  const auto removed_in_block0 = [&](const PosteriorElimination& p) -> std::optional<faunae::OpIndex> {
    for (const auto& e : p.select(space, s))
      if (e.block == 0) return e.op;
    return std::nullopt;
  };
  REQUIRE(removed_in_block0(plain) == std::optional<faunae::OpIndex>(2));   // op 2: worst in the model's credit
  CHECK(removed_in_block0(spare1) == std::optional<faunae::OpIndex>(2));    // only {0, 0} spared: op 2 may go
  CHECK(removed_in_block0(spare2) == std::optional<faunae::OpIndex>(1));    // {2, 1} spared too: op 1 goes instead
  // Block 1: {0, 0} and {2, 1} use ops 0 and 1, so with two spared only op 2 can go.
  for (const auto& e : spare2.select(space, s))
    if (e.block == 1) CHECK(e.op == 2);
  // It ends after the planned epochs even with several ops left; FaUNAE-TS's elimination does not.
  s.epoch = spare2.total_epochs(space);
  CHECK(spare2.finished(space, s));
  CHECK_FALSE(plain.finished(space, s));
  CHECK(spare2.config().at("spare_best_observed") == 2);
  CHECK_FALSE(plain.config().contains("spare_best_observed"));
}

TEST_CASE("keep_unscanned_neighbours removes only ops whose one-block neighbour of the base was evaluated", "[faunae-lt][elimination]") {
  const BlockSpace space = synthetic_space(2, 3);
  // Base {0, 0}. Block 1: op 1 is only in poor architectures, so the model's credit makes it the one
  // to drop; but neither {0, 1} nor {0, 2}, the base's neighbours through block 1, was evaluated.
  // Block 0: both neighbours {1, 0} and {2, 0} were.
  std::vector<std::pair<Architecture, double>> evals = {
      {Architecture{0, 0}, 1.0}, {Architecture{2, 1}, 3.0}, {Architecture{1, 1}, 3.1}, {Architecture{2, 1}, 2.9},
      {Architecture{1, 0}, 1.5}, {Architecture{2, 0}, 3.0}, {Architecture{1, 2}, 1.2}, {Architecture{2, 2}, 1.3}};
  SearchState s = state_with(space, evals);
  s.current = Architecture{0, 0};
  const PosteriorElimination plain({.epochs_per_op = 1});
  const PosteriorElimination gated({.epochs_per_op = 1, .keep_unscanned_neighbours = true});
  const auto removed = [&](const PosteriorElimination& p, const SearchState& state, std::size_t block) -> std::optional<faunae::OpIndex> {
    for (const auto& e : p.select(space, state))
      if (e.block == block) return e.op;
    return std::nullopt;
  };
  REQUIRE(removed(plain, s, 1) == std::optional<faunae::OpIndex>(1));  // the model's worst in block 1
  CHECK(removed(gated, s, 1) == std::nullopt);                         // both of its candidates unscanned: none goes
  CHECK(removed(gated, s, 0) == removed(plain, s, 0));                 // block 0 fully scanned: as without the rule
  CHECK(removed(gated, s, 0).has_value());
  // Once {0, 1} is evaluated, op 1 may go (op 2's neighbour {0, 2} still unscanned keeps op 2).
  evals.push_back({Architecture{0, 1}, 2.5});
  SearchState scanned = state_with(space, evals);
  scanned.current = Architecture{0, 0};
  CHECK(removed(gated, scanned, 1) == std::optional<faunae::OpIndex>(1));
  // A neighbour beyond the size budget counts as scanned: local search would never try it. With a
  // budget of 20 (ops weigh 0, 10, 20) and the base {1, 0}, {1, 2} weighs 30: out of it, so block 1,
  // whose other neighbour {1, 1} was evaluated, is fully scanned.
  const BlockSpace budgeted = space.with_max_size(20.0);
  SearchState small = state_with(budgeted, {{Architecture{1, 0}, 1.0}, {Architecture{1, 1}, 1.2}, {Architecture{0, 0}, 1.1},
                                            {Architecture{2, 0}, 1.3}});
  small.current = Architecture{1, 0};
  const auto removed_within = [&](const PosteriorElimination& p) -> std::optional<faunae::OpIndex> {
    for (const auto& e : p.select(budgeted, small))
      if (e.block == 1) return e.op;
    return std::nullopt;
  };
  CHECK(removed_within(gated).has_value());
  CHECK(removed_within(gated) == removed_within(plain));  // block 1 counts as fully scanned
  // The search ends after the planned epochs with ops left; the checkpoint records the rule.
  s.epoch = gated.total_epochs(space);
  CHECK(gated.finished(space, s));
  CHECK_FALSE(plain.finished(space, s));
  CHECK(gated.config().at("keep_unscanned_neighbours") == true);
  CHECK_FALSE(plain.config().contains("keep_unscanned_neighbours"));
}

TEST_CASE("FaUNAE-LT with spare_best_observed runs its planned evaluations and resumes bit for bit", "[faunae-lt][checkpoint]") {
  const BlockSpace space = synthetic_space(4, 4);
  const auto make = [&] {
    return faunae::FaUNAELT<BlockSpace>(space, {.seed = 11}, ThompsonMutation(faunae::faunae_lt_mutation_options()),
                                        PosteriorElimination({.epochs_per_op = 3, .spare_best_observed = 2}));
  };
  auto whole = make();
  NoisyEvaluator e1(7);
  const SearchResult expected = whole.run(e1);
  CHECK(expected.evaluations == whole.planned_evaluations());
  for (std::size_t stop_at : {12u, 21u}) {
    CAPTURE(stop_at);
    TempDir dir;
    auto first = make();
    NoisyEvaluator e2(7);
    StopAfter stop(stop_at);
    first.run(e2, stop);
    first.save(dir / "lt.ckpt", e2);
    auto resumed = make();
    NoisyEvaluator e3(99);
    resumed.load(dir / "lt.ckpt", e3);
    const SearchResult got = resumed.run(e3);
    CHECK(resumed.to_json(&e3) == whole.to_json(&e1));
    CHECK(got.architecture == expected.architecture);
  }
}

// FaunaeMutation: eqs. (1)-(3) against hand-computed numbers.
#include <cmath>
#include <optional>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::FaunaeMutation;
using faunae::FaunaeMutationOptions;
using faunae::SearchState;

namespace {

// 4 ops of sizes {0, 10, 20, 40}; `blocks` identical blocks; α0 = op 0 everywhere.
BlockSpace four_op_space(std::size_t blocks) {
  return faunae::uniform_space(blocks, {{"a", 0.0}, {"b", 10.0}, {"c", 20.0}, {"d", 40.0}},
                               Architecture(std::vector<faunae::OpIndex>(blocks, 0)));
}

SearchState state_for(const BlockSpace& space) {
  SearchState s;
  s.stats.reset(space);
  s.current = space.initial_architecture();
  return s;
}

void set_samples(SearchState& s, Eigen::Index b, std::vector<std::int64_t> sa) {
  for (Eigen::Index k = 0; k < static_cast<Eigen::Index>(sa.size()); ++k) s.stats.samples(b, k) = sa[std::size_t(k)];
}

constexpr double kTol = 1e-12;

}  // namespace

TEST_CASE("eq. (1)-(3): probabilities of a crafted block match the hand computation", "[mutation]") {
  const BlockSpace space = four_op_space(1);
  SearchState s = state_for(space);
  set_samples(s, 0, {3, 1, 0, 2});  // current op 0
  FaunaeMutation m(FaunaeMutationOptions{.epsilon = 0.2, .lambda1 = 0.9});

  // eq. (1), weights over the other alive ops: Σsa = 6; w1 = 1 - 1/6 = 5/6, w2 = 1 - 0/6 = 1,
  // w3 = 1 - 2/6 = 4/6; Σw = 15/6 = 2.5. p_mt = {1-ε, ε·w_k/Σw} = {0.8, 0.2/3, 0.08, 0.16/3}.
  // eq. (2), s = 40 (largest alive size): exp(-{0, .25, .5, 1}) = {1, .7788008, .6065307, .3678794},
  // Σ = 2.7532109; p_rm = {0.3632122791, 0.2828700074, 0.2202993833, 0.1336183303}.
  // eq. (3): p = 0.9·p_mt + 0.1·p_rm:
  //   p0 = 0.72 + 0.0363212279 = 0.7563212279
  //   p1 = 0.06 + 0.0282870007 = 0.0882870007
  //   p2 = 0.072 + 0.0220299383 = 0.0940299383
  //   p3 = 0.048 + 0.0133618330 = 0.0613618330
  const auto p = m.probabilities(space, s);
  REQUIRE(p.rows() == 1);
  REQUIRE(p.cols() == 4);
  CHECK(p(0, 0) == Approx(0.7563212279).epsilon(0).margin(1e-9));
  CHECK(p(0, 1) == Approx(0.0882870007).epsilon(0).margin(1e-9));
  CHECK(p(0, 2) == Approx(0.0940299383).epsilon(0).margin(1e-9));
  CHECK(p(0, 3) == Approx(0.0613618330).epsilon(0).margin(1e-9));
  CHECK(p.row(0).sum() == Approx(1.0).margin(kTol));

  const auto& rm = m.restriction_probability(space, s.stats);
  CHECK(rm(0, 0) == Approx(0.3632122791).epsilon(0).margin(1e-9));
  CHECK(rm(0, 1) == Approx(0.2828700074).epsilon(0).margin(1e-9));
  CHECK(rm(0, 2) == Approx(0.2202993833).epsilon(0).margin(1e-9));
  CHECK(rm(0, 3) == Approx(0.1336183303).epsilon(0).margin(1e-9));
}

TEST_CASE("eq. (1)-(3): eliminated ops get probability 0 and leave the sums", "[mutation]") {
  const BlockSpace space = four_op_space(2);
  SearchState s = state_for(space);
  // block 0: op 2 removed although it was sampled 4 times; Σsa runs over alive ops only:
  //   Σsa = 3 + 1 + 2 = 6; w1 = 5/6, w3 = 4/6, Σw = 1.5; p_mt = {0.8, 0.1111111111, -, 0.0888888889}
  //   p_rm over {0, 10, 40} with s = 40: {1, e^-.25, e^-1}/2.1466802 = {0.4658355673, 0.3627931046, -, 0.1713713282}
  //   p = {0.7665835567, 0.1362793105, 0, 0.0971371328}
  set_samples(s, 0, {3, 1, 4, 2});
  s.stats.alive(0, 2) = false;
  // block 1: the largest op (3) removed, so s = 20: p_rm = exp(-{0, .5, 1})/Σ = {0.5064803911, 0.3071958857, 0.1863237232}
  set_samples(s, 1, {1, 0, 0, 0});
  s.stats.alive(1, 3) = false;
  FaunaeMutation m(FaunaeMutationOptions{.epsilon = 0.2, .lambda1 = 0.9});
  const auto p = m.probabilities(space, s);
  CHECK(p(0, 0) == Approx(0.7665835567).epsilon(0).margin(1e-9));
  CHECK(p(0, 1) == Approx(0.1362793105).epsilon(0).margin(1e-9));
  CHECK(p(0, 2) == 0.0);
  CHECK(p(0, 3) == Approx(0.0971371328).epsilon(0).margin(1e-9));

  const auto& rm = m.restriction_probability(space, s.stats);
  CHECK(rm(1, 0) == Approx(0.5064803911).epsilon(0).margin(1e-9));
  CHECK(rm(1, 1) == Approx(0.3071958857).epsilon(0).margin(1e-9));
  CHECK(rm(1, 2) == Approx(0.1863237232).epsilon(0).margin(1e-9));
  CHECK(rm(1, 3) == 0.0);
  // block 1, eq. (1): Σsa = 1, w1 = w2 = 1 - 0 = 1: the others share ε equally: 0.1 each.
  CHECK(p(1, 0) == Approx(0.9 * 0.8 + 0.1 * 0.5064803911).epsilon(0).margin(1e-9));
  CHECK(p(1, 1) == Approx(0.9 * 0.1 + 0.1 * 0.3071958857).epsilon(0).margin(1e-9));
  CHECK(p(1, 2) == Approx(0.9 * 0.1 + 0.1 * 0.1863237232).epsilon(0).margin(1e-9));
  CHECK(p(1, 3) == 0.0);
  for (Eigen::Index b = 0; b < p.rows(); ++b) CHECK(p.row(b).sum() == Approx(1.0).margin(kTol));
}

TEST_CASE("eq. (1): no samples, or all weights zero, share epsilon equally", "[mutation]") {
  const BlockSpace space = four_op_space(2);
  SearchState s = state_for(space);
  // block 0: nothing sampled yet (Σsa = 0): 3 others get ε/3 each.
  // block 1: only ops 0 and 1 alive; op 1 sampled twice, the current op 0 never: w1 = 1 - 2/2 = 0,
  //          so the only other op gets all of ε.
  set_samples(s, 1, {0, 2, 0, 0});
  s.stats.alive(1, 2) = false;
  s.stats.alive(1, 3) = false;
  FaunaeMutation m(FaunaeMutationOptions{.epsilon = 0.3, .lambda1 = 1.0});
  const auto p = m.probabilities(space, s);
  CHECK(p(0, 0) == Approx(0.7).margin(kTol));
  for (Eigen::Index k = 1; k < 4; ++k) CHECK(p(0, k) == Approx(0.1).margin(kTol));
  CHECK(p(1, 0) == Approx(0.7).margin(kTol));
  CHECK(p(1, 1) == Approx(0.3).margin(kTol));
  CHECK(p(1, 2) == 0.0);
  CHECK(p(1, 3) == 0.0);
}

TEST_CASE("eq. (3): lambda1 = 1 switches the size restriction off", "[mutation]") {
  const BlockSpace space = four_op_space(1);
  SearchState s = state_for(space);
  set_samples(s, 0, {3, 1, 0, 2});
  FaunaeMutation m(FaunaeMutationOptions{.epsilon = 0.2, .lambda1 = 1.0});
  const auto p = m.probabilities(space, s);
  // exactly p_mt of the first case
  CHECK(p(0, 0) == Approx(0.8).margin(kTol));
  CHECK(p(0, 1) == Approx(0.2 / 3.0).margin(kTol));
  CHECK(p(0, 2) == Approx(0.08).margin(kTol));
  CHECK(p(0, 3) == Approx(0.16 / 3.0).margin(kTol));
}

TEST_CASE("eq. (3): lambda1 = 0 leaves only the restriction metric", "[mutation]") {
  const BlockSpace space = four_op_space(1);
  SearchState s = state_for(space);
  set_samples(s, 0, {3, 1, 0, 2});
  FaunaeMutation m(FaunaeMutationOptions{.epsilon = 0.2, .lambda1 = 0.0});
  const auto p = m.probabilities(space, s);
  const auto& rm = m.restriction_probability(space, s.stats);
  for (Eigen::Index k = 0; k < 4; ++k) CHECK(p(0, k) == Approx(rm(0, k)).margin(kTol));
  CHECK(p(0, 3) < p(0, 2));  // smaller ops are preferred
  CHECK(p(0, 2) < p(0, 1));
}

TEST_CASE("eq. (1)-(3): a block with one alive op keeps it with probability 1", "[mutation]") {
  const BlockSpace space = four_op_space(2);
  SearchState s = state_for(space);
  s.current = Architecture{2, 0};
  for (Eigen::Index k : {0, 1, 3}) s.stats.alive(0, k) = false;  // block 0: only op 2 left
  set_samples(s, 0, {5, 5, 5, 5});
  FaunaeMutation m(FaunaeMutationOptions{.epsilon = 1.0, .lambda1 = 0.5});
  const auto p = m.probabilities(space, s);
  CHECK(p(0, 2) == 1.0);
  CHECK(p(0, 0) == 0.0);
  CHECK(p(0, 1) == 0.0);
  CHECK(p(0, 3) == 0.0);
  CHECK(p.row(1).sum() == Approx(1.0).margin(kTol));

  faunae::Rng rng(3);
  for (int i = 0; i < 50; ++i) CHECK(m.propose(space, s, rng).architecture[0] == 2);
}

TEST_CASE("eq. (1)-(3): probabilities sum to one in every block of a random state", "[mutation]") {
  // blocks of 2..6 ops, random samples and removals, every current op alive
  std::vector<Block> blocks;
  for (std::size_t b = 0; b < 5; ++b) {
    Block block{fmt::format("b{}", b), {}, std::nullopt};
    for (std::size_t k = 0; k < b + 2; ++k) block.ops.push_back(Op{fmt::format("o{}", k), double(k * k) * 1e3});
    blocks.push_back(block);
  }
  const BlockSpace space(blocks, Architecture{0, 0, 0, 0, 0});
  faunae::Rng rng(99);
  FaunaeMutation m;
  for (int trial = 0; trial < 200; ++trial) {
    SearchState s = state_for(space);
    for (std::size_t b = 0; b < 5; ++b) {
      const auto ops = space.num_ops(b);
      for (std::size_t k = 0; k < ops; ++k) {
        s.stats.samples(Eigen::Index(b), Eigen::Index(k)) = std::int64_t(rng.below(6));
        if (rng.uniform() < 0.3) s.stats.alive(Eigen::Index(b), Eigen::Index(k)) = false;
      }
      s.current[b] = rng.below(ops);
      s.stats.alive(Eigen::Index(b), Eigen::Index(s.current[b])) = true;
    }
    const auto p = m.probabilities(space, s);
    for (std::size_t b = 0; b < 5; ++b) {
      INFO("trial " << trial << " block " << b);
      CHECK(p.row(Eigen::Index(b)).sum() == Approx(1.0).margin(1e-12));
      for (Eigen::Index k = 0; k < p.cols(); ++k) {
        CHECK(p(Eigen::Index(b), k) >= 0.0);
        if (!s.stats.alive(Eigen::Index(b), k)) CHECK(p(Eigen::Index(b), k) == 0.0);
      }
    }
  }
}

TEST_CASE("eq. (2): huge model sizes neither overflow nor underflow to nothing", "[mutation]") {
  const BlockSpace space = faunae::uniform_space(1, {{"a", 0.0}, {"b", 1e12}, {"c", 2e12}}, Architecture{0});
  SearchState s = state_for(space);

  SECTION("per-block scale: s = 2e12, p_rm = softmax(-{0, .5, 1})") {
    FaunaeMutation m(FaunaeMutationOptions{.lambda1 = 0.0});
    const auto& rm = m.restriction_probability(space, s.stats);
    CHECK(rm(0, 0) == Approx(0.5064803911).epsilon(0).margin(1e-9));
    CHECK(rm(0, 1) == Approx(0.3071958857).epsilon(0).margin(1e-9));
    CHECK(rm(0, 2) == Approx(0.1863237232).epsilon(0).margin(1e-9));
  }
  SECTION("fixed unit 1: exp(-1e12) underflows, the smallest op takes everything") {
    FaunaeMutation m(FaunaeMutationOptions{.lambda1 = 0.0, .size_unit = 1.0});
    const auto p = m.probabilities(space, s);
    CHECK(std::isfinite(p.sum()));
    CHECK(p(0, 0) == Approx(1.0).margin(kTol));
    CHECK(p(0, 1) == 0.0);
  }
  SECTION("fixed unit 1, sizes 1e12 and 1e12 + 1: the shift by the smallest size keeps both") {
    const BlockSpace big = faunae::uniform_space(1, {{"a", 1e12}, {"b", 1e12 + 1.0}}, Architecture{0});
    SearchState sb = state_for(big);
    FaunaeMutation m(FaunaeMutationOptions{.lambda1 = 0.0, .size_unit = 1.0});
    const auto& rm = m.restriction_probability(big, sb.stats);
    // softmax(-{0, 1}) = {1/(1+e^-1), e^-1/(1+e^-1)} = {0.7310585786, 0.2689414214}
    CHECK(rm(0, 0) == Approx(0.7310585786).epsilon(0).margin(1e-9));
    CHECK(rm(0, 1) == Approx(0.2689414214).epsilon(0).margin(1e-9));
  }
  SECTION("all sizes zero: p_rm is uniform") {
    const BlockSpace flat = faunae::uniform_space(1, {{"a", 0.0}, {"b", 0.0}, {"c", 0.0}, {"d", 0.0}}, Architecture{0});
    SearchState sf = state_for(flat);
    FaunaeMutation m;
    const auto& rm = m.restriction_probability(flat, sf.stats);
    for (Eigen::Index k = 0; k < 4; ++k) CHECK(rm(0, k) == Approx(0.25).margin(kTol));
  }
}

TEST_CASE("eq. (2): the restriction follows the space it is given", "[mutation]") {
  // One policy object asked about two different spaces that live at the same address (a reused
  // variable): the second answer must be about the second space.
  FaunaeMutation m(FaunaeMutationOptions{.lambda1 = 0.0});
  std::optional<BlockSpace> space;
  space.emplace(faunae::uniform_space(1, {{"a", 0.0}, {"b", 10.0}}, Architecture{0}));
  SearchState s = state_for(*space);
  const double first = m.probabilities(*space, s)(0, 1);  // e^-1/(1+e^-1)
  CHECK(first == Approx(0.2689414214).epsilon(0).margin(1e-9));
  space.emplace(faunae::uniform_space(1, {{"a", 10.0}, {"b", 0.0}}, Architecture{0}));
  const double second = m.probabilities(*space, s)(0, 1);  // 1/(1+e^-1)
  CHECK(second == Approx(0.7310585786).epsilon(0).margin(1e-9));
}

TEST_CASE("propose draws each block from p", "[mutation]") {
  const BlockSpace space = four_op_space(1);
  SearchState s = state_for(space);
  set_samples(s, 0, {3, 1, 0, 2});

  SECTION("epsilon 0 and lambda1 1: the current op is always kept") {
    FaunaeMutation m(FaunaeMutationOptions{.epsilon = 0.0, .lambda1 = 1.0});
    faunae::Rng rng(1);
    for (int i = 0; i < 100; ++i) CHECK(m.propose(space, s, rng).architecture == Architecture{0});
  }
  SECTION("epsilon 1 and lambda1 1: the current op is always left") {
    FaunaeMutation m(FaunaeMutationOptions{.epsilon = 1.0, .lambda1 = 1.0});
    faunae::Rng rng(2);
    for (int i = 0; i < 100; ++i) CHECK(m.propose(space, s, rng).architecture[0] != 0);
  }
  SECTION("the frequencies of 40000 draws match p (deterministic seed)") {
    FaunaeMutation m(FaunaeMutationOptions{.epsilon = 0.2, .lambda1 = 0.9});
    faunae::Rng rng(12345);
    std::vector<int> counts(4, 0);
    faunae::Proposal last;
    constexpr int n = 40000;
    for (int i = 0; i < n; ++i) {
      last = m.propose(space, s, rng);
      ++counts[last.architecture[0]];
    }
    const double expected[] = {0.7563212279, 0.0882870007, 0.0940299383, 0.0613618330};
    for (std::size_t k = 0; k < 4; ++k) {
      INFO("op " << k);
      CHECK(counts[k] / double(n) == Approx(expected[k]).margin(0.01));
      CHECK(last.probabilities(0, Eigen::Index(k)) == Approx(expected[k]).margin(1e-9));
    }
  }
}

TEST_CASE("FaunaeMutation rejects bad options with the bad value in the message", "[mutation][errors]") {
  using faunae::InvalidArgument;
  REQUIRE_THROWS_MATCHES(FaunaeMutation(FaunaeMutationOptions{.epsilon = 1.5}), InvalidArgument,
                         What(Contains("epsilon") && Contains("1.5")));
  REQUIRE_THROWS_MATCHES(FaunaeMutation(FaunaeMutationOptions{.epsilon = -0.1}), InvalidArgument,
                         What(Contains("epsilon") && Contains("-0.1")));
  REQUIRE_THROWS_MATCHES(FaunaeMutation(FaunaeMutationOptions{.lambda1 = std::nan("")}), InvalidArgument,
                         What(Contains("lambda1") && Contains("nan")));
  REQUIRE_THROWS_MATCHES(FaunaeMutation(FaunaeMutationOptions{.lambda1 = 2.0}), InvalidArgument, What(Contains("lambda1")));
  REQUIRE_THROWS_MATCHES(FaunaeMutation(FaunaeMutationOptions{.size_unit = -1.0}), InvalidArgument,
                         What(Contains("size_unit") && Contains("-1")));
  REQUIRE_THROWS_MATCHES(FaunaeMutation(FaunaeMutationOptions{.size_unit = INFINITY}), InvalidArgument,
                         What(Contains("size_unit") && Contains("inf")));
  CHECK_NOTHROW(FaunaeMutation(FaunaeMutationOptions{.epsilon = 0.0, .lambda1 = 1.0}));
  CHECK_NOTHROW(FaunaeMutation(FaunaeMutationOptions{.epsilon = 1.0, .lambda1 = 0.0}));
}

TEST_CASE("the default ε is the documented choice 0.5, λ1 the paper's 0.9", "[mutation]") {
  // docs/algorithm.md ("ε"): chosen from the ε sweep on NAS-Bench-Macro in docs/experiment-log.md.
  CHECK(FaunaeMutationOptions{}.epsilon == 0.5);
  CHECK(FaunaeMutationOptions{}.lambda1 == 0.9);
}

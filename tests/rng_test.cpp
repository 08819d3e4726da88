// Rng: xoshiro256** seeded by splitmix64, with reference values computed independently (Python,
// from the published algorithms), so a seed means the same search on every compiler.
#include <array>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::InvalidArgument;
using faunae::IoError;
using faunae::Rng;

TEST_CASE("Rng reproduces the reference xoshiro256 star-star streams", "[rng][reproducibility]") {
  Rng zero(0);
  CHECK(zero() == 0x99ec5f36cb75f2b4ULL);
  CHECK(zero() == 0xbf6e1f784956452aULL);
  CHECK(zero() == 0x1a5f849d4933e6e0ULL);
  Rng answer(42);
  CHECK(answer() == 0x15780b2e0c2ec716ULL);
  CHECK(answer() == 0x6104d9866d113a7eULL);
  CHECK(answer() == 0xae17533239e499a1ULL);
  // uniform(): the top 53 bits of the first output of seed 0, times 2^-53
  CHECK(Rng(0).uniform() == 0.6012629994179048);
  Rng default_constructed;
  CHECK(default_constructed == Rng(0));
}

TEST_CASE("Rng reseed, state and JSON round trip", "[rng]") {
  Rng a(5);
  for (int i = 0; i < 10; ++i) a();
  Rng b;
  b.set_state(a.state());
  CHECK(a == b);
  const nlohmann::json j = a;
  const Rng c = j.get<Rng>();
  CHECK(c == a);
  CHECK(a() == b());
  a.reseed(5);
  CHECK(a == Rng(5));
  REQUIRE_THROWS_MATCHES(b.set_state(Rng::State{0, 0, 0, 0}), InvalidArgument, What(Contains("all-zero")));
  CHECK_THROWS_MATCHES(nlohmann::json::array({1, 2, 3}).get<Rng>(), IoError, What(Contains("array of 4")));
  CHECK_THROWS_MATCHES(nlohmann::json::array({1, 2, -3, 4}).get<Rng>(), IoError, What(Contains("state word 2")));
  CHECK_THROWS_MATCHES(nlohmann::json("x").get<Rng>(), IoError, What(Contains("array of 4")));
}

TEST_CASE("Rng::below is uniform below n and refuses n = 0", "[rng]") {
  Rng rng(1);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto x = rng.below(7);
    REQUIRE(x < 7);
    ++counts[x];
  }
  for (int c : counts) CHECK(c == Approx(10000).margin(400));
  CHECK(rng.below(1) == 0);
  REQUIRE_THROWS_MATCHES(rng.below(0), InvalidArgument, What(Contains("below()") && Contains("got 0")));
}

TEST_CASE("Rng::uniform stays in the half-open unit interval", "[rng]") {
  Rng rng(2);
  double lo = 1.0, hi = 0.0, sum = 0.0;
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(sum / 100000 == Approx(0.5).margin(0.005));
}

TEST_CASE("Rng::categorical follows the weights and never returns a zero weight", "[rng]") {
  Rng rng(3);
  const std::vector<double> w{0.0, 1.0, 0.0, 3.0, 0.0};
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 40000; ++i) ++counts[rng.categorical(w)];
  CHECK(counts[0] == 0);
  CHECK(counts[2] == 0);
  CHECK(counts[4] == 0);
  CHECK(counts[1] / 40000.0 == Approx(0.25).margin(0.01));
  CHECK(counts[3] / 40000.0 == Approx(0.75).margin(0.01));
  // a single positive weight, even a tiny one, is always drawn
  const std::vector<double> one{0.0, 0.0, 1e-300};
  for (int i = 0; i < 100; ++i) CHECK(rng.categorical(one) == 2);
}

TEST_CASE("Rng::categorical refuses weights without a positive finite sum", "[rng][errors]") {
  Rng rng(4);
  const Rng before = rng;
  const std::vector<double> zeros{0.0, 0.0, 0.0};
  REQUIRE_THROWS_MATCHES(rng.categorical(zeros), InvalidArgument,
                         What(Contains("categorical") && Contains("positive finite sum") && Contains("got sum 0")));
  const std::vector<double> empty;
  REQUIRE_THROWS_MATCHES(rng.categorical(empty), InvalidArgument, What(Contains("positive finite sum")));
  const std::vector<double> nan{0.5, std::nan("")};
  REQUIRE_THROWS_MATCHES(rng.categorical(nan), InvalidArgument, What(Contains("got sum nan")));
  const std::vector<double> inf{0.5, std::numeric_limits<double>::infinity()};
  REQUIRE_THROWS_MATCHES(rng.categorical(inf), InvalidArgument, What(Contains("got sum inf")));
  CHECK(rng == before);  // a refused draw consumes nothing
}

TEST_CASE("Rng::normal: Marsaglia's polar method, reproducible by seed", "[rng][reproducibility]") {
  // Reference values computed independently (Python, from the published method on the same uniform()
  // stream). A few ulps of slack: the draw goes through the C library's log.
  Rng zero(0);
  CHECK(zero.normal() == Approx(0.5981026483626094).epsilon(1e-15));
  CHECK(zero.normal() == Approx(-0.8950525532379914).epsilon(1e-15));
  CHECK(zero.normal() == Approx(-2.415606685712082).epsilon(1e-15));
  Rng answer(42);
  CHECK(answer.normal() == Approx(-0.7262191382447857).epsilon(1e-15));
  CHECK(answer.normal() == Approx(0.2216227015035933).epsilon(1e-15));
  CHECK(answer.normal() == Approx(0.46417731016247366).epsilon(1e-15));

  Rng a(17), b(17), c(18);
  std::vector<double> xa, xb, xc;
  for (int i = 0; i < 1000; ++i) {
    xa.push_back(a.normal());
    xb.push_back(b.normal());
    xc.push_back(c.normal());
  }
  CHECK(xa == xb);  // bit for bit
  CHECK(xa != xc);
  CHECK(a == b);  // the state is the four words alone: no cached second value
  // resuming from a saved state continues the same stream
  Rng saved;
  saved.set_state(a.state());
  for (int i = 0; i < 100; ++i) REQUIRE(saved.normal() == a.normal());
}

TEST_CASE("Rng::normal: mean 0, variance 1 and normal tails over 200k draws", "[rng]") {
  Rng rng(6);
  constexpr int n = 200000;
  double sum = 0.0, sum_sq = 0.0;
  int beyond_2 = 0, beyond_3 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    REQUIRE(std::isfinite(x));
    sum += x;
    sum_sq += x * x;
    beyond_2 += std::abs(x) > 2.0;
    beyond_3 += std::abs(x) > 3.0;
  }
  const double mean = sum / n;
  const double variance = sum_sq / n - mean * mean;
  CHECK(std::abs(mean) < 0.01);                          // standard error 0.0022
  CHECK(variance == Approx(1.0).margin(0.02));           // standard error 0.0032
  CHECK(beyond_2 / double(n) == Approx(0.0455).margin(0.003));   // P(|Z| > 2) = 0.04550
  CHECK(beyond_3 / double(n) == Approx(0.0027).margin(0.0007));  // P(|Z| > 3) = 0.00270
}

TEST_CASE("Rng::normal_pair: the first value is normal()'s, both standard normal and uncorrelated", "[rng]") {
  faunae::Rng a(17), b(17);
  for (int i = 0; i < 100; ++i) CHECK(a.normal_pair().first == b.normal());
  faunae::Rng rng(3);
  const int n = 200000;
  double s1 = 0, s2 = 0, q1 = 0, q2 = 0, cross = 0;
  for (int i = 0; i < n; ++i) {
    const auto [x, y] = rng.normal_pair();
    s1 += x;
    s2 += y;
    q1 += x * x;
    q2 += y * y;
    cross += x * y;
  }
  CHECK(std::abs(s1 / n) < 0.01);
  CHECK(std::abs(s2 / n) < 0.01);
  CHECK(q1 / n == Approx(1.0).margin(0.02));
  CHECK(q2 / n == Approx(1.0).margin(0.02));
  CHECK(std::abs(cross / n) < 0.01);
}

TEST_CASE("stream_seed: a pure function of seed, purpose and index, and distinct streams for distinct inputs", "[rng]") {
  STATIC_REQUIRE(faunae::stream_seed(7, "moco.queue") == faunae::stream_seed(7, "moco.queue", 0));  // constexpr, index 0 by default
  CHECK(faunae::stream_seed(7, "moco.queue") == faunae::stream_seed(7, "moco.queue"));
  std::set<std::uint64_t> seen;
  std::size_t made = 0;
  for (std::uint64_t seed : {0ULL, 1ULL, 2ULL, 3ULL, 7919ULL, ~0ULL})
    for (const char* purpose : {"moco.queue", "moco.augment", "evaluator.order", "train.order", ""})
      for (std::uint64_t index = 0; index < 4; ++index) {
        seen.insert(faunae::stream_seed(seed, purpose, index));
        ++made;
      }
  CHECK(seen.size() == made);  // no two (seed, purpose, index) share a stream
  // Not an offset of the seed: neighbouring seeds and ranks give unrelated streams.
  CHECK(faunae::stream_seed(1, "moco.augment", 0) != faunae::stream_seed(0, "moco.augment", 1));
  CHECK(faunae::stream_seed(0, "moco.augment") != 0);
  faunae::Rng a(faunae::stream_seed(5, "x")), b(faunae::stream_seed(5, "y"));
  CHECK(a() != b());
}

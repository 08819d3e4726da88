// Rank correlations (core/rank_correlation.hpp) against values computed by hand.
#include <cmath>
#include <vector>

#include "catch.hpp"

#include "faunae/core/rank_correlation.hpp"

TEST_CASE("kendall_tau_b and spearman_rho match hand computations", "[ranks]") {
  // One discordant pair of six: τ = (5 − 1) / 6; Σd² = 2: ρ = 1 − 6·2 / (4·15).
  const std::vector<double> x{1, 2, 3, 4}, y{1, 3, 2, 4};
  CHECK(faunae::kendall_tau_b(x, y) == Approx(4.0 / 6.0));
  CHECK(faunae::spearman_rho(x, y) == Approx(0.8));
  // Ties in both: C − D = 4 over 5 untied pairs in each (τ_b = 4 / √(5·5)); average ranks
  // (1.5, 1.5, 3, 4) and (1, 2, 3.5, 3.5): ρ = 4 / 4.5.
  const std::vector<double> tx{1, 1, 2, 3}, ty{1, 2, 3, 3};
  CHECK(faunae::kendall_tau_b(tx, ty) == Approx(0.8));
  CHECK(faunae::spearman_rho(tx, ty) == Approx(4.0 / 4.5));
  // Reversed order: −1; any monotone transform leaves both unchanged.
  const std::vector<double> r{40, 30, 20, 10}, e{std::exp(1.0), std::exp(3.0), std::exp(2.0), std::exp(4.0)};
  CHECK(faunae::kendall_tau_b(x, r) == Approx(-1.0));
  CHECK(faunae::spearman_rho(x, r) == Approx(-1.0));
  CHECK(faunae::kendall_tau_b(x, e) == Approx(4.0 / 6.0));
  // A constant sequence ranks nothing.
  const std::vector<double> flat{2, 2, 2, 2};
  CHECK(std::isnan(faunae::kendall_tau_b(x, flat)));
  CHECK(std::isnan(faunae::spearman_rho(flat, y)));
}

TEST_CASE("rank correlations refuse bad input with the function and the value", "[ranks]") {
  const std::vector<double> a{1, 2, 3}, b{1, 2};
  CHECK_THROWS_WITH(faunae::kendall_tau_b(a, b), faunae_test::Contains("kendall_tau_b") &&
                                                     faunae_test::Contains("equally long, got 3 and 2"));
  const std::vector<double> one{1};
  CHECK_THROWS_WITH(faunae::spearman_rho(one, one), faunae_test::Contains("at least 2 pairs"));
  const std::vector<double> bad{1, NAN, 3};
  CHECK_THROWS_WITH(faunae::spearman_rho(a, bad), faunae_test::Contains("pair 1 is not finite"));
}

TEST_CASE("bootstrap_interval brackets the statistic and is reproducible", "[ranks]") {
  std::vector<double> x, y;
  faunae::Rng noise(7);
  for (int i = 0; i < 60; ++i) {
    x.push_back(i);
    y.push_back(i + 20.0 * noise.uniform());
  }
  const double tau = faunae::kendall_tau_b(x, y);
  faunae::Rng r1(1), r2(1);
  const auto ci = faunae::bootstrap_interval(x, y, faunae::kendall_tau_b, 500, 0.95, r1);
  const auto again = faunae::bootstrap_interval(x, y, faunae::kendall_tau_b, 500, 0.95, r2);
  CHECK(ci.low < tau);
  CHECK(tau < ci.high);
  CHECK(ci.high - ci.low < 0.5);
  CHECK(ci.low == again.low);
  CHECK(ci.high == again.high);
  CHECK_THROWS_WITH(faunae::bootstrap_interval(x, y, faunae::kendall_tau_b, 500, 1.5, r1), faunae_test::Contains("level must be in (0, 1), got 1.5"));
}

// Rank correlations, for judging how well a score ranks architectures against a ground truth
// (benchmarks/evaluator_fidelity.cpp, docs/benchmarks.md):
//
//   double tau = faunae::kendall_tau_b(score, truth);       // in [−1, 1]; ties handled (τ_b)
//   double rho = faunae::spearman_rho(score, truth);        // Pearson correlation of average ranks
//   auto ci = faunae::bootstrap_interval(score, truth, faunae::kendall_tau_b, 2000, 0.95, rng);
//
// Both statistics take two equally long sequences of finite numbers (at least 2) and return NaN when
// one of them is constant (no ranking to compare). bootstrap_interval resamples the pairs with
// replacement and returns the percentile interval of the statistic (resamples whose statistic is NaN
// are skipped). Errors are InvalidArgument naming the function and the bad value.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"

namespace faunae {

namespace detail::ranks {

inline void check_pairs(std::span<const double> x, std::span<const double> y, std::string_view where) {
  if (x.size() != y.size())
    throw InvalidArgument(fmt::format("{}: the two sequences must be equally long, got {} and {}", where, x.size(), y.size()));
  if (x.size() < 2) throw InvalidArgument(fmt::format("{}: at least 2 pairs are needed, got {}", where, x.size()));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]))
      throw InvalidArgument(fmt::format("{}: pair {} is not finite: ({}, {})", where, i, x[i], y[i]));
}

/// Average ranks (1-based; ties share the mean of their ranks).
inline std::vector<double> average_ranks(std::span<const double> v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double mean = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = mean;
    i = j + 1;
  }
  return rank;
}

}  // namespace detail::ranks

/// Kendall's τ_b: (concordant − discordant) / sqrt((n0 − ties in x)(n0 − ties in y)), n0 = n(n−1)/2.
/// O(n²). NaN when x or y is constant.
inline double kendall_tau_b(std::span<const double> x, std::span<const double> y) {
  detail::ranks::check_pairs(x, y, "faunae::kendall_tau_b()");
  double concordant_minus_discordant = 0.0, pairs_x = 0.0, pairs_y = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      const int sx = (dx > 0) - (dx < 0), sy = (dy > 0) - (dy < 0);
      concordant_minus_discordant += sx * sy;
      pairs_x += sx != 0;
      pairs_y += sy != 0;
    }
  if (pairs_x == 0.0 || pairs_y == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return concordant_minus_discordant / std::sqrt(pairs_x * pairs_y);
}

/// Spearman's ρ: the Pearson correlation of the average ranks. NaN when x or y is constant.
inline double spearman_rho(std::span<const double> x, std::span<const double> y) {
  detail::ranks::check_pairs(x, y, "faunae::spearman_rho()");
  const auto rx = detail::ranks::average_ranks(x), ry = detail::ranks::average_ranks(y);
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n, my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  if (sxx == 0.0 || syy == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

/// A percentile bootstrap interval.
struct Interval {
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

/// The `level` percentile bootstrap interval of statistic(x, y) over `resamples` resamples of the
/// pairs with replacement, drawn from `rng`. Resamples with a NaN statistic are skipped; NaN bounds
/// when all are.
template <class Statistic>
Interval bootstrap_interval(std::span<const double> x, std::span<const double> y, Statistic&& statistic, std::size_t resamples,
                            double level, Rng& rng) {
  detail::ranks::check_pairs(x, y, "faunae::bootstrap_interval()");
  if (resamples < 1) throw InvalidArgument("faunae::bootstrap_interval(): resamples must be positive, got 0");
  if (!(level > 0.0 && level < 1.0)) throw InvalidArgument(fmt::format("faunae::bootstrap_interval(): level must be in (0, 1), got {}", level));
  std::vector<double> values, rx(x.size()), ry(y.size());
  values.reserve(resamples);
  for (std::size_t r = 0; r < resamples; ++r) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto k = static_cast<std::size_t>(rng.below(x.size()));
      rx[i] = x[k];
      ry[i] = y[k];
    }
    const double v = statistic(std::span<const double>(rx), std::span<const double>(ry));
    if (!std::isnan(v)) values.push_back(v);
  }
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
  };
  return {at(0.5 * (1.0 - level)), at(0.5 * (1.0 + level))};
}

}  // namespace faunae

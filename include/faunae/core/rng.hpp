// The random number generator of every stochastic component of faunae.
//
// Why not std::mt19937 with std::uniform_real_distribution: the distributions of the standard
// library are implementation-defined, so a seed would not reproduce a search across compilers.
// xoshiro256** (Blackman & Vigna) is fast, its state is four 64-bit words that serialize exactly to
// JSON, and the draws we need (a uniform double, an integer below n, a categorical index, a standard
// normal) are written here.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/error.hpp"
#include "faunae/core/hash.hpp"

namespace faunae {

/// The seed of one purpose of a component, derived from the user's seed: every purpose (a name such as
/// "moco.queue") and index (a process rank, a repetition) gets its own generator, so that no two
/// components share random numbers and adding a draw to one shifts no other's. Used everywhere a
/// component seeds a generator or initial weights from a user's seed (docs/algorithm.md, "Seeds").
///
///   torch::Generator views = make_generator(faunae::stream_seed(options.seed, "moco.augment", rank));
constexpr std::uint64_t stream_seed(std::uint64_t seed, std::string_view purpose, std::uint64_t index = 0) noexcept {
  return splitmix64(fnv1a64(purpose) ^ splitmix64(seed ^ splitmix64(index)));
}

class Rng {
 public:
  using result_type = std::uint64_t;
  using State = std::array<std::uint64_t, 4>;

  Rng() noexcept : Rng(0) {}
  explicit Rng(std::uint64_t seed) noexcept { reseed(seed); }

  /// Seeds the four state words from `seed` with splitmix64, as the xoshiro authors recommend.
  void reseed(std::uint64_t seed) noexcept {
    // Successive outputs of a splitmix64 generator started at `seed` (its state steps by the golden gamma).
    std::uint64_t x = seed;
    for (auto& word : state_) {
      word = splitmix64(x);
      x += 0x9e3779b97f4a7c15ULL;
    }
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  result_type operator()() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n), n > 0, without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n) {
    if (n == 0) throw InvalidArgument("faunae::Rng::below(): n must be positive, got 0");
    __uint128_t m = static_cast<__uint128_t>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// Standard normal draw N(0, 1) by Marsaglia's polar method: (u, v) uniform in the square
  /// [−1, 1)², rejected until 0 < s = u² + v² < 1, then u·sqrt(−2 ln s / s). The method yields two
  /// independent normals per accepted pair; the second (v·sqrt(...)) is discarded so that the state
  /// stays the four words of state() (no cached value to checkpoint). Consumes 2 uniform() per try,
  /// 4/π tries on average. Besides IEEE arithmetic and sqrt (both exactly rounded), the draw depends
  /// only on std::log, so a seed gives the same values wherever the C library's log agrees.
  double normal() noexcept {
    for (;;) {
      const double u = 2.0 * uniform() - 1.0;
      const double v = 2.0 * uniform() - 1.0;
      const double s = u * u + v * v;
      if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * std::log(s) / s);
    }
  }

  /// Two independent standard normal draws from one accepted pair of the polar method (normal()'s
  /// first value and the one it discards): half the uniforms and logarithms per value, for callers
  /// that need many.
  std::pair<double, double> normal_pair() noexcept {
    for (;;) {
      const double u = 2.0 * uniform() - 1.0;
      const double v = 2.0 * uniform() - 1.0;
      const double s = u * u + v * v;
      if (s > 0.0 && s < 1.0) {
        const double f = std::sqrt(-2.0 * std::log(s) / s);
        return {u * f, v * f};
      }
    }
  }

  /// Index drawn with probability proportional to `weights` (non-negative, positive sum).
  /// Zero-weight entries are never returned.
  std::size_t categorical(std::span<const double> weights) {
    double total = 0.0;
    for (double w : weights) total += w;
    if (!(total > 0.0) || !std::isfinite(total))
      throw InvalidArgument(fmt::format(
          "faunae::Rng::categorical(): weights must be non-negative with a positive finite sum, got sum {}",
          total));
    const double target = uniform() * total;
    double cumulative = 0.0;
    std::size_t last_positive = 0;
    for (std::size_t k = 0; k < weights.size(); ++k) {
      if (weights[k] <= 0.0) continue;
      cumulative += weights[k];
      last_positive = k;
      if (target < cumulative) return k;
    }
    return last_positive;  // rounding left target at the very top: the last positive entry
  }

  const State& state() const noexcept { return state_; }
  void set_state(const State& s) {
    if (s == State{0, 0, 0, 0})
      throw InvalidArgument("faunae::Rng::set_state(): the all-zero state is not a valid xoshiro256** state");
    state_ = s;
  }

  friend bool operator==(const Rng&, const Rng&) = default;

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  State state_{};
};

inline void to_json(nlohmann::json& j, const Rng& rng) { j = rng.state(); }
inline void from_json(const nlohmann::json& j, Rng& rng) {
  if (!j.is_array() || j.size() != 4)
    throw IoError(fmt::format("faunae::Rng from JSON: expected an array of 4 unsigned integers, got {}",
                              j.dump().substr(0, 80)));
  Rng::State s{};
  for (std::size_t i = 0; i < 4; ++i) {
    if (!j[i].is_number_unsigned() && !(j[i].is_number_integer() && j[i].get<std::int64_t>() >= 0))
      throw IoError(fmt::format("faunae::Rng from JSON: state word {} is not an unsigned integer: {}", i,
                                j[i].dump()));
    s[i] = j[i].get<std::uint64_t>();
  }
  rng.set_state(s);
}

}  // namespace faunae

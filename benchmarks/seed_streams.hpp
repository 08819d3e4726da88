// Seed streams of the search-quality benchmarks: every (method, budget, purpose, seed) gets its own
// generator seed, so methods never share noise draws and adding a method shifts no other's numbers.
#pragma once

#include <cstdint>
#include <string_view>

#include "faunae/core/atomic_file.hpp"  // fnv1a64

namespace faunae_bench {

/// splitmix64's output function (Steele, Lea, Flood 2014): a 64-bit mix of `x` + the golden gamma.
inline std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A seed for one purpose ("evaluator", "search", ...) of one stream (method and budget) and seed.
inline std::uint64_t stream_seed(std::string_view stream, std::string_view purpose, std::uint64_t seed) {
  return splitmix(faunae::fnv1a64(stream) ^ splitmix(faunae::fnv1a64(purpose) ^ splitmix(seed)));
}

}  // namespace faunae_bench

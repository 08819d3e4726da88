// Seed streams of the search-quality benchmarks: every (method, budget, purpose, seed) gets its own
// generator seed, so methods never share noise draws and adding a method shifts no other's numbers.
#pragma once

#include <cstdint>
#include <string_view>

#include "faunae/core/hash.hpp"  // fnv1a64, splitmix64

namespace faunae_bench {

using faunae::splitmix64;

/// A seed for one purpose ("evaluator", "search", ...) of one stream (method and budget) and seed.
inline std::uint64_t stream_seed(std::string_view stream, std::string_view purpose, std::uint64_t seed) {
  return splitmix64(faunae::fnv1a64(stream) ^ splitmix64(faunae::fnv1a64(purpose) ^ splitmix64(seed)));
}

}  // namespace faunae_bench

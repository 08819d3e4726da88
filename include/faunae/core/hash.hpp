// Small non-cryptographic hashes: FNV-1a for checksums and names, splitmix64's finaliser for seeds.
#pragma once

#include <cstdint>
#include <string_view>

namespace faunae {

/// FNV-1a, 64 bits: detects truncation and bit rot in checkpoints (not an adversary), and turns a name
/// into a number (seed streams).
constexpr std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// splitmix64's output function (Steele, Lea, Flood 2014) applied to `x` + the golden gamma: a
/// bijective 64-bit mix in which every input bit affects every output bit.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace faunae

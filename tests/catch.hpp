// Catch2 for faunae's tests, version 2 (Debian 12: one header) or 3 (Debian 13: a library). Every test
// file includes this instead of Catch2's own header (the Torch tests through catch_torch.hpp), so that
// one set of test sources builds with both. What the tests use under one name in either version:
//   Approx                   v2: ::Approx; v3: Catch::Approx
//   faunae_test::Contains    the string matcher (v2: Catch::Matchers::Contains;
//                            v3: Catch::Matchers::ContainsSubstring, since v3's Contains is the range one)
//   faunae_test::MatcherBase v2: Catch::MatcherBase; v3: Catch::Matchers::MatcherBase
// tests/catch2.cmake finds the library and links it (target faunae_catch2).
#pragma once

#include <string>

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define FAUNAE_CATCH2_MAJOR 3

using Catch::Approx;

namespace faunae_test {
template <class T>
using MatcherBase = Catch::Matchers::MatcherBase<T>;

inline Catch::Matchers::StringContainsMatcher Contains(const std::string& substring,
                                                       Catch::CaseSensitive cs = Catch::CaseSensitive::Yes) {
  return Catch::Matchers::ContainsSubstring(substring, cs);
}
}  // namespace faunae_test

#elif __has_include(<catch2/catch.hpp>)
#include <catch2/catch.hpp>
#define FAUNAE_CATCH2_MAJOR 2

namespace faunae_test {
template <class T>
using MatcherBase = Catch::MatcherBase<T>;

using Catch::Matchers::Contains;
}  // namespace faunae_test

#else
#error "faunae tests: Catch2 not found: neither <catch2/catch_all.hpp> (v3) nor <catch2/catch.hpp> (v2); apt-get install catch2"
#endif

// Matches an exception whose what() satisfies a Catch string matcher, e.g.
//   CHECK_THROWS_MATCHES(f(), faunae::IoError, What(Contains("truncated")));
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "catch_torch.hpp"

namespace faunae_test {

template <class StringMatcher>
struct WhatMatcher : MatcherBase<std::exception> {
  explicit WhatMatcher(StringMatcher m) : m(std::move(m)) {}
  bool match(const std::exception& e) const override { return m.match(e.what()); }
  std::string describe() const override { return "has a message that " + m.describe(); }
  StringMatcher m;
};

template <class StringMatcher>
WhatMatcher<StringMatcher> What(StringMatcher m) {
  return WhatMatcher<StringMatcher>(std::move(m));
}

}  // namespace faunae_test

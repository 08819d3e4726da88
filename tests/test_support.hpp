// Shared helpers of faunae's tests: small spaces, scripted evaluators and policies, temporary folders,
// an exception-message matcher and the NAS-Bench-Macro table.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include <nlohmann/json.hpp>

#include "faunae/faunae.hpp"
#include "faunae/tabular.hpp"

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace faunae_test {

using faunae::Architecture;
using faunae::Block;
using faunae::BlockSpace;
using faunae::Op;

// --- exception messages -----------------------------------------------------------------------

/// Matches an exception whose what() satisfies a Catch string matcher, e.g.
///   REQUIRE_THROWS_MATCHES(f(), faunae::IoError, What(Contains("checksum mismatch")));
template <class StringMatcher>
class WhatMatcher : public MatcherBase<std::exception> {
 public:
  explicit WhatMatcher(StringMatcher m) : m_(std::move(m)) {}
  bool match(const std::exception& e) const override { return m_.match(e.what()); }
  std::string describe() const override { return "has a message that " + m_.describe(); }

 private:
  StringMatcher m_;
};
template <class StringMatcher>
WhatMatcher<StringMatcher> What(StringMatcher m) {
  return WhatMatcher<StringMatcher>(std::move(m));
}

// --- temporary folders ------------------------------------------------------------------------

/// A fresh folder under the system's temp dir, removed (with its content) at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
#if __has_include(<unistd.h>)
    const long pid = static_cast<long>(::getpid());
#else
    const long pid = 0;
#endif
    for (int attempt = 0;; ++attempt) {
      path_ = std::filesystem::temp_directory_path() /
              ("faunae-test-" + std::to_string(pid) + "-" + std::to_string(counter++));
      if (std::filesystem::create_directory(path_)) break;
      if (attempt > 1000) throw std::runtime_error("TempDir: cannot create a fresh folder");
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("test: cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("test: cannot write " + p.string());
}

// --- spaces -----------------------------------------------------------------------------------

/// `blocks` blocks with the ops "identity" (size 0, the identity), "op1" (size 10), "op2" (size 20), ...
/// α0 uses op 1 everywhere.
inline BlockSpace synthetic_space(std::size_t blocks, std::size_t ops) {
  std::vector<Op> list;
  list.push_back(Op{"identity", 0.0});
  for (std::size_t k = 1; k < ops; ++k) list.push_back(Op{fmt::format("op{}", k), 10.0 * static_cast<double>(k)});
  return faunae::uniform_space(blocks, list, Architecture(std::vector<faunae::OpIndex>(blocks, ops > 1 ? 1 : 0)),
                               std::string("identity"));
}

/// A loss landscape over a synthetic space: each (block, op) adds a fixed amount, so the best
/// architecture is known, plus nothing random (deterministic).
inline double synthetic_loss(const Architecture& a) {
  double loss = 1.0;
  for (std::size_t b = 0; b < a.size(); ++b) {
    const double k = static_cast<double>(a[b]);
    // op 2 is best in every block, the identity worst
    loss += 0.1 * (k - 2.0) * (k - 2.0) + 0.01 * static_cast<double>(b);
  }
  return loss;
}

/// A stateful, noisy evaluator over synthetic_loss (a user-written StatefulEvaluator).
class NoisyEvaluator {
 public:
  explicit NoisyEvaluator(std::uint64_t seed) : rng_(seed) {}
  faunae::Evaluation evaluate(const Architecture& a) {
    ++calls_;
    return faunae::Evaluation{synthetic_loss(a) + 0.2 * (rng_.uniform() - 0.5), {{"calls", double(calls_)}}};
  }
  nlohmann::json state() const { return {{"rng", rng_}, {"calls", calls_}}; }
  void restore(const nlohmann::json& j) {
    rng_ = j.at("rng").get<faunae::Rng>();
    calls_ = j.at("calls").get<std::size_t>();
  }
  std::size_t calls() const noexcept { return calls_; }

 private:
  faunae::Rng rng_;
  std::size_t calls_ = 0;
};

/// Returns the given losses in order; fails the test if asked for more.
class ScriptedEvaluator {
 public:
  explicit ScriptedEvaluator(std::vector<double> losses) : losses_(std::move(losses)) {}
  double evaluate(const Architecture& a) {
    evaluated_.push_back(a);
    if (next_ >= losses_.size()) throw std::logic_error("ScriptedEvaluator: script exhausted (test bug)");
    return losses_[next_++];
  }
  const std::vector<Architecture>& evaluated() const noexcept { return evaluated_; }
  std::size_t calls() const noexcept { return next_; }

 private:
  std::vector<double> losses_;
  std::vector<Architecture> evaluated_;
  std::size_t next_ = 0;
};

/// A MutationPolicy that proposes the given architectures in order (no probabilities).
class ScriptedMutation {
 public:
  explicit ScriptedMutation(std::vector<Architecture> proposals) : proposals_(std::move(proposals)) {}
  faunae::Proposal propose(const BlockSpace&, const faunae::SearchState&, faunae::Rng&) {
    if (next_ >= proposals_.size()) throw std::logic_error("ScriptedMutation: script exhausted (test bug)");
    return faunae::Proposal{proposals_[next_++], {}};
  }

 private:
  std::vector<Architecture> proposals_;
  std::size_t next_ = 0;
};

// --- NAS-Bench-Macro ----------------------------------------------------------------------------

#ifndef FAUNAE_NAS_BENCH_MACRO
#error "tests/CMakeLists.txt must define FAUNAE_NAS_BENCH_MACRO (the path of nas-bench-macro_cifar10.json)"
#endif

inline std::filesystem::path nas_bench_macro_path() { return FAUNAE_NAS_BENCH_MACRO; }

/// The NAS-Bench-Macro table, loaded once per process. A missing file fails the test loudly.
inline const faunae::tabular::BenchmarkTable& nas_bench_macro() {
  static const faunae::tabular::BenchmarkTable table = [] {
    const auto path = nas_bench_macro_path();
    if (!std::filesystem::exists(path))
      FAIL("NAS-Bench-Macro data missing: " << path.string()
                                            << " does not exist (configure with -DFAUNAE_SHARED_DIR=<folder with "
                                               "data/nas-bench-macro/>)");
    return faunae::tabular::BenchmarkTable::load(path);
  }();
  return table;
}

}  // namespace faunae_test

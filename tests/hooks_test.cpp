// Hooks: stopping and continuing, how often each method is called, and the shipped hooks'
// output (JsonLinesLogger, ProgressDisplay, StopAfter).
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::BlockMutation;
using faunae::Elimination;
using faunae::EpochRecord;
using faunae::JsonLinesLogger;
using faunae::ProgressDisplay;
using faunae::Search;
using faunae::SearchResult;
using faunae::SearchState;
using faunae::StopAfter;
using faunae::UcbElimination;

namespace {

struct Counter {
  std::size_t epochs = 0, mutations = 0, eliminations = 0, ends = 0;
  std::vector<std::string> order;  // what was called within the last epoch
  void on_epoch(const EpochRecord& r, const SearchState& s) {
    ++epochs;
    CHECK(s.history.size() == r.epoch + 1);  // called after the epoch is recorded
    CHECK(&s.history.back() == &r);
    order.push_back("epoch");
  }
  void on_mutation(const BlockMutation&, const SearchState&) {
    ++mutations;
    order.push_back("mutation");
  }
  void on_elimination(const Elimination&, const SearchState&) {
    ++eliminations;
    order.push_back("elimination");
  }
  void on_end(const SearchResult& r, const SearchState& s) {
    ++ends;
    CHECK(r.evaluations == s.evaluations);
  }
};

/// Asks to stop at the first accepted mutation.
struct StopOnAccept {
  bool on_mutation(const BlockMutation& m, const SearchState&) const { return m.accepted; }
};

/// Asks to stop at the first elimination.
struct StopOnElimination {
  bool on_elimination(const Elimination&, const SearchState&) const { return true; }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("a hook returning true stops after that epoch and run continues to the same end", "[hooks]") {
  const BlockSpace space = synthetic_space(4, 4);
  NoisyEvaluator e1(7);
  Search<BlockSpace> uninterrupted(space, {.seed = 2});
  const auto expected = uninterrupted.run(e1);

  NoisyEvaluator e2(7);
  Search<BlockSpace> search(space, {.seed = 2});
  const std::size_t stop_at = GENERATE(0u, 3u, 9u, 26u);
  CAPTURE(stop_at);
  StopAfter stop(stop_at);
  auto r = search.run(e2, stop);
  CHECK(r.epochs == stop_at);
  CHECK(r.evaluations == stop_at + 1);
  CHECK_FALSE(r.finished);
  CHECK(e2.calls() == stop_at + 1);
  r = search.run(e2);  // no hook: on to the end
  CHECK(r.finished);
  CHECK(r.architecture == expected.architecture);
  CHECK(search.to_json(&e2) == uninterrupted.to_json(&e1));
}

TEST_CASE("a hook returning faunae::Flow stops on Flow::stop and goes on with Flow::proceed", "[hooks]") {
  struct StopAtEpoch {
    std::size_t at;
    faunae::Flow on_epoch(const EpochRecord& r, const SearchState&) const {
      return r.epoch == at ? faunae::Flow::stop : faunae::Flow::proceed;
    }
  };
  static_assert(faunae::Hook<StopAtEpoch>);
  const BlockSpace space = synthetic_space(4, 4);
  NoisyEvaluator evaluator(7);
  Search<BlockSpace> search(space, {.seed = 2});
  StopAtEpoch at4{4}, never{1000};
  auto r = search.run(evaluator, at4);
  CHECK(r.epochs == 4);
  CHECK_FALSE(r.finished);
  r = search.run(evaluator, never);  // never Flow::stop: on to the end
  CHECK(r.finished);
}

TEST_CASE("stopping from on_mutation or on_elimination completes the epoch first", "[hooks]") {
  const BlockSpace space = synthetic_space(3, 3);
  NoisyEvaluator e(1);
  SECTION("on_mutation") {
    Search<BlockSpace> search(space, {.seed = 1});
    StopOnAccept hook;
    const auto r = search.run(e, hook);
    REQUIRE_FALSE(r.finished);
    const auto& last = search.state().history.back();
    CHECK(last.epoch == r.epochs);
    bool any_accepted = false;
    for (const auto& m : last.mutations) any_accepted |= m.accepted;
    CHECK(any_accepted);
    for (std::size_t i = 1; i + 1 < search.state().history.size(); ++i)
      for (const auto& m : search.state().history[i].mutations) CHECK_FALSE(m.accepted);
  }
  SECTION("on_elimination") {
    Search<BlockSpace> search(space, {.seed = 1});
    StopOnElimination hook;
    const auto r = search.run(e, hook);
    CHECK(r.epochs == 9);  // K·E = 3·3
    CHECK(search.state().elimination_rounds == 1);
    CHECK(search.state().history.back().eliminations.size() == 3);
  }
}

TEST_CASE("every hook method is called the right number of times", "[hooks]") {
  const BlockSpace space = synthetic_space(3, 4);
  NoisyEvaluator e(5);
  Search<BlockSpace> search(space, {.seed = 5});
  Counter a, b;
  const auto r = search.run(e, a, b);
  std::size_t mutations = 0, eliminations = 0;
  for (const auto& rec : r.history) {
    mutations += rec.mutations.size();
    eliminations += rec.eliminations.size();
  }
  REQUIRE(mutations > 0);
  CHECK(eliminations == 3 * 3);  // 3 rounds (4 -> 1 ops) × 3 blocks
  for (const Counter* c : {&a, &b}) {
    CHECK(c->epochs == r.history.size());
    CHECK(c->epochs == 1 + faunae::schedule_length(4, 3));
    CHECK(c->mutations == mutations);
    CHECK(c->eliminations == eliminations);
    CHECK(c->ends == 1);
  }
  // the last epoch eliminated: its calls came in the order mutations, eliminations, epoch
  const auto& last = r.history.back();
  std::vector<std::string> expected(last.mutations.size(), "mutation");
  expected.insert(expected.end(), last.eliminations.size(), "elimination");
  expected.push_back("epoch");
  REQUIRE(a.order.size() >= expected.size());
  CHECK(std::vector<std::string>(a.order.end() - std::ptrdiff_t(expected.size()), a.order.end()) == expected);
}

TEST_CASE("all hooks get the epoch in which one of them asks to stop", "[hooks]") {
  const BlockSpace space = synthetic_space(2, 3);
  NoisyEvaluator e(5);
  Search<BlockSpace> search(space);
  StopAfter stop(2);
  Counter after;
  search.run(e, stop, after);
  CHECK(after.epochs == 3);
  CHECK(after.ends == 1);
}

TEST_CASE("JsonLinesLogger writes one parseable JSON line per epoch", "[hooks]") {
  const BlockSpace space = synthetic_space(3, 3);
  NoisyEvaluator e(1);
  Search<BlockSpace> search(space, {.seed = 1});
  std::ostringstream out;
  JsonLinesLogger logger(out);
  const auto r = search.run(e, logger);
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == r.history.size());
  REQUIRE(lines.size() == 16);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    nlohmann::json j;
    REQUIRE_NOTHROW(j = nlohmann::json::parse(lines[i]));
    CHECK(j.at("epoch") == i);
    CHECK(j.at("evaluations") == i + 1);
    CHECK(j.at("loss").get<double>() == r.history[i].loss);
    CHECK(j.at("evaluated") == r.history[i].evaluated.ops());
    CHECK(j.at("architecture") == r.history[i].architecture.ops());
    CHECK(j.at("mutations").size() == r.history[i].mutations.size());
    CHECK(j.at("eliminations").size() == r.history[i].eliminations.size());
    REQUIRE(j.at("ops_left").size() == 3);
  }
  CHECK(nlohmann::json::parse(lines.front())["ops_left"] == nlohmann::json::array({3, 3, 3}));
  CHECK(nlohmann::json::parse(lines.back())["ops_left"] == nlohmann::json::array({1, 1, 1}));
  // the record fields round-trip through the library's own reader
  const auto back = faunae::detail::record_from_json(nlohmann::json::parse(lines[9]));
  CHECK(back.evaluated == r.history[9].evaluated);
  CHECK(back.eliminations.size() == r.history[9].eliminations.size());
}

TEST_CASE("JsonLinesLogger appends to a file and reports a file it cannot open", "[hooks][errors]") {
  const BlockSpace space = synthetic_space(2, 2);
  TempDir dir;
  const auto path = dir / "log.jsonl";
  for (int run = 0; run < 2; ++run) {
    NoisyEvaluator e(1);
    Search<BlockSpace> search(space);
    JsonLinesLogger logger(path);
    search.run(e, logger);
  }
  const auto lines = lines_of(read_text(path));
  CHECK(lines.size() == 2 * (1 + faunae::schedule_length(2, 3)));
  // accept(), not CHECK_NOTHROW(parse(...)): Catch2 3's CHECK_NOTHROW does not silence parse()'s
  // warn_unused_result (-Wunused-result), which Catch2 2's does.
  for (const auto& line : lines) {
    INFO(line);
    CHECK(nlohmann::json::accept(line));
  }
  REQUIRE_THROWS_MATCHES(JsonLinesLogger(dir / "no-such-folder" / "log.jsonl"), faunae::IoError,
                         What(Contains("cannot open") && Contains("no-such-folder")));
}

TEST_CASE("ProgressDisplay prints one line per epoch and a final line", "[hooks]") {
  const BlockSpace space = synthetic_space(2, 3);
  NoisyEvaluator e(1);
  Search<BlockSpace> search(space);
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressDisplay display(search.planned_epochs(), f, /*in_place=*/false);
  const auto r = search.run(e, display);
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  std::fclose(f);
  const auto lines = lines_of(text);
  REQUIRE(lines.size() == r.history.size() + 1);
  CHECK_THAT(lines[0], Contains("[faunae] search | epoch 0/15 | ops left 3 3 | loss"));
  CHECK_THAT(lines[15], Contains("epoch 15/15 | ops left 1 1 |") && Contains("0s left"));
  CHECK_THAT(lines.back(), Contains("finished after 16 evaluations"));
  CHECK_THAT(lines.back(), Contains(r.architecture.to_string()));
  CHECK(text.find('\r') == std::string::npos);
  CHECK_FALSE(ProgressDisplay::is_terminal(nullptr));
}

TEST_CASE("ProgressDisplay names its phase, and shows the most ops left beyond 16 blocks", "[hooks]") {
  const BlockSpace space = synthetic_space(17, 3);
  NoisyEvaluator e(1);
  Search<BlockSpace> search(space);
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressDisplay display(search.planned_epochs(), f, /*in_place=*/false);
  display.phase("warm search");
  faunae::StopAfter stop(1);
  search.run(e, display, stop);
  std::fflush(f);
  std::rewind(f);
  char buffer[4096];
  const std::size_t n = std::fread(buffer, 1, sizeof buffer, f);
  std::fclose(f);
  const std::string text(buffer, n);
  CHECK_THAT(text, Contains("[faunae] warm search | epoch 1/15 | ops left ≤3 |"));
}

TEST_CASE("ProgressDisplay formats durations", "[hooks]") {
  CHECK(ProgressDisplay::format_seconds(0.0) == "0s");
  CHECK(ProgressDisplay::format_seconds(59.4) == "59s");
  CHECK(ProgressDisplay::format_seconds(61.0) == "1m01s");
  CHECK(ProgressDisplay::format_seconds(3600.0) == "1h00m");
  CHECK(ProgressDisplay::format_seconds(3725.0) == "1h02m");
}

TEST_CASE("StopAfter asks to stop from its epoch on", "[hooks]") {
  const StopAfter stop(3);
  EpochRecord r;
  const SearchState s;
  r.epoch = 2;
  CHECK_FALSE(stop.on_epoch(r, s));
  r.epoch = 3;
  CHECK(stop.on_epoch(r, s));
  r.epoch = 4;
  CHECK(stop.on_epoch(r, s));
}

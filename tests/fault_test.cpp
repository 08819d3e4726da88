// Faults during a search, in one process: the evaluator throws, training diverges (NaN / Inf loss),
// the checkpoint file hits the file size limit (RLIMIT_FSIZE, a real EFBIG from the kernel). Each
// time the search stops with a message naming the epoch and what happened, the last checkpoint
// stays the last good epoch, and resuming from it ends exactly where an uninterrupted search ends.
// And bounds: sizes read from files that would drive an allocation beyond reason are refused first.
// (SIGKILL and full or read-only disks: tests/fault/, run as separate processes.)
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "catch.hpp"

#include "test_support.hpp"

#if __has_include(<sys/resource.h>)
#include <csignal>
#include <sys/resource.h>
#define FAUNAE_TEST_HAVE_RLIMIT 1
#endif

using namespace faunae_test;
using faunae::EvaluationError;
using faunae::IoError;
using faunae::Search;
using faunae::SearchOptions;

namespace {

/// A user's exception type: the search must pass it on as the cause of its EvaluationError.
struct OutOfGpuMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// NoisyEvaluator (stateful: its RNG is in the checkpoint) that fails once, at its `fail_at`-th call
/// (0-based), in the given way, after having advanced its own state, as a real training step that
/// diverges or runs out of memory does.
class FaultyEvaluator {
 public:
  enum class Fault { none, nan, inf, neg_inf, throws, throws_int };
  FaultyEvaluator(std::uint64_t seed, Fault fault, std::size_t fail_at) : inner_(seed), fault_(fault), fail_at_(fail_at) {}
  faunae::Evaluation evaluate(const Architecture& a) {
    faunae::Evaluation e = inner_.evaluate(a);
    if (calls_++ != fail_at_) return e;
    switch (fault_) {
      case Fault::nan: e.loss = std::numeric_limits<double>::quiet_NaN(); break;
      case Fault::inf: e.loss = std::numeric_limits<double>::infinity(); break;
      case Fault::neg_inf: e.loss = -std::numeric_limits<double>::infinity(); break;
      case Fault::throws: throw OutOfGpuMemory("CUDA out of memory (tried to allocate 2 GiB)");
      case Fault::throws_int: throw 42;
      case Fault::none: break;
    }
    return e;
  }
  nlohmann::json state() const { return inner_.state(); }
  void restore(const nlohmann::json& j) { inner_.restore(j); }

 private:
  NoisyEvaluator inner_;
  Fault fault_;
  std::size_t fail_at_;
  std::size_t calls_ = 0;
};

using Fault = FaultyEvaluator::Fault;

/// The whole uninterrupted search (state and evaluator state) with the same seeds.
nlohmann::json fault_reference(const BlockSpace& space, const SearchOptions& options) {
  Search<BlockSpace> search(space, SearchOptions{.seed = options.seed});
  NoisyEvaluator evaluator(11);
  search.run(evaluator);
  return search.to_json(&evaluator);
}

/// Resumes from `checkpoint` with a fresh search and a working evaluator, to the end.
nlohmann::json fault_resumed(const BlockSpace& space, const SearchOptions& options, const std::filesystem::path& checkpoint) {
  Search<BlockSpace> search(space, SearchOptions{.seed = options.seed});
  NoisyEvaluator evaluator(999);  // its state comes from the checkpoint
  search.load(checkpoint, evaluator);
  search.run(evaluator);
  return search.to_json(&evaluator);
}

}  // namespace

TEST_CASE("an evaluator that throws or diverges stops the search at the last good epoch, and resuming gives the uninterrupted result",
          "[fault][errors]") {
  const BlockSpace space = synthetic_space(4, 3);  // 15 mutation epochs
  TempDir dir;
  const auto path = dir / "search.ckpt";
  const SearchOptions options{.seed = 21, .checkpoint = path};
  const nlohmann::json reference = fault_reference(space, options);

  const auto [fault, message] = GENERATE(table<Fault, const char*>({{Fault::nan, "training diverged: the evaluator returned a non-finite loss (nan)"},
                                                                    {Fault::inf, "training diverged: the evaluator returned a non-finite loss (inf)"},
                                                                    {Fault::neg_inf, "non-finite loss (-inf)"},
                                                                    {Fault::throws, "the evaluator threw"},
                                                                    {Fault::throws_int, ""}}));
  const std::size_t fail_at = GENERATE(0u, 1u, 6u, 15u);  // α0, the first mutation epoch, an elimination epoch, the last
  CAPTURE(message, fail_at);

  Search<BlockSpace> search(space, options);
  FaultyEvaluator evaluator(11, fault, fail_at);
  for (std::size_t i = 0; i < fail_at; ++i) search.step(evaluator);
  const bool had_checkpoint = std::filesystem::exists(path);
  const std::string checkpoint_before = had_checkpoint ? read_text(path) : std::string();
  const nlohmann::json state_before = search.to_json();
  const auto rng_before = search.state().rng;

  if (fault == Fault::throws_int) {
    // Not a std::exception: passed on unchanged (the search cannot add context to it).
    REQUIRE_THROWS_AS(search.step(evaluator), int);
  } else {
    // The message names the epoch, the architecture and the value (or the evaluator's message).
    const std::string epoch = fmt::format("at epoch {} on [", fail_at);
    try {
      search.step(evaluator);
      FAIL("the fault went unnoticed");
    } catch (const EvaluationError& e) {
      CHECK_THAT(e.what(), Contains(message) && Contains(epoch) &&
                               Contains(fmt::format("kept at epoch {}", fail_at == 0 ? 0 : fail_at - 1)));
      if (fault == Fault::throws) {
        // The evaluator's own exception is the nested cause, with its type.
        CHECK_THAT(e.what(), Contains("CUDA out of memory"));
        CHECK_THROWS_AS(std::rethrow_if_nested(e), OutOfGpuMemory);
      }
    }
  }
  // Nothing of the failed epoch is left: state, RNG, and the checkpoint on disk (the last good epoch).
  CHECK(search.to_json() == state_before);
  CHECK(search.state().rng == rng_before);
  CHECK(std::filesystem::exists(path) == had_checkpoint);
  if (had_checkpoint) CHECK(read_text(path) == checkpoint_before);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));

  // With the evaluator fixed, the search resumed from that checkpoint ends as if nothing happened.
  if (had_checkpoint) CHECK(fault_resumed(space, options, path) == reference);
}

#ifdef FAUNAE_TEST_HAVE_RLIMIT
TEST_CASE("a checkpoint that outgrows the file size limit (EFBIG) stops the search, and the previous one resumes to the same result",
          "[fault][errors]") {
  const BlockSpace space = synthetic_space(4, 3);
  TempDir dir;
  const auto path = dir / "search.ckpt";
  const SearchOptions options{.seed = 21, .checkpoint = path};
  const nlohmann::json reference = fault_reference(space, options);

  // The checkpoint grows with the history; limit the file size to what epoch 6's checkpoint needs.
  std::size_t limit = 0;
  {
    Search<BlockSpace> probe(space, SearchOptions{.seed = 21});
    NoisyEvaluator e(11);
    for (int i = 0; i <= 6; ++i) probe.step(e);
    probe.save(dir / "probe.ckpt", e);
    limit = std::filesystem::file_size(dir / "probe.ckpt");
  }

  Search<BlockSpace> search(space, options);
  NoisyEvaluator evaluator(11);
  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
  struct rlimit small = old_limit;
  small.rlim_cur = limit;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::optional<std::string> error;
  try {
    search.run(evaluator);
  } catch (const IoError& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  REQUIRE(error);
  CHECK_THAT(*error, Contains("epoch 7 is complete in memory") && Contains("search.ckpt.tmp") &&
                         Contains("File too large") && Contains("the previous checkpoint is intact"));
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  {
    Search<BlockSpace> check(space, SearchOptions{.seed = 21});
    NoisyEvaluator e(0);
    check.load(path, e);
    CHECK(check.state().epoch == 6);
  }
  CHECK(fault_resumed(space, options, path) == reference);
  // The in-memory search holds epoch 7 and can go on by itself, now that the file may grow.
  CHECK(search.state().epoch == 7);
  search.run(evaluator);
  CHECK(search.to_json(&evaluator) == reference);
}
#endif

TEST_CASE("JsonLinesLogger drops a line cut by a crash before it appends", "[fault][hooks]") {
  TempDir dir;
  const auto path = dir / "log.jsonl";
  write_text(path, "{\"epoch\": 0}\n{\"epoch\": 1}\n{\"epo");
  const BlockSpace space = synthetic_space(2, 3);
  Search<BlockSpace> search(space, {.seed = 1});
  NoisyEvaluator evaluator(1);
  {
    faunae::JsonLinesLogger log(path);
    search.step(evaluator, log);
  }
  const std::string text = read_text(path);
  const std::string kept = "{\"epoch\": 0}\n{\"epoch\": 1}\n";
  REQUIRE(text.rfind(kept, 0) == 0);
  CHECK(text.back() == '\n');
  CHECK(nlohmann::json::parse(text.substr(kept.size()))["epoch"] == 0);
  // A file that is one cut line only is emptied; an intact file is kept as it is.
  write_text(path, "{\"epo");
  { faunae::JsonLinesLogger log(path); }
  CHECK(read_text(path).empty());
  write_text(path, "{\"epoch\": 0}\n");
  { faunae::JsonLinesLogger log(path); }
  CHECK(read_text(path) == "{\"epoch\": 0}\n");
}

// --- bounds --------------------------------------------------------------------------------------

TEST_CASE("an architecture file announcing 10^9 blocks is refused by its size before it is read", "[fault][bounds]") {
  const BlockSpace space = synthetic_space(3, 3);
  TempDir dir;
  // 10⁹ blocks take at least 2·10⁹ bytes ("0," each); a sparse file of that size costs no disk.
  const auto path = dir / "huge.json";
  write_text(path, "{\"blocks\": [");
  std::filesystem::resize_file(path, 2'000'000'000ULL);
  REQUIRE_THROWS_MATCHES(faunae::load_architecture(space, path), IoError,
                         What(Contains("huge.json") && Contains("2000000000 bytes") &&
                              Contains(fmt::format("more than the {} bytes allowed", faunae::architecture_file_limit(3)))));
  // Parsed JSON: the block count is compared before anything is allocated for the blocks.
  nlohmann::json many = {{"blocks", nlohmann::json::array()}};
  for (int i = 0; i < 100000; ++i) many["blocks"].push_back("op1");
  REQUIRE_THROWS_MATCHES(faunae::architecture_from_json(space, many), faunae::InvalidArchitecture,
                         What(Contains("'blocks' has 100000 entries, the search space has 3 blocks")));
}

TEST_CASE("a file larger than physical memory is refused before it is read", "[fault][bounds]") {
  const std::uint64_t memory = faunae::physical_memory_bytes();
  if (memory == 0) {
    WARN("the system does not tell its physical memory: nothing to check");
    return;
  }
  TempDir dir;
  const auto path = dir / "search.ckpt";
  write_text(path, "{");
  std::filesystem::resize_file(path, memory + 1);  // sparse
  const BlockSpace space = synthetic_space(2, 3);
  Search<BlockSpace> search(space);
  REQUIRE_THROWS_MATCHES(search.load(path), IoError,
                         What(Contains("search.ckpt") && Contains(fmt::format("is {} bytes", memory + 1)) &&
                              Contains("of physical memory")));
  REQUIRE_THROWS_MATCHES(faunae::read_file(path, "test", 100), IoError, What(Contains("more than the 100 bytes allowed")));
}

TEST_CASE("a checkpoint table whose rows do not match is refused before the table is allocated", "[fault][bounds]") {
  // One row of 10⁵ entries over 10⁵ empty rows: a 10⁵ × 10⁵ table of doubles would be 80 GB.
  const BlockSpace space = synthetic_space(2, 3);
  Search<BlockSpace> search(space);
  NoisyEvaluator evaluator(1);
  search.step(evaluator);
  nlohmann::json payload = search.to_json();
  nlohmann::json rows = nlohmann::json::array();
  rows.push_back(nlohmann::json::array());
  for (int i = 0; i < 100000; ++i) rows[0].push_back(nullptr);
  for (int i = 1; i < 100000; ++i) rows.push_back(nlohmann::json::array());
  payload["state"]["loss"] = std::move(rows);
  const nlohmann::json before = search.to_json();
  REQUIRE_THROWS_MATCHES(search.from_json(payload), IoError, What(Contains("row 1 is not an array of 100000 entries")));
  CHECK(search.to_json() == before);
}

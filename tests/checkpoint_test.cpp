// Checkpoints: a resumed search ends bit for bit where an uninterrupted one does; saving is atomic;
// corrupt or mismatched checkpoints are refused with a message that names the problem and leave
// the search untouched.
#include <filesystem>
#include <string>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::FaunaeMutation;
using faunae::FaunaeMutationOptions;
using faunae::IoError;
using faunae::Search;
using faunae::SearchOptions;
using faunae::StopAfter;
using faunae::UcbElimination;
using faunae::tabular::TabularEvaluator;
using faunae::tabular::TabularSpace;

namespace {

std::vector<std::string> folder_entries(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Writes `payload` as a checkpoint file with a correct checksum (to test the checks behind it).
void write_checkpoint(const std::filesystem::path& path, const nlohmann::json& payload) {
  write_text(path, faunae::checkpoint_text(payload));
}

/// Runs to the end, and again with an interruption after `stop_at` mutation epochs, a save, and a
/// load into a fresh search and a fresh evaluator (seeded differently: restore must fix that).
template <class Space, class MakeEvaluator>
void check_resume(const Space& space, MakeEvaluator make_evaluator, std::size_t stop_at, const SearchOptions& options,
                  std::size_t epochs_per_op) {
  CAPTURE(stop_at);
  TempDir dir;
  const auto path = dir / "search.ckpt";

  Search<Space> uninterrupted(space, options, FaunaeMutation(), UcbElimination({.epochs_per_op = epochs_per_op}));
  auto e1 = make_evaluator(1000);
  const auto expected = uninterrupted.run(e1);
  REQUIRE(expected.finished);

  Search<Space> first(space, options, FaunaeMutation(), UcbElimination({.epochs_per_op = epochs_per_op}));
  auto e2 = make_evaluator(1000);
  StopAfter stop(stop_at);
  const auto partial = first.run(e2, stop);
  REQUIRE(partial.epochs == stop_at);
  first.save(path, e2);
  CHECK(folder_entries(dir.path()) == std::vector<std::string>{"search.ckpt"});  // no .tmp left

  Search<Space> resumed(space, options, FaunaeMutation(), UcbElimination({.epochs_per_op = epochs_per_op}));
  auto e3 = make_evaluator(777);
  resumed.load(path, e3);
  CHECK(resumed.to_json(&e3) == first.to_json(&e2));
  const auto result = resumed.run(e3);
  CHECK(result.finished);
  CHECK(result.architecture == expected.architecture);
  CHECK(result.evaluations == expected.evaluations);
  CHECK(resumed.to_json(&e3) == uninterrupted.to_json(&e1));
}

}  // namespace

TEST_CASE("resume from a checkpoint on NAS-Bench-Macro ends exactly as an uninterrupted run", "[checkpoint][tabular]") {
  const auto& table = nas_bench_macro();
  const TabularSpace space(table, "11111111");
  const std::size_t stop_at = GENERATE(0u, 1u, 8u, 9u, 10u, 14u);  // 9: right after the first elimination
  check_resume(space, [&](std::uint64_t seed) { return TabularEvaluator(table, seed); }, stop_at,
               SearchOptions{.seed = 21}, 3);
}

TEST_CASE("resume from a checkpoint on a synthetic space ends exactly as an uninterrupted run", "[checkpoint]") {
  const BlockSpace space = synthetic_space(5, 4);  // schedule_length(4, 2) = 18 epochs
  const std::size_t stop_at = GENERATE(0u, 1u, 7u, 8u, 9u, 15u, 17u);
  check_resume(space, [](std::uint64_t seed) { return NoisyEvaluator(seed); }, stop_at, SearchOptions{.seed = 8}, 2);
}

TEST_CASE("automatic checkpoints: resume after max_epochs and checkpoint_every", "[checkpoint]") {
  const BlockSpace space = synthetic_space(3, 4);
  TempDir dir;
  const auto path = dir / "auto.ckpt";

  Search<BlockSpace> uninterrupted(space, {.seed = 4});
  NoisyEvaluator e1(5);
  uninterrupted.run(e1);

  SECTION("the last epoch before max_epochs is always saved") {
    Search<BlockSpace> first(space, {.seed = 4, .max_epochs = 11, .checkpoint = path, .checkpoint_every = 5});
    NoisyEvaluator e2(5);
    first.run(e2);
    Search<BlockSpace> resumed(space, {.seed = 4, .checkpoint = path});
    NoisyEvaluator e3(0);
    resumed.load(path, e3);
    CHECK(resumed.state().epoch == 11);
    resumed.run(e3);
    CHECK(resumed.to_json(&e3) == uninterrupted.to_json(&e1));
    CHECK(folder_entries(dir.path()) == std::vector<std::string>{"auto.ckpt"});
  }
  SECTION("the file holds the last multiple of checkpoint_every, and the end") {
    struct Watch {
      std::filesystem::path path;
      std::vector<std::size_t> saved_epochs;
      void on_epoch(const faunae::EpochRecord&, const faunae::SearchState&) {
        const auto j = nlohmann::json::parse(read_text(path));
        saved_epochs.push_back(j.at("payload").at("state").at("epoch").get<std::size_t>());
      }
    } watch{path, {}};
    Search<BlockSpace> search(space, {.seed = 4, .checkpoint = path, .checkpoint_every = 4});
    NoisyEvaluator e2(5);
    const auto r = search.run(e2, watch);
    REQUIRE(r.epochs == 27);  // schedule_length(4, 3)
    std::vector<std::size_t> expected;
    for (std::size_t epoch = 0; epoch <= 27; ++epoch) expected.push_back(epoch == 27 ? 27 : epoch / 4 * 4);
    CHECK(watch.saved_epochs == expected);
  }
}

TEST_CASE("a checkpoint that cannot be written keeps the completed epoch in memory", "[checkpoint][errors]") {
  const BlockSpace space = synthetic_space(2, 3);
  TempDir dir;
  const auto path = dir / "missing-folder" / "x.ckpt";
  Search<BlockSpace> search(space, {.checkpoint = path});
  NoisyEvaluator evaluator(1);
  REQUIRE_THROWS_MATCHES(search.step(evaluator), IoError,
                         What(Contains("could not be written") && Contains("missing-folder")));
  CHECK(search.state().evaluations == 1);
  CHECK(search.state().history.size() == 1);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST_CASE("save replaces an existing checkpoint atomically", "[checkpoint]") {
  const BlockSpace space = synthetic_space(2, 3);
  TempDir dir;
  const auto path = dir / "c.ckpt";
  Search<BlockSpace> search(space);
  NoisyEvaluator evaluator(1);
  search.step(evaluator);
  search.save(path, evaluator);
  const std::string first = read_text(path);
  search.step(evaluator);
  search.save(path, evaluator);
  CHECK(read_text(path) != first);
  CHECK(folder_entries(dir.path()) == std::vector<std::string>{"c.ckpt"});
  Search<BlockSpace> other(space);
  NoisyEvaluator e(9);
  other.load(path, e);
  CHECK(other.state().epoch == 1);
  REQUIRE_THROWS_MATCHES(search.save(dir / "no" / "such" / "folder.ckpt"), IoError,
                         What(Contains("folder.ckpt.tmp") && Contains("cannot create")));
}

TEST_CASE("corrupt checkpoints are refused and leave the search as it was", "[checkpoint][errors]") {
  const BlockSpace space = synthetic_space(3, 3);
  TempDir dir;
  const auto good = dir / "good.ckpt";
  const auto bad = dir / "bad.ckpt";
  {
    Search<BlockSpace> writer(space, {.seed = 3});
    NoisyEvaluator e(1);
    StopAfter stop(4);
    writer.run(e, stop);
    writer.save(good, e);
  }
  const std::string text = read_text(good);
  const nlohmann::json file = nlohmann::json::parse(text);

  Search<BlockSpace> search(space, {.seed = 3});
  NoisyEvaluator evaluator(2);
  search.step(evaluator);
  const nlohmann::json before = search.to_json(&evaluator);
  auto expect_refused = [&](const std::string& content, const std::string& needle) {
    write_text(bad, content);
    CAPTURE(needle);
    REQUIRE_THROWS_MATCHES(search.load(bad, evaluator), IoError, What(Contains(needle) && Contains("bad.ckpt")));
    CHECK(search.to_json(&evaluator) == before);
  };

  SECTION("missing file") {
    REQUIRE_THROWS_MATCHES(search.load(dir / "nothing.ckpt", evaluator), IoError,
                           What(Contains("cannot open") && Contains("nothing.ckpt")));
  }
  SECTION("truncated") { expect_refused(text.substr(0, text.size() / 2), "not valid JSON"); }
  SECTION("empty") { expect_refused("", "not valid JSON"); }
  SECTION("a number too large for a double") {
    std::string huge = text;
    const auto at = huge.find("\"lambda2\": 0.3");
    REQUIRE(at != std::string::npos);
    huge.replace(at + 11, 3, "1e999");
    expect_refused(huge, "1e999");
  }
  SECTION("a changed byte in the payload: checksum mismatch") {
    std::string flipped = text;
    const auto at = flipped.find("\"block1\"");
    REQUIRE(at != std::string::npos);
    flipped[at + 6] = '7';  // "block7": still valid JSON, different content
    expect_refused(flipped, "checksum mismatch");
  }
  SECTION("a changed number in the statistics: checksum mismatch") {
    nlohmann::json changed = file;
    changed["payload"]["state"]["samples"][0][1] = 12345;
    expect_refused(changed.dump(1), "checksum mismatch");
  }
  SECTION("wrong format") {
    nlohmann::json changed = file;
    changed["format"] = "faunae.architecture";
    expect_refused(changed.dump(), "not a faunae checkpoint");
  }
  SECTION("format of the wrong JSON type") {
    nlohmann::json changed = file;
    changed["format"] = 1;
    expect_refused(changed.dump(), "not a faunae checkpoint");
  }
  SECTION("not an object") { expect_refused("[1, 2, 3]", "not a faunae checkpoint"); }
  SECTION("unsupported version") {
    nlohmann::json changed = file;
    changed["version"] = 2;
    expect_refused(changed.dump(), "unsupported checkpoint version 2");
  }
  SECTION("version of the wrong JSON type") {
    nlohmann::json changed = file;
    changed["version"] = "1";
    expect_refused(changed.dump(), "unsupported checkpoint version");
  }
  SECTION("no checksum") {
    nlohmann::json changed = file;
    changed.erase("checksum");
    expect_refused(changed.dump(), "lacks 'payload' or 'checksum'");
  }
  SECTION("counters that disagree (valid checksum)") {
    nlohmann::json payload = file["payload"];
    payload["state"]["epoch"] = 9;
    write_checkpoint(bad, payload);
    REQUIRE_THROWS_MATCHES(search.load(bad, evaluator), IoError, What(Contains("counters disagree")));
    CHECK(search.to_json(&evaluator) == before);
  }
  SECTION("the current op marked removed (valid checksum)") {
    nlohmann::json payload = file["payload"];
    const auto current = payload["state"]["current"][1].get<std::size_t>();
    payload["state"]["alive"][1][current] = false;
    write_checkpoint(bad, payload);
    REQUIRE_THROWS_MATCHES(search.load(bad, evaluator), IoError, What(Contains("block 1") && Contains("marked removed")));
    CHECK(search.to_json(&evaluator) == before);
  }
  SECTION("statistics of the wrong shape (valid checksum)") {
    nlohmann::json payload = file["payload"];
    payload["state"]["loss"].erase(payload["state"]["loss"].size() - 1);
    write_checkpoint(bad, payload);
    REQUIRE_THROWS_MATCHES(search.load(bad, evaluator), IoError, What(Contains("statistics tables")));
  }
  SECTION("a negative sample count (valid checksum)") {
    nlohmann::json payload = file["payload"];
    payload["state"]["samples"][0][0] = -1;
    write_checkpoint(bad, payload);
    REQUIRE_THROWS_MATCHES(search.load(bad, evaluator), IoError, What(Contains("samples") && Contains("-1")));
  }
  SECTION("a missing state key (valid checksum)") {
    nlohmann::json payload = file["payload"];
    payload["state"].erase("rng");
    write_checkpoint(bad, payload);
    REQUIRE_THROWS_MATCHES(search.load(bad, evaluator), IoError, What(Contains("missing key 'rng'")));
    CHECK(search.to_json(&evaluator) == before);
  }
  SECTION("an all-zero RNG state (valid checksum)") {
    nlohmann::json payload = file["payload"];
    payload["state"]["rng"] = {0, 0, 0, 0};
    write_checkpoint(bad, payload);
    REQUIRE_THROWS_MATCHES(search.load(bad, evaluator), IoError, What(Contains("all-zero")));
    CHECK(search.to_json(&evaluator) == before);
  }
  SECTION("an evaluator state the evaluator refuses") {
    nlohmann::json payload = file["payload"];
    payload["evaluator"] = {{"unexpected", true}};
    write_checkpoint(bad, payload);
    CHECK_THROWS(search.load(bad, evaluator));
    CHECK(search.to_json(&evaluator) == before);
  }
}

TEST_CASE("a checkpoint of another space or other parameters is refused", "[checkpoint][errors]") {
  TempDir dir;
  const auto path = dir / "c.ckpt";
  const BlockSpace space = synthetic_space(3, 3);
  {
    Search<BlockSpace> writer(space, {.seed = 3});
    NoisyEvaluator e(1);
    StopAfter stop(2);
    writer.run(e, stop);
    writer.save(path, e);
  }
  NoisyEvaluator evaluator(1);

  SECTION("more ops per block") {
    const BlockSpace other = synthetic_space(3, 4);
    Search<BlockSpace> search(other, {.seed = 3});
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError,
                           What(Contains("another search space") && Contains("block 0 differs")));
    CHECK_FALSE(search.state().started());
  }
  SECTION("more blocks") {
    const BlockSpace other = synthetic_space(4, 3);
    Search<BlockSpace> search(other, {.seed = 3});
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError,
                           What(Contains("another search space") && Contains("3 blocks, this space 4")));
  }
  SECTION("an op of another size") {
    std::vector<Block> blocks = space.blocks();
    blocks[2].ops[1].size = 11.0;
    const BlockSpace other(blocks, space.initial_architecture());
    Search<BlockSpace> search(other, {.seed = 3});
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError,
                           What(Contains("another search space") && Contains("block 2 differs")));
  }
  SECTION("another epsilon") {
    Search<BlockSpace> search(space, {.seed = 3}, FaunaeMutation(FaunaeMutationOptions{.epsilon = 0.3}));
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError,
                           What(Contains("other parameters") && Contains("epsilon")));
    CHECK_FALSE(search.state().started());
  }
  SECTION("another E") {
    Search<BlockSpace> search(space, {.seed = 3}, FaunaeMutation(), UcbElimination({.epochs_per_op = 4}));
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError,
                           What(Contains("other parameters") && Contains("epochs_per_op")));
  }
  SECTION("another lambda2") {
    Search<BlockSpace> search(space, {.seed = 3, .lambda2 = 0.5});
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError, What(Contains("other parameters")));
  }
  SECTION("another seed") {
    Search<BlockSpace> search(space, {.seed = 4});
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError, What(Contains("other parameters")));
  }
  SECTION("another elimination policy") {
    faunae::FaUNAENoElimination<BlockSpace> search(space, {.seed = 3});
    REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError,
                           What(Contains("other parameters") && Contains("NoElimination")));
  }
  SECTION("the same parameters load") {
    Search<BlockSpace> search(space, {.seed = 3});
    CHECK_NOTHROW(search.load(path, evaluator));
    CHECK(search.state().epoch == 2);
  }
}

TEST_CASE("a checkpoint without evaluator state cannot restore a stateful evaluator", "[checkpoint][errors]") {
  TempDir dir;
  const auto path = dir / "c.ckpt";
  const BlockSpace space = synthetic_space(2, 3);
  Search<BlockSpace> writer(space);
  NoisyEvaluator e(1);
  writer.step(e);
  writer.save(path);  // no evaluator given

  Search<BlockSpace> search(space);
  NoisyEvaluator evaluator(5);
  const auto evaluator_before = evaluator.state();
  REQUIRE_THROWS_MATCHES(search.load(path, evaluator), IoError, What(Contains("no evaluator state")));
  CHECK(evaluator.state() == evaluator_before);
  CHECK_FALSE(search.state().started());
  // A stateless evaluator (or none) loads it fine.
  CHECK_NOTHROW(search.load(path));
  CHECK(search.state().evaluations == 1);
}

TEST_CASE("a checkpoint records the run id and refuses another run", "[checkpoint][errors]") {
  const BlockSpace space = faunae_test::synthetic_space(3, 3);
  TempDir dir;
  const auto path = dir / "run.ckpt";
  Search<BlockSpace> a(space, {.seed = 1, .run_id = "00000000000000aa"});
  faunae_test::NoisyEvaluator e(1);
  StopAfter stop(2);
  a.run(e, stop);
  a.save(path, e);
  Search<BlockSpace> same(space, {.seed = 1, .run_id = "00000000000000aa"});
  same.load(path, e);
  CHECK(same.state().epoch == 2);
  Search<BlockSpace> other(space, {.seed = 1, .run_id = "00000000000000bb"});
  REQUIRE_THROWS_MATCHES(other.load(path, e), faunae::IoError,
                         What(Contains("belongs to run '00000000000000aa'") && Contains("'00000000000000bb'")));
  Search<BlockSpace> none(space, {.seed = 1});
  REQUIRE_THROWS_MATCHES(none.load(path, e), faunae::IoError, What(Contains("belongs to run")));
}

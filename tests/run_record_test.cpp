// RunRecord (core/run_record.hpp): a real search's record survives to_json → from_json unchanged,
// and a damaged record is an InvalidArgument naming the file and the key.
#include <cmath>
#include <string>

#include "catch.hpp"

#include "faunae/faunae.hpp"
#include "test_support.hpp"

using faunae::Architecture;
using faunae::InvalidArgument;
using faunae::RunRecord;
using faunae_test::Contains;
using faunae_test::synthetic_loss;
using faunae_test::synthetic_space;
using json = nlohmann::json;

namespace {

RunRecord record_of_a_search() {
  const faunae::BlockSpace space = synthetic_space(4, 3);
  faunae::FaUNAE<faunae::BlockSpace> search(space, {.seed = 7}, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 2}));
  struct Exact {
    double evaluate(const Architecture& a) const { return synthetic_loss(a); }
  } evaluator;
  const faunae::SearchResult result = search.run(evaluator);
  RunRecord r;
  r.run_id = "20261202-abc";
  r.method = "faunae";
  r.space = faunae::RunSpace::of(space, "synthetic");
  r.initial = {space.initial_architecture(), 1000.0, std::nullopt};
  r.found = {result.architecture, 1200.0, 5.0e6};
  r.evaluated = result.evaluated;
  r.finished = result.finished;
  r.history = result.history;
  r.alive = {{true, false, true}, {true, true, false}, {false, true, true}, {true, true, true}};
  r.evaluations = result.evaluations;
  r.seconds = 12.5;
  r.seed = 7;
  r.config = {{"search", {{"epochs_per_op", 2}}}};
  return r;
}

std::string error_of(const json& j) {
  try {
    faunae::run_record_from_json(j, "test: search.json");
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("RunRecord: a search's record reads back as it was written", "[run-record]") {
  const RunRecord r = record_of_a_search();
  REQUIRE(r.history.size() > 3);
  const json j = faunae::run_record_to_json(r);
  CHECK(j.at("format") == "faunae.run");
  CHECK(j.at("version") == 1);
  CHECK(j.at("initial").at("ops") == json({"op1", "op1", "op1", "op1"}));
  const RunRecord back = faunae::run_record_from_json(j, "test: search.json");
  CHECK(back.run_id == r.run_id);
  CHECK(back.method == r.method);
  CHECK(back.space.kind == "synthetic");
  REQUIRE(back.space.blocks.size() == 4);
  CHECK(back.space.blocks[2].ops == std::vector<std::string>{"identity", "op1", "op2"});
  CHECK(back.space.blocks[2].op_sizes == std::vector<double>{0.0, 10.0, 20.0});
  CHECK(back.space.blocks[2].identity == std::optional<faunae::OpIndex>(0));
  CHECK(back.initial.architecture == r.initial.architecture);
  CHECK(back.initial.params == 1000.0);
  CHECK_FALSE(back.initial.flops.has_value());
  CHECK(back.found.architecture == r.found.architecture);
  CHECK(back.found.flops == 5.0e6);
  CHECK(back.evaluated == r.evaluated);
  CHECK(back.alive == r.alive);
  CHECK(back.evaluations == r.evaluations);
  CHECK(back.seconds == 12.5);
  CHECK(back.seed == json(7));
  CHECK(back.config == r.config);
  // The history is the search's own, record for record (serialization.hpp's records).
  REQUIRE(back.history.size() == r.history.size());
  for (std::size_t i = 0; i < r.history.size(); ++i) {
    CAPTURE(i);
    CHECK(faunae::detail::record_to_json(back.history[i]) == faunae::detail::record_to_json(r.history[i]));
  }
  // Written again, it is the same document.
  CHECK(faunae::run_record_to_json(back) == j);
}

TEST_CASE("RunRecord: a damaged record is an error naming the file and the key", "[run-record]") {
  const json good = faunae::run_record_to_json(record_of_a_search());
  const auto without = [&](const std::string& pointer) {
    json bad = good;
    const json::json_pointer p(pointer);
    bad[p.parent_pointer()].erase(p.back());
    return error_of(bad);
  };
  CHECK_THAT(without("/format"), Contains("test: search.json: missing required key 'format'"));
  CHECK_THAT(without("/space/blocks/1/ops"), Contains("missing required key 'space.blocks[1].ops'"));
  CHECK_THAT(without("/found/architecture"), Contains("missing required key 'found.architecture'"));
  CHECK_THAT(without("/history/2/epoch"), Contains("missing required key 'history[2].epoch'"));
  // Optional parts may be left out.
  CHECK(without("/alive") == "(no error)");
  CHECK(without("/history/1/probabilities") == "(no error)");

  json bad = good;
  bad["version"] = 2;
  CHECK_THAT(error_of(bad), Contains("'version' is 2: this reader reads version 1"));
  bad = good;
  bad["found"]["architecture"][3] = 9;
  CHECK_THAT(error_of(bad), Contains("'found.architecture[3]' is op 9 of block 3 'block3', which has 3 ops"));
  bad = good;
  bad["initial"]["architecture"].erase(0);
  CHECK_THAT(error_of(bad), Contains("'initial.architecture' has 3 entries, the space has 4 blocks"));
  bad = good;
  bad["history"][1]["mutations"] = json::array({{{"block", 4}, {"from", 0}, {"to", 1}, {"accepted", true}}});
  CHECK_THAT(error_of(bad), Contains("'history[1].mutations[0].block' is block 4, the space has 4 blocks"));
  bad = good;
  bad["history"][1]["loss"] = "low";
  CHECK_THAT(error_of(bad), Contains("'history[1].loss' must be a number, null, \"inf\" or \"-inf\", got \"low\""));
  bad = good;
  bad["alive"].erase(0);
  CHECK_THAT(error_of(bad), Contains("'alive' has 3 rows, the space has 4 blocks"));
  bad = good;
  bad["space"]["blocks"][0]["op_params"] = json::array({1.0});
  CHECK_THAT(error_of(bad), Contains("'space.blocks[0].op_params' has 1 entries, the block has 3 ops"));
  CHECK_THAT(error_of(json::array()), Contains("must be a JSON object"));
}

TEST_CASE("read_run_record names a missing file and the hint, and text that is not JSON", "[run-record]") {
  faunae_test::TempDir dir;
  const auto path = dir.path() / "search.json";
  try {
    faunae::read_run_record(path, "faunae train", "run `faunae search` first");
    FAIL("no error");
  } catch (const faunae::IoError& e) {
    CHECK_THAT(std::string(e.what()), Contains(path.string()));
    CHECK_THAT(std::string(e.what()), Contains("run `faunae search` first"));
  }
  faunae_test::write_text(path, "{\"format\": ");
  try {
    faunae::read_run_record(path, "faunae train");
    FAIL("no error");
  } catch (const faunae::IoError& e) {
    CHECK_THAT(std::string(e.what()), Contains("is not valid JSON"));
  }
  faunae_test::write_text(path, faunae::run_record_to_json(record_of_a_search()).dump());
  CHECK(faunae::read_run_record(path, "faunae train").run_id == "20261202-abc");
}

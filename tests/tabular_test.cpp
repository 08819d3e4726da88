// faunae::tabular: NAS-Bench-Macro as a table, space and evaluator; small hand-written tables for
// the file checks.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::InvalidArchitecture;
using faunae::InvalidArgument;
using faunae::IoError;
using faunae::Rng;
using faunae::tabular::BenchmarkTable;
using faunae::tabular::Fidelity;
using faunae::tabular::TableFormat;
using faunae::tabular::TabularEvaluator;
using faunae::tabular::TabularEvaluatorOptions;
using faunae::tabular::TabularSpace;

namespace {

std::string key_of_index(std::size_t index) {  // base-3 digits, block 0 first
  std::string key(8, '0');
  for (std::size_t b = 0; b < 8; ++b) {
    key[b] = static_cast<char>('0' + index % 3);
    index /= 3;
  }
  return key;
}

nlohmann::json entry(std::vector<double> runs, double mean, double params) {
  return {{"test_acc", runs}, {"mean_acc", mean}, {"params", params}, {"flops", 1.0}};
}

/// A 2-block table "00", "01", "10", "11" with params 0, 10, 20, 40.
nlohmann::json small_table() {
  return {{"00", entry({90.0, 91.0}, 90.5, 0.0)},
          {"01", entry({80.0, 82.0}, 81.0, 10.0)},
          {"10", entry({95.0, 95.0}, 95.0, 20.0)},
          {"11", entry({94.0, 96.0}, 95.0, 40.0)}};
}

}  // namespace

TEST_CASE("NAS-Bench-Macro loads: 6561 entries, 8 blocks of 3 ops, known best and worst", "[tabular]") {
  const auto& table = nas_bench_macro();
  CHECK(table.size() == 6561);
  REQUIRE(table.num_blocks() == 8);
  for (std::size_t b = 0; b < 8; ++b) CHECK(table.tokens(b) == std::vector<char>{'0', '1', '2'});
  CHECK(table.best_mean() == Approx(93.127).margin(1e-3));
  const auto best = table.architecture("22212202");
  CHECK(table.rank(best) == 1);
  CHECK(table.at(best).mean == table.best_mean());
  CHECK(table.rank(table.architecture("00000000")) == 6561);
  CHECK(table.at(table.architecture("00000000")).mean == Approx(45.363).margin(1e-3));
  CHECK(table.at(table.architecture("11111111")).mean == Approx(91.93).margin(1e-2));
  CHECK(table.at(table.architecture("22222222")).mean == Approx(92.95).margin(1e-2));
  const auto& e = table.at(best);
  CHECK(e.runs.size() == 3);
  CHECK(e.size > 0.0);
  CHECK(e.flops > 0.0);
}

TEST_CASE("NAS-Bench-Macro: key and architecture round-trip for all 3^8 keys", "[tabular]") {
  const auto& table = nas_bench_macro();
  std::set<std::string> keys;
  for (std::size_t i = 0; i < 6561; ++i) {
    const std::string key = key_of_index(i);
    const Architecture a = table.architecture(key);
    REQUIRE(a.size() == 8);
    for (std::size_t b = 0; b < 8; ++b) REQUIRE(a[b] == static_cast<faunae::OpIndex>(key[b] - '0'));
    REQUIRE(table.key(a) == key);
    REQUIRE(table.find(a) != nullptr);
    keys.insert(table.key(a));
  }
  CHECK(keys.size() == 6561);
  REQUIRE_THROWS_MATCHES(table.architecture("0000000"), InvalidArchitecture,
                         What(Contains("'0000000'") && Contains("7 characters")));
  REQUIRE_THROWS_MATCHES(table.architecture("00030000"), InvalidArchitecture,
                         What(Contains("'3'") && Contains("block 3")));
  REQUIRE_THROWS_MATCHES(table.key(Architecture{0, 0, 0, 0, 0, 0, 0, 3}), InvalidArchitecture, What(Contains("block 7")));
  REQUIRE_THROWS_MATCHES(table.key(Architecture{0, 0}), InvalidArchitecture, What(Contains("2 blocks")));
  CHECK(table.find(Architecture{0, 0}) == nullptr);
  CHECK(table.find(Architecture{0, 0, 0, 0, 0, 0, 0, 3}) == nullptr);
  REQUIRE_THROWS_MATCHES(table.at(Architecture{0, 0}), InvalidArchitecture, What(Contains("not in the table")));
}

TEST_CASE("NAS-Bench-Macro op sizes: main effects of params, identity 0 in every block", "[tabular]") {
  const auto& table = nas_bench_macro();
  // recompute from the raw file: mean params of the keys with op k at block b, minus the block's minimum
  const auto raw = nlohmann::json::parse(read_text(nas_bench_macro_path()));
  double sum[8][3] = {};
  double count[8][3] = {};
  for (const auto& [key, value] : raw.items())
    for (std::size_t b = 0; b < 8; ++b) {
      sum[b][key[b] - '0'] += value.at("params").get<double>();
      count[b][key[b] - '0'] += 1.0;
    }
  const TabularSpace space(table, "11111111");
  for (std::size_t b = 0; b < 8; ++b) {
    INFO("block " << b);
    double mean[3];
    for (std::size_t k = 0; k < 3; ++k) mean[k] = sum[b][k] / count[b][k];
    const double lowest = *std::min_element(mean, mean + 3);
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(table.op_size(b, k) == Approx(mean[k] - lowest).epsilon(1e-12));
      CHECK(space.op_size(b, k) == table.op_size(b, k));
    }
    CHECK(table.op_size(b, 0) == 0.0);  // identity: no parameters
    CHECK(table.op_size(b, 1) > 0.0);
    CHECK(table.op_size(b, 2) > table.op_size(b, 1));  // k5 e6 is bigger than k3 e3
  }
}

TEST_CASE("TabularSpace over NAS-Bench-Macro names its ops and identity", "[tabular]") {
  const auto& table = nas_bench_macro();
  const TabularSpace space(table, "11111111");
  CHECK(space.num_blocks() == 8);
  for (std::size_t b = 0; b < 8; ++b) {
    CHECK(space.num_ops(b) == 3);
    CHECK(space.op_name(b, 0) == "identity");
    CHECK(space.op_name(b, 1) == "mb_k3_e3");
    CHECK(space.op_name(b, 2) == "mb_k5_e6");
    CHECK(space.identity_op(b) == faunae::OpIndex{0});
    CHECK(space.block_name(b) == fmt::format("layer{}", b));
  }
  CHECK(space.initial_architecture() == Architecture{1, 1, 1, 1, 1, 1, 1, 1});
  CHECK(space.is_valid(Architecture{2, 2, 2, 1, 2, 2, 0, 2}));
  CHECK_FALSE(space.is_valid(Architecture{2, 2}));
  CHECK(&space.table() == &table);
  // the architecture JSON names ops and layers
  const Architecture a = table.architecture("22212202");
  const auto j = faunae::architecture_to_json(space, a);
  CHECK(j["blocks"][3] == nlohmann::json({{"block", "layer3"}, {"op", "mb_k3_e3"}}));
  CHECK(j["blocks"][6]["op"] == "identity");
  CHECK(faunae::architecture_from_json(space, j) == a);
  REQUIRE_THROWS_MATCHES(TabularSpace(table, "1111111"), InvalidArchitecture, What(Contains("7 characters")));
}

TEST_CASE("TabularEvaluator: loss = 100 - one of the runs, reproducible by seed", "[tabular]") {
  const auto& table = nas_bench_macro();
  const Architecture a = table.architecture("22212202");
  const auto& e = table.at(a);
  TabularEvaluator evaluator(table, 3);
  std::set<double> seen;
  for (int i = 0; i < 60; ++i) {
    const auto r = evaluator.evaluate(a);
    bool matches_a_run = false;
    for (double run : e.runs) matches_a_run |= r.loss == 100.0 - run;
    CHECK(matches_a_run);
    REQUIRE(r.metrics.size() == 1);
    CHECK(r.metrics[0].first == "mean_score");
    CHECK(r.metrics[0].second == e.mean);
    seen.insert(r.loss);
  }
  CHECK(seen.size() == std::set<double>(e.runs.begin(), e.runs.end()).size());  // every run drawn
  CHECK(evaluator.evaluations() == 60);

  TabularEvaluator x(table, 11), y(table, 11), z(table, 12);
  std::vector<double> lx, ly, lz;
  for (std::size_t i = 0; i < 50; ++i) {
    const Architecture arch = table.architecture(key_of_index(i * 131));
    lx.push_back(x.evaluate(arch).loss);
    ly.push_back(y.evaluate(arch).loss);
    lz.push_back(z.evaluate(arch).loss);
  }
  CHECK(lx == ly);
  CHECK(lx != lz);
  REQUIRE_THROWS_AS(x.evaluate(Architecture{0, 0}), InvalidArchitecture);
}

TEST_CASE("TabularEvaluator: state() and restore() round-trip", "[tabular]") {
  const auto& table = nas_bench_macro();
  const Architecture a = table.architecture("01201201");
  TabularEvaluator first(table, 5);
  for (int i = 0; i < 7; ++i) first.evaluate(a);
  TabularEvaluator second(table, 999);
  second.restore(first.state());
  CHECK(second.state() == first.state());
  CHECK(second.evaluations() == 7);
  for (int i = 0; i < 30; ++i) CHECK(first.evaluate(a).loss == second.evaluate(a).loss);

  const auto before = second.state();
  REQUIRE_THROWS_MATCHES(second.restore(nlohmann::json::array()), IoError, What(Contains("restore()")));
  REQUIRE_THROWS_MATCHES(second.restore({{"rng", before["rng"]}}), IoError, What(Contains("evaluations")));
  REQUIRE_THROWS_MATCHES(second.restore({{"rng", before["rng"]}, {"evaluations", -1}}), IoError,
                         What(Contains("evaluations")));
  REQUIRE_THROWS_AS(second.restore({{"rng", {1, 2}}, {"evaluations", 3}}), IoError);
  CHECK(second.state() == before);
}

TEST_CASE("a small table: op sizes, ranks with ties, format options", "[tabular]") {
  TableFormat format;  // no op names, no identity
  format.score_ceiling = 100.0;
  const auto table = BenchmarkTable::from_json(small_table(), format);
  CHECK(table.size() == 4);
  CHECK(table.num_blocks() == 2);
  // block 0: op '0' mean params (0 + 10)/2 = 5, op '1' (20 + 40)/2 = 30 -> sizes {0, 25}
  // block 1: op '0' (0 + 20)/2 = 10, op '1' (10 + 40)/2 = 25        -> sizes {0, 15}
  CHECK(table.op_size(0, 0) == 0.0);
  CHECK(table.op_size(0, 1) == 25.0);
  CHECK(table.op_size(1, 0) == 0.0);
  CHECK(table.op_size(1, 1) == 15.0);
  // means 90.5, 81, 95, 95: both 95s rank 1, 90.5 ranks 3, 81 ranks 4
  CHECK(table.rank(table.architecture("10")) == 1);
  CHECK(table.rank(table.architecture("11")) == 1);
  CHECK(table.rank(table.architecture("00")) == 3);
  CHECK(table.rank(table.architecture("01")) == 4);
  CHECK(table.op_name(0, 1) == "1");  // unnamed characters name themselves
  const TabularSpace space(table, "00");
  CHECK_FALSE(space.identity_op(0).has_value());
  CHECK(table.at(table.architecture("01")).flops == 1.0);
}

TEST_CASE("a sparse table: the search only evaluates architectures the table has", "[tabular][search]") {
  // 3 blocks over {a, b, c}, but only keys with at most one 'c'
  nlohmann::json j = nlohmann::json::object();
  for (char x : {'a', 'b', 'c'})
    for (char y : {'a', 'b', 'c'})
      for (char z : {'a', 'b', 'c'}) {
        const std::string key{x, y, z};
        if (std::count(key.begin(), key.end(), 'c') > 1) continue;
        const double score = 50.0 + (x == 'b') * 10 + (y == 'c') * 20 + (z == 'a') * 5;
        j[key] = entry({score, score + 1.0}, score + 0.5, 1.0 + (x == 'c') + (y == 'c') + (z == 'c'));
      }
  const auto table = BenchmarkTable::from_json(j, TableFormat{});
  CHECK(table.size() == 20);
  const TabularSpace space(table, "aaa");
  CHECK_FALSE(space.is_valid(table.architecture("cca")));
  TabularEvaluator evaluator(table, 1);
  faunae::FaUNAE<TabularSpace> search(space, {.seed = 3}, faunae::FaunaeMutation({.epsilon = 0.6}));
  const auto r = search.run(evaluator);
  CHECK(r.finished);
  for (const auto& rec : r.history) {
    CHECK(space.is_valid(rec.evaluated));
    CHECK(space.is_valid(rec.architecture));
  }
  REQUIRE_THROWS_MATCHES(TabularSpace(table, "ccc"), InvalidArchitecture, What(Contains("not in the table")));
}

TEST_CASE("bad table files are refused with an IoError that names the problem", "[tabular][errors]") {
  TempDir dir;
  const auto path = dir / "table.json";
  auto refused = [&](const std::string& content, const std::string& needle) {
    write_text(path, content);
    CAPTURE(content, needle);
    REQUIRE_THROWS_MATCHES(BenchmarkTable::load(path), IoError, What(Contains(needle) && Contains("table.json")));
  };

  SECTION("missing file") {
    REQUIRE_THROWS_MATCHES(BenchmarkTable::load(dir / "absent.json"), IoError,
                           What(Contains("cannot open") && Contains("absent.json")));
  }
  SECTION("corrupt JSON") { refused(R"({"00": {"test_acc": [1, 2], )", "not valid JSON"); }
  SECTION("not an object") { refused("[1, 2, 3]", "non-empty JSON object"); }
  SECTION("empty object") { refused("{}", "non-empty JSON object"); }
  SECTION("a key of the wrong length") {
    nlohmann::json j = small_table();
    j["012"] = entry({1.0}, 1.0, 1.0);
    refused(j.dump(), "key '012' has 3 characters");
  }
  SECTION("the empty key") { refused(R"({"": {"test_acc": [1], "mean_acc": 1, "params": 1}})", "empty key"); }
  SECTION("runs in some entries only") {
    nlohmann::json j = small_table();
    j["01"].erase("test_acc");
    refused(j.dump(), "entry '01': missing 'test_acc', which entry '00' has");
  }
  SECTION("runs that are not an array") {
    nlohmann::json j = small_table();
    j["01"]["test_acc"] = 90.0;
    refused(j.dump(), "entry '01': 'test_acc' must be a non-empty array");
  }
  SECTION("empty runs") {
    nlohmann::json j = small_table();
    j["10"]["test_acc"] = nlohmann::json::array();
    refused(j.dump(), "entry '10': 'test_acc' must be a non-empty array");
  }
  SECTION("a run that is not a number") {
    nlohmann::json j = small_table();
    j["11"]["test_acc"] = {90.0, "high"};
    refused(j.dump(), "entry '11': 'test_acc' holds \"high\"");
  }
  SECTION("a number too large for a double (non-finite)") {
    refused(R"({"00": {"test_acc": [1e999], "mean_acc": 1, "params": 1}})", "1e999");
  }
  SECTION("missing mean") {
    nlohmann::json j = small_table();
    j["00"].erase("mean_acc");
    refused(j.dump(), "entry '00': missing 'mean_acc'");
  }
  SECTION("negative params") {
    nlohmann::json j = small_table();
    j["11"]["params"] = -5;
    refused(j.dump(), "entry '11': 'params' must be >= 0");
  }
  SECTION("an entry that is not an object") {
    nlohmann::json j = small_table();
    j["01"] = 3;
    refused(j.dump(), "entry '01': must be an object");
  }
}

TEST_CASE("sizes near the largest double give finite op sizes and a usable space", "[tabular]") {
  // Caught by tests/fuzz/benchmark_table: the per-op sums of two finite sizes overflowed to inf, and
  // op_size became inf or NaN (inf − inf), which the search then refused as a space with a bad size.
  const double huge = 0.9 * std::numeric_limits<double>::max();
  nlohmann::json j;
  j["00"] = {{"test_acc", {1.0}}, {"mean_acc", 1.0}, {"params", huge}};
  j["01"] = {{"test_acc", {2.0}}, {"mean_acc", 2.0}, {"params", huge}};
  j["10"] = {{"test_acc", {3.0}}, {"mean_acc", 3.0}, {"params", 0.0}};
  const auto table = BenchmarkTable::from_json(j, TableFormat{});
  CHECK(table.op_size(0, 0) == huge);  // block 0: op '0' (mean huge) over op '1' (mean 0)
  CHECK(table.op_size(0, 1) == 0.0);
  CHECK(table.op_size(1, 0) == 0.0);       // block 1: op '0' (mean huge/2), op '1' (mean huge)
  CHECK(table.op_size(1, 1) == huge / 2);
  const TabularSpace space(table, "10");
  CHECK_NOTHROW(faunae::FaUNAE<TabularSpace>(space, {.seed = 1}));
}

TEST_CASE("non-finite measurements are refused with the key named", "[tabular][errors]") {
  // JSON files cannot hold NaN or Inf literally; a json value built in memory can.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  {
    nlohmann::json j = small_table();
    j["01"]["test_acc"] = {90.0, nan};
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '01'") && Contains("not a finite number")));
  }
  {
    nlohmann::json j = small_table();
    j["10"]["mean_acc"] = inf;
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '10'") && Contains("'mean_acc' must be a finite number")));
  }
  {
    nlohmann::json j = small_table();
    j["11"]["params"] = nan;
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '11'") && Contains("'params' must be a finite number")));
  }
  {
    nlohmann::json j = small_table();
    j["00"]["flops"] = -inf;
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '00'") && Contains("'flops'")));
  }
}

namespace {

/// `j` with a low-fidelity score "proxy_acc" in every entry (ranked unlike the truth: "01" is best).
nlohmann::json with_proxy(nlohmann::json j) {
  const std::map<std::string, double> proxy{{"00", 60.0}, {"01", 70.0}, {"10", 50.0}, {"11", 65.0}};
  for (auto& [key, value] : j.items()) value["proxy_acc"] = proxy.at(key);
  return j;
}

TableFormat proxy_format() {
  TableFormat f;
  f.proxy_field = "proxy_acc";
  return f;
}

}  // namespace

TEST_CASE("size is optional: without it in any entry (or with no size field) every size is 0", "[tabular]") {
  nlohmann::json j = small_table();
  for (auto& [key, value] : j.items()) value.erase("params");
  const auto table = BenchmarkTable::from_json(j, TableFormat{});
  CHECK_FALSE(table.has_sizes());
  CHECK(table.has_runs());
  for (std::size_t b = 0; b < 2; ++b)
    for (faunae::OpIndex k = 0; k < 2; ++k) CHECK(table.op_size(b, k) == 0.0);
  CHECK(table.at(table.architecture("11")).size == 0.0);
  // a neutral size restriction: the search runs
  const TabularSpace space(table, "00");
  TabularEvaluator evaluator(table, 1);
  faunae::FaUNAE<TabularSpace> search(space, {.seed = 2});
  CHECK(search.run(evaluator).finished);

  TableFormat no_size;
  no_size.size_field = "";
  const auto ignored = BenchmarkTable::from_json(small_table(), no_size);  // params present, but not read
  CHECK_FALSE(ignored.has_sizes());
  CHECK(ignored.at(ignored.architecture("11")).size == 0.0);
  CHECK(ignored.op_size(0, 1) == 0.0);
  CHECK(BenchmarkTable::from_json(small_table(), TableFormat{}).has_sizes());
}

TEST_CASE("an optional field in some entries only is refused with the first key that lacks it", "[tabular][errors]") {
  {
    nlohmann::json j = small_table();
    j["01"].erase("params");
    j["11"].erase("params");
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '01': missing 'params', which entry '00' has") &&
                                Contains("every entry or in none")));
  }
  {
    nlohmann::json j = small_table();
    j["00"].erase("params");
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '00': missing 'params', which entry '01' has")));
  }
  {
    nlohmann::json j = small_table();
    for (const char* key : {"00", "10", "11"}) j[key].erase("test_acc");
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '00': missing 'test_acc', which entry '01' has")));
  }
  {  // the existing checks still hold where the field is present
    nlohmann::json j = small_table();
    j["10"]["params"] = -1.0;
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '10'") && Contains("'params' must be >= 0, got -1")));
    j["10"]["params"] = "big";
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, TableFormat{}), IoError,
                           What(Contains("entry '10'") && Contains("'params' must be a finite number")));
  }
}

TEST_CASE("runs are optional: without them the run fidelity is refused, the truth and proxy work", "[tabular]") {
  nlohmann::json j = with_proxy(small_table());
  for (auto& [key, value] : j.items()) value.erase("test_acc");
  const auto table = BenchmarkTable::from_json(j, proxy_format());
  CHECK_FALSE(table.has_runs());
  CHECK(table.at(table.architecture("10")).runs.empty());
  REQUIRE_THROWS_MATCHES(TabularEvaluator(table, 1), InvalidArgument,
                         What(Contains("TabularEvaluator") && Contains("fidelity run") && Contains("'test_acc'") &&
                              Contains("Fidelity::mean")));
  TabularEvaluator truth(table, {.fidelity = Fidelity::mean});
  CHECK(truth.evaluate(table.architecture("01")).loss == 100.0 - 81.0);
  TabularEvaluator proxy(table, {.fidelity = Fidelity::proxy});
  CHECK(proxy.evaluate(table.architecture("01")).loss == 100.0 - 70.0);

  TableFormat no_runs;
  no_runs.runs_field = "";
  CHECK_FALSE(BenchmarkTable::from_json(small_table(), no_runs).has_runs());
}

TEST_CASE("a proxy field: in every entry, finite, reported, and a fidelity of its own", "[tabular]") {
  const auto table = BenchmarkTable::from_json(with_proxy(small_table()), proxy_format());
  REQUIRE(table.has_proxy());
  const Architecture a = table.architecture("10");
  CHECK(table.at(a).proxy == 50.0);
  CHECK(table.at(a).mean == 95.0);
  CHECK(table.rank(a) == 1);  // ranks stay by the truth

  TabularEvaluator on_proxy(table, {.seed = 4, .fidelity = Fidelity::proxy});
  const auto r = on_proxy.evaluate(a);
  CHECK(r.loss == 100.0 - 50.0);
  REQUIRE(r.metrics.size() == 2);
  CHECK(r.metrics[0] == std::pair<std::string, double>{"mean_score", 95.0});
  CHECK(r.metrics[1] == std::pair<std::string, double>{"proxy_score", 50.0});
  // the default fidelity reports the proxy too
  CHECK(TabularEvaluator(table, 4).evaluate(a).metrics.size() == 2);

  // a search run on the proxy: what it returns is judged by the truth
  const TabularSpace space(table, "00");
  faunae::FaUNAE<TabularSpace> search(space, {.seed = 5});
  const auto found = search.run(on_proxy);
  CHECK(found.finished);
  CHECK(table.rank(found.architecture) >= 1);

  // without a proxy field, the proxy fidelity is refused
  const auto plain = BenchmarkTable::from_json(small_table(), TableFormat{});
  CHECK_FALSE(plain.has_proxy());
  CHECK(TabularEvaluator(plain, 4).evaluate(a).metrics.size() == 1);
  REQUIRE_THROWS_MATCHES(TabularEvaluator(plain, {.fidelity = Fidelity::proxy}), InvalidArgument,
                         What(Contains("fidelity proxy") && Contains("proxy_field")));
}

TEST_CASE("a proxy field missing or not finite in an entry is refused with the key named", "[tabular][errors]") {
  {
    nlohmann::json j = with_proxy(small_table());
    j["11"].erase("proxy_acc");
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, proxy_format()), IoError,
                           What(Contains("entry '11'") && Contains("missing 'proxy_acc'") && Contains("proxy_field")));
  }
  {
    nlohmann::json j = with_proxy(small_table());
    j["01"]["proxy_acc"] = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, proxy_format()), IoError,
                           What(Contains("entry '01'") && Contains("'proxy_acc' must be a finite number")));
  }
  {
    nlohmann::json j = with_proxy(small_table());
    j["00"]["proxy_acc"] = "fast";
    REQUIRE_THROWS_MATCHES(BenchmarkTable::from_json(j, proxy_format()), IoError,
                           What(Contains("entry '00'") && Contains("'proxy_acc' must be a finite number")));
  }
}

TEST_CASE("TabularSpace without α0: initial_architecture() asks for SearchOptions::initial", "[tabular][errors]") {
  const auto& table = nas_bench_macro();
  const TabularSpace space(table);
  CHECK_FALSE(space.initial().has_value());
  CHECK(space.num_blocks() == 8);
  CHECK(space.is_valid(table.architecture("22212202")));
  REQUIRE_THROWS_MATCHES(space.initial_architecture(), InvalidArgument,
                         What(Contains("initial_architecture()") && Contains("no α0") &&
                              Contains("SearchOptions::initial")));
  const TabularSpace with(table, "11111111");
  CHECK(with.initial() == table.architecture("11111111"));
}

TEST_CASE("TabularEvaluator options: the seed constructor is {.seed}, the truth is noise-free", "[tabular]") {
  const auto& table = nas_bench_macro();
  TabularEvaluator by_seed(table, 21);
  TabularEvaluator by_options(table, {.seed = 21});
  TabularEvaluator truth(table, {.seed = 21, .fidelity = Fidelity::mean});
  const auto fresh_rng = truth.state()["rng"];
  for (std::size_t i = 0; i < 40; ++i) {
    const Architecture a = table.architecture(key_of_index(i * 157));
    REQUIRE(by_seed.evaluate(a).loss == by_options.evaluate(a).loss);
    const auto r = truth.evaluate(a);
    CHECK(r.loss == 100.0 - table.at(a).mean);
    CHECK(r.metrics[0].second == table.at(a).mean);
  }
  CHECK(by_seed.state() == by_options.state());
  CHECK(truth.state()["rng"] == fresh_rng);  // no draw without runs or noise
  CHECK(truth.options().fidelity == Fidelity::mean);
  // the default state reads as it always has (checkpoint compatibility)
  CHECK(by_seed.state().size() == 2);
  CHECK(by_seed.state().contains("rng"));
  CHECK(by_seed.state().contains("evaluations"));
}

TEST_CASE("TabularEvaluator noise: noise_sd · N(0, 1) on the loss, drawn after the run", "[tabular]") {
  const auto& table = nas_bench_macro();
  const Architecture a = table.architecture("01201201");
  const auto& e = table.at(a);
  {  // the draws, replayed with an Rng of the same seed: the run index first, then the normal
    TabularEvaluator noisy(table, {.seed = 8, .noise_sd = 0.5});
    Rng replay(8);
    for (int i = 0; i < 20; ++i) {
      const double run = e.runs[static_cast<std::size_t>(replay.below(e.runs.size()))];
      const double expected = 100.0 - run + 0.5 * replay.normal();
      REQUIRE(noisy.evaluate(a).loss == expected);
    }
  }
  {  // on the truth: loss − (100 − mean) has mean ≈ 0 and sd ≈ noise_sd
    TabularEvaluator noisy(table, {.seed = 9, .fidelity = Fidelity::mean, .noise_sd = 2.0});
    constexpr int n = 20000;
    double sum = 0.0, sum_sq = 0.0;
    for (int i = 0; i < n; ++i) {
      const double d = noisy.evaluate(a).loss - (100.0 - e.mean);
      sum += d;
      sum_sq += d * d;
    }
    CHECK(sum / n == Approx(0.0).margin(0.05));  // standard error 0.014
    CHECK(std::sqrt(sum_sq / n - (sum / n) * (sum / n)) == Approx(2.0).margin(0.05));
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad : {-0.1, nan, inf}) {
    CAPTURE(bad);
    REQUIRE_THROWS_MATCHES(TabularEvaluator(table, {.noise_sd = bad}), InvalidArgument,
                           What(Contains("TabularEvaluator") && Contains("noise_sd must be finite and >= 0") &&
                                Contains(fmt::format("got {}", bad))));
  }
}

TEST_CASE("TabularEvaluator with noise: a restored state continues the same draws", "[tabular][checkpoint]") {
  const auto& table = nas_bench_macro();
  const TabularEvaluatorOptions options{.seed = 13, .fidelity = Fidelity::run, .noise_sd = 0.3};
  TabularEvaluator first(table, options);
  for (std::size_t i = 0; i < 11; ++i) first.evaluate(table.architecture(key_of_index(i * 97)));
  const nlohmann::json saved = nlohmann::json::parse(first.state().dump());  // as a checkpoint holds it
  CHECK(saved["noise_sd"] == 0.3);
  CHECK_FALSE(saved.contains("fidelity"));
  TabularEvaluator resumed(table, TabularEvaluatorOptions{.seed = 999, .noise_sd = 0.3});
  resumed.restore(saved);
  CHECK(resumed.evaluations() == 11);
  for (std::size_t i = 0; i < 30; ++i) {
    const Architecture a = table.architecture(key_of_index(i * 211));
    REQUIRE(first.evaluate(a).loss == resumed.evaluate(a).loss);
  }
  CHECK(first.state() == resumed.state());

  // a state of another fidelity or noise is refused, and leaves the evaluator as it was
  TabularEvaluator other(table, {.seed = 1, .fidelity = Fidelity::mean});
  const auto before = other.state();
  CHECK(before["fidelity"] == "mean");
  REQUIRE_THROWS_MATCHES(other.restore(saved), IoError,
                         What(Contains("restore()") && Contains("fidelity run") && Contains("this one has mean")));
  TabularEvaluator quieter(table, {.seed = 1, .noise_sd = 0.1});
  REQUIRE_THROWS_MATCHES(quieter.restore(saved), IoError, What(Contains("noise_sd 0.3") && Contains("has 0.1")));
  REQUIRE_THROWS_MATCHES(TabularEvaluator(table, 1).restore(saved), IoError, What(Contains("noise_sd 0.3")));
  nlohmann::json bad = saved;
  bad["fidelity"] = 3;
  REQUIRE_THROWS_MATCHES(resumed.restore(bad), IoError, What(Contains("\"fidelity\" must be a string")));
  bad = saved;
  bad["noise_sd"] = "loud";
  REQUIRE_THROWS_MATCHES(resumed.restore(bad), IoError, What(Contains("\"noise_sd\" must be a number")));
  CHECK(other.state() == before);
}

TEST_CASE("the Fashion-MNIST ground truth loads, every number in range", "[tabular][ground_truth]") {
  const auto table = BenchmarkTable::load(FAUNAE_FASHION_MNIST_TABLE, faunae::tabular::fashion_mnist_ground_truth_format());
  REQUIRE(table.size() >= 1);
  REQUIRE(table.num_blocks() == 8);
  REQUIRE(table.has_runs());
  REQUIRE(table.has_sizes());
  const auto alpha0 = table.architecture("00000000");  // every block conv3: the program's plain α0, its size the budget
  const double budget = table.at(alpha0).size;
  table.for_each([&](const faunae::Architecture& a, const faunae::tabular::Entry& e) {
    INFO(table.key(a));
    CHECK(e.runs.size() == 2);
    double sum = 0.0;
    for (const double r : e.runs) {
      CHECK(r > 10.0);  // better than chance on 10 classes
      CHECK(r <= 100.0);
      sum += r;
    }
    CHECK(e.mean == Approx(sum / 2.0));
    CHECK(e.size > 0.0);
    CHECK(e.size <= budget);
    CHECK(e.flops > 0.0);
    for (std::size_t b = 0; b < 8; ++b) CHECK(table.op_name(b, a[b]) != "");
  });
}

TEST_CASE("truth v2 of Fashion-MNIST: each table loads and equals the runs file it was written from", "[tabular][ground_truth]") {
  // benchmarks/data/fashion-mnist/v2: ground_truth --table-only writes each table (the architectures
  // with every seed of its provenance) from a runs file (JSON lines: the recipe, then one run each).
  const std::string dir = FAUNAE_FASHION_MNIST_V2;
  for (const std::string sample : {"whole", "budget"}) {
    INFO(sample);
    const std::string table_path = dir + "/truth-v2-" + sample + ".json";
    const auto table = BenchmarkTable::load(table_path, faunae::tabular::fashion_mnist_ground_truth_format());
    const auto provenance = nlohmann::json::parse(read_text(table_path + ".provenance.json"));
    const auto seeds = provenance.at("seeds").get<std::vector<int>>();
    REQUIRE(seeds.size() >= 2);
    REQUIRE(table.num_blocks() == 8);
    CHECK(table.size() + provenance.at("architectures_not_yet_trained").get<std::size_t>() ==
          provenance.at("architectures_planned").get<std::size_t>());
    CHECK(table.size() >= (sample == "whole" ? 100U : 20U));

    // The runs file: its recipe is the provenance's, each (architecture, seed) once.
    std::istringstream lines(read_text(dir + "/truth-v2-" + sample + "-runs.jsonl"));
    std::string line;
    REQUIRE(std::getline(lines, line));
    const auto recipe = nlohmann::json::parse(line).at("recipe");
    CHECK(recipe == provenance.at("recipe"));
    CHECK(recipe.at("sample") == sample);
    CHECK(recipe.at("resolution") == 14);
    std::map<std::pair<std::string, int>, double> runs;
    while (std::getline(lines, line)) {
      const auto run = nlohmann::json::parse(line);
      const auto key = run.at("key").get<std::string>();
      INFO(key);
      CHECK(key.size() == 8);
      CHECK(key.find_first_not_of("0123") == std::string::npos);
      const double acc = run.at("test_acc").get<double>();
      CHECK(acc > 10.0);  // better than chance on 10 classes
      CHECK(acc <= 100.0);
      CHECK(runs.emplace(std::pair{key, run.at("seed").get<int>()}, acc).second);
    }

    // Every table entry holds exactly the runs of its seeds, in the provenance's order.
    const double budget = provenance.at("budget_parameters").get<double>();
    table.for_each([&](const faunae::Architecture& a, const faunae::tabular::Entry& e) {
      const std::string key = table.key(a);
      INFO(key);
      REQUIRE(e.runs.size() == seeds.size());
      double sum = 0.0;
      for (std::size_t i = 0; i < seeds.size(); ++i) {
        const auto it = runs.find({key, seeds[i]});
        REQUIRE(it != runs.end());
        CHECK(e.runs[i] == it->second);
        sum += e.runs[i];
      }
      CHECK(e.mean == Approx(sum / static_cast<double>(seeds.size())));
      CHECK(e.size > 0.0);
      CHECK(e.flops >= 0.0);
      CHECK(provenance.at("within_budget").at(key).get<bool>() == (e.size <= budget));
      if (sample == "budget") CHECK(e.size <= budget);
    });
    if (sample == "budget") CHECK(table.at(table.architecture("00000000")).size == budget);  // α0 is the budget
  }
}

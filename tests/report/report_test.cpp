// The HTML report of `faunae report` (examples/faunae/report.hpp): rendered from two simulated runs
// (the ResNet-block space with probe.json and train.json, the DARTS space without them), its
// escaping, its errors, and the page as headless Chromium shows it once its scripts ran.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/error.hpp"
#include "report.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using faunae_test::Contains;

// --- fixtures: runs simulated the way the search writes them --------------------------------------

/// A small deterministic generator (the fixtures must not depend on a standard library's distributions).
struct Lcg {
  std::uint64_t state;
  std::uint32_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state >> 33);
  }
  double uniform() { return next() / 2147483648.0; }
  std::size_t below(std::size_t n) { return next() % n; }
};

/// A history in search.json's form: mutations accepted or reverted by chance, an elimination round
/// (one op dropped per block, replacing the current op when it is the one dropped) every
/// `epochs_per_round` epochs, until one op is left per block. Returns the history; `architecture`
/// ends as the found architecture and `alive` as the ops left.
json simulate(const std::vector<std::vector<std::string>>& ops, std::vector<std::size_t>& architecture,
              std::vector<std::vector<bool>>& alive, std::size_t epochs_per_round, std::uint64_t seed) {
  Lcg rng{seed};
  alive.clear();
  for (const auto& o : ops) alive.emplace_back(o.size(), true);
  const auto alive_count = [&](std::size_t b) { return static_cast<std::size_t>(std::count(alive[b].begin(), alive[b].end(), true)); };
  const auto pick_alive = [&](std::size_t b, std::size_t avoid) {
    std::vector<std::size_t> c;
    for (std::size_t k = 0; k < alive[b].size(); ++k)
      if (alive[b][k] && k != avoid) c.push_back(k);
    return c[rng.below(c.size())];
  };
  json history = json::array();
  history.push_back({{"epoch", 0}, {"evaluated", architecture}, {"architecture", architecture}, {"loss", 7.25},
                     {"metrics", json::array({json::array({"train_loss", 7.4}), json::array({"lr", 0.03}), json::array({"seconds", 1.3})})},
                     {"mutations", json::array()}, {"eliminations", json::array()}, {"probabilities", json::array()}});
  double previous = 7.25;
  for (std::size_t epoch = 1;; ++epoch) {
    bool done = true;
    for (std::size_t b = 0; b < ops.size(); ++b) done = done && alive_count(b) == 1;
    if (done) break;
    const double loss = 7.25 - 1.6 * (1 - std::exp(-static_cast<double>(epoch) / 10.0)) + 0.12 * (rng.uniform() - 0.5);
    json mutations = json::array();
    const std::size_t n_mutations = 1 + rng.below(2);
    const std::vector<std::size_t> evaluated = architecture;
    for (std::size_t m = 0; m < n_mutations; ++m) {
      const std::size_t b = rng.below(ops.size());
      if (alive_count(b) < 2) continue;
      const std::size_t from = architecture[b], to = pick_alive(b, from);
      const bool accepted = loss < previous + 0.02 && rng.uniform() < 0.7;
      const bool depth = ops[b][to] == "identity" || ops[b][from] == "identity";
      mutations.push_back({{"block", b}, {"from", from}, {"to", to}, {"kind", depth ? "depth" : "op"}, {"accepted", accepted},
                           {"loss_from", epoch < 3 ? json(nullptr) : json(previous)}, {"loss_to", loss}});
      if (accepted) architecture[b] = to;
    }
    json eliminations = json::array();
    if (epoch % epochs_per_round == 0) {
      for (std::size_t b = 0; b < ops.size(); ++b) {
        if (alive_count(b) < 2) continue;
        const std::size_t op = pick_alive(b, ops[b].size());
        alive[b][op] = false;
        json replacement = nullptr;
        if (architecture[b] == op) {
          architecture[b] = pick_alive(b, op);
          replacement = architecture[b];
        }
        eliminations.push_back({{"block", b}, {"op", op}, {"score", 0.5 + rng.uniform()}, {"replacement", replacement}});
      }
    }
    history.push_back({{"epoch", epoch}, {"evaluated", evaluated}, {"architecture", architecture}, {"loss", loss},
                       {"metrics", json::array({json::array({"train_loss", loss + 0.15}), json::array({"lr", 0.03}), json::array({"seconds", 1.1})})},
                       {"mutations", std::move(mutations)}, {"eliminations", std::move(eliminations)},
                       {"probabilities", json::array()}});
    previous = loss;
  }
  return history;
}

json alive_json(const std::vector<std::vector<bool>>& alive) {
  json a = json::array();
  for (const auto& row : alive) a.push_back(row);
  return a;
}

/// The ResNet-block space of the `faunae` program: 4 stages of 3, 4, 6, 3 blocks; the first block of
/// a stage strides, so it has no identity op. α0 = conv3 everywhere (ResNet-50's 3×3 convolutions).
json resnet_search() {
  const std::vector<std::string> all{"conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity"};
  const std::array<int, 4> per_stage{3, 4, 6, 3};
  const std::array<double, 7> weight{9, 25, 5.5, 6.5, 14, 16, 0};
  json blocks = json::array();
  std::vector<std::vector<std::string>> ops;
  std::vector<std::vector<double>> op_params;
  std::vector<double> spatial;
  for (int s = 0; s < 4; ++s) {
    const double c = 16.0 * (1 << s);
    for (int i = 0; i < per_stage[s]; ++i) {
      std::vector<std::string> o(all.begin(), i == 0 ? all.end() - 1 : all.end());
      std::vector<double> p;
      for (std::size_t k = 0; k < o.size(); ++k) p.push_back(weight[k] * c * c + (o[k] == "identity" ? 0 : 2 * c));
      json block = {{"name", fmt::format("stage{}.block{}", s + 1, i)}, {"ops", o}, {"op_params", p},
                    {"identity", i == 0 ? json(nullptr) : json(6)}};
      blocks.push_back(std::move(block));
      ops.push_back(o);
      op_params.push_back(p);
      spatial.push_back(std::pow(32.0 / (1 << s), 2));
    }
  }
  std::vector<std::size_t> initial(ops.size(), 0), architecture = initial;
  std::vector<std::vector<bool>> alive;
  json history = simulate(ops, architecture, alive, 4, 7);
  const auto cost = [&](const std::vector<std::size_t>& a) {
    double params = 12000, flops = 1.5e6;
    for (std::size_t b = 0; b < a.size(); ++b) {
      params += op_params[b][a[b]];
      flops += op_params[b][a[b]] * spatial[b];
    }
    return std::pair{params, flops};
  };
  const auto names = [&](const std::vector<std::size_t>& a) {
    std::vector<std::string> n;
    for (std::size_t b = 0; b < a.size(); ++b) n.push_back(ops[b][a[b]]);
    return n;
  };
  const auto [p0, f0] = cost(initial);
  const auto [p1, f1] = cost(architecture);
  return {{"format", "faunae.run"}, {"version", 1},
          {"space", {{"kind", "resnet"}, {"blocks", blocks}}},
          {"initial", {{"architecture", initial}, {"ops", names(initial)}, {"params", p0}, {"flops", f0}}},
          {"found", {{"architecture", architecture}, {"ops", names(architecture)}, {"params", p1}, {"flops", f1}}},
          {"history", history}, {"alive", alive_json(alive)}, {"evaluations", history.size()}, {"seconds", 5025.4},
          {"seed", 0},
          {"config", {{"data", {{"kind", "fashion-mnist"}, {"images", 10000}}},
                      {"space", {{"kind", "resnet"}, {"blocks_per_stage", per_stage}}},
                      {"initial", "resnet50"}, {"search", {{"epochs_per_op", 4}, {"steps", 5}}}, {"seed", 0}}}};
}

json resnet_probe(const json& search) {
  return {{"budget", {{"epochs", 5}, {"train_images", 10000}}},
          {"architectures",
           {{{"name", "evolved"}, {"architecture", search["found"]["architecture"]}, {"params", search["found"]["params"]},
             {"flops", search["found"]["flops"]}, {"linear", 0.834}, {"knn", 0.801}},
            {{"name", "alpha0"}, {"architecture", search["initial"]["architecture"]}, {"params", search["initial"]["params"]},
             {"flops", search["initial"]["flops"]}, {"linear", 0.812}, {"knn", 0.779}},
            {{"name", "random"}, {"architecture", search["initial"]["architecture"]}, {"params", 0.93 * search["initial"]["params"].get<double>()},
             {"flops", 1.12 * search["initial"]["flops"].get<double>()},
             {"linear", 0.768}, {"knn", 0.73}}}}};
}

json resnet_train() {
  json archs = json::array();
  for (const auto& [name, floor] : {std::pair{"evolved", 0.9}, std::pair{"alpha0", 1.05}}) {
    json epochs = json::array();
    for (int e = 1; e <= 12; ++e) epochs.push_back({{"epoch", e}, {"loss", floor + 5.2 * std::exp(-e / 3.5)}, {"seconds", 41.5}});
    archs.push_back({{"name", name}, {"epochs", std::move(epochs)}});
  }
  return {{"architectures", std::move(archs)}};
}

/// The DARTS space: 14 edges of the normal cell (blocks 0..13), then 14 of the reduction cell.
json darts_search() {
  const std::vector<std::string> all{"none", "skip_connect", "conv_3x3", "conv_5x5", "sep_conv_3x3", "sep_conv_5x5", "max_pool_3x3", "avg_pool_3x3"};
  json blocks = json::array(), normal = json::array(), reduce = json::array();
  std::vector<std::vector<std::string>> ops;
  for (int cell = 0; cell < 2; ++cell) {
    std::size_t edge = 0;
    for (int node = 0; node < 4; ++node)
      for (int from = 0; from < node + 2; ++from, ++edge) {
        const std::size_t block = static_cast<std::size_t>(cell) * 14 + edge;
        blocks.push_back({{"name", fmt::format("{}.node{}.in{}", cell == 0 ? "normal" : "reduce", node, from)}, {"ops", all},
                          {"identity", 1}});
        ops.push_back(all);
        (cell == 0 ? normal : reduce).push_back({{"node", node}, {"from", from}, {"block", block}});
      }
  }
  std::vector<std::size_t> initial(ops.size(), 4), architecture = initial;  // α0: sep_conv_3x3 on every edge
  std::vector<std::vector<bool>> alive;
  json history = simulate(ops, architecture, alive, 3, 11);
  return {{"format", "faunae.run"}, {"version", 1},
          {"space", {{"kind", "darts"}, {"blocks", blocks}, {"cells", {{"normal", normal}, {"reduce", reduce}}}}},
          {"initial", {{"architecture", initial}, {"params", 1.93e6}, {"flops", 3.1e8}}},
          {"found", {{"architecture", architecture}, {"params", 1.41e6}, {"flops", 2.2e8}}},
          {"history", history}, {"alive", alive_json(alive)}, {"evaluations", history.size()}, {"seconds", 812.0}, {"seed", 3},
          {"config", {{"space", {{"kind", "darts"}, {"layers", 6}}}, {"seed", 3}}}};
}

// --- helpers -----------------------------------------------------------------------------------

/// A fake chart library for the tests that only read the HTML.
const std::string kFakeChartJs = "/* fake chart library */ window.FAKE_CHART = 1;";

template <class Exception, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Exception& e) {
    return e.what();
  }
  FAIL("no exception of the expected type was thrown");
  return {};
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}

/// A folder under the system's temporary folder, removed with its content.
struct TempDir {
  fs::path path;
  explicit TempDir(std::string_view name) {
    path = fs::temp_directory_path() / fmt::format("faunae-report-{}-{}", name, Lcg{reinterpret_cast<std::uintptr_t>(this)}.next());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old) ::setenv(name.c_str(), old->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

void write(const fs::path& path, const json& j) { std::ofstream(path) << j.dump(1); }

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The opening tag of the element with id `id` ("" when there is none).
std::string tag_of(const std::string& html, const std::string& id) {
  const auto at = html.find(fmt::format("id=\"{}\"", id));
  if (at == std::string::npos) return {};
  const auto open = html.rfind('<', at), close = html.find('>', at);
  return html.substr(open, close - open + 1);
}

/// The source tree's page.css and page.js, with `chart_js` as the chart library.
faunae::report::Assets assets_with(std::string chart_js) {
  faunae::report::Assets a = faunae::report::load_assets(FAUNAE_REPORT_SOURCE_DIR);
  a.chart_js = std::move(chart_js);
  return a;
}

std::string render(const json& search, const json& probe = nullptr, const json& train = nullptr) {
  json run = {{"search", search}, {"run_dir", "runs/test"}};
  if (!probe.is_null()) run["probe"] = probe;
  if (!train.is_null()) run["train"] = train;
  return faunae::report::render_report(run, assets_with(std::string(kFakeChartJs)));
}

}  // namespace

TEST_CASE("a ResNet run shows every part", "[report]") {
  const json search = resnet_search();
  const std::string html = render(search, resnet_probe(search), resnet_train());

  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  for (const char* id : {"summary", "loss", "loss-chart", "eliminations", "elimination-table", "architecture", "architecture-svg",
                         "cost", "cost-table", "cost-chart", "probe", "probe-table", "probe-chart", "train", "train-chart", "ops",
                         "config", "faunae-data"})
    CHECK_THAT(html, Contains(fmt::format("id=\"{}\"", id)));
  CHECK_THAT(html, Contains(kFakeChartJs));                    // the library is inlined
  CHECK_THAT(html, Contains("default-src 'none'"));            // and nothing may be loaded
  CHECK_THAT(html, !Contains("not run yet"));
  CHECK_THAT(html, Contains("stage4.block2"));
  // One block per search block in the drawing, one row per block in the timeline.
  const std::size_t blocks = search["space"]["blocks"].size();
  CHECK(count(html, "<g class=\"block") == blocks);
  CHECK(count(html, "<td class=\"block\">") == blocks);
  // A round per elimination epoch, and the found op highlighted once per block.
  std::size_t rounds = 0;
  for (const auto& h : search["history"]) rounds += h["eliminations"].empty() ? 0 : 1;
  CHECK(rounds == 6);
  CHECK(count(html, ">round ") == rounds);
  CHECK(count(html, "chip final") == blocks);
  // The summary: params and FLOPs of α0 against the found architecture, with the change.
  const double p0 = search["initial"]["params"], p1 = search["found"]["params"];
  CHECK_THAT(html, Contains(faunae::report::detail::si(p0)));
  CHECK_THAT(html, Contains(faunae::report::detail::percent_change(p0, p1)));
  CHECK_THAT(html, Contains("83.4%"));  // linear accuracy of the evolved architecture
  CHECK_THAT(html, Contains("+2.2 points against α0"));
  CHECK_THAT(html, Contains("+6.6 points against the random architecture"));
}

TEST_CASE("a DARTS run draws the normal and the reduction cell", "[report]") {
  const json search = darts_search();
  const std::string html = render(search);
  for (const char* which : {"normal", "reduce"}) {
    const std::string tag = tag_of(html, fmt::format("cell-{}", which));
    REQUIRE_FALSE(tag.empty());
    // Every edge whose found op is not "none" is drawn, and only those.
    std::size_t edges = 0;
    for (const auto& e : search["space"]["cells"][which]) {
      const std::size_t block = e["block"];
      edges += search["found"]["architecture"][block] == 0 ? 0 : 1;
    }
    CHECK_THAT(tag, Contains(fmt::format("data-edges=\"{}\"", edges)));
  }
  CHECK(count(html, "class=\"edge\"") < 28);  // some edges ended as "none"
  CHECK_THAT(html, Contains("c_{k-2}"));
  CHECK_THAT(html, Contains("c_{k}"));
  CHECK_THAT(html, !Contains("architecture-svg"));
}

TEST_CASE("strings from the run are escaped, scripts stay inert", "[report]") {
  json search = resnet_search();
  search["space"]["blocks"][1]["name"] = "stage1.<script>alert(\"pwned\")</script>";
  search["space"]["blocks"][2]["ops"][1] = "conv5<img src=x onerror=alert(1)>";
  search["config"]["note"] = "</pre><script>alert('config')</script>";
  // Mutate block 1 and 2 in epoch 1 so their names reach the chart's data too.
  search["history"][1]["mutations"] = {{{"block", 1}, {"from", 0}, {"to", 1}, {"kind", "op"}, {"accepted", true}, {"loss_from", 7.2}, {"loss_to", 7.0}},
                                       {{"block", 2}, {"from", 0}, {"to", 1}, {"kind", "op"}, {"accepted", false}, {"loss_from", 7.2}, {"loss_to", 7.3}}};
  const std::string html = render(search);
  CHECK_THAT(html, !Contains("<script>alert"));
  CHECK_THAT(html, !Contains("<img src=x"));
  CHECK_THAT(html, Contains("stage1.&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"));
  CHECK_THAT(html, Contains("&lt;/pre&gt;&lt;script&gt;alert(&#39;config&#39;)"));
  CHECK_THAT(html, Contains("\\u003cscript\\u003ealert"));  // inside the JSON for the charts
  // Exactly three <script> elements: the data, the library, the page's own.
  CHECK(count(html, "<script") == 3);
  CHECK(count(html, "</script>") == 3);

  // A library that contains "</script>" in a string cannot end its element early.
  const std::string lib = R"(var s = "</script><script>alert(1)</script>"; var c = "<!-- x";)";
  const std::string with_lib = faunae::report::render_report({{"search", resnet_search()}}, assets_with(lib));
  CHECK(count(with_lib, "</script>") == 3);
  CHECK_THAT(with_lib, Contains(R"(var s = "<\/script><script>alert(1)<\/script>"; var c = "<\!-- x";)"));
}

TEST_CASE("a missing or wrong required key is an error naming the file and the key", "[report]") {
  using faunae::InvalidArgument;
  const json good = resnet_search();
  const auto error_without = [&](const json::json_pointer& key) {
    json bad = good;
    bad[key.parent_pointer()].erase(key.back());
    return message_of<InvalidArgument>([&] { render(bad); });
  };
  CHECK_THAT(error_without(json::json_pointer("/format")), Contains("search.json: missing required key 'format'"));
  CHECK_THAT(error_without(json::json_pointer("/space/kind")), Contains("search.json: missing required key 'space.kind'"));
  CHECK_THAT(error_without(json::json_pointer("/space/blocks/3/ops")), Contains("search.json: missing required key 'space.blocks[3].ops'"));
  CHECK_THAT(error_without(json::json_pointer("/found/architecture")), Contains("'found.architecture'"));
  CHECK_THAT(error_without(json::json_pointer("/history/2/epoch")), Contains("'history[2].epoch'"));
  CHECK_THAT(error_without(json::json_pointer("/history")), Contains("'history'"));

  json bad = good;
  bad["found"]["architecture"][5] = 17;
  CHECK_THAT(message_of<InvalidArgument>([&] { render(bad); }),
             Contains("search.json: 'found.architecture[5]' is op 17 of block 5 'stage2.block2', which has 7 ops"));
  bad = good;
  bad["initial"]["architecture"].erase(0);
  CHECK_THAT(message_of<InvalidArgument>([&] { render(bad); }), Contains("'initial.architecture' has 15 entries, the space has 16 blocks"));
  bad = good;
  bad["format"] = "faunae.checkpoint";
  CHECK_THAT(message_of<InvalidArgument>([&] { render(bad); }), Contains("'format' must be \"faunae.run\""));
  bad = good;
  bad["space"]["kind"] = "mobilenet";
  CHECK_THAT(message_of<InvalidArgument>([&] { render(bad); }), Contains("'space.kind' must be \"resnet\" or \"darts\""));
  bad = good;
  bad["history"][3]["loss"] = "low";
  CHECK_THAT(message_of<InvalidArgument>([&] { render(bad); }), Contains("'history[3].loss' must be a number"));
  bad = darts_search();
  bad["space"].erase("cells");
  CHECK_THAT(message_of<InvalidArgument>([&] { render(bad); }), Contains("missing required key 'space.cells'"));

  json probe = resnet_probe(good);
  probe["architectures"][1].erase("name");
  CHECK_THAT(message_of<InvalidArgument>([&] { render(good, probe); }), Contains("probe.json: missing required key 'architectures[1].name'"));
  json train = resnet_train();
  train["architectures"][0]["epochs"][2].erase("loss");
  CHECK_THAT(message_of<InvalidArgument>([&] { render(good, nullptr, train); }),
             Contains("train.json: missing required key 'architectures[0].epochs[2].loss'"));
}

TEST_CASE("optional parts that were not run yet say how to run them", "[report]") {
  json search = resnet_search();
  // Optional fields of search.json may be missing, too.
  for (const char* key : {"alive", "evaluations", "seconds", "seed", "config"}) search.erase(key);
  for (auto& h : search["history"]) h.erase("metrics");
  search["found"].erase("flops");
  const std::string html = render(search);
  CHECK_THAT(html, Contains("not run yet: <code>faunae probe runs/test</code>"));
  CHECK_THAT(html, Contains("not run yet: <code>faunae train runs/test</code>"));
  CHECK_THAT(html, !Contains("id=\"probe-chart\""));
  CHECK_THAT(html, !Contains("id=\"train-chart\""));
  CHECK_THAT(html, Contains("id=\"loss-chart\""));
  CHECK_THAT(html, Contains("id=\"cost-chart\""));  // params are still there for both

  // A search that has only evaluated α0, and one that has not even done that.
  search["history"] = json::array({search["history"][0]});
  search["found"] = search["initial"];
  CHECK_THAT(render(search), Contains("No elimination round yet."));
  search["history"] = json::array();
  CHECK_THAT(render(search), Contains("The history is empty"));
}

TEST_CASE("write_report reads the run directory and writes the page atomically", "[report]") {
  TempDir dir("write");
  const json search = resnet_search();
  const fs::path out = dir.path / "report.html";

  // No search.json: an IoError naming the file.
  CHECK_THAT(message_of<faunae::IoError>([&] { faunae::report::write_report(dir.path, out); }),
             Contains((dir.path / "search.json").string()));
  // Not JSON: an IoError naming the file.
  std::ofstream(dir.path / "search.json") << "{\"format\": ";
  CHECK_THAT(message_of<faunae::IoError>([&] { faunae::report::write_report(dir.path, out); }), Contains("is not valid JSON"));

  write(dir.path / "search.json", search);
  faunae::report::write_report(dir.path, out);
  std::string html = slurp(out);
  CHECK_THAT(html, Contains("not run yet: <code>faunae probe"));
  CHECK_THAT(html, Contains(dir.path.string()));
  CHECK_THAT(html, Contains("Chart.js v4"));  // the real library, from the source tree's report/node_modules
  CHECK_FALSE(fs::exists(out.string() + ".tmp"));

  write(dir.path / "probe.json", resnet_probe(search));
  write(dir.path / "train.json", resnet_train());
  faunae::report::write_report(dir.path, out);
  html = slurp(out);
  CHECK_THAT(html, !Contains("not run yet"));
  CHECK_THAT(html, Contains("id=\"probe-chart\""));
}

TEST_CASE("the page's style and script come from the assets folder, and a missing asset is an error naming it",
          "[report]") {
  TempDir dir("assets");
  write(dir.path / "search.json", resnet_search());
  const fs::path assets = dir.path / "assets";
  fs::create_directories(assets);
  ScopedEnv env("FAUNAE_REPORT_ASSETS", assets.string());
  CHECK(faunae::report::assets_folder() == assets);
  const auto fails_naming = [&](const std::string& what, const std::string& fix) {
    const std::string message = message_of<faunae::IoError>([&] { faunae::report::write_report(dir.path, dir.path / "r.html"); });
    CHECK_THAT(message, Contains(what));
    CHECK_THAT(message, Contains(fix));
    CHECK_FALSE(fs::exists(dir.path / "r.html"));
  };
  fails_naming((assets / "page.css").string(), "FAUNAE_REPORT_ASSETS");
  std::ofstream(assets / "page.css") << "body { color: #123456; }";
  fails_naming((assets / "page.js").string(), "FAUNAE_REPORT_ASSETS");
  std::ofstream(assets / "page.js") << "window.MY_PAGE = 1;";
  fails_naming((assets / "node_modules/chart.js/dist/chart.umd.min.js").string(), "npm ci --prefix report");

  // An installed folder holds chart.umd.min.js at its top; the source tree under node_modules/.
  std::ofstream(assets / "chart.umd.min.js") << "window.MY_CHART = 1;";
  faunae::report::write_report(dir.path, dir.path / "r.html");
  const std::string html = slurp(dir.path / "r.html");
  CHECK_THAT(html, Contains("body { color: #123456; }"));
  CHECK_THAT(html, Contains("window.MY_PAGE = 1;"));
  CHECK_THAT(html, Contains("window.MY_CHART = 1;"));

  // A style that would end the <style> element is refused.
  fs::remove(dir.path / "r.html");
  std::ofstream(assets / "page.css") << "body{}</style><script>alert(1)</script>";
  fails_naming("contains '</style'", "page.css");
}

// --- the page in a browser ------------------------------------------------------------------------

namespace {

/// Runs Debian's chromium headless on `page` with `args`; its stdout goes to `out`, its stderr to `log`.
int chromium(const fs::path& browser, const fs::path& profile, const std::string& args, const fs::path& page,
             const fs::path& out, const fs::path& log) {
  const std::string command = fmt::format(
      "timeout 180 '{}' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --disable-extensions --hide-scrollbars --force-device-scale-factor=1 "
      "--enable-logging=stderr --v=0 --user-data-dir='{}' --virtual-time-budget=5000 {} 'file://{}' > '{}' 2> '{}'",
      browser.string(), profile.string(), args, page.string(), out.string(), log.string());
  return std::system(command.c_str());
}

/// Width and height from a PNG's IHDR chunk (0, 0 if the file is not a PNG).
std::pair<std::uint32_t, std::uint32_t> png_size(const std::string& png) {
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  const auto be32 = [&](std::size_t at) {
    return (std::uint32_t(std::uint8_t(png[at])) << 24) | (std::uint32_t(std::uint8_t(png[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(png[at + 2])) << 8) | std::uint32_t(std::uint8_t(png[at + 3]));
  };
  return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("renders in headless Chromium and shows its parts", "[report][chromium]") {
  const char* configured = std::getenv("FAUNAE_CHROMIUM");
  const fs::path browser = configured && *configured ? configured : "/usr/bin/chromium";
  if (!fs::exists(browser)) {
    const char* require = std::getenv("FAUNAE_REQUIRE_CHROMIUM");
    if (require && std::string(require) == "1")
      FAIL("chromium not found at " << browser << ": install it with scripts/setup-debian.sh (apt-get install chromium)");
    WARN("chromium not found at " << browser << ": the report was not checked in a browser "
         "(scripts/setup-debian.sh installs it; set FAUNAE_REQUIRE_CHROMIUM=1 to make this a failure)");
    return;
  }
  // The pages stay in the build folder for a person to open.
  const fs::path pages = FAUNAE_REPORT_TEST_OUTPUT;
  TempDir tmp("chromium");
  struct Case {
    std::string name;
    json search, probe, train;
    std::vector<std::string> charts, drawings;
  };
  const json resnet = resnet_search();
  const std::vector<Case> cases{
      {"resnet", resnet, resnet_probe(resnet), resnet_train(), {"loss-chart", "cost-chart", "probe-chart", "train-chart"}, {"architecture-svg"}},
      {"darts", darts_search(), nullptr, nullptr, {"loss-chart", "cost-chart"}, {"cell-normal", "cell-reduce"}}};
  for (const auto& c : cases) {
    SECTION(c.name) {
      const fs::path run_dir = tmp.path / c.name;
      fs::create_directories(run_dir);
      write(run_dir / "search.json", c.search);
      if (!c.probe.is_null()) write(run_dir / "probe.json", c.probe);
      if (!c.train.is_null()) write(run_dir / "train.json", c.train);
      const fs::path page = fs::absolute(pages / fmt::format("report-{}.html", c.name));
      faunae::report::write_report(run_dir, page);

      // The DOM after the page's scripts ran: every chart marked drawn, the drawings present.
      const fs::path dom_file = tmp.path / (c.name + "-dom.html"), log = tmp.path / (c.name + "-chromium.log");
      const int rc = chromium(browser, tmp.path / (c.name + "-profile"), "--dump-dom", page, dom_file, log);
      INFO("chromium's log: " << slurp(log).substr(0, 3000));
      REQUIRE(rc == 0);
      const std::string dom = slurp(dom_file);
      REQUIRE_THAT(dom, Contains("data-charts-done=\"1\""));
      for (const auto& id : c.charts) {
        INFO("chart " << id);
        CHECK_THAT(tag_of(dom, id), Contains("data-rendered=\"1\""));
      }
      for (const auto& id : c.drawings) {
        INFO("drawing " << id);
        CHECK_THAT(tag_of(dom, id), Contains("<svg"));
      }
      CHECK_THAT(dom, !Contains("data-rendered=\"0\""));  // no chart reported an error
      CHECK_THAT(dom, Contains("id=\"elimination-table\""));
      // The page's console stayed empty: no script error, and nothing was loaded from anywhere (the
      // Content-Security-Policy would have blocked it and said so there).
      std::string console;
      std::istringstream lines(slurp(log));
      for (std::string line; std::getline(lines, line);)
        if (line.find(":CONSOLE") != std::string::npos) console += line + "\n";
      CHECK(console == "");

      // A screenshot at laptop width: a real image, not a blank page.
      const fs::path shot = pages / fmt::format("report-{}.png", c.name);
      fs::remove(shot);
      const int shot_rc = chromium(browser, tmp.path / (c.name + "-profile2"),
                                   fmt::format("--screenshot='{}' --window-size=1280,2000", fs::absolute(shot).string()), page,
                                   tmp.path / (c.name + "-shot.out"), log);
      REQUIRE(shot_rc == 0);
      REQUIRE(fs::exists(shot));
      const std::string png = slurp(shot);
      CHECK(png_size(png) == std::pair<std::uint32_t, std::uint32_t>{1280, 2000});
      CHECK(png.size() > 60000);
    }
  }
}

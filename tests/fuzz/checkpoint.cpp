// Fuzzes the search checkpoint reader: faunae::Search::load (include/faunae/search/search.hpp) with a
// stateful evaluator (TabularEvaluator), over a 3-block table of 27 architectures. The first byte
// picks the mode:
//   even: the rest is the checkpoint file, as is (the format and checksum checks);
//   odd:  the rest is a payload; it is wrapped in a checkpoint whose fnv1a64 checksum is computed, so
//         the payload's own reader (state, statistics, history, evaluator state) is reached.
// Load must either succeed or leave the search as it was (strong guarantee); a loaded search must run
// on (three epochs) without anything but documented errors, and save and load back unchanged.
//
// FAUNAE_FUZZ_WRITE_SEEDS=<folder> writes valid checkpoints (both modes) there and exits.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "faunae/faunae.hpp"
#include "faunae/tabular.hpp"
#include "fuzz_support.hpp"

namespace {

using Search = faunae::FaUNAE<faunae::tabular::TabularSpace>;

const faunae::tabular::BenchmarkTable& table() {
  static const faunae::tabular::BenchmarkTable t = [] {
    nlohmann::json j = nlohmann::json::object();
    const std::string digits = "012";
    for (char a : digits)
      for (char b : digits)
        for (char c : digits) {
          const double acc = 90.0 + (a - '0') + 0.5 * (b - '0') - 0.25 * (c - '0');
          j[std::string{a, b, c}] = {{"test_acc", {acc - 0.3, acc + 0.3}}, {"mean_acc", acc},
                                     {"params", 1e5 * ((a - '0') + (b - '0') + (c - '0'))}};
        }
    return faunae::tabular::BenchmarkTable::from_json(j, faunae::tabular::nas_bench_macro_format());
  }();
  return t;
}

const faunae::tabular::TabularSpace& space() {
  static const faunae::tabular::TabularSpace s(table(), "111");
  return s;
}

faunae::SearchOptions options() { return {.seed = 3}; }

std::string wrap(const nlohmann::json& payload) { return faunae::checkpoint_text(payload); }

void write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (std::size_t epochs : {0, 1, 4, 100}) {
    Search search(space(), options());
    faunae::tabular::TabularEvaluator evaluator(table(), 5);
    for (std::size_t e = 0; e < epochs && !search.finished(); ++e) search.step(evaluator);
    faunae_fuzz::write_bytes(dir / fmt::format("file-epoch{}", epochs), std::string(1, '\0') + wrap(search.to_json(&evaluator)));
    faunae_fuzz::write_bytes(dir / fmt::format("payload-epoch{}", epochs), std::string(1, '\1') + search.to_json(&evaluator).dump());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FAUNAE_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest = faunae_fuzz::as_text(data + 1, size - 1);
  std::string file;
  if (data[0] % 2 == 0) {
    file = rest;
  } else {
    const nlohmann::json payload = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded()) return 0;
    file = wrap(payload);
  }
  const auto path = faunae_fuzz::scratch_dir() / "checkpoint.json";
  faunae_fuzz::write_bytes(path, file);

  Search search(space(), options());
  faunae::tabular::TabularEvaluator evaluator(table(), 5);
  const nlohmann::json before = search.to_json(&evaluator);
  if (!faunae_fuzz::expect_documented_errors([&] { search.load(path, evaluator); })) {
    if (search.to_json(&evaluator) != before) faunae_fuzz::fail("a failed load changed the search or the evaluator");
    return 0;
  }
  // Accepted: save and load back unchanged, then run on.
  const nlohmann::json loaded = search.to_json(&evaluator);
  const auto again = faunae_fuzz::scratch_dir() / "again.json";
  Search copy(space(), options());
  faunae::tabular::TabularEvaluator copy_evaluator(table(), 5);
  if (!faunae_fuzz::expect_documented_errors([&] {
        search.save(again, evaluator);
        copy.load(again, copy_evaluator);
      }) ||
      copy.to_json(&copy_evaluator) != loaded)
    faunae_fuzz::fail("an accepted checkpoint does not save and load back unchanged");
  for (int epoch = 0; epoch < 3; ++epoch)
    if (!faunae_fuzz::expect_documented_errors([&] { search.step(evaluator); })) break;
  return 0;
}

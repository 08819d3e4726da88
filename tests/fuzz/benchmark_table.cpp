// Fuzzes the tabular benchmark reader: faunae::tabular::BenchmarkTable::load
// (backends/tabular/include/faunae/tabular/benchmark_table.hpp) on a file holding the input, with
// NAS-Bench-Macro's format. A table it accepts must answer every query about its own entries
// consistently (key ↔ architecture, rank, finite op sizes), make a TabularSpace, and carry a short
// FaUNAE search (4 epochs) without anything but documented errors.
#include <cmath>
#include <cstdint>

#include "faunae/faunae.hpp"
#include "faunae/tabular.hpp"
#include "fuzz_support.hpp"

namespace tab = faunae::tabular;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = faunae_fuzz::scratch_dir() / "table.json";
  faunae_fuzz::write_bytes(path, faunae_fuzz::as_text(data, size));
  std::optional<tab::BenchmarkTable> table;
  if (!faunae_fuzz::expect_documented_errors([&] { table.emplace(tab::BenchmarkTable::load(path)); })) return 0;

  std::string first_key;
  std::size_t checked = 0;
  faunae_fuzz::expect_documented_errors([&] {
    for (std::size_t b = 0; b < table->num_blocks(); ++b)
      for (faunae::OpIndex k = 0; k < table->tokens(b).size(); ++k) {
        if (!std::isfinite(table->op_size(b, k)) || table->op_size(b, k) < 0.0)
          faunae_fuzz::fail(fmt::format("op_size({}, {}) is {}", b, k, table->op_size(b, k)));
        (void)table->op_name(b, k);
      }
  });
  // Queries on the entries (the first 64: tables can be large).
  nlohmann::json j = nlohmann::json::parse(faunae::read_file(path, "fuzz"));
  for (const auto& [key, value] : j.items()) {
    if (checked++ == 64) break;
    if (first_key.empty()) first_key = key;
    if (!faunae_fuzz::expect_documented_errors([&, &key = key] {
          const faunae::Architecture a = table->architecture(key);
          if (table->key(a) != key) faunae_fuzz::fail("key(architecture(" + key + ")) differs");
          const std::size_t rank = table->rank(a);
          if (rank < 1 || rank > table->size()) faunae_fuzz::fail(fmt::format("rank {} outside [1, {}]", rank, table->size()));
        }))
      faunae_fuzz::fail("a key of the table is not an architecture of it: " + key);
  }
  faunae_fuzz::expect_documented_errors([&] {
    const tab::TabularSpace space(*table, first_key);
    tab::TabularEvaluator evaluator(*table, 1);
    faunae::FaUNAE<tab::TabularSpace> search(space, {.seed = 1, .max_epochs = 4});
    search.run(evaluator);
  });
  return 0;
}

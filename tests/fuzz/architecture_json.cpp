// Fuzzes the architecture JSON reader: faunae::load_architecture (include/faunae/core/architecture_json.hpp)
// on a file holding the fuzzer's bytes, against a space with block names, an identity op and a
// cross-block rule. An architecture it accepts must survive architecture_to_json and back unchanged.
#include <cstdint>

#include "faunae/core/architecture_json.hpp"
#include "faunae/core/block_space.hpp"
#include "fuzz_support.hpp"

namespace {

const faunae::BlockSpace& space() {
  static const faunae::BlockSpace s = [] {
    std::vector<faunae::Block> blocks;
    for (int b = 0; b < 4; ++b)
      blocks.push_back({fmt::format("stage{}.block{}", b / 2, b % 2),
                        {{"conv3", 1.0}, {"conv5", 2.5}, {"sa_k3r2", 3.0}, {"identity", 0.0}},
                        /*identity=*/3});
    // A rule across blocks: at least one block is not the identity.
    auto not_all_identity = [](const faunae::Architecture& a) {
      for (std::size_t b = 0; b < a.size(); ++b)
        if (a[b] != 3) return true;
      return false;
    };
    return faunae::BlockSpace(std::move(blocks), faunae::Architecture({0, 0, 0, 0}), not_all_identity);
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = faunae_fuzz::scratch_dir() / "architecture.json";
  faunae_fuzz::write_bytes(path, faunae_fuzz::as_text(data, size));
  faunae::Architecture a;
  if (!faunae_fuzz::expect_documented_errors([&] { a = faunae::load_architecture(space(), path); })) return 0;
  if (!space().is_valid(a)) faunae_fuzz::fail("load_architecture returned an architecture the space rejects: " + a.to_string());
  faunae::Architecture back;
  if (!faunae_fuzz::expect_documented_errors([&] { back = faunae::architecture_from_json(space(), faunae::architecture_to_json(space(), a)); }) ||
      back != a)
    faunae_fuzz::fail("architecture_to_json does not read back as " + a.to_string());
  return 0;
}

// Fuzzes the `faunae` program's configuration (examples/faunae/config.hpp): read_config_file on a file
// holding the input up to the first "\n--set ", then apply_override for each following "\n--set "
// part (as `faunae search --set section.key=value` does, at most 8), then config_from_json. A
// configuration it accepts must read back unchanged from config_to_json.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "faunae/config.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view separator = "\n--set ";
  const std::string_view text = faunae_fuzz::as_text(data, size);
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t next = text.find(separator, start);
    parts.push_back(text.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start));
    if (next == std::string_view::npos || parts.size() > 8) break;
    start = next + separator.size();
  }
  const auto path = faunae_fuzz::scratch_dir() / "config.json";
  faunae_fuzz::write_bytes(path, parts[0]);

  faunae::program::Config config;
  if (!faunae_fuzz::expect_documented_errors([&] {
        nlohmann::json j = faunae::program::read_config_file(path);
        for (std::size_t i = 1; i < parts.size(); ++i) faunae::program::apply_override(j, parts[i]);
        config = faunae::program::config_from_json(j);
      }))
    return 0;
  const nlohmann::json written = faunae::program::config_to_json(config);
  nlohmann::json reread;
  if (!faunae_fuzz::expect_documented_errors([&] { reread = faunae::program::config_to_json(faunae::program::config_from_json(written)); }) ||
      reread != written)
    faunae_fuzz::fail("an accepted configuration does not read back from config_to_json: " + written.dump());
  return 0;
}

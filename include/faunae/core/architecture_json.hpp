// The stable JSON form of an architecture: it names the ops, so people can read it and a changed
// op order in the space cannot silently change its meaning.
//
//   {"format": "faunae.architecture", "version": 1,
//    "blocks": [{"block": "block0", "op": "conv3"}, {"block": "block1", "op": "identity"}, ...]}
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/search_space.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/atomic_file.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"

namespace faunae {

inline constexpr std::string_view kArchitectureFormat = "faunae.architecture";

template <SearchSpace S>
nlohmann::json architecture_to_json(const S& space, const Architecture& a) {
  const std::size_t n = space.num_blocks();
  if (a.size() != n)
    throw InvalidArchitecture(fmt::format("faunae::architecture_to_json(): the architecture has {} blocks, the space {}",
                                          a.size(), n));
  nlohmann::json blocks = nlohmann::json::array();
  for (std::size_t b = 0; b < n; ++b) {
    if (a[b] >= space.num_ops(b))
      throw InvalidArchitecture(fmt::format("faunae::architecture_to_json(): block {} uses op index {}, the block has {} ops",
                                            b, a[b], space.num_ops(b)));
    nlohmann::json entry;
    if constexpr (HasBlockNames<S>) entry["block"] = std::string(space.block_name(b));
    else entry["block"] = fmt::format("block{}", b);
    entry["op"] = std::string(space.op_name(b, a[b]));
    blocks.push_back(std::move(entry));
  }
  return {{"format", kArchitectureFormat}, {"version", 1}, {"blocks", std::move(blocks)}};
}

/// Reads the JSON form back and validates it against `space`: block count, op names (an unknown name
/// is reported with the allowed ones), block names where both sides have them, and `is_valid`.
template <SearchSpace S>
Architecture architecture_from_json(const S& space, const nlohmann::json& j) {
  constexpr std::string_view where = "faunae::architecture_from_json()";
  if (!j.is_object()) throw InvalidArchitecture(fmt::format("{}: expected a JSON object, got {}", where, j.type_name()));
  if (auto f = j.find("format"); f != j.end() && (!f->is_string() || f->get<std::string>() != kArchitectureFormat))
    throw InvalidArchitecture(fmt::format("{}: 'format' must be \"{}\", got {}", where, kArchitectureFormat, f->dump()));
  if (auto v = j.find("version"); v != j.end() && (!v->is_number_integer() || v->get<int>() != 1))
    throw InvalidArchitecture(fmt::format("{}: unsupported 'version' {} (this library reads version 1)", where, v->dump()));
  auto it = j.find("blocks");
  if (it == j.end() || !it->is_array())
    throw InvalidArchitecture(fmt::format("{}: missing array 'blocks'", where));
  const auto& blocks = *it;
  const std::size_t n = space.num_blocks();
  if (blocks.size() != n)
    throw InvalidArchitecture(fmt::format("{}: 'blocks' has {} entries, the search space has {} blocks", where,
                                          blocks.size(), n));
  std::vector<OpIndex> ops(n);
  for (std::size_t b = 0; b < n; ++b) {
    const auto& entry = blocks[b];
    std::string op_name;
    if (entry.is_string()) {
      op_name = entry.get<std::string>();
    } else if (entry.is_object() && entry.contains("op") && entry["op"].is_string()) {
      op_name = entry["op"].get<std::string>();
      if constexpr (HasBlockNames<S>) {
        if (auto bn = entry.find("block"); bn != entry.end()) {
          if (!bn->is_string() || bn->get<std::string>() != space.block_name(b))
            throw InvalidArchitecture(fmt::format("{}: blocks[{}] is named {}, the search space calls block {} '{}'",
                                                  where, b, bn->dump(), b, space.block_name(b)));
        }
      }
    } else {
      throw InvalidArchitecture(fmt::format("{}: blocks[{}] must be an op name or {{\"op\": name}}, got {}", where, b,
                                            entry.dump().substr(0, 80)));
    }
    bool found = false;
    std::vector<std::string> allowed;
    for (std::size_t k = 0; k < space.num_ops(b); ++k) {
      allowed.emplace_back(space.op_name(b, k));
      if (!found && space.op_name(b, k) == op_name) {
        ops[b] = k;
        found = true;
      }
    }
    if (!found)
      throw InvalidArchitecture(fmt::format("{}: blocks[{}] names op '{}', which block {} does not have (allowed: {})",
                                            where, b, op_name, b, fmt::join(allowed, ", ")));
  }
  Architecture a(std::move(ops));
  if (!space.is_valid(a))
    throw InvalidArchitecture(fmt::format("{}: {} is rejected by the search space's is_valid()", where, a.to_string()));
  return a;
}

/// The largest architecture file read for a space of `num_blocks` blocks: 1 MiB + 4 KiB per block,
/// far more than a block's {"block": name, "op": name} takes. A file announcing 10⁹ blocks (at least
/// 2 GB) is refused by its size before it is read or parsed.
inline std::uint64_t architecture_file_limit(std::size_t num_blocks) noexcept {
  return (std::uint64_t{1} << 20) + (std::uint64_t{4} << 10) * static_cast<std::uint64_t>(num_blocks);
}

template <SearchSpace S>
Architecture load_architecture(const S& space, const std::filesystem::path& path) {
  const std::string text = read_file(path, "faunae::load_architecture()", architecture_file_limit(space.num_blocks()));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw IoError(fmt::format("faunae::load_architecture(): '{}' is not valid JSON: {}", path.string(), e.what()));
  }
  return architecture_from_json(space, j);
}

}  // namespace faunae

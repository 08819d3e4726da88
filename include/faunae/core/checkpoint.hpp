// The checkpoint format of a search: an envelope {format, version, checksum, payload} written atomically,
// read back with every check, and the space fingerprint and state checks a payload must pass
// (Search::save/load/from_json, search/search.hpp, use them).
//
//   {"format": "faunae.checkpoint", "version": 1, "checksum": "fnv1a64:<16 hex digits of payload.dump()>",
//    "payload": {"space": <space_fingerprint>, "config": <the search's parameters>, "state": <SearchState>,
//                "evaluator": <a StatefulEvaluator's state, if any>}}
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <Eigen/Core>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/search_state.hpp"

namespace faunae {

inline constexpr std::string_view kCheckpointFormat = "faunae.checkpoint";

/// The checksum a checkpoint stores for `payload`: "fnv1a64:" and 16 hex digits of payload.dump().
inline std::string checkpoint_checksum(const nlohmann::json& payload) {
  return fmt::format("fnv1a64:{:016x}", fnv1a64(payload.dump()));
}

/// The text of a checkpoint file holding `payload`: the envelope with format, version and checksum.
inline std::string checkpoint_text(const nlohmann::json& payload) {
  const nlohmann::json file = {
      {"format", kCheckpointFormat}, {"version", 1}, {"checksum", checkpoint_checksum(payload)}, {"payload", payload}};
  return file.dump(1) + "\n";
}

/// Writes `payload` as a checkpoint file at `path`: atomically (write, fsync, rename), with a checksum
/// of its content. Throws IoError when the file cannot be written (the previous one stays intact).
inline void write_checkpoint(const std::filesystem::path& path, const nlohmann::json& payload) {
  write_file_atomically(path, checkpoint_text(payload));
}

/// Reads a checkpoint file and returns its payload, after checking that it is JSON, its format,
/// version and checksum; throws IoError naming `where` otherwise.
inline nlohmann::json read_checkpoint(const std::filesystem::path& path, std::string_view where) {
  const std::string text = read_file(path, where);
  nlohmann::json file;
  try {
    file = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw IoError(fmt::format("{}: the checkpoint is not valid JSON (truncated or corrupt?): {}", where, e.what()));
  }
  // Compare as JSON values: json::value() would throw a raw type_error for a non-string format.
  if (!file.is_object() || !file.contains("format") || file["format"] != kCheckpointFormat)
    throw IoError(fmt::format("{}: not a faunae checkpoint ('format' is not \"{}\")", where, kCheckpointFormat));
  if (!file.contains("version") || file["version"] != 1)
    throw IoError(fmt::format("{}: unsupported checkpoint version {}", where, file.value("version", nlohmann::json()).dump()));
  if (!file.contains("payload") || !file.contains("checksum") || !file["checksum"].is_string())
    throw IoError(fmt::format("{}: the checkpoint lacks 'payload' or 'checksum'", where));
  const std::string expected = file["checksum"].get<std::string>();
  const std::string actual = checkpoint_checksum(file["payload"]);
  if (expected != actual)
    throw IoError(fmt::format("{}: checksum mismatch (stored {}, computed {}): the checkpoint is corrupt", where,
                              expected, actual));
  return std::move(file["payload"]);
}

/// What a checkpoint records of the space it was written for: every block's name, ops (name, size) and
/// identity. A checkpoint loads only into a search over a space with the same fingerprint.
inline nlohmann::json space_fingerprint(const BlockSpace& space) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const Block& b : space.blocks()) {
    nlohmann::json ops = nlohmann::json::array();
    for (const Op& op : b.ops) ops.push_back({op.name, op.size});
    blocks.push_back({{"name", b.name}, {"ops", std::move(ops)},
                      {"identity", b.identity ? nlohmann::json(*b.identity) : nlohmann::json(nullptr)}});
  }
  return blocks;
}

/// Where a stored fingerprint differs from `space`'s, for the error message.
inline std::string describe_space_difference(const BlockSpace& space, const nlohmann::json& stored) {
  const nlohmann::json mine = space_fingerprint(space);
  if (!stored.is_array()) return "stored space description is not an array";
  if (stored.size() != mine.size()) return fmt::format("it has {} blocks, this space {}", stored.size(), mine.size());
  for (std::size_t b = 0; b < mine.size(); ++b)
    if (stored[b] != mine[b])
      return fmt::format("block {} differs: stored {}, this space {}", b, stored[b].dump().substr(0, 200),
                         mine[b].dump().substr(0, 200));
  return "unknown difference";
}

namespace detail {
/// Throws IoError, naming `where`, unless a state read from a checkpoint fits `space` and is consistent:
/// table shapes, α within the space and alive, no block without ops, counters that agree with the history.
inline void check_restored_state(const BlockSpace& space, const SearchState& s, std::string_view where) {
  const auto rows = static_cast<Eigen::Index>(space.num_blocks());
  const auto cols = static_cast<Eigen::Index>(space.max_ops());
  auto shape_ok = [&](const auto& t) { return t.rows() == rows && t.cols() == cols; };
  if (!shape_ok(s.stats.loss) || !shape_ok(s.stats.samples) || !shape_ok(s.stats.alive))
    throw IoError(fmt::format("{}: the statistics tables are not {}×{} (blocks × ops)", where, rows, cols));
  try {
    space.check_architecture(s.current, "the checkpoint's current architecture");
  } catch (const InvalidArchitecture& e) {
    throw IoError(fmt::format("{}: {}", where, e.what()));
  }
  for (std::size_t b = 0; b < space.num_blocks(); ++b) {
    if (s.stats.ops_left(b) == 0) throw IoError(fmt::format("{}: block {} has no op left", where, b));
    if (!s.stats.is_alive(b, s.current[b]))
      throw IoError(fmt::format("{}: block {}'s current op {} is marked removed", where, b, s.current[b]));
    for (Eigen::Index k = static_cast<Eigen::Index>(space.num_ops(b)); k < cols; ++k)
      if (s.stats.alive(Eigen::Index(b), k)) throw IoError(fmt::format("{}: block {} has an alive op {} beyond its {} ops", where, b, k, space.num_ops(b)));
  }
  if (s.history.size() != (s.evaluations == 0 ? 0 : s.epoch + 1) || s.evaluations != (s.evaluations == 0 ? 0 : s.epoch + 1))
    throw IoError(fmt::format("{}: counters disagree (epoch {}, evaluations {}, {} history records)", where, s.epoch,
                              s.evaluations, s.history.size()));
}
}  // namespace detail

}  // namespace faunae

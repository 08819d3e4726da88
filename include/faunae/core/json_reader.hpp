// JsonNode: strict reading of a JSON document whose every error names the file and the key.
//
// A JsonNode is a JSON value together with where it came from: a context ("faunae report: search.json")
// and the path of the value inside the document ("history[3].loss"). Its accessors check the JSON
// type and throw faunae::InvalidArgument with a message that names both and the bad value:
//
//   faunae report: search.json: missing required key 'history[2].epoch'
//   faunae report: search.json: 'history[3].loss' must be a number, null, "inf" or "-inf", got "low"
//
// Numbers are read as faunae's serialization writes them: null is NaN, "inf" / "-inf" are the
// infinities. read_json_file() reads and parses a file with the same kind of message.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"

namespace faunae {

namespace detail {
/// A number as faunae's serialization writes it: null is NaN, "inf" / "-inf" are the infinities;
/// nullopt for anything else.
inline std::optional<double> serialized_number(const nlohmann::json& j) {
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}
}  // namespace detail

/// A finite number as JSON, written as an integer when it is a whole number (a parameter count
/// reads 876976, not 876976.0), else as a floating point number.
inline nlohmann::json whole_or_real_json(double v) {
  if (std::floor(v) == v && std::abs(v) < 9.0e15) return static_cast<std::int64_t>(v);
  return v;
}

class JsonNode {
 public:
  /// The document's root: `context` names the reader and the file ("faunae report: search.json").
  JsonNode(const nlohmann::json& j, std::string context) : JsonNode(j, std::move(context), std::string()) {}
  JsonNode(const nlohmann::json& j, std::string context, std::string path)
      : j_(&j), context_(std::move(context)), path_(std::move(path)) {}

  const nlohmann::json& value() const noexcept { return *j_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& context() const noexcept { return context_; }

  /// Throws InvalidArgument: "<context>: '<path>' <what>".
  [[noreturn]] void fail(std::string_view what) const {
    throw InvalidArgument(fmt::format("{}: '{}' {}", context_, path_.empty() ? "(top level)" : path_, what));
  }

  /// A required member: missing (or null) is an error naming the key.
  JsonNode at(std::string_view key) const {
    require_object();
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null())
      throw InvalidArgument(fmt::format("{}: missing required key '{}'", context_, child_path(key)));
    return {*it, context_, child_path(key)};
  }
  /// An optional member: absent or null gives nullopt.
  std::optional<JsonNode> find(std::string_view key) const {
    require_object();
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null()) return std::nullopt;
    return JsonNode{*it, context_, child_path(key)};
  }
  /// The number of entries of an array (anything else is an error).
  std::size_t size() const {
    if (!j_->is_array()) fail(fmt::format("must be an array, got {}", j_->type_name()));
    return j_->size();
  }
  JsonNode operator[](std::size_t i) const { return {(*j_)[i], context_, fmt::format("{}[{}]", path_, i)}; }

  std::string str() const {
    if (!j_->is_string()) fail(fmt::format("must be a string, got {}", excerpt()));
    return j_->get<std::string>();
  }
  /// A number as faunae writes it: null is NaN, "inf" / "-inf" are infinities.
  double number() const {
    if (const auto v = detail::serialized_number(*j_)) return *v;
    fail(fmt::format("must be a number, null, \"inf\" or \"-inf\", got {}", excerpt()));
  }
  /// A non-negative integer (a count, an index).
  std::size_t index() const {
    if (!j_->is_number_integer() || (!j_->is_number_unsigned() && j_->get<long long>() < 0))
      fail(fmt::format("must be a non-negative integer, got {}", excerpt()));
    return j_->get<std::size_t>();
  }
  bool boolean() const {
    if (!j_->is_boolean()) fail(fmt::format("must be true or false, got {}", excerpt()));
    return j_->get<bool>();
  }

  /// The member `key` as a finite number, or nullopt when it is absent, null or not finite.
  std::optional<double> optional_finite(std::string_view key) const {
    if (auto v = find(key)) {
      const double x = v->number();
      if (std::isfinite(x)) return x;
    }
    return std::nullopt;
  }

 private:
  void require_object() const {
    if (!j_->is_object()) fail(fmt::format("must be a JSON object, got {}", j_->type_name()));
  }
  std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }
  std::string excerpt() const {
    std::string s = j_->dump();
    if (s.size() > 80) s = s.substr(0, 77) + "...";
    return s;
  }

  const nlohmann::json* j_;
  std::string context_;
  std::string path_;
};

/// Reads and parses a JSON file. Throws IoError naming the file when it is missing (with `hint`, e.g.
/// "run `faunae search` first"), cannot be read, or is not valid JSON.
inline nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view who, std::string_view hint = {}) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IoError(hint.empty() ? fmt::format("{}: {} does not exist", who, path.string())
                               : fmt::format("{}: {} does not exist: {}", who, path.string(), hint));
  const std::string text = read_file(path, who);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw IoError(fmt::format("{}: {} is not valid JSON: {}", who, path.string(), e.what()));
  }
}

}  // namespace faunae

// OptionsReader: strict reading of one JSON object of options (a configuration section).
//
// Each key is read at most once into a typed member; finish() then refuses any key nobody read,
// listing the allowed ones. Every error names the key with its section, the rule and the value:
//
//   config: unknown key 'search.epochs_per_opp'; allowed in 'search': batch_size, epochs_per_op, ...
//   config: 'search.lr' must be a number, got "fast"
//
// Members may be bool, integers, floating point numbers, std::string, std::filesystem::path (a
// string), std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>,
// std::array<double, N>, a type T of one's own that provides
//   static T from_option(const nlohmann::json& value, std::string_view key)   (throws InvalidArgument)
// and `nlohmann::json to_option() const` for the way back (options_value_to_json), or a type that
// cannot have members (an enum, another library's type) with a specialisation of faunae::OptionCodec
// beside the type (the torch backend's: torch::Device and Precision in torch/device.hpp, Stem in
// torch/stem.hpp, ZeroCostProxy in torch/zero_cost.hpp).
//
// An options struct that names its fields once (ReflectedOptions: a static for_each_option) gets its
// JSON form for free: options_to_json(o), options_from_json<T>(j, where) and read_options(j, o, ...),
// which reads, refuses unknown keys and calls the struct's check(). The policies' options structs
// (FaunaeMutationOptions, UcbEliminationOptions, ThompsonMutationOptions, ...), the torch backend's
// (MocoOptions, ContrastiveEvaluatorOptions, the space options, ...; docs/concepts.md lists them) and
// the sections of the `faunae` program's configuration (examples/faunae/config.hpp) are such structs.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "faunae/core/error.hpp"

namespace faunae {

/// A member type with its own JSON form (see the header comment).
template <class T>
concept OptionValue = requires(const nlohmann::json& j, std::string_view key, const T& t) {
  { T::from_option(j, key) } -> std::convertible_to<T>;
  { t.to_option() } -> std::convertible_to<nlohmann::json>;
};

/// The JSON form of a member type that cannot have members of its own: specialise with
///   static T from_json(const nlohmann::json& value, std::string_view key);   // throws InvalidArgument naming key
///   static nlohmann::json to_json(const T& value);
template <class T>
struct OptionCodec;

template <class T>
concept HasOptionCodec = requires(const nlohmann::json& j, std::string_view key, const T& t) {
  { OptionCodec<T>::from_json(j, key) } -> std::convertible_to<T>;
  { OptionCodec<T>::to_json(t) } -> std::convertible_to<nlohmann::json>;
};

/// For an OptionCodec<T>::from_json of a value written as a name: `parse(name)` (which throws
/// InvalidArgument) on the string `v`, its message after `key`; a `v` that is no string is refused
/// as "'key' must be `names`, got v".
template <class Parse>
auto option_from_name(const nlohmann::json& v, std::string_view key, std::string_view names, Parse&& parse) {
  if (!v.is_string()) throw InvalidArgument(fmt::format("'{}' must be {}, got {}", key, names, v.dump()));
  try {
    return parse(v.get_ref<const std::string&>());
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(fmt::format("'{}': {}", key, e.what()));
  }
}

namespace detail {
template <class T>
struct IsDoubleArray : std::false_type {};
template <std::size_t N>
struct IsDoubleArray<std::array<double, N>> : std::true_type {};
}  // namespace detail

class OptionsReader {
 public:
  /// `j`: the object; `section`: its path ("search"; "" for the top level); `who`: the prefix of every
  /// message ("config").
  OptionsReader(const nlohmann::json& j, std::string section, std::string who = "config")
      : j_(j), section_(std::move(section)), who_(std::move(who)) {
    if (!j_.is_object()) throw InvalidArgument(fmt::format("{}: '{}' must be an object, got {}", who_, name(), j_.dump()));
  }

  /// Reads `key` into `out` if present (absent: `out` keeps its default).
  template <class T>
  void read(std::string_view key, T& out) {
    seen_.insert(std::string(key));
    if (!j_.contains(key)) return;
    const auto& v = j_.at(std::string(key));
    const auto full = at(key);
    if constexpr (OptionValue<T>) {
      out = T::from_option(v, full);
    } else if constexpr (HasOptionCodec<T>) {
      try {
        out = OptionCodec<T>::from_json(v, full);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(fmt::format("{}: {}", who_, e.what()));
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) fail(full, "must be true or false", v);
      out = v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) fail(full, "must be an integer", v);
      // A JSON parser stores a non-negative integer as unsigned, nlohmann::json(7) as signed: either will do.
      if (std::is_unsigned_v<T> && !v.is_number_unsigned() && v.get<std::int64_t>() < 0) fail(full, "must be >= 0", v);
      out = v.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) fail(full, "must be a number", v);
      out = v.get<T>();
    } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
      if (!v.is_string()) fail(full, "must be a string", v);
      out = v.get<std::string>();
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number(); }))
        fail(full, "must be a list of numbers", v);
      out = v.get<std::vector<double>>();
    } else if constexpr (detail::IsDoubleArray<T>::value) {
      if (!v.is_array() || v.size() != std::tuple_size_v<T> || !std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number(); }))
        fail(full, fmt::format("must be a list of {} numbers", std::tuple_size_v<T>), v);
      for (std::size_t i = 0; i < std::tuple_size_v<T>; ++i) out[i] = v[i].get<double>();
    } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
      if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number_integer(); }))
        fail(full, "must be a list of integers", v);
      out = v.get<std::vector<std::int64_t>>();
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_string(); }))
        fail(full, "must be a list of strings", v);
      out = v.get<std::vector<std::string>>();
    } else {
      static_assert(sizeof(T) == 0, "OptionsReader::read: unsupported member type");
    }
  }

  /// The sub-object `key` (absent: an empty object), for a nested section.
  nlohmann::json object(std::string_view key) {
    seen_.insert(std::string(key));
    if (!j_.contains(key)) return nlohmann::json::object();
    return j_.at(std::string(key));
  }

  /// Refuses every key that was not read.
  void finish() const {
    for (const auto& [key, value] : j_.items())
      if (!seen_.count(key))
        throw InvalidArgument(fmt::format("{}: unknown key '{}'; allowed in '{}': {}", who_, at(key), name(), fmt::join(seen_, ", ")));
  }

  /// The full name of `key` ("search.lr").
  std::string at(std::string_view key) const { return section_.empty() ? std::string(key) : fmt::format("{}.{}", section_, key); }
  const std::string& section() const noexcept { return section_; }
  const std::string& who() const noexcept { return who_; }

 private:
  [[noreturn]] void fail(const std::string& full, std::string_view rule, const nlohmann::json& v) const {
    throw InvalidArgument(fmt::format("{}: '{}' {}, got {}", who_, full, rule, v.dump()));
  }
  std::string name() const { return section_.empty() ? "the top level" : section_; }

  const nlohmann::json& j_;
  std::string section_;
  std::string who_;
  std::set<std::string> seen_;
};

/// A member as JSON, the inverse of OptionsReader::read.
template <class T>
nlohmann::json options_value_to_json(const T& value) {
  if constexpr (OptionValue<T>) return value.to_option();
  else if constexpr (HasOptionCodec<T>) return OptionCodec<T>::to_json(value);
  else if constexpr (std::is_same_v<T, std::filesystem::path>) return value.string();
  else return nlohmann::json(value);
}

/// An options struct that names each of its fields once, in order:
///   template <class Self, class F> static void for_each_option(Self& self, F&& f) {
///     f("epsilon", self.epsilon), f("lambda1", self.lambda1);
///   }
/// Each field is of a type OptionsReader::read takes, or a ReflectedOptions itself (a nested object).
/// Satisfied by the policies' options structs (FaunaeMutationOptions, ...); see the top of this file.
template <class T>
concept ReflectedOptions = requires(T& t, const T& c) {
  T::for_each_option(t, [](std::string_view, auto&) {});
  T::for_each_option(c, [](std::string_view, const auto&) {});
};

namespace detail {
/// Calls o.check(where) or o.check(), whichever the struct has (none: nothing to check).
template <class T>
void check_options_if_checkable(const T& o, std::string_view where) {
  if constexpr (requires { o.check(where); }) o.check(where);
  else if constexpr (requires { o.check(); }) o.check();
}
}  // namespace detail

/// Every field of `o` as a JSON object (nested options as nested objects), what read_options reads back.
template <ReflectedOptions T>
nlohmann::json options_to_json(const T& o) {
  nlohmann::json out = nlohmann::json::object();
  T::for_each_option(o, [&](std::string_view key, const auto& member) {
    using M = std::remove_cvref_t<decltype(member)>;
    if constexpr (ReflectedOptions<M>) out[std::string(key)] = options_to_json(member);
    else out[std::string(key)] = options_value_to_json(member);
  });
  return out;
}

/// Reads the object `j` into `out`: a key present replaces its field, an absent one keeps it; nested
/// options are read the same way, then checked. An unknown key or a wrong type throws InvalidArgument
/// naming `who`, the key with its `section` and the value (OptionsReader); then the struct's check()
/// (check(where) with where = "`who` 'section'", or check()) rules on the values.
template <ReflectedOptions T>
void read_options(const nlohmann::json& j, T& out, const std::string& section = "", const std::string& who = "config") {
  OptionsReader r(j, section, who);
  T::for_each_option(out, [&](std::string_view key, auto& member) {
    using M = std::remove_cvref_t<decltype(member)>;
    if constexpr (ReflectedOptions<M>) read_options(r.object(key), member, r.at(key), who);
    else r.read(key, member);
  });
  r.finish();
  detail::check_options_if_checkable(out, section.empty() ? who : fmt::format("{} '{}'", who, section));
}

/// T's defaults with the keys of `j` read over them (read_options; errors start with `where`).
template <ReflectedOptions T>
T options_from_json(const nlohmann::json& j, const std::string& where) {
  T out{};
  read_options(j, out, "", where);
  return out;
}

}  // namespace faunae

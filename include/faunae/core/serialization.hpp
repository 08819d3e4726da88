// JSON form of the search state and its history. Doubles are written with 17 significant digits
// (nlohmann::json's default), which round-trips every double exactly: a resumed search is bit for bit
// the uninterrupted one. Non-finite numbers, which JSON lacks, are written as null (NaN: "never
// sampled") or the strings "inf" / "-inf".
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/error.hpp"
#include "faunae/core/json_reader.hpp"
#include "faunae/core/search_state.hpp"

namespace faunae::detail {

inline nlohmann::json number_to_json(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

inline double number_from_json(const nlohmann::json& j, std::string_view what) {
  if (const auto v = serialized_number(j)) return *v;
  throw IoError(fmt::format("faunae: {}: expected a number, null, \"inf\" or \"-inf\", got {}", what,
                            j.dump().substr(0, 80)));
}

// Reads j[key], checking that it is there and has the right JSON type; names the key otherwise.
inline const nlohmann::json& member(const nlohmann::json& j, std::string_view key, std::string_view where) {
  if (!j.is_object()) throw IoError(fmt::format("faunae: {}: expected a JSON object, got {}", where, j.type_name()));
  auto it = j.find(key);
  if (it == j.end()) throw IoError(fmt::format("faunae: {}: missing key '{}'", where, key));
  return *it;
}

template <class T>
T get_as(const nlohmann::json& j, std::string_view key, std::string_view where) {
  const auto& v = member(j, key, where);
  try {
    if constexpr (std::is_same_v<T, std::size_t> || std::is_same_v<T, std::int64_t>) {
      if (!v.is_number_integer() || (std::is_same_v<T, std::size_t> && v.get<std::int64_t>() < 0 && !v.is_number_unsigned()))
        throw IoError("");
    }
    return v.get<T>();
  } catch (const std::exception&) {
    throw IoError(fmt::format("faunae: {}: key '{}' has the wrong type or value: {}", where, key,
                              v.dump().substr(0, 80)));
  }
}

inline nlohmann::json architecture_ops_to_json(const Architecture& a) { return a.ops(); }

inline Architecture architecture_ops_from_json(const nlohmann::json& j, std::string_view where) {
  if (!j.is_array()) throw IoError(fmt::format("faunae: {}: expected an array of op indices", where));
  std::vector<OpIndex> ops;
  ops.reserve(j.size());
  for (const auto& v : j) {
    if (!v.is_number_unsigned())
      throw IoError(fmt::format("faunae: {}: op index must be a non-negative integer, got {}", where, v.dump()));
    ops.push_back(v.get<OpIndex>());
  }
  return Architecture(std::move(ops));
}

template <class T, class ToJson>
nlohmann::json table_to_json(const BlockOpTable<T>& t, ToJson&& to_json) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index r = 0; r < t.rows(); ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index c = 0; c < t.cols(); ++c) row.push_back(to_json(t(r, c)));
    rows.push_back(std::move(row));
  }
  return rows;
}

template <class T, class FromJson>
BlockOpTable<T> table_from_json(const nlohmann::json& j, std::string_view where, FromJson&& from_json) {
  if (!j.is_array()) throw IoError(fmt::format("faunae: {}: expected an array of rows", where));
  const auto rows = static_cast<Eigen::Index>(j.size());
  const auto cols = rows > 0 && j[0].is_array() ? static_cast<Eigen::Index>(j[0].size()) : 0;
  // Every row is checked before the rows × cols table is allocated: one long first row over many
  // empty ones would otherwise ask for far more memory than the file holds.
  for (Eigen::Index r = 0; r < rows; ++r) {
    const auto& row = j[static_cast<std::size_t>(r)];
    if (!row.is_array() || static_cast<Eigen::Index>(row.size()) != cols)
      throw IoError(fmt::format("faunae: {}: row {} is not an array of {} entries", where, r, cols));
  }
  BlockOpTable<T> t(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const auto& row = j[static_cast<std::size_t>(r)];
    for (Eigen::Index c = 0; c < cols; ++c) t(r, c) = from_json(row[static_cast<std::size_t>(c)]);
  }
  return t;
}

inline nlohmann::json mutation_to_json(const BlockMutation& m) {
  return {{"block", m.block},
          {"from", m.from},
          {"to", m.to},
          {"kind", m.kind == MutationKind::depth ? "depth" : "op"},
          {"loss_from", number_to_json(m.loss_from)},
          {"loss_to", number_to_json(m.loss_to)},
          {"accepted", m.accepted}};
}

inline nlohmann::json elimination_to_json(const Elimination& e) {
  return {{"block", e.block},
          {"op", e.op},
          {"score", number_to_json(e.score)},
          {"replacement", e.replacement ? nlohmann::json(*e.replacement) : nlohmann::json(nullptr)}};
}

inline nlohmann::json record_to_json(const EpochRecord& r) {
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& [name, value] : r.metrics) metrics.push_back({name, number_to_json(value)});
  nlohmann::json mutations = nlohmann::json::array();
  for (const auto& m : r.mutations) mutations.push_back(mutation_to_json(m));
  nlohmann::json eliminations = nlohmann::json::array();
  for (const auto& e : r.eliminations) eliminations.push_back(elimination_to_json(e));
  return {{"epoch", r.epoch},
          {"evaluated", architecture_ops_to_json(r.evaluated)},
          {"architecture", architecture_ops_to_json(r.architecture)},
          {"loss", number_to_json(r.loss)},
          {"metrics", std::move(metrics)},
          {"mutations", std::move(mutations)},
          {"eliminations", std::move(eliminations)},
          {"probabilities", table_to_json(r.probabilities, [](double v) { return number_to_json(v); })},
          {"reverted_as_invalid", r.reverted_as_invalid}};
}

inline EpochRecord record_from_json(const nlohmann::json& j) {
  constexpr std::string_view where = "history record";
  EpochRecord r;
  r.epoch = get_as<std::size_t>(j, "epoch", where);
  r.evaluated = architecture_ops_from_json(member(j, "evaluated", where), "history record 'evaluated'");
  r.architecture = architecture_ops_from_json(member(j, "architecture", where), "history record 'architecture'");
  r.loss = number_from_json(member(j, "loss", where), "history record 'loss'");
  for (const auto& m : member(j, "metrics", where)) {
    if (!m.is_array() || m.size() != 2 || !m[0].is_string())
      throw IoError("faunae: history record 'metrics': each entry must be [name, value]");
    r.metrics.emplace_back(m[0].get<std::string>(), number_from_json(m[1], "metric value"));
  }
  for (const auto& m : member(j, "mutations", where)) {
    BlockMutation x;
    x.block = get_as<std::size_t>(m, "block", "mutation");
    x.from = get_as<std::size_t>(m, "from", "mutation");
    x.to = get_as<std::size_t>(m, "to", "mutation");
    x.kind = get_as<std::string>(m, "kind", "mutation") == "depth" ? MutationKind::depth : MutationKind::op;
    x.loss_from = number_from_json(member(m, "loss_from", "mutation"), "mutation 'loss_from'");
    x.loss_to = number_from_json(member(m, "loss_to", "mutation"), "mutation 'loss_to'");
    x.accepted = get_as<bool>(m, "accepted", "mutation");
    r.mutations.push_back(x);
  }
  for (const auto& e : member(j, "eliminations", where)) {
    Elimination x;
    x.block = get_as<std::size_t>(e, "block", "elimination");
    x.op = get_as<std::size_t>(e, "op", "elimination");
    x.score = number_from_json(member(e, "score", "elimination"), "elimination 'score'");
    if (const auto& rep = member(e, "replacement", "elimination"); !rep.is_null())
      x.replacement = get_as<std::size_t>(e, "replacement", "elimination");
    r.eliminations.push_back(x);
  }
  r.probabilities = table_from_json<double>(member(j, "probabilities", where), "history record 'probabilities'",
                                            [](const nlohmann::json& v) { return number_from_json(v, "probability"); });
  r.reverted_as_invalid = get_as<bool>(j, "reverted_as_invalid", where);
  return r;
}

inline nlohmann::json state_to_json(const SearchState& s) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : s.history) history.push_back(record_to_json(r));
  return {{"current", architecture_ops_to_json(s.current)},
          {"loss", table_to_json(s.stats.loss, [](double v) { return number_to_json(v); })},
          {"samples", table_to_json(s.stats.samples, [](std::int64_t v) { return nlohmann::json(v); })},
          {"alive", table_to_json(s.stats.alive, [](bool v) { return nlohmann::json(v); })},
          {"rng", s.rng},
          {"epoch", s.epoch},
          {"evaluations", s.evaluations},
          {"epochs_since_elimination", s.epochs_since_elimination},
          {"elimination_rounds", s.elimination_rounds},
          {"history", std::move(history)}};
}

inline SearchState state_from_json(const nlohmann::json& j) {
  constexpr std::string_view where = "search state";
  SearchState s;
  s.current = architecture_ops_from_json(member(j, "current", where), "search state 'current'");
  s.stats.loss = table_from_json<double>(member(j, "loss", where), "search state 'loss'",
                                         [](const nlohmann::json& v) { return number_from_json(v, "loss"); });
  s.stats.samples = table_from_json<std::int64_t>(member(j, "samples", where), "search state 'samples'",
                                                  [](const nlohmann::json& v) {
                                                    if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
                                                      throw IoError("faunae: search state 'samples': counts must be "
                                                                    "non-negative integers, got " + v.dump());
                                                    return v.get<std::int64_t>();
                                                  });
  s.stats.alive = table_from_json<bool>(member(j, "alive", where), "search state 'alive'", [](const nlohmann::json& v) {
    if (!v.is_boolean()) throw IoError("faunae: search state 'alive': entries must be booleans, got " + v.dump());
    return v.get<bool>();
  });
  s.rng = member(j, "rng", where).get<Rng>();
  s.epoch = get_as<std::size_t>(j, "epoch", where);
  s.evaluations = get_as<std::size_t>(j, "evaluations", where);
  s.epochs_since_elimination = get_as<std::size_t>(j, "epochs_since_elimination", where);
  s.elimination_rounds = get_as<std::size_t>(j, "elimination_rounds", where);
  const auto& history = member(j, "history", where);
  if (!history.is_array()) throw IoError("faunae: search state 'history' must be an array");
  s.history.reserve(history.size());
  for (const auto& r : history) s.history.push_back(record_from_json(r));
  return s;
}

}  // namespace faunae::detail

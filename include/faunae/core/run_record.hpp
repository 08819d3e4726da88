// RunRecord: what a search leaves for the steps after it (the `faunae` program's search.json).
//
// One typed record, written once by run_record_to_json() and read back by run_record_from_json():
// the space (each block's name, ops, op sizes and identity op; for a DARTS space the cells' edges),
// α0 and the architecture found (with their parameters and FLOPs when known), the search's history
// (core EpochRecords, as serialization.hpp writes them), the ops left alive, the evaluations, the
// time, the seed and the resolved configuration. The program's train, probe, export and report
// commands, and the tests, read it through this type, so its schema is written down once:
//
//   {"format": "faunae.run", "version": 1, "run_id"?, "method"? (default "faunae"),
//    "space": {"kind", "blocks": [{"name", "ops": [...], "op_params"?: [...], "identity"?}],
//              "cells"?: {"normal": [{"node", "from", "block"}], "reduce": [...]}},
//    "initial": {"architecture": [...], "ops"? (names, written for people), "params"?, "flops"?},
//    "found": {...}, "evaluated"?, "finished"?,
//    "history": [{"epoch", "evaluated"?, "architecture"?, "loss"?, "metrics"?, "mutations"?,
//                 "eliminations"?, "probabilities"?, "reverted_as_invalid"?}],
//    "alive"?: [[bool]], "evaluations"?, "seconds"?, "seed"?, "config"?}
//
// Reading is strict where a reader depends on a value (every op index is checked against its
// block, every block index against the space) and lenient where a value is only shown (a history
// record may omit what it did not do). Every error is a faunae::InvalidArgument naming the file
// and the key (JsonNode).
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
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/architecture.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/json_reader.hpp"
#include "faunae/core/search_state.hpp"
#include "faunae/core/serialization.hpp"

namespace faunae {

/// One block of the run's space, as the record keeps it.
struct RunSpaceBlock {
  std::string name;
  std::vector<std::string> ops;
  std::vector<double> op_sizes;      ///< "op_params": each op's size (the program: its parameters); may be empty
  std::optional<OpIndex> identity;   ///< the op that skips the block, if any
};

/// One edge of a DARTS cell: node `node` takes input `from` through the op of block `block`.
struct CellEdge {
  std::size_t node = 0, from = 0, block = 0;
};

struct RunSpace {
  std::string kind;  ///< the program: "resnet" or "darts"
  std::vector<RunSpaceBlock> blocks;
  std::vector<CellEdge> normal_cell, reduction_cell;  ///< DARTS only ("cells")

  /// The blocks of `space` (names, op names, op sizes, identity ops) under the name `kind`.
  static RunSpace of(const BlockSpace& space, std::string kind) {
    RunSpace s{std::move(kind), {}, {}, {}};
    for (const auto& block : space.blocks()) {
      RunSpaceBlock b{block.name, {}, {}, block.identity};
      for (const auto& op : block.ops) {
        b.ops.push_back(op.name);
        b.op_sizes.push_back(op.size);
      }
      s.blocks.push_back(std::move(b));
    }
    return s;
  }
};

/// An architecture of the run, with its size and cost when they are known.
struct ArchitectureSummary {
  Architecture architecture;
  std::optional<double> params, flops;
};

struct RunRecord {
  static constexpr std::string_view kFormat = "faunae.run";
  static constexpr int kVersion = 1;

  std::string run_id;              ///< the run folder's id (empty: not recorded)
  std::string method = "faunae";   ///< the search method (the program's search.method)
  RunSpace space;
  ArchitectureSummary initial;     ///< α0
  ArchitectureSummary found;       ///< the search's result
  bool evaluated = true;           ///< whether `found` was evaluated by the search itself
  bool finished = true;            ///< whether the search ran to its end
  std::vector<EpochRecord> history;
  std::vector<std::vector<bool>> alive;  ///< ops left per block (may be empty)
  std::optional<std::size_t> evaluations;
  std::optional<double> seconds;
  nlohmann::json seed;             ///< as the configuration gave it
  nlohmann::json config;           ///< the resolved configuration
};

/// The op names of `a` in `space` ("conv3", ...), for people reading the file.
inline std::vector<std::string> op_names(const RunSpace& space, const Architecture& a) {
  std::vector<std::string> names;
  for (std::size_t b = 0; b < a.size() && b < space.blocks.size(); ++b)
    names.push_back(a[b] < space.blocks[b].ops.size() ? space.blocks[b].ops[a[b]] : std::string("?"));
  return names;
}

namespace detail {

/// A size or cost as JSON: null when unknown, an integer when it is one (parameter counts), else a number.
inline nlohmann::json optional_number_json(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? whole_or_real_json(*v) : nlohmann::json();
}

inline nlohmann::json cell_to_json(const std::vector<CellEdge>& edges) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : edges) out.push_back({{"node", e.node}, {"from", e.from}, {"block", e.block}});
  return out;
}

inline std::size_t checked_block(const JsonNode& n, const RunSpace& space) {
  const std::size_t b = n.index();
  if (b >= space.blocks.size()) n.fail(fmt::format("is block {}, the space has {} blocks", b, space.blocks.size()));
  return b;
}

inline OpIndex checked_op(const JsonNode& n, const RunSpace& space, std::size_t block) {
  const std::size_t k = n.index();
  const auto& b = space.blocks[block];
  if (k >= b.ops.size()) n.fail(fmt::format("is op {} of block {} '{}', which has {} ops", k, block, b.name, b.ops.size()));
  return k;
}

inline Architecture checked_architecture(const JsonNode& ops, const RunSpace& space) {
  if (ops.size() != space.blocks.size())
    ops.fail(fmt::format("has {} entries, the space has {} blocks", ops.size(), space.blocks.size()));
  std::vector<OpIndex> a;
  for (std::size_t b = 0; b < space.blocks.size(); ++b) a.push_back(checked_op(ops[b], space, b));
  return Architecture(std::move(a));
}

inline ArchitectureSummary summary_from_json(const JsonNode& n, const RunSpace& space) {
  return {checked_architecture(n.at("architecture"), space), n.optional_finite("params"), n.optional_finite("flops")};
}

inline std::vector<CellEdge> cell_from_json(const JsonNode& n, std::size_t num_blocks) {
  std::vector<CellEdge> edges;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const JsonNode e = n[i];
    CellEdge edge{e.at("node").index(), e.at("from").index(), e.at("block").index()};
    if (edge.node > 15) e.at("node").fail("is out of range (a cell has at most 16 nodes here)");
    if (edge.from >= edge.node + 2)
      e.at("from").fail(fmt::format("is {}: node {} can take inputs 0..{} (0, 1: the previous cells; 2..: earlier nodes)",
                                    edge.from, edge.node, edge.node + 1));
    if (edge.block >= num_blocks) e.at("block").fail(fmt::format("is {}, the space has {} blocks", edge.block, num_blocks));
    edges.push_back(edge);
  }
  return edges;
}

inline RunSpace space_from_json(const JsonNode& n) {
  RunSpace space;
  space.kind = n.at("kind").str();
  const JsonNode blocks = n.at("blocks");
  if (blocks.size() == 0) blocks.fail("is empty");
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const JsonNode nb = blocks[b];
    RunSpaceBlock block;
    block.name = nb.at("name").str();
    const JsonNode ops = nb.at("ops");
    if (ops.size() == 0) ops.fail("is empty");
    for (std::size_t k = 0; k < ops.size(); ++k) block.ops.push_back(ops[k].str());
    if (auto sizes = nb.find("op_params")) {
      if (sizes->size() != block.ops.size()) sizes->fail(fmt::format("has {} entries, the block has {} ops", sizes->size(), block.ops.size()));
      for (std::size_t k = 0; k < sizes->size(); ++k) block.op_sizes.push_back((*sizes)[k].number());
    }
    if (auto id = nb.find("identity")) {
      block.identity = id->index();
      if (*block.identity >= block.ops.size()) id->fail(fmt::format("is {}, the block has {} ops", *block.identity, block.ops.size()));
    }
    space.blocks.push_back(std::move(block));
  }
  if (auto cells = n.find("cells")) {
    space.normal_cell = cell_from_json(cells->at("normal"), space.blocks.size());
    space.reduction_cell = cell_from_json(cells->at("reduce"), space.blocks.size());
  }
  return space;
}

inline EpochRecord history_record_from_json(const JsonNode& h, const RunSpace& space) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  EpochRecord e;
  e.epoch = h.at("epoch").index();
  if (auto a = h.find("evaluated")) e.evaluated = checked_architecture(*a, space);
  if (auto a = h.find("architecture")) e.architecture = checked_architecture(*a, space);
  e.loss = h.find("loss") ? h.at("loss").number() : nan;
  if (auto metrics = h.find("metrics")) {
    for (std::size_t m = 0; m < metrics->size(); ++m) {
      const JsonNode pair = (*metrics)[m];
      if (pair.size() != 2) pair.fail("must be a [name, value] pair");
      e.metrics.emplace_back(pair[0].str(), pair[1].number());
    }
  }
  if (auto mutations = h.find("mutations")) {
    for (std::size_t m = 0; m < mutations->size(); ++m) {
      const JsonNode nm = (*mutations)[m];
      BlockMutation mu;
      mu.block = checked_block(nm.at("block"), space);
      mu.from = checked_op(nm.at("from"), space, mu.block);
      mu.to = checked_op(nm.at("to"), space, mu.block);
      if (auto kind = nm.find("kind")) {
        const std::string k = kind->str();
        if (k != "op" && k != "depth") kind->fail(fmt::format("must be \"op\" or \"depth\", got \"{}\"", k));
        mu.kind = k == "depth" ? MutationKind::depth : MutationKind::op;
      }
      mu.accepted = nm.at("accepted").boolean();
      mu.loss_from = nm.find("loss_from") ? nm.at("loss_from").number() : nan;
      mu.loss_to = nm.find("loss_to") ? nm.at("loss_to").number() : nan;
      e.mutations.push_back(mu);
    }
  }
  if (auto eliminations = h.find("eliminations")) {
    for (std::size_t m = 0; m < eliminations->size(); ++m) {
      const JsonNode ne = (*eliminations)[m];
      Elimination el;
      el.block = checked_block(ne.at("block"), space);
      el.op = checked_op(ne.at("op"), space, el.block);
      el.score = ne.find("score") ? ne.at("score").number() : nan;
      if (auto r = ne.find("replacement")) el.replacement = checked_op(*r, space, el.block);
      e.eliminations.push_back(el);
    }
  }
  if (auto p = h.find("probabilities")) {
    const std::size_t rows = p->size();
    const std::size_t cols = rows > 0 ? (*p)[0].size() : 0;
    for (std::size_t r = 0; r < rows; ++r)
      if ((*p)[r].size() != cols) (*p)[r].fail(fmt::format("has {} entries, row 0 has {}", (*p)[r].size(), cols));
    e.probabilities.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) e.probabilities(Eigen::Index(r), Eigen::Index(c)) = (*p)[r][c].number();
  }
  if (auto r = h.find("reverted_as_invalid")) e.reverted_as_invalid = r->boolean();
  return e;
}

}  // namespace detail

/// {"architecture": [indices], "ops": [names], "params", "flops"}: an architecture of the run as
/// search.json (and the program's network.json) write it.
inline nlohmann::json architecture_summary_to_json(const RunSpace& space, const ArchitectureSummary& a) {
  return {{"architecture", a.architecture.ops()},
          {"ops", op_names(space, a.architecture)},
          {"params", detail::optional_number_json(a.params)},
          {"flops", detail::optional_number_json(a.flops)}};
}

inline nlohmann::json run_record_to_json(const RunRecord& r) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : r.space.blocks) {
    nlohmann::json block = {{"name", b.name}, {"ops", b.ops}};
    if (!b.op_sizes.empty()) block["op_params"] = b.op_sizes;
    block["identity"] = b.identity ? nlohmann::json(*b.identity) : nlohmann::json();
    blocks.push_back(std::move(block));
  }
  nlohmann::json space = {{"kind", r.space.kind}, {"blocks", std::move(blocks)}};
  if (!r.space.normal_cell.empty() || !r.space.reduction_cell.empty())
    space["cells"] = {{"normal", detail::cell_to_json(r.space.normal_cell)}, {"reduce", detail::cell_to_json(r.space.reduction_cell)}};
  const auto summary = [&](const ArchitectureSummary& a) { return architecture_summary_to_json(r.space, a); };
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : r.history) history.push_back(detail::record_to_json(e));
  nlohmann::json out = {{"format", RunRecord::kFormat},
                        {"version", RunRecord::kVersion},
                        {"run_id", r.run_id},
                        {"method", r.method},
                        {"space", std::move(space)},
                        {"initial", summary(r.initial)},
                        {"found", summary(r.found)},
                        {"evaluated", r.evaluated},
                        {"finished", r.finished},
                        {"history", std::move(history)},
                        {"alive", r.alive},
                        {"evaluations", r.evaluations ? nlohmann::json(*r.evaluations) : nlohmann::json()},
                        {"seconds", detail::optional_number_json(r.seconds)},
                        {"seed", r.seed},
                        {"config", r.config}};
  return out;
}

/// Reads a run record; `context` names the reader and the file in every error ("faunae report:
/// search.json"). Throws InvalidArgument naming the key for anything missing, mistyped or out of range.
inline RunRecord run_record_from_json(const nlohmann::json& j, std::string context) {
  const JsonNode root(j, std::move(context));
  if (!j.is_object()) root.fail(fmt::format("must be a JSON object, got {}", j.type_name()));
  if (const std::string format = root.at("format").str(); format != RunRecord::kFormat)
    root.at("format").fail(fmt::format("must be \"{}\", got \"{}\"", RunRecord::kFormat, format));
  if (const JsonNode v = root.at("version"); !v.value().is_number_integer() || v.value().get<long long>() != RunRecord::kVersion)
    v.fail(fmt::format("is {}: this reader reads version {}", v.value().dump(), RunRecord::kVersion));

  RunRecord r;
  if (auto id = root.find("run_id")) r.run_id = id->str();
  if (auto m = root.find("method")) r.method = m->str();
  r.space = detail::space_from_json(root.at("space"));
  r.initial = detail::summary_from_json(root.at("initial"), r.space);
  r.found = detail::summary_from_json(root.at("found"), r.space);
  if (auto e = root.find("evaluated")) r.evaluated = e->boolean();
  if (auto f = root.find("finished")) r.finished = f->boolean();
  const JsonNode history = root.at("history");
  for (std::size_t i = 0; i < history.size(); ++i) r.history.push_back(detail::history_record_from_json(history[i], r.space));
  if (auto alive = root.find("alive")) {
    if (alive->size() != r.space.blocks.size())
      alive->fail(fmt::format("has {} rows, the space has {} blocks", alive->size(), r.space.blocks.size()));
    for (std::size_t b = 0; b < r.space.blocks.size(); ++b) {
      const JsonNode row = (*alive)[b];
      std::vector<bool> ops;
      for (std::size_t k = 0; k < row.size(); ++k) ops.push_back(row[k].boolean());
      r.alive.push_back(std::move(ops));
    }
  }
  if (auto n = root.find("evaluations")) r.evaluations = n->index();
  r.seconds = root.optional_finite("seconds");
  if (auto s = root.find("seed")) r.seed = s->value();
  if (auto c = root.find("config")) r.config = c->value();
  return r;
}

/// Reads `path` (search.json) as a run record; `who` names the reader in errors ("faunae train").
/// A missing file is an IoError naming it and `hint`.
inline RunRecord read_run_record(const std::filesystem::path& path, std::string_view who, std::string_view hint = {}) {
  return run_record_from_json(read_json_file(path, who, hint), fmt::format("{}: {}", who, path.filename().string()));
}

}  // namespace faunae

// BenchmarkTable, TabularSpace and TabularEvaluator.
//
// The table file is a JSON object whose keys encode an architecture with one character per block
// (e.g. "02012100": block 0 uses op '0', ...) and whose values hold the measurements:
//   {"<key>": {"test_acc": [run, run, ...], "mean_acc": m, "params": p, "flops": f}, ...}
// Field names and the character → op-name map are set by a TableFormat (nas_bench_macro_format()
// for ../shared/data/nas-bench-macro/).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/evaluator.hpp"
#include "faunae/concepts/search_space.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"

namespace faunae::tabular {

/// How to read a table: which fields hold what, and what each key character means.
struct TableFormat {
  std::string runs_field = "test_acc";   ///< array of measured scores (higher is better), one per run
  std::string mean_field = "mean_acc";   ///< their mean, the "true" score of the architecture
  std::string size_field = "params";     ///< model size: MS of eq. (2)
  std::string flops_field = "flops";     ///< optional; 0 where absent
  std::map<char, std::string> op_names;  ///< key character → op name; unlisted characters name themselves
  std::optional<char> identity;          ///< the character of the op that skips a block, if any
  double score_ceiling = 100.0;          ///< loss = score_ceiling − score (accuracy in %: 100)
};

/// NAS-Bench-Macro (Su et al. 2021): '0' identity, '1' MobileNetV2 block k3 e3, '2' MobileNetV2 block k5 e6.
inline TableFormat nas_bench_macro_format() {
  TableFormat f;
  f.op_names = {{'0', "identity"}, {'1', "mb_k3_e3"}, {'2', "mb_k5_e6"}};
  f.identity = '0';
  return f;
}

/// One measured architecture.
struct Entry {
  std::vector<double> runs;
  double mean = 0.0;
  double size = 0.0;
  double flops = 0.0;
};

class BenchmarkTable {
 public:
  /// Reads and validates a table file: every key of the same non-zero length, every entry with a
  /// non-empty array of finite runs, a finite mean and a finite non-negative size. Errors name the key.
  static BenchmarkTable load(const std::filesystem::path& path, TableFormat format = nas_bench_macro_format()) {
    const std::string where = fmt::format("faunae::tabular::BenchmarkTable::load('{}')", path.string());
    const std::string text = read_file(path, where);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
      throw IoError(fmt::format("{}: not valid JSON: {}", where, e.what()));
    }
    return from_json(j, std::move(format), where);
  }

  static BenchmarkTable from_json(const nlohmann::json& j, TableFormat format,
                                  std::string_view where = "faunae::tabular::BenchmarkTable::from_json()") {
    if (!j.is_object() || j.empty())
      throw IoError(fmt::format("{}: expected a non-empty JSON object of architecture key → measurements", where));
    BenchmarkTable t;
    t.format_ = std::move(format);
    t.num_blocks_ = j.begin().key().size();
    if (t.num_blocks_ == 0) throw IoError(fmt::format("{}: the empty key \"\" is not an architecture", where));
    std::vector<std::vector<char>> tokens(t.num_blocks_);
    for (const auto& [key, value] : j.items()) {
      if (key.size() != t.num_blocks_)
        throw IoError(fmt::format("{}: key '{}' has {} characters, the first key has {}", where, key, key.size(),
                                  t.num_blocks_));
      t.entries_.emplace(key, parse_entry(key, value, t.format_, where));
      for (std::size_t b = 0; b < key.size(); ++b) tokens[b].push_back(key[b]);
    }
    for (std::size_t b = 0; b < t.num_blocks_; ++b) {
      std::sort(tokens[b].begin(), tokens[b].end());
      tokens[b].erase(std::unique(tokens[b].begin(), tokens[b].end()), tokens[b].end());
    }
    t.tokens_ = std::move(tokens);
    t.rank_by_mean();
    t.estimate_op_sizes();
    return t;
  }

  std::size_t num_blocks() const noexcept { return num_blocks_; }
  std::size_t size() const noexcept { return entries_.size(); }
  const TableFormat& format() const noexcept { return format_; }
  /// The characters used at block b, sorted: op k of block b is tokens(b)[k].
  const std::vector<char>& tokens(std::size_t b) const { return tokens_.at(b); }

  std::string key(const Architecture& a) const {
    if (a.size() != num_blocks_)
      throw InvalidArchitecture(fmt::format("faunae::tabular::BenchmarkTable::key(): {} has {} blocks, the table {}",
                                            a.to_string(), a.size(), num_blocks_));
    std::string k(num_blocks_, '?');
    for (std::size_t b = 0; b < num_blocks_; ++b) {
      if (a[b] >= tokens_[b].size())
        throw InvalidArchitecture(fmt::format("faunae::tabular::BenchmarkTable::key(): block {} uses op {}, it has {}",
                                              b, a[b], tokens_[b].size()));
      k[b] = tokens_[b][a[b]];
    }
    return k;
  }

  Architecture architecture(std::string_view key) const {
    if (key.size() != num_blocks_)
      throw InvalidArchitecture(fmt::format("faunae::tabular::BenchmarkTable::architecture(): key '{}' has {} "
                                            "characters, the table's keys have {}",
                                            key, key.size(), num_blocks_));
    std::vector<OpIndex> ops(num_blocks_);
    for (std::size_t b = 0; b < num_blocks_; ++b) {
      const auto& t = tokens_[b];
      const auto it = std::find(t.begin(), t.end(), key[b]);
      if (it == t.end())
        throw InvalidArchitecture(fmt::format("faunae::tabular::BenchmarkTable::architecture(): key '{}' uses '{}' at "
                                              "block {}, which the table never uses there",
                                              key, key[b], b));
      ops[b] = static_cast<OpIndex>(it - t.begin());
    }
    return Architecture(std::move(ops));
  }

  const Entry* find(const Architecture& a) const {
    if (a.size() != num_blocks_) return nullptr;
    for (std::size_t b = 0; b < num_blocks_; ++b)
      if (a[b] >= tokens_[b].size()) return nullptr;
    const auto it = entries_.find(key(a));
    return it == entries_.end() ? nullptr : &it->second;
  }

  const Entry& at(const Architecture& a) const {
    const Entry* e = find(a);
    if (!e)
      throw InvalidArchitecture(fmt::format("faunae::tabular::BenchmarkTable: {} is not in the table", a.to_string()));
    return *e;
  }

  /// 1 + the number of table entries with a strictly higher mean score (1 = best).
  std::size_t rank(const Architecture& a) const {
    const double m = at(a).mean;
    return 1 + static_cast<std::size_t>(std::upper_bound(sorted_means_.begin(), sorted_means_.end(), m,
                                                         [](double x, double y) { return x > y; }) -
                                        sorted_means_.begin()) -
           static_cast<std::size_t>(std::count(sorted_means_.begin(), sorted_means_.end(), m));
  }
  double best_mean() const { return sorted_means_.front(); }

  /// Name of op k of block b (format.op_names, else the character itself).
  std::string op_name(std::size_t b, OpIndex k) const {
    const char c = tokens_.at(b).at(k);
    const auto it = format_.op_names.find(c);
    return it != format_.op_names.end() ? it->second : std::string(1, c);
  }

  /// Model size of op k in block b for eq. (2): what the op adds to the model over the block's
  /// smallest op, estimated from the table as the mean size of the architectures that use op k at
  /// block b minus the smallest such mean of the block. On a full factorial table (every combination
  /// measured, as NAS-Bench-Macro) the means are exactly the main effects of an additive fit of size
  /// over (block, op); the shift makes the identity op (no parameters) size 0, as in a real supernet.
  double op_size(std::size_t b, OpIndex k) const {
    const auto& means = op_size_means_.at(b);
    return means.at(k) - *std::min_element(means.begin(), means.end());
  }

 private:
  static Entry parse_entry(const std::string& key, const nlohmann::json& v, const TableFormat& f, std::string_view where) {
    auto fail = [&](std::string_view what) {
      return IoError(fmt::format("{}: entry '{}': {}", where, key, what));
    };
    if (!v.is_object()) throw fail("must be an object");
    Entry e;
    const auto runs = v.find(f.runs_field);
    if (runs == v.end() || !runs->is_array() || runs->empty())
      throw fail(fmt::format("'{}' must be a non-empty array of numbers", f.runs_field));
    for (const auto& r : *runs) {
      if (!r.is_number() || !std::isfinite(r.get<double>()))
        throw fail(fmt::format("'{}' holds {}, not a finite number", f.runs_field, r.dump()));
      e.runs.push_back(r.get<double>());
    }
    auto number = [&](const std::string& field, bool required) -> double {
      const auto it = v.find(field);
      if (it == v.end()) {
        if (required) throw fail(fmt::format("missing '{}'", field));
        return 0.0;
      }
      if (!it->is_number() || !std::isfinite(it->get<double>()))
        throw fail(fmt::format("'{}' must be a finite number, got {}", field, it->dump()));
      return it->get<double>();
    };
    e.mean = number(f.mean_field, true);
    e.size = number(f.size_field, true);
    if (e.size < 0) throw fail(fmt::format("'{}' must be >= 0, got {}", f.size_field, e.size));
    e.flops = number(f.flops_field, false);
    return e;
  }

  void estimate_op_sizes() {
    op_size_means_.assign(num_blocks_, {});
    std::vector<std::vector<std::size_t>> counts(num_blocks_);
    for (std::size_t b = 0; b < num_blocks_; ++b) {
      op_size_means_[b].assign(tokens_[b].size(), 0.0);
      counts[b].assign(tokens_[b].size(), 0);
    }
    for (const auto& [key, e] : entries_)
      for (std::size_t b = 0; b < num_blocks_; ++b) {
        const auto k = static_cast<std::size_t>(std::lower_bound(tokens_[b].begin(), tokens_[b].end(), key[b]) -
                                                tokens_[b].begin());
        op_size_means_[b][k] += e.size;
        ++counts[b][k];
      }
    for (std::size_t b = 0; b < num_blocks_; ++b)
      for (std::size_t k = 0; k < tokens_[b].size(); ++k) op_size_means_[b][k] /= static_cast<double>(counts[b][k]);
    // Finite sizes near DBL_MAX overflow the sums above (caught by tests/fuzz/benchmark_table): those
    // blocks again with running means, which stay between the smallest and largest size.
    for (std::size_t b = 0; b < num_blocks_; ++b) {
      if (std::all_of(op_size_means_[b].begin(), op_size_means_[b].end(), [](double m) { return std::isfinite(m); })) continue;
      op_size_means_[b].assign(tokens_[b].size(), 0.0);
      counts[b].assign(tokens_[b].size(), 0);
      for (const auto& [key, e] : entries_) {
        const auto k = static_cast<std::size_t>(std::lower_bound(tokens_[b].begin(), tokens_[b].end(), key[b]) - tokens_[b].begin());
        op_size_means_[b][k] += (e.size - op_size_means_[b][k]) / static_cast<double>(++counts[b][k]);
      }
    }
  }

  void rank_by_mean() {
    sorted_means_.clear();
    for (const auto& [k, e] : entries_) sorted_means_.push_back(e.mean);
    std::sort(sorted_means_.begin(), sorted_means_.end(), std::greater<>());
  }

  TableFormat format_;
  std::size_t num_blocks_ = 0;
  std::vector<std::vector<char>> tokens_;
  std::unordered_map<std::string, Entry> entries_;
  std::vector<double> sorted_means_;
  std::vector<std::vector<double>> op_size_means_;
};

/// The table as a SearchSpace: block b's ops are the characters used at position b; an architecture
/// is valid iff the table has it. The table must outlive the space.
class TabularSpace {
 public:
  TabularSpace(const BenchmarkTable& table, Architecture initial) : table_(&table), initial_(std::move(initial)) {
    if (!is_valid(initial_))
      throw InvalidArchitecture(fmt::format("faunae::tabular::TabularSpace: the initial architecture {} is not in the table",
                                            initial_.to_string()));
    sizes_.resize(table.num_blocks());
    for (std::size_t b = 0; b < table.num_blocks(); ++b)
      for (OpIndex k = 0; k < table.tokens(b).size(); ++k) sizes_[b].push_back(table.op_size(b, k));
  }
  TabularSpace(const BenchmarkTable& table, std::string_view initial_key)
      : TabularSpace(table, table.architecture(initial_key)) {}

  std::size_t num_blocks() const noexcept { return table_->num_blocks(); }
  std::size_t num_ops(std::size_t b) const { return table_->tokens(b).size(); }
  std::string op_name(std::size_t b, std::size_t k) const { return table_->op_name(b, k); }
  double op_size(std::size_t b, std::size_t k) const { return sizes_.at(b).at(k); }
  std::optional<OpIndex> identity_op(std::size_t b) const {
    if (!table_->format().identity) return std::nullopt;
    const auto& t = table_->tokens(b);
    const auto it = std::find(t.begin(), t.end(), *table_->format().identity);
    if (it == t.end()) return std::nullopt;
    return static_cast<OpIndex>(it - t.begin());
  }
  Architecture initial_architecture() const { return initial_; }
  bool is_valid(const Architecture& a) const { return table_->find(a) != nullptr; }
  std::string block_name(std::size_t b) const { return fmt::format("layer{}", b); }

  const BenchmarkTable& table() const noexcept { return *table_; }

 private:
  const BenchmarkTable* table_;
  Architecture initial_;
  std::vector<std::vector<double>> sizes_;
};

/// Scores an architecture as `score_ceiling − one of its measured runs`, the run drawn at random (a
/// real evaluation is noisy too). Reports the true mean score as the metric "mean_score". Stateful: its
/// RNG goes into checkpoints, so a resumed search sees the same draws.
class TabularEvaluator {
 public:
  TabularEvaluator(const BenchmarkTable& table, std::uint64_t seed) : table_(&table), rng_(seed) {}

  Evaluation evaluate(const Architecture& a) {
    const Entry& e = table_->at(a);
    const double run = e.runs[static_cast<std::size_t>(rng_.below(e.runs.size()))];
    ++evaluations_;
    return Evaluation{table_->format().score_ceiling - run, {{"mean_score", e.mean}}};
  }

  std::size_t evaluations() const noexcept { return evaluations_; }
  nlohmann::json state() const { return {{"rng", rng_}, {"evaluations", evaluations_}}; }
  void restore(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("rng") || !j.contains("evaluations") || !j["evaluations"].is_number_unsigned())
      throw IoError("faunae::tabular::TabularEvaluator::restore(): expected {\"rng\": [...], \"evaluations\": n}");
    Rng rng = j["rng"].get<Rng>();
    rng_ = rng;
    evaluations_ = j["evaluations"].get<std::size_t>();
  }

 private:
  const BenchmarkTable* table_;
  Rng rng_;
  std::size_t evaluations_ = 0;
};

static_assert(SearchSpace<TabularSpace>);
static_assert(StatefulEvaluator<TabularEvaluator>);

}  // namespace faunae::tabular

// BenchmarkTable, TabularSpace and TabularEvaluator.
//
// The table file is a JSON object whose keys encode an architecture with one character per block
// (e.g. "02012100": block 0 uses op '0', ...) and whose values hold the measurements:
//   {"<key>": {"test_acc": [run, run, ...], "mean_acc": m, "params": p, "flops": f}, ...}
// Field names and the character → op-name map are set by a TableFormat (nas_bench_macro_format()
// for ../shared/data/nas-bench-macro/).
//
// Fidelities. Every score is in the table's units (higher is better; loss = score_ceiling − score):
//   - mean_field  (required): the TRUTH, the high-fidelity score of an architecture. Whatever a search
//     was run on, what it returns is judged by this: rank() and best_mean().
//   - runs_field  (optional): measured runs, noisy evaluations of the truth. The evaluator's default
//     fidelity draws one of them at random, as a real training run would give.
//   - proxy_field (optional, off by default): a cheap LOW-fidelity score (e.g. accuracy after a few
//     epochs, or a zero-cost proxy) that a search may be run on instead.
//   - size_field  (optional): model size MS of eq. (2). Without it every size is 0 and the size
//     restriction of eq. (2) is neutral (uniform).
// An optional field is in every entry or in none; a table that has it in some entries only is
// refused with the first key that lacks it.
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
  std::string runs_field = "test_acc";   ///< array of measured scores (higher is better), one per run;
                                         ///< in every entry or in none (then no run fidelity); "" = none
  std::string mean_field = "mean_acc";   ///< the true (high-fidelity) score: what results are judged by
  std::string size_field = "params";     ///< model size, MS of eq. (2); in every entry or in none
                                         ///< (then every size is 0); "" = none
  std::string flops_field = "flops";     ///< optional; 0 where absent
  std::string proxy_field;               ///< a low-fidelity score; "" = none, else required in every entry
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

/// The ground truth of the `faunae` program's default space on Fashion-MNIST
/// (benchmarks/data/fashion-mnist/ground-truth.json, written by benchmarks/ground_truth.cpp): one
/// character per block, the op's index in the program's default op list; test_acc holds the
/// stand-alone test accuracy of each training seed, mean_acc their mean, params the network's size.
inline TableFormat fashion_mnist_ground_truth_format() {
  TableFormat f;
  f.op_names = {{'0', "conv3"}, {'1', "conv5"}, {'2', "sa_k3r2"}, {'3', "identity"}};
  f.identity = '3';
  return f;
}

/// One measured architecture.
struct Entry {
  std::vector<double> runs;  ///< measured runs (noisy evaluations of `mean`); empty if the table has none
  double mean = 0.0;         ///< the truth
  double size = 0.0;         ///< 0 if the table has no sizes
  double flops = 0.0;
  double proxy = 0.0;        ///< the low-fidelity score; 0 if the table has no proxy field
};

class BenchmarkTable {
 public:
  /// Reads and validates a table file: every key of the same non-zero length, every entry with a
  /// finite mean; runs (a non-empty array of finite numbers) and size (finite, >= 0) in every entry or
  /// in none; a finite proxy in every entry if format.proxy_field is set. Errors name the key.
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
    t.first_with_runs_ = field_in_any_entry(j, t.format_.runs_field);
    t.first_with_size_ = field_in_any_entry(j, t.format_.size_field);
    t.has_proxy_ = !t.format_.proxy_field.empty();
    std::vector<std::vector<char>> tokens(t.num_blocks_);
    for (const auto& [key, value] : j.items()) {
      if (key.size() != t.num_blocks_)
        throw IoError(fmt::format("{}: key '{}' has {} characters, the first key has {}", where, key, key.size(),
                                  t.num_blocks_));
      t.entries_.emplace(key, t.parse_entry(key, value, where));
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
  /// Whether the entries hold measured runs (format.runs_field in every entry; else in none).
  bool has_runs() const noexcept { return first_with_runs_.has_value(); }
  /// Whether the entries hold model sizes (format.size_field in every entry; else every size is 0).
  bool has_sizes() const noexcept { return first_with_size_.has_value(); }
  /// Whether the entries hold a low-fidelity score (format.proxy_field is set).
  bool has_proxy() const noexcept { return has_proxy_; }

  /// Calls f(architecture, entry) for every entry, in key order (so the order does not depend on the
  /// hash map's, and sums over the table are reproducible).
  template <class F>
  void for_each(F&& f) const {
    std::vector<const std::string*> keys;
    keys.reserve(entries_.size());
    for (const auto& kv : entries_) keys.push_back(&kv.first);
    std::sort(keys.begin(), keys.end(), [](const std::string* x, const std::string* y) { return *x < *y; });
    for (const std::string* k : keys) f(architecture(*k), entries_.at(*k));
  }
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

  /// 1 + the number of table entries with a strictly higher mean score (1 = best): the truth,
  /// whichever fidelity the search was run on.
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
  /// The first key (in the table's order) whose entry is an object holding `field`; none for "".
  static std::optional<std::string> field_in_any_entry(const nlohmann::json& j, const std::string& field) {
    if (field.empty()) return std::nullopt;
    for (const auto& [key, value] : j.items())
      if (value.is_object() && value.contains(field)) return key;
    return std::nullopt;
  }

  Entry parse_entry(const std::string& key, const nlohmann::json& v, std::string_view where) const {
    const TableFormat& f = format_;
    auto fail = [&](std::string_view what) {
      return IoError(fmt::format("{}: entry '{}': {}", where, key, what));
    };
    if (!v.is_object()) throw fail("must be an object");
    // An optional field found in some entry (`example`) must be in this one too.
    auto require_everywhere = [&](const std::string& field, const std::optional<std::string>& example) {
      if (example && !v.contains(field))
        throw fail(fmt::format("missing '{}', which entry '{}' has (an optional field must be in every entry or "
                               "in none)",
                               field, *example));
    };
    Entry e;
    require_everywhere(f.runs_field, first_with_runs_);
    if (first_with_runs_) {
      const auto runs = v.find(f.runs_field);
      if (!runs->is_array() || runs->empty())
        throw fail(fmt::format("'{}' must be a non-empty array of numbers, got {}", f.runs_field,
                               runs->dump().substr(0, 80)));
      for (const auto& r : *runs) {
        if (!r.is_number() || !std::isfinite(r.get<double>()))
          throw fail(fmt::format("'{}' holds {}, not a finite number", f.runs_field, r.dump()));
        e.runs.push_back(r.get<double>());
      }
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
    require_everywhere(f.size_field, first_with_size_);
    if (first_with_size_) {
      e.size = number(f.size_field, true);
      if (e.size < 0) throw fail(fmt::format("'{}' must be >= 0, got {}", f.size_field, e.size));
    }
    e.flops = f.flops_field.empty() ? 0.0 : number(f.flops_field, false);
    if (has_proxy_) {
      if (!v.contains(f.proxy_field))
        throw fail(fmt::format("missing '{}' (TableFormat::proxy_field: every entry must have it)", f.proxy_field));
      e.proxy = number(f.proxy_field, true);
    }
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
  std::optional<std::string> first_with_runs_;  // the first key whose entry has runs; none: no runs
  std::optional<std::string> first_with_size_;  // the first key whose entry has a size; none: sizes 0
  bool has_proxy_ = false;
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
  /// Without α0: initial_architecture() throws, so a search over this space takes α0 from
  /// SearchOptions::initial.
  explicit TabularSpace(const BenchmarkTable& table) : table_(&table) {
    sizes_.resize(table.num_blocks());
    for (std::size_t b = 0; b < table.num_blocks(); ++b)
      for (OpIndex k = 0; k < table.tokens(b).size(); ++k) sizes_[b].push_back(table.op_size(b, k));
  }
  TabularSpace(const BenchmarkTable& table, Architecture initial) : TabularSpace(table) {
    if (!is_valid(initial))
      throw InvalidArchitecture(fmt::format("faunae::tabular::TabularSpace: the initial architecture {} is not in the table",
                                            initial.to_string()));
    initial_ = std::move(initial);
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
  Architecture initial_architecture() const {
    if (!initial_)
      throw InvalidArgument(
          "faunae::tabular::TabularSpace::initial_architecture(): no α0 was given (the space was made with "
          "TabularSpace(table) alone); pass it as SearchOptions::initial, or make the space with "
          "TabularSpace(table, initial)");
    return *initial_;
  }
  /// α0 if the space was given one.
  const std::optional<Architecture>& initial() const noexcept { return initial_; }
  bool is_valid(const Architecture& a) const { return table_->find(a) != nullptr; }
  std::string block_name(std::size_t b) const { return fmt::format("layer{}", b); }

  const BenchmarkTable& table() const noexcept { return *table_; }

 private:
  const BenchmarkTable* table_;
  std::optional<Architecture> initial_;
  std::vector<std::vector<double>> sizes_;
};

/// What a TabularEvaluator scores an architecture by (see the fidelities at the top of this file).
enum class Fidelity {
  run,    ///< one measured run (format.runs_field), drawn at random: a noisy evaluation of the truth
  mean,   ///< the truth (format.mean_field), noise-free
  proxy,  ///< the low-fidelity score (format.proxy_field)
};

inline std::string_view to_string(Fidelity f) noexcept {
  switch (f) {
    case Fidelity::run: return "run";
    case Fidelity::mean: return "mean";
    case Fidelity::proxy: return "proxy";
  }
  return "?";
}

struct TabularEvaluatorOptions {
  std::uint64_t seed = 0;             ///< seed of the evaluator's own Rng (the run draws and the noise)
  Fidelity fidelity = Fidelity::run;  ///< which score the loss is made of
  double noise_sd = 0.0;              ///< sd of Gaussian noise added to the loss, in score units (0: none)
};

/// Scores an architecture as `score_ceiling − score + noise`, where the score is, by
/// `options.fidelity`, one of its measured runs drawn at random (default: a real evaluation is noisy
/// too), its true mean, or its low-fidelity proxy; and noise = noise_sd · N(0, 1), drawn after the run
/// (none when noise_sd is 0, so no draw). Reports the true score as the metric "mean_score", and the
/// proxy as "proxy_score" when the table has one. Stateful: its Rng goes into checkpoints, so a resumed
/// search sees the same draws.
class TabularEvaluator {
 public:
  /// The same as TabularEvaluator(table, {.seed = seed}): one measured run per evaluation, no noise.
  TabularEvaluator(const BenchmarkTable& table, std::uint64_t seed)
      : TabularEvaluator(table, TabularEvaluatorOptions{.seed = seed}) {}

  TabularEvaluator(const BenchmarkTable& table, TabularEvaluatorOptions options)
      : table_(&table), options_(options), rng_(options.seed) {
    constexpr std::string_view where = "faunae::tabular::TabularEvaluator";
    if (!std::isfinite(options_.noise_sd) || options_.noise_sd < 0.0)
      throw InvalidArgument(fmt::format("{}: noise_sd must be finite and >= 0, got {}", where, options_.noise_sd));
    switch (options_.fidelity) {
      case Fidelity::run:
        if (!table.has_runs())
          throw InvalidArgument(fmt::format(
              "{}: fidelity run needs measured runs, but no entry of the table has the runs field '{}'; choose "
              "Fidelity::mean (the truth) or Fidelity::proxy",
              where, table.format().runs_field));
        break;
      case Fidelity::mean: break;
      case Fidelity::proxy:
        if (!table.has_proxy())
          throw InvalidArgument(fmt::format(
              "{}: fidelity proxy needs a low-fidelity score, but the table was read without one "
              "(TableFormat::proxy_field is empty)",
              where));
        break;
      default:
        throw InvalidArgument(fmt::format("{}: fidelity must be run, mean or proxy, got {}", where,
                                          static_cast<int>(options_.fidelity)));
    }
  }

  Evaluation evaluate(const Architecture& a) {
    const Entry& e = table_->at(a);
    double score = e.mean;
    if (options_.fidelity == Fidelity::run) score = e.runs[static_cast<std::size_t>(rng_.below(e.runs.size()))];
    else if (options_.fidelity == Fidelity::proxy) score = e.proxy;
    double loss = table_->format().score_ceiling - score;
    if (options_.noise_sd > 0.0) loss += options_.noise_sd * rng_.normal();
    ++evaluations_;
    Evaluation out{loss, {{"mean_score", e.mean}}};
    if (table_->has_proxy()) out.metrics.emplace_back("proxy_score", e.proxy);
    return out;
  }

  const TabularEvaluatorOptions& options() const noexcept { return options_; }
  std::size_t evaluations() const noexcept { return evaluations_; }

  /// {"rng": [...], "evaluations": n}, plus "fidelity" and "noise_sd" when they are not the defaults
  /// (so the state of a default evaluator reads as it always has, and old checkpoints load).
  nlohmann::json state() const {
    nlohmann::json j = {{"rng", rng_}, {"evaluations", evaluations_}};
    if (options_.fidelity != Fidelity::run) j["fidelity"] = to_string(options_.fidelity);
    if (options_.noise_sd != 0.0) j["noise_sd"] = options_.noise_sd;
    return j;
  }

  /// Restores a state() of an evaluator with the same fidelity and noise_sd (an IoError otherwise);
  /// leaves this evaluator unchanged when it throws.
  void restore(const nlohmann::json& j) {
    constexpr std::string_view where = "faunae::tabular::TabularEvaluator::restore()";
    if (!j.is_object() || !j.contains("rng") || !j.contains("evaluations") || !j["evaluations"].is_number_unsigned())
      throw IoError(fmt::format("{}: expected {{\"rng\": [...], \"evaluations\": n}}", where));
    std::string_view fidelity = "run";
    if (const auto it = j.find("fidelity"); it != j.end()) {
      if (!it->is_string()) throw IoError(fmt::format("{}: \"fidelity\" must be a string, got {}", where, it->dump()));
      fidelity = it->get_ref<const std::string&>();
    }
    if (fidelity != to_string(options_.fidelity))
      throw IoError(fmt::format("{}: the state was saved by an evaluator with fidelity {}, this one has {}", where,
                                fidelity, to_string(options_.fidelity)));
    double noise_sd = 0.0;
    if (const auto it = j.find("noise_sd"); it != j.end()) {
      if (!it->is_number()) throw IoError(fmt::format("{}: \"noise_sd\" must be a number, got {}", where, it->dump()));
      noise_sd = it->get<double>();
    }
    if (noise_sd != options_.noise_sd)
      throw IoError(fmt::format("{}: the state was saved by an evaluator with noise_sd {}, this one has {}", where,
                                noise_sd, options_.noise_sd));
    Rng rng = j["rng"].get<Rng>();
    rng_ = rng;
    evaluations_ = j["evaluations"].get<std::size_t>();
  }

 private:
  const BenchmarkTable* table_;
  TabularEvaluatorOptions options_;
  Rng rng_;
  std::size_t evaluations_ = 0;
};

static_assert(SearchSpace<TabularSpace>);
static_assert(StatefulEvaluator<TabularEvaluator>);

}  // namespace faunae::tabular

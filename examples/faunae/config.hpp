// The `faunae` program's configuration: one JSON file (and/or --set section.key=value flags), every
// key validated. An unknown key, a wrong type or a value out of range is an error that names the key,
// what is allowed and what was given; nothing runs on a half-understood configuration.
//
//   {
//     "data":   {"kind": "fashion-mnist", "path": "/usr/share/datasets/fashion-mnist", "images": 10000},
//     "space":  {"kind": "resnet", "blocks_per_stage": [2, 2, 2, 2], "width": 0.25, "ops": ["conv3", "conv5", "sa_k3r2", "identity"]},
//     "initial": "plain",
//     "search": {"epochs_per_op": 2, "steps": 5, "batch_size": 64},
//     "train":  {"epochs": 3},
//     "seed": 0, "threads": 2, "device": "cpu"
//   }
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"

namespace faunae::program {

struct DataConfig {
  std::string kind = "fashion-mnist";  ///< fashion-mnist | cifar10 | folder
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::int64_t images = 10000;         ///< first N training images (0 = all)
  std::int64_t test_images = 2000;     ///< first N test images for the probe (0 = all; folder: none)
  double validation_fraction = 0.1;    ///< held out of the training images for the search's loss (CIFAR-10: 90/10)
  std::int64_t channels = 3;           ///< folder: 1 or 3
  std::int64_t size = 32;              ///< folder: images are resized to size×size
};

struct SpaceConfig {
  std::string kind = "resnet";  ///< resnet | darts
  std::vector<std::int64_t> blocks_per_stage{2, 2, 2, 2};
  double width = 0.25;
  std::vector<std::string> ops{"conv3", "conv5", "sa_k3r2", "identity"};
  std::int64_t darts_layers = 5, darts_channels = 8;
};

/// The values of search.method (docs/program.md): the faithful FaUNAE, two variants, three baselines.
inline constexpr std::array<std::string_view, 6> kSearchMethods = {"faunae", "faunae-ts", "faunae-r", "random", "rea", "local"};

/// The values of search.evaluator (docs/program.md): the paper's contrastive loss, or a zero-cost proxy
/// (faunae::torch_backend::ZeroCostProxy, zero_cost.hpp).
inline constexpr std::array<std::string_view, 6> kSearchEvaluators = {"contrastive", "synflow", "naswot", "snip", "params", "flops"};

struct SearchConfig {
  /// faunae (the paper's) | faunae-ts (recommended) | faunae-r | random | rea | local; every method
  /// gets as many evaluations as faunae plans for the same space and epochs_per_op.
  std::string method = "faunae";
  /// contrastive (the paper's: k student steps, then the validation InfoNCE) | synflow | naswot | snip |
  /// params | flops (zero-cost proxies of the untrained network; loss −ln S)
  std::string evaluator = "contrastive";
  std::int64_t epochs_per_op = 2;  ///< E of the K·E elimination schedule
  std::int64_t max_epochs = 0;     ///< 0: until one op per block is left
  std::int64_t steps = 5;          ///< k: student steps per evaluation
  std::int64_t warmup_steps = 48;  ///< student steps on α0 before epoch 0 (fills the queue with real keys)
  std::int64_t batch_size = 64;
  std::int64_t queue_size = 1024;
  std::int64_t shuffle_groups = 8;
  std::int64_t validation_images = 512;  ///< of the held-out split, scored each epoch (0 = all)
  double lr = 0.03, momentum = 0.9, weight_decay = 1e-4, tau = 0.2, m = 0.99;
  double epsilon = 0.5, lambda1 = 0.9, lambda2 = 0.3;
  std::int64_t head_hidden = 512, head_out = 128;
  std::int64_t rea_population = 8, rea_sample = 4;  ///< rea: population P and tournament size S
  /// Budget on the evolved network's parameters: "alpha0" (at most α0's), "none", or a number.
  std::string max_params = "alpha0";
};

struct TrainConfig {
  std::int64_t epochs = 3;
  std::int64_t batch_size = 128;
  std::int64_t queue_size = 4096;
  double lr = 0.06, m = 0.99;
  std::int64_t head_hidden = 512, head_out = 128;
};

struct ProbeConfig {
  std::int64_t epochs = 100;  ///< linear classifier epochs (MoCo: 100, steps at 60 and 80)
  double lr = 30.0;
  bool standardize = true;    ///< standardise features first (see docs/program.md)
  std::int64_t knn_k = 200;
  double knn_t = 0.1;
};

struct Config {
  DataConfig data;
  SpaceConfig space;
  std::string initial = "plain";  ///< plain (every block conv3) | resnet50 | random | path to an architecture JSON
  SearchConfig search;
  TrainConfig train;
  ProbeConfig probe;
  std::uint64_t seed = 0;
  std::int64_t threads = 2;
  std::string device = "cpu";
  std::string precision = "fp32";
};

namespace detail {

/// Reads one JSON object strictly: each key read once, then `finish` refuses the others.
class Reader {
 public:
  Reader(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw InvalidArgument(fmt::format("config: '{}' must be an object, got {}", name(), j_.dump()));
  }

  template <class T>
  void read(std::string_view key, T& out) {
    seen_.insert(std::string(key));
    if (!j_.contains(key)) return;
    const auto& v = j_.at(std::string(key));
    const auto full = at(key);
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) throw InvalidArgument(fmt::format("config: '{}' must be true or false, got {}", full, v.dump()));
      out = v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) throw InvalidArgument(fmt::format("config: '{}' must be an integer, got {}", full, v.dump()));
      if (std::is_unsigned_v<T> && v.is_number_integer() && !v.is_number_unsigned())
        throw InvalidArgument(fmt::format("config: '{}' must be >= 0, got {}", full, v.dump()));
      out = v.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) throw InvalidArgument(fmt::format("config: '{}' must be a number, got {}", full, v.dump()));
      out = v.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) throw InvalidArgument(fmt::format("config: '{}' must be a string, got {}", full, v.dump()));
      out = v.get<std::string>();
    } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
      if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number_integer(); }))
        throw InvalidArgument(fmt::format("config: '{}' must be a list of integers, got {}", full, v.dump()));
      out = v.get<std::vector<std::int64_t>>();
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_string(); }))
        throw InvalidArgument(fmt::format("config: '{}' must be a list of strings, got {}", full, v.dump()));
      out = v.get<std::vector<std::string>>();
    } else {
      static_assert(sizeof(T) == 0, "unsupported config type");
    }
  }

  /// The raw value of `key`, or nullptr if absent (for keys that take more than one type).
  const nlohmann::json* raw(std::string_view key) {
    seen_.insert(std::string(key));
    return j_.contains(key) ? &j_.at(std::string(key)) : nullptr;
  }

  /// A sub-object (absent: empty).
  nlohmann::json object(std::string_view key) {
    seen_.insert(std::string(key));
    if (!j_.contains(key)) return nlohmann::json::object();
    return j_.at(std::string(key));
  }

  void finish() const {
    for (const auto& [key, value] : j_.items())
      if (!seen_.count(key))
        throw InvalidArgument(fmt::format("config: unknown key '{}'; allowed in '{}': {}", at(key), name(), fmt::join(seen_, ", ")));
  }

  std::string at(std::string_view key) const { return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key); }

 private:
  std::string name() const { return path_.empty() ? "the top level" : path_; }
  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

inline void require(bool ok, std::string_view key, std::string_view rule, const auto& value) {
  if (!ok) throw InvalidArgument(fmt::format("config: '{}' must be {}, got {}", key, rule, value));
}

inline void one_of(std::string_view key, const std::string& value, std::span<const std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
    throw InvalidArgument(fmt::format("config: '{}' must be one of {}, got '{}'", key, fmt::join(allowed, ", "), value));
}

inline void one_of(std::string_view key, const std::string& value, std::initializer_list<std::string_view> allowed) {
  one_of(key, value, std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

}  // namespace detail

/// search.max_params: std::nullopt for "none", 0 for "alpha0" (resolved once α0 is known), else the
/// number of parameters (> 0).
inline std::optional<double> parse_max_params(const std::string& text) {
  if (text == "none") return std::nullopt;
  if (text == "alpha0") return 0.0;
  double v = 0.0;
  std::size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(v) || v <= 0.0)
    throw InvalidArgument(fmt::format("config: 'search.max_params' must be alpha0, none or a positive number of parameters, "
                                      "got {}", text));
  return v;
}

/// Parses and validates a configuration (every key optional; defaults above).
inline Config config_from_json(const nlohmann::json& j) {
  using detail::one_of;
  using detail::require;
  Config c;
  detail::Reader top(j, "");
  {
    const auto section = top.object("data");
    detail::Reader r(section, "data");
    r.read("kind", c.data.kind);
    r.read("path", c.data.path);
    r.read("images", c.data.images);
    r.read("test_images", c.data.test_images);
    r.read("validation_fraction", c.data.validation_fraction);
    r.read("channels", c.data.channels);
    r.read("size", c.data.size);
    r.finish();
    one_of("data.kind", c.data.kind, {"fashion-mnist", "cifar10", "folder"});
    require(c.data.images >= 0, "data.images", ">= 0 (0 = all)", c.data.images);
    require(c.data.test_images >= 0, "data.test_images", ">= 0 (0 = all)", c.data.test_images);
    require(c.data.validation_fraction > 0.0 && c.data.validation_fraction < 1.0, "data.validation_fraction", "in (0, 1)",
            c.data.validation_fraction);
    require(c.data.channels == 1 || c.data.channels == 3, "data.channels", "1 or 3", c.data.channels);
    require(c.data.size >= 8 && c.data.size <= 1024, "data.size", "in [8, 1024]", c.data.size);
  }
  {
    const auto section = top.object("space");
    detail::Reader r(section, "space");
    r.read("kind", c.space.kind);
    r.read("blocks_per_stage", c.space.blocks_per_stage);
    r.read("width", c.space.width);
    r.read("ops", c.space.ops);
    r.read("darts_layers", c.space.darts_layers);
    r.read("darts_channels", c.space.darts_channels);
    r.finish();
    one_of("space.kind", c.space.kind, {"resnet", "darts"});
    require(!c.space.blocks_per_stage.empty() && std::all_of(c.space.blocks_per_stage.begin(), c.space.blocks_per_stage.end(),
                                                             [](auto b) { return b >= 1 && b <= 64; }),
            "space.blocks_per_stage", "a non-empty list of block counts in [1, 64]", fmt::format("{}", c.space.blocks_per_stage));
    require(c.space.width > 0.0 && c.space.width <= 8.0, "space.width", "in (0, 8]", c.space.width);
    for (const auto& op : c.space.ops)
      one_of("space.ops[]", op, {"conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity"});
    require(!c.space.ops.empty(), "space.ops", "a non-empty list", "[]");
    require(c.space.darts_layers >= 3 && c.space.darts_layers <= 30, "space.darts_layers", "in [3, 30]", c.space.darts_layers);
    require(c.space.darts_channels >= 4 && c.space.darts_channels <= 256, "space.darts_channels", "in [4, 256]", c.space.darts_channels);
  }
  top.read("initial", c.initial);
  require(!c.initial.empty(), "initial", "plain, resnet50, random or the path of an architecture JSON", "''");
  {
    const auto section = top.object("search");
    detail::Reader r(section, "search");
    auto& s = c.search;
    r.read("method", s.method);
    r.read("evaluator", s.evaluator);
    r.read("epochs_per_op", s.epochs_per_op);
    r.read("max_epochs", s.max_epochs);
    r.read("steps", s.steps);
    r.read("warmup_steps", s.warmup_steps);
    r.read("batch_size", s.batch_size);
    r.read("queue_size", s.queue_size);
    r.read("shuffle_groups", s.shuffle_groups);
    r.read("validation_images", s.validation_images);
    r.read("lr", s.lr);
    r.read("momentum", s.momentum);
    r.read("weight_decay", s.weight_decay);
    r.read("tau", s.tau);
    r.read("m", s.m);
    r.read("epsilon", s.epsilon);
    r.read("lambda1", s.lambda1);
    r.read("lambda2", s.lambda2);
    r.read("head_hidden", s.head_hidden);
    r.read("head_out", s.head_out);
    r.read("rea_population", s.rea_population);
    r.read("rea_sample", s.rea_sample);
    if (const nlohmann::json* v = r.raw("max_params")) {
      if (v->is_string()) s.max_params = v->get<std::string>();
      else if (v->is_number()) s.max_params = fmt::format("{}", v->get<double>());
      else s.max_params = v->dump();
      parse_max_params(s.max_params);  // validates
    }
    r.finish();
    one_of("search.method", s.method, kSearchMethods);
    one_of("search.evaluator", s.evaluator, kSearchEvaluators);
    require(s.epochs_per_op >= 1 && s.epochs_per_op <= 1000, "search.epochs_per_op", "in [1, 1000]", s.epochs_per_op);
    require(s.max_epochs >= 0, "search.max_epochs", ">= 0 (0 = until one op per block is left)", s.max_epochs);
    require(s.steps >= 1, "search.steps", ">= 1", s.steps);
    require(s.warmup_steps >= 0, "search.warmup_steps", ">= 0", s.warmup_steps);
    require(s.batch_size >= 2, "search.batch_size", ">= 2", s.batch_size);
    require(s.queue_size >= s.batch_size && s.queue_size % s.batch_size == 0, "search.queue_size",
            fmt::format("a multiple of search.batch_size ({})", s.batch_size), s.queue_size);
    require(s.shuffle_groups >= 1 && s.batch_size % s.shuffle_groups == 0, "search.shuffle_groups",
            fmt::format("a divisor of search.batch_size ({})", s.batch_size), s.shuffle_groups);
    require(s.validation_images >= 0, "search.validation_images", ">= 0 (0 = all)", s.validation_images);
    require(s.lr > 0.0 && std::isfinite(s.lr), "search.lr", "positive", s.lr);
    require(s.momentum >= 0.0 && s.momentum < 1.0, "search.momentum", "in [0, 1)", s.momentum);
    require(s.weight_decay >= 0.0 && std::isfinite(s.weight_decay), "search.weight_decay", ">= 0", s.weight_decay);
    require(s.tau > 0.0 && std::isfinite(s.tau), "search.tau", "positive", s.tau);
    require(s.m >= 0.0 && s.m <= 1.0, "search.m", "in [0, 1]", s.m);
    require(s.epsilon >= 0.0 && s.epsilon <= 1.0, "search.epsilon", "in [0, 1]", s.epsilon);
    require(s.lambda1 >= 0.0 && s.lambda1 <= 1.0, "search.lambda1", "in [0, 1]", s.lambda1);
    require(s.lambda2 >= 0.0 && s.lambda2 <= 1.0, "search.lambda2", "in [0, 1]", s.lambda2);
    require(s.head_hidden >= 1, "search.head_hidden", ">= 1", s.head_hidden);
    require(s.head_out >= 1, "search.head_out", ">= 1", s.head_out);
    require(s.rea_population >= 1 && s.rea_population <= 100000, "search.rea_population", "in [1, 100000]", s.rea_population);
    require(s.rea_sample >= 1 && s.rea_sample <= s.rea_population, "search.rea_sample",
            fmt::format("in [1, search.rea_population = {}]", s.rea_population), s.rea_sample);
  }
  {
    const auto section = top.object("train");
    detail::Reader r(section, "train");
    auto& t = c.train;
    r.read("epochs", t.epochs);
    r.read("batch_size", t.batch_size);
    r.read("queue_size", t.queue_size);
    r.read("lr", t.lr);
    r.read("m", t.m);
    r.read("head_hidden", t.head_hidden);
    r.read("head_out", t.head_out);
    r.finish();
    require(t.epochs >= 1, "train.epochs", ">= 1", t.epochs);
    require(t.batch_size >= 8 && t.batch_size % 8 == 0, "train.batch_size", "a multiple of 8 (the shuffled-BN groups)", t.batch_size);
    require(t.queue_size >= t.batch_size && t.queue_size % t.batch_size == 0, "train.queue_size",
            fmt::format("a multiple of train.batch_size ({})", t.batch_size), t.queue_size);
    require(t.lr > 0.0 && std::isfinite(t.lr), "train.lr", "positive", t.lr);
    require(t.m >= 0.0 && t.m <= 1.0, "train.m", "in [0, 1]", t.m);
    require(t.head_hidden >= 1, "train.head_hidden", ">= 1", t.head_hidden);
    require(t.head_out >= 1, "train.head_out", ">= 1", t.head_out);
  }
  {
    const auto section = top.object("probe");
    detail::Reader r(section, "probe");
    auto& p = c.probe;
    r.read("epochs", p.epochs);
    r.read("lr", p.lr);
    r.read("standardize", p.standardize);
    r.read("knn_k", p.knn_k);
    r.read("knn_t", p.knn_t);
    r.finish();
    require(p.epochs >= 1, "probe.epochs", ">= 1", p.epochs);
    require(p.lr > 0.0 && std::isfinite(p.lr), "probe.lr", "positive", p.lr);
    require(p.knn_k >= 1, "probe.knn_k", ">= 1", p.knn_k);
    require(p.knn_t > 0.0 && std::isfinite(p.knn_t), "probe.knn_t", "positive", p.knn_t);
  }
  top.read("seed", c.seed);
  top.read("threads", c.threads);
  top.read("device", c.device);
  top.read("precision", c.precision);
  top.finish();
  require(c.threads >= 1 && c.threads <= 1024, "threads", "in [1, 1024]", c.threads);
  require(c.device == "cpu" || c.device == "cuda" || c.device.rfind("cuda:", 0) == 0, "device", "cpu, cuda or cuda:N",
          fmt::format("'{}'", c.device));
  detail::one_of("precision", c.precision, {"fp32", "bf16", "fp16"});
  return c;
}

/// The configuration as JSON (all keys, resolved), what config_from_json reads back.
inline nlohmann::json config_to_json(const Config& c) {
  return {{"data",
           {{"kind", c.data.kind},
            {"path", c.data.path},
            {"images", c.data.images},
            {"test_images", c.data.test_images},
            {"validation_fraction", c.data.validation_fraction},
            {"channels", c.data.channels},
            {"size", c.data.size}}},
          {"space",
           {{"kind", c.space.kind},
            {"blocks_per_stage", c.space.blocks_per_stage},
            {"width", c.space.width},
            {"ops", c.space.ops},
            {"darts_layers", c.space.darts_layers},
            {"darts_channels", c.space.darts_channels}}},
          {"initial", c.initial},
          {"search",
           {{"method", c.search.method},
            {"evaluator", c.search.evaluator},
            {"epochs_per_op", c.search.epochs_per_op}, {"max_epochs", c.search.max_epochs}, {"steps", c.search.steps},
            {"warmup_steps", c.search.warmup_steps},
            {"batch_size", c.search.batch_size},       {"queue_size", c.search.queue_size},  {"shuffle_groups", c.search.shuffle_groups},
            {"validation_images", c.search.validation_images},
            {"lr", c.search.lr},                       {"momentum", c.search.momentum},      {"weight_decay", c.search.weight_decay},
            {"tau", c.search.tau},                     {"m", c.search.m},                    {"epsilon", c.search.epsilon},
            {"lambda1", c.search.lambda1},             {"lambda2", c.search.lambda2},        {"head_hidden", c.search.head_hidden},
            {"head_out", c.search.head_out},           {"max_params", c.search.max_params},
            {"rea_population", c.search.rea_population}, {"rea_sample", c.search.rea_sample}}},
          {"train",
           {{"epochs", c.train.epochs},
            {"batch_size", c.train.batch_size},
            {"queue_size", c.train.queue_size},
            {"lr", c.train.lr},
            {"m", c.train.m},
            {"head_hidden", c.train.head_hidden},
            {"head_out", c.train.head_out}}},
          {"probe",
           {{"epochs", c.probe.epochs}, {"lr", c.probe.lr}, {"standardize", c.probe.standardize}, {"knn_k", c.probe.knn_k}, {"knn_t", c.probe.knn_t}}},
          {"seed", c.seed},
          {"threads", c.threads},
          {"device", c.device},
          {"precision", c.precision}};
}

/// Applies "section.key=value" (value parsed as JSON, else taken as a string) to `j`.
inline void apply_override(nlohmann::json& j, std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw InvalidArgument(fmt::format("--set: expects section.key=value, got '{}'", assignment));
  // A configuration file cannot hold invalid UTF-8 (the JSON parser refuses it); neither may --set,
  // whose key and string values go into the same JSON (and into error messages that dump it).
  try {
    (void)nlohmann::json(std::string(assignment)).dump();
  } catch (const nlohmann::json::type_error&) {
    throw InvalidArgument(fmt::format("--set: '{}' is not valid UTF-8", assignment));
  }
  const std::string key(assignment.substr(0, eq)), text(assignment.substr(eq + 1));
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    value = text;
  }
  nlohmann::json* target = &j;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw InvalidArgument(fmt::format("--set: empty key part in '{}'", key));
    if (!target->is_object()) throw InvalidArgument(fmt::format("--set: '{}' goes into a value that is not a section", key));
    if (dot == std::string::npos) {
      (*target)[part] = value;
      return;
    }
    target = &(*target)[part];
    if (target->is_null()) *target = nlohmann::json::object();
    start = dot + 1;
  }
}

/// Reads a configuration file (JSON); errors name the file.
inline nlohmann::json read_config_file(const std::filesystem::path& path) {
  const std::string where = fmt::format("config '{}'", path.string());
  const std::string text = read_file(path, where);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(fmt::format("{}: not valid JSON: {}", where, e.what()));
  }
}

}  // namespace faunae::program

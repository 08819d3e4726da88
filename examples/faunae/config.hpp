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
#include "faunae/core/json_reader.hpp"
#include "faunae/core/options_reader.hpp"

namespace faunae::program {

namespace detail {

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

// Each section below names its keys once, in for_each_key (read by config_from_json, written by
// config_to_json), and checks its values in check(), with messages that name the key.

struct DataConfig {
  std::string kind = "fashion-mnist";  ///< fashion-mnist | cifar10 | folder
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::int64_t images = 10000;         ///< first N training images (0 = all)
  std::int64_t test_images = 2000;     ///< first N test images for the probe (0 = all; folder: none)
  double validation_fraction = 0.1;    ///< held out of the training images for the search's loss (CIFAR-10: 90/10)
  std::int64_t channels = 3;           ///< folder: 1 or 3
  std::int64_t size = 32;              ///< folder: images are resized to size×size

  template <class Self, class F>
  static void for_each_key(Self& s, F&& f) {
    f("kind", s.kind), f("path", s.path), f("images", s.images), f("test_images", s.test_images),
        f("validation_fraction", s.validation_fraction), f("channels", s.channels), f("size", s.size);
  }
  void check() const {
    using detail::require;
    detail::one_of("data.kind", kind, {"fashion-mnist", "cifar10", "folder"});
    require(images >= 0, "data.images", ">= 0 (0 = all)", images);
    require(test_images >= 0, "data.test_images", ">= 0 (0 = all)", test_images);
    require(validation_fraction > 0.0 && validation_fraction < 1.0, "data.validation_fraction", "in (0, 1)", validation_fraction);
    require(channels == 1 || channels == 3, "data.channels", "1 or 3", channels);
    require(size >= 8 && size <= 1024, "data.size", "in [8, 1024]", size);
  }
};

struct SpaceConfig {
  std::string kind = "resnet";  ///< resnet | darts
  std::vector<std::int64_t> blocks_per_stage{2, 2, 2, 2};
  double width = 0.25;
  std::vector<std::string> ops{"conv3", "conv5", "sa_k3r2", "identity"};
  std::int64_t darts_layers = 5, darts_channels = 8;

  template <class Self, class F>
  static void for_each_key(Self& s, F&& f) {
    f("kind", s.kind), f("blocks_per_stage", s.blocks_per_stage), f("width", s.width), f("ops", s.ops),
        f("darts_layers", s.darts_layers), f("darts_channels", s.darts_channels);
  }
  void check() const {
    using detail::require;
    detail::one_of("space.kind", kind, {"resnet", "darts"});
    require(!blocks_per_stage.empty() && std::all_of(blocks_per_stage.begin(), blocks_per_stage.end(), [](auto b) { return b >= 1 && b <= 64; }),
            "space.blocks_per_stage", "a non-empty list of block counts in [1, 64]", fmt::format("{}", blocks_per_stage));
    require(width > 0.0 && width <= 8.0, "space.width", "in (0, 8]", width);
    for (const auto& op : ops) detail::one_of("space.ops[]", op, {"conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity"});
    require(!ops.empty(), "space.ops", "a non-empty list", "[]");
    require(darts_layers >= 3 && darts_layers <= 30, "space.darts_layers", "in [3, 30]", darts_layers);
    require(darts_channels >= 4 && darts_channels <= 256, "space.darts_channels", "in [4, 256]", darts_channels);
  }
};

/// The values of search.method (docs/program.md): the faithful FaUNAE, two variants, three baselines.
inline constexpr std::array<std::string_view, 6> kSearchMethods = {"faunae", "faunae-ts", "faunae-r", "random", "rea", "local"};

/// The values of search.evaluator (docs/program.md): the paper's contrastive loss, or a zero-cost proxy
/// (faunae::torch_backend::ZeroCostProxy, zero_cost.hpp).
inline constexpr std::array<std::string_view, 6> kSearchEvaluators = {"contrastive", "synflow", "naswot", "snip", "params", "flops"};

/// search.max_params, the budget on the evolved network's parameters: "alpha0" (at most α0's, resolved
/// once α0 is known), "none", or a positive number of parameters. In JSON: "alpha0", "none" or a
/// number (a number written as a string, as earlier runs' config.json did, is read too).
class MaxParams {
 public:
  enum class Kind { alpha0, none, count };

  static MaxParams alpha0() { return MaxParams(Kind::alpha0, 0.0); }
  static MaxParams none() { return MaxParams(Kind::none, 0.0); }
  static MaxParams at_most(double parameters) {
    if (!(parameters > 0.0 && std::isfinite(parameters)))
      throw InvalidArgument(fmt::format("config: 'search.max_params' must be alpha0, none or a positive number of parameters, got {}", parameters));
    return MaxParams(Kind::count, parameters);
  }

  Kind kind() const noexcept { return kind_; }
  /// The number of parameters (kind() == count only).
  double count() const noexcept { return count_; }
  std::string to_string() const {
    switch (kind_) {
      case Kind::alpha0: return "alpha0";
      case Kind::none: return "none";
      case Kind::count: break;
    }
    return fmt::format("{}", count_);
  }
  friend bool operator==(const MaxParams&, const MaxParams&) = default;

  static MaxParams from_option(const nlohmann::json& v, std::string_view key) {
    const auto bad = [&] {
      return InvalidArgument(fmt::format("config: '{}' must be alpha0, none or a positive number of parameters, got {}", key, v.dump()));
    };
    double n = 0.0;
    if (v.is_string()) {
      const std::string& text = v.get_ref<const std::string&>();
      if (text == "alpha0") return alpha0();
      if (text == "none") return none();
      std::size_t used = 0;
      try {
        n = std::stod(text, &used);
      } catch (const std::exception&) {
        throw bad();
      }
      if (used != text.size()) throw bad();
    } else if (v.is_number()) {
      n = v.get<double>();
    } else {
      throw bad();
    }
    if (!(n > 0.0 && std::isfinite(n))) throw bad();
    return MaxParams(Kind::count, n);
  }
  /// "alpha0", "none", or the number (an integer when it is one).
  nlohmann::json to_option() const { return kind_ == Kind::count ? whole_or_real_json(count_) : nlohmann::json(to_string()); }

 private:
  MaxParams(Kind kind, double count) : kind_(kind), count_(count) {}
  Kind kind_;
  double count_;
};

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
  MaxParams max_params = MaxParams::alpha0();       ///< budget on the evolved network's parameters

  template <class Self, class F>
  static void for_each_key(Self& s, F&& f) {
    f("method", s.method), f("evaluator", s.evaluator), f("epochs_per_op", s.epochs_per_op), f("max_epochs", s.max_epochs),
        f("steps", s.steps), f("warmup_steps", s.warmup_steps), f("batch_size", s.batch_size), f("queue_size", s.queue_size),
        f("shuffle_groups", s.shuffle_groups), f("validation_images", s.validation_images), f("lr", s.lr), f("momentum", s.momentum),
        f("weight_decay", s.weight_decay), f("tau", s.tau), f("m", s.m), f("epsilon", s.epsilon), f("lambda1", s.lambda1),
        f("lambda2", s.lambda2), f("head_hidden", s.head_hidden), f("head_out", s.head_out), f("rea_population", s.rea_population),
        f("rea_sample", s.rea_sample), f("max_params", s.max_params);
  }
  void check() const {
    using detail::require;
    detail::one_of("search.method", method, kSearchMethods);
    detail::one_of("search.evaluator", evaluator, kSearchEvaluators);
    require(epochs_per_op >= 1 && epochs_per_op <= 1000, "search.epochs_per_op", "in [1, 1000]", epochs_per_op);
    require(max_epochs >= 0, "search.max_epochs", ">= 0 (0 = until one op per block is left)", max_epochs);
    require(steps >= 1, "search.steps", ">= 1", steps);
    require(warmup_steps >= 0, "search.warmup_steps", ">= 0", warmup_steps);
    require(batch_size >= 2, "search.batch_size", ">= 2", batch_size);
    require(queue_size >= batch_size && queue_size % batch_size == 0, "search.queue_size",
            fmt::format("a multiple of search.batch_size ({})", batch_size), queue_size);
    require(shuffle_groups >= 1 && batch_size % shuffle_groups == 0, "search.shuffle_groups",
            fmt::format("a divisor of search.batch_size ({})", batch_size), shuffle_groups);
    require(validation_images >= 0, "search.validation_images", ">= 0 (0 = all)", validation_images);
    require(lr > 0.0 && std::isfinite(lr), "search.lr", "positive", lr);
    require(momentum >= 0.0 && momentum < 1.0, "search.momentum", "in [0, 1)", momentum);
    require(weight_decay >= 0.0 && std::isfinite(weight_decay), "search.weight_decay", ">= 0", weight_decay);
    require(tau > 0.0 && std::isfinite(tau), "search.tau", "positive", tau);
    require(m >= 0.0 && m <= 1.0, "search.m", "in [0, 1]", m);
    require(epsilon >= 0.0 && epsilon <= 1.0, "search.epsilon", "in [0, 1]", epsilon);
    require(lambda1 >= 0.0 && lambda1 <= 1.0, "search.lambda1", "in [0, 1]", lambda1);
    require(lambda2 >= 0.0 && lambda2 <= 1.0, "search.lambda2", "in [0, 1]", lambda2);
    require(head_hidden >= 1, "search.head_hidden", ">= 1", head_hidden);
    require(head_out >= 1, "search.head_out", ">= 1", head_out);
    require(rea_population >= 1 && rea_population <= 100000, "search.rea_population", "in [1, 100000]", rea_population);
    require(rea_sample >= 1 && rea_sample <= rea_population, "search.rea_sample", fmt::format("in [1, search.rea_population = {}]", rea_population),
            rea_sample);
  }
};

struct TrainConfig {
  std::int64_t epochs = 3;
  std::int64_t batch_size = 128;
  std::int64_t queue_size = 4096;
  double lr = 0.06, m = 0.99;
  std::int64_t head_hidden = 512, head_out = 128;

  template <class Self, class F>
  static void for_each_key(Self& s, F&& f) {
    f("epochs", s.epochs), f("batch_size", s.batch_size), f("queue_size", s.queue_size), f("lr", s.lr), f("m", s.m),
        f("head_hidden", s.head_hidden), f("head_out", s.head_out);
  }
  void check() const {
    using detail::require;
    require(epochs >= 1, "train.epochs", ">= 1", epochs);
    require(batch_size >= 8 && batch_size % 8 == 0, "train.batch_size", "a multiple of 8 (the shuffled-BN groups)", batch_size);
    require(queue_size >= batch_size && queue_size % batch_size == 0, "train.queue_size",
            fmt::format("a multiple of train.batch_size ({})", batch_size), queue_size);
    require(lr > 0.0 && std::isfinite(lr), "train.lr", "positive", lr);
    require(m >= 0.0 && m <= 1.0, "train.m", "in [0, 1]", m);
    require(head_hidden >= 1, "train.head_hidden", ">= 1", head_hidden);
    require(head_out >= 1, "train.head_out", ">= 1", head_out);
  }
};

struct ProbeConfig {
  std::int64_t epochs = 100;  ///< linear classifier epochs (MoCo: 100, steps at 60 and 80)
  double lr = 30.0;
  bool standardize = true;    ///< standardise features first (see docs/program.md)
  std::int64_t knn_k = 200;
  double knn_t = 0.1;

  template <class Self, class F>
  static void for_each_key(Self& s, F&& f) {
    f("epochs", s.epochs), f("lr", s.lr), f("standardize", s.standardize), f("knn_k", s.knn_k), f("knn_t", s.knn_t);
  }
  void check() const {
    using detail::require;
    require(epochs >= 1, "probe.epochs", ">= 1", epochs);
    require(lr > 0.0 && std::isfinite(lr), "probe.lr", "positive", lr);
    require(knn_k >= 1, "probe.knn_k", ">= 1", knn_k);
    require(knn_t > 0.0 && std::isfinite(knn_t), "probe.knn_t", "positive", knn_t);
  }
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

  /// The top level's keys: the sections (each with its own keys) and the scalars.
  template <class Self, class F>
  static void for_each_key(Self& s, F&& f) {
    f("data", s.data), f("space", s.space), f("initial", s.initial), f("search", s.search), f("train", s.train), f("probe", s.probe),
        f("seed", s.seed), f("threads", s.threads), f("device", s.device), f("precision", s.precision);
  }
  /// The top level's own values (each section checks its own as it is read).
  void check() const {
    using detail::require;
    require(!initial.empty(), "initial", "plain, resnet50, random or the path of an architecture JSON", "''");
    require(threads >= 1 && threads <= 1024, "threads", "in [1, 1024]", threads);
    require(device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0, "device", "cpu, cuda or cuda:N", fmt::format("'{}'", device));
    detail::one_of("precision", precision, {"fp32", "bf16", "fp16"});
  }
};

namespace detail {

/// A section of the configuration: a struct with for_each_key and check.
template <class T>
concept Section = requires(T& t) {
  T::for_each_key(t, [](std::string_view, auto&) {});
  t.check();
};

/// Reads `out`'s keys from the object `j` at `path`, refuses the others, then checks the values.
template <Section T>
void read_section(const nlohmann::json& j, const std::string& path, T& out) {
  OptionsReader r(j, path);
  T::for_each_key(out, [&](std::string_view key, auto& member) {
    using M = std::remove_cvref_t<decltype(member)>;
    if constexpr (Section<M>) read_section(r.object(key), r.at(key), member);
    else r.read(key, member);
  });
  r.finish();
  out.check();
}

template <Section T>
nlohmann::json section_to_json(const T& s) {
  nlohmann::json out = nlohmann::json::object();
  T::for_each_key(s, [&](std::string_view key, const auto& member) {
    using M = std::remove_cvref_t<decltype(member)>;
    if constexpr (Section<M>) out[std::string(key)] = section_to_json(member);
    else out[std::string(key)] = options_value_to_json(member);
  });
  return out;
}

}  // namespace detail

/// Parses and validates a configuration (every key optional; defaults above).
inline Config config_from_json(const nlohmann::json& j) {
  Config c;
  detail::read_section(j, "", c);
  return c;
}

/// The configuration as JSON (all keys, resolved), what config_from_json reads back.
inline nlohmann::json config_to_json(const Config& c) { return detail::section_to_json(c); }

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

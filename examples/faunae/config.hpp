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

#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/error.hpp"
#include "faunae/core/json_reader.hpp"

namespace faunae::program {

// Each section below names its keys once, in for_each_option (faunae::ReflectedOptions: read by
// config_from_json, written by config_to_json, through core/options_reader.hpp). Its check() (config.cpp) checks what only the program decides, with messages that
// name the key. A key that becomes a field of the library's options is checked by those options'
// own check(), with their messages after the section's name: the core's (FaunaeMutationOptions,
// SearchOptions, RegularizedEvolutionOptions) in check(), the torch backend's (the space options,
// ContrastiveEvaluatorOptions, MocoOptions, ZeroCostOptions, LinearEvalOptions), which this header
// cannot see, by check_library_options() (library_options.hpp) before a command touches the run.

struct DataConfig {
  std::string kind = "fashion-mnist";  ///< fashion-mnist | cifar10 | folder
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::int64_t images = 10000;         ///< first N training images (0 = all)
  std::int64_t test_images = 2000;     ///< first N test images for the probe (0 = all; folder: none)
  double validation_fraction = 0.1;    ///< held out of the training images for the search's loss (CIFAR-10: 90/10)
  std::int64_t channels = 3;           ///< folder: 1 or 3
  std::int64_t size = 32;              ///< folder: images are resized to size×size

  template <class Self, class F>
  static void for_each_option(Self& s, F&& f) {
    f("kind", s.kind), f("path", s.path), f("images", s.images), f("test_images", s.test_images),
        f("validation_fraction", s.validation_fraction), f("channels", s.channels), f("size", s.size);
  }
  void check() const;
};

struct SpaceConfig {
  std::string kind = "resnet";  ///< resnet | darts
  std::vector<std::int64_t> blocks_per_stage{2, 2, 2, 2};
  double width = 0.25;
  std::vector<std::string> ops{"conv3", "conv5", "sa_k3r2", "identity"};
  std::int64_t darts_layers = 5, darts_channels = 8;

  template <class Self, class F>
  static void for_each_option(Self& s, F&& f) {
    f("kind", s.kind), f("blocks_per_stage", s.blocks_per_stage), f("width", s.width), f("ops", s.ops),
        f("darts_layers", s.darts_layers), f("darts_channels", s.darts_channels);
  }
  void check() const;
};

/// The values of search.method (docs/program.md): the faithful FaUNAE, three variants, three baselines.
inline constexpr std::array<std::string_view, 7> kSearchMethods = {"faunae", "faunae-ts", "faunae-lt", "faunae-r", "random", "rea", "local"};

/// The values of search.evaluator (docs/program.md): the paper's contrastive loss, a zero-cost proxy
/// (faunae::torch_backend::ZeroCostProxy, zero_cost.hpp), or the rotation pretext task
/// (faunae::torch_backend::RotationEvaluator, pretext_evaluator.hpp).
inline constexpr std::array<std::string_view, 7> kSearchEvaluators = {"contrastive", "synflow", "naswot", "snip",
                                                                      "params",      "flops",   "rotation"};

/// The values of search.rotation_score: faunae::torch_backend::kRotationScores (library_options.hpp
/// checks that they agree).
inline constexpr std::array<std::string_view, 2> kRotationScores = {"training-loss", "held-out-error"};

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
  /// faunae (the paper's) | faunae-ts (recommended) | faunae-lt | faunae-r | random | rea | local; every method
  /// gets as many evaluations as faunae plans for the same space and epochs_per_op.
  std::string method = "faunae";
  /// rotation (the default: a fresh network per α trained rotation_steps steps on the rotation pretext
  /// task; loss = rotation_score; the label-free score that ranks best, docs/benchmarks.md) |
  /// contrastive (the paper's: k student steps, then the validation InfoNCE) | synflow | naswot | snip |
  /// params | flops (zero-cost proxies of the untrained network; loss −ln S)
  std::string evaluator = "rotation";
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
  std::int64_t rotation_steps = 30, rotation_batch_size = 128;  ///< evaluator rotation: steps and rotated images per step
  double rotation_lr = 0.03;                                     ///< evaluator rotation: SGD learning rate
  std::int64_t rotation_downsample = 2;  ///< evaluator rotation: images shrunk by this factor (28 → 14), 1 = as they are
  /// evaluator rotation: training-loss (mean cross-entropy of the steps: training speed) | held-out-error
  std::string rotation_score = "training-loss";
  std::int64_t rotation_repeats = 1;  ///< evaluator rotation: fresh networks per α, their mean (2: +0.06 τ at 2× the time)
  MaxParams max_params = MaxParams::alpha0();       ///< budget on the evolved network's parameters

  template <class Self, class F>
  static void for_each_option(Self& s, F&& f) {
    f("method", s.method), f("evaluator", s.evaluator), f("epochs_per_op", s.epochs_per_op), f("max_epochs", s.max_epochs),
        f("steps", s.steps), f("warmup_steps", s.warmup_steps), f("batch_size", s.batch_size), f("queue_size", s.queue_size),
        f("shuffle_groups", s.shuffle_groups), f("validation_images", s.validation_images), f("lr", s.lr), f("momentum", s.momentum),
        f("weight_decay", s.weight_decay), f("tau", s.tau), f("m", s.m), f("epsilon", s.epsilon), f("lambda1", s.lambda1),
        f("lambda2", s.lambda2), f("head_hidden", s.head_hidden), f("head_out", s.head_out), f("rea_population", s.rea_population),
        f("rea_sample", s.rea_sample), f("rotation_steps", s.rotation_steps), f("rotation_batch_size", s.rotation_batch_size),
        f("rotation_lr", s.rotation_lr), f("rotation_score", s.rotation_score),
        f("rotation_downsample", s.rotation_downsample), f("rotation_repeats", s.rotation_repeats), f("max_params", s.max_params);
  }
  void check() const;
};

struct TrainConfig {
  std::int64_t epochs = 3;
  std::int64_t batch_size = 128;
  std::int64_t queue_size = 4096;
  double lr = 0.06, m = 0.99;
  std::int64_t head_hidden = 512, head_out = 128;

  template <class Self, class F>
  static void for_each_option(Self& s, F&& f) {
    f("epochs", s.epochs), f("batch_size", s.batch_size), f("queue_size", s.queue_size), f("lr", s.lr), f("m", s.m),
        f("head_hidden", s.head_hidden), f("head_out", s.head_out);
  }
  void check() const;
};

struct ProbeConfig {
  std::int64_t epochs = 100;  ///< linear classifier epochs (MoCo: 100, steps at 60 and 80)
  double lr = 30.0;
  bool standardize = true;    ///< standardise features first (see docs/program.md)
  std::int64_t knn_k = 200;
  double knn_t = 0.1;

  template <class Self, class F>
  static void for_each_option(Self& s, F&& f) {
    f("epochs", s.epochs), f("lr", s.lr), f("standardize", s.standardize), f("knn_k", s.knn_k), f("knn_t", s.knn_t);
  }
  void check() const;
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
  static void for_each_option(Self& s, F&& f) {
    f("data", s.data), f("space", s.space), f("initial", s.initial), f("search", s.search), f("train", s.train), f("probe", s.probe),
        f("seed", s.seed), f("threads", s.threads), f("device", s.device), f("precision", s.precision);
  }
  /// The top level's own values (each section checks its own as it is read).
  void check() const;
};

/// Parses and validates a configuration (every key optional; defaults above). Throws InvalidArgument
/// naming the key, the rule and the value.
Config config_from_json(const nlohmann::json& j);

/// The configuration as JSON (all keys, resolved), what config_from_json reads back.
nlohmann::json config_to_json(const Config& c);

/// Applies "section.key=value" (value parsed as JSON, else taken as a string) to `j`.
void apply_override(nlohmann::json& j, std::string_view assignment);

/// Reads a configuration file (JSON); errors name the file.
nlohmann::json read_config_file(const std::filesystem::path& path);

}  // namespace faunae::program

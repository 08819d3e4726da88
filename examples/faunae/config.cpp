// The `faunae` program's configuration (config.hpp): reading, checking, writing.
#include "config.hpp"

#include <algorithm>
#include <initializer_list>
#include <span>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "faunae/baselines/baselines.hpp"
#include "faunae/core/atomic_file.hpp"
#include "faunae/core/options_reader.hpp"
#include "faunae/policies/faunae_mutation.hpp"
#include "faunae/search/search.hpp"

namespace faunae::program {

namespace {

void require(bool ok, std::string_view key, std::string_view rule, const auto& value) {
  if (!ok) throw InvalidArgument(fmt::format("config: '{}' must be {}, got {}", key, rule, value));
}

void one_of(std::string_view key, const std::string& value, std::span<const std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
    throw InvalidArgument(fmt::format("config: '{}' must be one of {}, got '{}'", key, fmt::join(allowed, ", "), value));
}

void one_of(std::string_view key, const std::string& value, std::initializer_list<std::string_view> allowed) {
  one_of(key, value, std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

/// A count the library holds as std::size_t: >= 0 here, its own range in the library's check.
std::size_t count_of(std::int64_t value, std::string_view key) {
  require(value >= 0, key, ">= 0", value);
  return static_cast<std::size_t>(value);
}

}  // namespace

void DataConfig::check() const {
  one_of("data.kind", kind, {"fashion-mnist", "cifar10", "folder"});
  require(images >= 0, "data.images", ">= 0 (0 = all)", images);
  require(test_images >= 0, "data.test_images", ">= 0 (0 = all)", test_images);
  require(validation_fraction > 0.0 && validation_fraction < 1.0, "data.validation_fraction", "in (0, 1)", validation_fraction);
  require(channels == 1 || channels == 3, "data.channels", "1 or 3", channels);
  require(size >= 8 && size <= 1024, "data.size", "in [8, 1024]", size);
}

// The blocks, width, ops and DARTS sizes are the space options' (check_library_options).
void SpaceConfig::check() const { one_of("space.kind", kind, {"resnet", "darts"}); }

// The recipe (steps, batch, queue, SGD, τ, m, head) is ContrastiveEvaluatorOptions' or
// ZeroCostOptions' (check_library_options).
void SearchConfig::check() const {
  one_of("search.method", method, kSearchMethods);
  one_of("search.evaluator", evaluator, kSearchEvaluators);
  one_of("search.rotation_score", rotation_score, kRotationScores);
  require(epochs_per_op >= 1 && epochs_per_op <= 1000, "search.epochs_per_op", "in [1, 1000]", epochs_per_op);
  require(max_epochs >= 0, "search.max_epochs", ">= 0 (0 = until one op per block is left)", max_epochs);
  require(warmup_steps >= 0, "search.warmup_steps", ">= 0", warmup_steps);
  require(validation_images >= 0, "search.validation_images", ">= 0 (0 = all)", validation_images);
  FaunaeMutationOptions{.epsilon = epsilon, .lambda1 = lambda1}.check("config 'search' (FaunaeMutationOptions)");
  SearchOptions{.lambda2 = lambda2}.check("config 'search' (SearchOptions)");
  RegularizedEvolutionOptions{.population = count_of(rea_population, "search.rea_population"),
                              .sample = count_of(rea_sample, "search.rea_sample")}
      .check("config 'search' (RegularizedEvolutionOptions: population = rea_population, sample = rea_sample)");
}

// The recipe is MocoOptions' (check_library_options).
void TrainConfig::check() const { require(epochs >= 1, "train.epochs", ">= 1", epochs); }

// The classifier is LinearEvalOptions' (check_library_options).
void ProbeConfig::check() const {
  require(knn_k >= 1, "probe.knn_k", ">= 1", knn_k);
  require(knn_t > 0.0 && std::isfinite(knn_t), "probe.knn_t", "positive", knn_t);
}

void Config::check() const {
  require(!initial.empty(), "initial", "plain, resnet50, random or the path of an architecture JSON", "''");
  require(threads >= 1 && threads <= 1024, "threads", "in [1, 1024]", threads);
  require(device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0, "device", "cpu, cuda or cuda:N", fmt::format("'{}'", device));
  one_of("precision", precision, {"fp32", "bf16", "fp16"});
}

Config config_from_json(const nlohmann::json& j) {
  Config c;
  read_options(j, c);
  return c;
}

nlohmann::json config_to_json(const Config& c) { return options_to_json(c); }

void apply_override(nlohmann::json& j, std::string_view assignment) {
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

nlohmann::json read_config_file(const std::filesystem::path& path) {
  const std::string where = fmt::format("config '{}'", path.string());
  const std::string text = read_file(path, where);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(fmt::format("{}: not valid JSON: {}", where, e.what()));
  }
}

}  // namespace faunae::program

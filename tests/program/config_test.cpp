// The `faunae` program's configuration (examples/faunae/config.hpp), without Torch: every key and
// default, the round trip through config_to_json, and the messages of bad input (the key, the rule,
// the value), so that a change of how the configuration is read cannot change what it accepts.
#include <string>

#include "catch.hpp"

#include "config.hpp"
#include "faunae/policies/faunae_mutation.hpp"
#include "faunae/search/search.hpp"

using faunae::InvalidArgument;
using faunae::program::Config;
using faunae::program::config_from_json;
using faunae::program::config_to_json;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

std::string error_of(const json& j) {
  try {
    config_from_json(j);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "(accepted)";
}

json with(const std::string& assignment) {
  json j = json::object();
  faunae::program::apply_override(j, assignment);
  return j;
}

}  // namespace

TEST_CASE("config: every key and its default, and the round trip", "[config]") {
  const json defaults = json::parse(R"({
    "data": {"channels": 3, "images": 10000, "kind": "fashion-mnist", "path": "/usr/share/datasets/fashion-mnist", "size": 32,
             "test_images": 2000, "validation_fraction": 0.1},
    "device": "cpu", "initial": "plain", "precision": "fp32",
    "probe": {"epochs": 100, "knn_k": 200, "knn_t": 0.1, "lr": 30.0, "standardize": true},
    "search": {"batch_size": 64, "epochs_per_op": 2, "epsilon": 0.5, "evaluator": "rotation", "head_hidden": 512, "head_out": 128,
               "lambda1": 0.9, "lambda2": 0.3, "lr": 0.03, "m": 0.99, "max_epochs": 0, "max_params": "alpha0", "method": "faunae",
               "momentum": 0.9, "queue_size": 1024, "rea_population": 8, "rea_sample": 4, "rotation_batch_size": 128, "rotation_downsample": 2, "rotation_lr": 0.03, "rotation_repeats": 1,
               "rotation_score": "training-loss", "rotation_steps": 30, "shuffle_groups": 8, "steps": 5, "tau": 0.2,
               "validation_images": 512, "warmup_steps": 48, "weight_decay": 0.0001},
    "seed": 0,
    "space": {"blocks_per_stage": [2, 2, 2, 2], "darts_channels": 8, "darts_layers": 5, "kind": "resnet",
              "ops": ["conv3", "conv5", "sa_k3r2", "identity"], "width": 0.25},
    "threads": 2,
    "train": {"batch_size": 128, "epochs": 3, "head_hidden": 512, "head_out": 128, "lr": 0.06, "m": 0.99, "queue_size": 4096}
  })");
  CHECK(config_to_json(config_from_json(json::object())) == defaults);
  CHECK(config_to_json(config_from_json(defaults)) == defaults);

  json changed = defaults;
  changed["search"]["method"] = "faunae-ts";
  changed["search"]["lr"] = 0.1;
  changed["space"]["kind"] = "darts";
  changed["probe"]["standardize"] = false;
  changed["seed"] = 12345678901234ULL;
  const Config c = config_from_json(changed);
  CHECK(c.search.method == "faunae-ts");
  CHECK(c.search.lr == 0.1);
  CHECK(c.space.kind == "darts");
  CHECK_FALSE(c.probe.standardize);
  CHECK(c.seed == 12345678901234ULL);
  CHECK(config_to_json(c) == changed);
}

TEST_CASE("config: search.max_params is alpha0, none or a positive number of parameters", "[config]") {
  using faunae::program::MaxParams;
  CHECK(config_from_json(json::object()).search.max_params == MaxParams::alpha0());
  CHECK(config_from_json(with("search.max_params=none")).search.max_params == MaxParams::none());
  CHECK(config_from_json(with("search.max_params=500000")).search.max_params == MaxParams::at_most(500000));
  CHECK(config_from_json(with("search.max_params=2.5e6")).search.max_params == MaxParams::at_most(2.5e6));
  // config.json of earlier runs wrote a number as a string.
  CHECK(config_from_json(json{{"search", {{"max_params", "500000"}}}}).search.max_params == MaxParams::at_most(500000));
  CHECK(config_to_json(config_from_json(with("search.max_params=500000")))["search"]["max_params"].is_number_integer());
  CHECK(config_to_json(config_from_json(with("search.max_params=500000")))["search"]["max_params"] == json(500000));
  CHECK(config_to_json(config_from_json(with("search.max_params=2.5e6")))["search"]["max_params"] == json(2500000));
  CHECK(config_to_json(config_from_json(with("search.max_params=1234.5")))["search"]["max_params"] == json(1234.5));
  CHECK(config_to_json(config_from_json(with("search.max_params=none")))["search"]["max_params"] == "none");
  for (const char* bad : {"search.max_params=-1", "search.max_params=0", "search.max_params=lots", "search.max_params=[1]",
                          "search.max_params=1e999"})
    CHECK_THAT(error_of(with(bad)), Contains("config: 'search.max_params' must be alpha0, none or a positive number of parameters, got"));
  CHECK(MaxParams::at_most(3).to_string() == "3");
  CHECK(MaxParams::alpha0().to_string() == "alpha0");
}

TEST_CASE("config: an unknown key, a wrong type or a value out of range names the key, the rule and the value", "[config]") {
  CHECK_THAT(error_of(with("search.epochs_per_opp=3")),
             Contains("config: unknown key 'search.epochs_per_opp'; allowed in 'search': "));
  CHECK_THAT(error_of(with("colour=1")), Contains("config: unknown key 'colour'; allowed in 'the top level': "));
  CHECK_THAT(error_of(with("search.lr=\"fast\"")), Contains("config: 'search.lr' must be a number, got \"fast\""));
  CHECK_THAT(error_of(with("search.steps=2.5")), Contains("config: 'search.steps' must be an integer, got 2.5"));
  CHECK_THAT(error_of(with("seed=-1")), Contains("config: 'seed' must be >= 0, got -1"));
  CHECK_THAT(error_of(with("probe.standardize=1")), Contains("config: 'probe.standardize' must be true or false, got 1"));
  CHECK_THAT(error_of(with("space.ops=[1]")), Contains("config: 'space.ops' must be a list of strings, got [1]"));
  CHECK_THAT(error_of(with("space.blocks_per_stage=[\"a\"]")), Contains("config: 'space.blocks_per_stage' must be a list of integers"));
  CHECK_THAT(error_of(with("search=3")), Contains("config: 'search' must be an object, got 3"));
  CHECK_THAT(error_of(with("search.method=bogus")),
             Contains("config: 'search.method' must be one of faunae, faunae-ts, faunae-lt, faunae-r, random, rea, local, got 'bogus'"));
  CHECK_THAT(error_of(with("search.evaluator=bogus")), Contains("config: 'search.evaluator' must be one of contrastive, synflow"));
  CHECK_THAT(error_of(with("data.kind=mnist")), Contains("config: 'data.kind' must be one of fashion-mnist, cifar10, folder, got 'mnist'"));
  CHECK_THAT(error_of(with("data.validation_fraction=1")), Contains("config: 'data.validation_fraction' must be in (0, 1), got 1"));
  CHECK_THAT(error_of(with("initial=\"\"")), Contains("config: 'initial' must be plain, resnet50, random or the path of an architecture JSON"));
  CHECK_THAT(error_of(with("search.rea_population=-1")), Contains("config: 'search.rea_population' must be >= 0, got -1"));
}

TEST_CASE("config: a value that becomes a core option is checked by that option's check(), after the section's name", "[config]") {
  CHECK_THAT(error_of(json{{"search", {{"rea_population", 4}, {"rea_sample", 5}}}}),
             Contains("config 'search' (RegularizedEvolutionOptions: population = rea_population, sample = rea_sample): sample must be in "
                      "[1, population = 4], got 5"));
  CHECK_THAT(error_of(with("search.rea_population=0")), Contains("population must be at least 1, got 0"));
  CHECK_THAT(error_of(with("search.epsilon=2")), Contains("config 'search' (FaunaeMutationOptions): epsilon must be in [0, 1], got 2"));
  CHECK_THAT(error_of(with("search.lambda1=-0.5")), Contains("config 'search' (FaunaeMutationOptions): lambda1 must be in [0, 1], got -0.5"));
  CHECK_THAT(error_of(with("search.lambda2=1.5")), Contains("config 'search' (SearchOptions): lambda2 (eq. 4) must be in [0, 1], got 1.5"));
  // The messages are the library's own, with the library's name of the caller where it has none.
  CHECK_THROWS_WITH(faunae::FaunaeMutation({.epsilon = 2}), Contains("faunae::FaunaeMutation: epsilon must be in [0, 1], got 2"));
  CHECK_THROWS_WITH(faunae::SearchOptions{.lambda2 = 2}.check(), Contains("faunae::Search: lambda2 (eq. 4) must be in [0, 1], got 2"));
  CHECK_THAT(error_of(with("probe.knn_k=0")), Contains("config: 'probe.knn_k' must be >= 1, got 0"));
  CHECK_THAT(error_of(with("threads=0")), Contains("config: 'threads' must be in [1, 1024], got 0"));
  CHECK_THAT(error_of(with("device=tpu")), Contains("config: 'device' must be cpu, cuda or cuda:N, got 'tpu'"));
  CHECK_THAT(error_of(with("precision=fp8")), Contains("config: 'precision' must be one of fp32, bf16, fp16, got 'fp8'"));
  CHECK_THAT(error_of(json::array()), Contains("config: 'the top level' must be an object"));
}

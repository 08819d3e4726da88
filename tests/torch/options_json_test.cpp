// The torch backend's options structs as JSON (faunae::ReflectedOptions, core/options_reader.hpp):
// every field round-trips, including the fields of types that cannot have members (torch::Device,
// Precision, Stem, ZeroCostProxy: faunae::OptionCodec), and bad values name the key and the value.
#include <faunae/torch.hpp>  // first: the umbrella header stands alone

#include <string>

#include <faunae/core/options_reader.hpp>
#include <faunae/torch/evaluation.hpp>
#include <faunae/torch/standalone.hpp>

#include "catch_torch.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using json = nlohmann::json;

static_assert(faunae::ReflectedOptions<MocoOptions>);
static_assert(faunae::ReflectedOptions<ContrastiveEvaluatorOptions>);
static_assert(faunae::ReflectedOptions<ResNetSpaceOptions>);
static_assert(faunae::ReflectedOptions<DartsSpaceOptions>);
static_assert(faunae::ReflectedOptions<ZeroCostOptions>);
static_assert(faunae::ReflectedOptions<AugmentOptions>);
static_assert(faunae::ReflectedOptions<LinearEvalOptions>);
static_assert(faunae::ReflectedOptions<StandaloneTrainingOptions>);
static_assert(faunae::ReflectedOptions<SupervisedEvaluatorOptions>);

namespace {
template <class T>
T round_trip(const T& o) {
  return faunae::options_from_json<T>(faunae::options_to_json(o), "test");
}
template <class T>
std::string error_of(const json& j) {
  try {
    (void)faunae::options_from_json<T>(j, "test");
  } catch (const faunae::InvalidArgument& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("options JSON: the contrastive evaluator's options, with MocoOptions' fields flat beside its own", "[options]") {
  ContrastiveEvaluatorOptions o;
  o.batch_size = 32;
  o.queue_size = 256;
  o.tau = 0.1;
  o.steps = 4;
  o.seed = 99;
  o.state_directory = "run/evaluator";
  const json j = faunae::options_to_json(o);
  CHECK(j.at("device") == "cpu");
  CHECK(j.at("precision") == "fp32");
  CHECK(j.at("state_directory") == "run/evaluator");
  const auto back = round_trip(o);
  CHECK(back.batch_size == 32);
  CHECK(back.queue_size == 256);
  CHECK(back.tau == 0.1);
  CHECK(back.steps == 4);
  CHECK(back.seed == 99);
  CHECK(back.state_directory == std::filesystem::path("run/evaluator"));
  CHECK(back.device == torch::Device(torch::kCPU));
  CHECK(back.precision == Precision::fp32);
  CHECK(faunae::options_to_json(back) == j);

  CHECK_THAT(error_of<MocoOptions>({{"device", "tpu"}}), Contains("test: 'device': faunae::torch_backend::parse_device(): 'tpu' is not a device"));
  CHECK_THAT(error_of<MocoOptions>({{"precision", "fp8"}}), Contains("test: 'precision' must be fp32, bf16 or fp16, got \"fp8\""));
  CHECK_THAT(error_of<MocoOptions>({{"queue_size", 100}}), Contains("test: the queue size K = 100 must be a multiple of the batch size"));
  CHECK_THAT(error_of<ContrastiveEvaluatorOptions>({{"steps", 0}}), Contains("test: ContrastiveEvaluatorOptions::steps must be positive, got 0"));
}

TEST_CASE("options JSON: the spaces' options, the stem by name", "[options]") {
  ResNetSpaceOptions r;
  r.stem = Stem::color32;
  r.blocks_per_stage = {1, 2};
  r.ops = {"conv3", "identity"};
  CHECK(faunae::options_to_json(r).at("stem") == "color32");
  const auto back = round_trip(r);
  CHECK(back.stem == Stem::color32);
  CHECK(back.blocks_per_stage == std::vector<std::int64_t>{1, 2});
  CHECK(back.ops == std::vector<std::string>{"conv3", "identity"});
  CHECK_THAT(error_of<ResNetSpaceOptions>({{"stem", "color64"}}), Contains("test: 'stem' must be one of gray28, color32, imagenet224, got \"color64\""));
  CHECK_THAT(error_of<ResNetSpaceOptions>({{"ops", {"conv9"}}}), Contains("test: unknown op 'conv9'"));
}

TEST_CASE("options JSON: zero-cost, augmentation, standalone and supervised options", "[options]") {
  ZeroCostOptions z;
  z.proxy = ZeroCostProxy::naswot;
  z.batch_size = 16;
  CHECK(faunae::options_to_json(z).at("proxy") == "naswot");
  CHECK(round_trip(z).proxy == ZeroCostProxy::naswot);
  CHECK_THAT(error_of<ZeroCostOptions>({{"proxy", "zen"}}), Contains("test: 'proxy': faunae::torch_backend::parse_zero_cost_proxy(): 'zen' is not"));

  AugmentOptions a = default_augment_options(Stem::gray28);
  a.scale = {0.5, 0.9};
  const auto a2 = round_trip(a);
  CHECK(a2.scale == a.scale);
  CHECK(a2.mean == a.mean);
  CHECK(a2.output_size == a.output_size);
  CHECK(faunae::options_to_json(a2) == faunae::options_to_json(a));
  CHECK_THAT(error_of<AugmentOptions>({{"scale", {0.5}}}), Contains("test: 'scale' must be a list of 2 numbers, got [0.5]"));
  CHECK_THAT(error_of<AugmentOptions>({{"scale", {0.9, 0.5}}}), Contains("test: AugmentOptions::scale must be 0 < low <= high <= 1"));

  StandaloneTrainingOptions s;
  s.epochs = 7;
  s.augment = true;
  CHECK(round_trip(s).epochs == 7);
  CHECK(round_trip(s).augment);
  CHECK_THAT(error_of<StandaloneTrainingOptions>({{"lr", 0}}), Contains("test: StandaloneTrainingOptions::lr must be positive and finite, got 0"));

  SupervisedEvaluatorOptions v;
  v.steps = 3;
  v.augment = false;
  CHECK(round_trip(v).steps == 3);
  CHECK_FALSE(round_trip(v).augment);
}

// The options structs' JSON form (core/options_reader.hpp: ReflectedOptions, options_to_json,
// read_options, options_from_json): every field round-trips, a key absent keeps its default, an
// unknown key, a wrong type and a value out of range are errors that name the key (or the option)
// and the value, and nested options (the credit model's prior) are nested objects.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "catch.hpp"

#include <nlohmann/json.hpp>

#include "faunae/faunae.hpp"

using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

template <class T>
std::string error_of(const json& j) {
  try {
    (void)faunae::options_from_json<T>(j, "test");
  } catch (const faunae::InvalidArgument& e) {
    return e.what();
  }
  return "(no error)";
}

// A struct that is no ReflectedOptions: its for_each_option cannot visit a const object.
struct MutableOnly {
  int a = 0;
  template <class F>
  static void for_each_option(MutableOnly& self, F&& f) {
    f("a", self.a);
  }
};
static_assert(!faunae::ReflectedOptions<MutableOnly>);
static_assert(!faunae::ReflectedOptions<faunae::SearchOptions>);  // α0 needs a space: not a JSON option

}  // namespace

static_assert(faunae::ReflectedOptions<faunae::FaunaeMutationOptions>);
static_assert(faunae::ReflectedOptions<faunae::UcbEliminationOptions>);
static_assert(faunae::ReflectedOptions<faunae::NoEliminationOptions>);
static_assert(faunae::ReflectedOptions<faunae::RegressionEliminationOptions>);
static_assert(faunae::ReflectedOptions<faunae::PosteriorEliminationOptions>);
static_assert(faunae::ReflectedOptions<faunae::ThompsonMutationOptions>);
static_assert(faunae::ReflectedOptions<faunae::AdditiveModelOptions>);
static_assert(faunae::ReflectedOptions<faunae::RegularizedEvolutionOptions>);

TEST_CASE("options: every policy's options write every field and read them back", "[options]") {
  const faunae::FaunaeMutationOptions fm{.epsilon = 0.25, .lambda1 = 0.5, .size_unit = 3.0};
  CHECK(faunae::options_to_json(fm) == json{{"epsilon", 0.25}, {"lambda1", 0.5}, {"size_unit", 3.0}});
  const auto fm2 = faunae::options_from_json<faunae::FaunaeMutationOptions>(faunae::options_to_json(fm), "test");
  CHECK(fm2.epsilon == 0.25);
  CHECK(fm2.lambda1 == 0.5);
  CHECK(fm2.size_unit == 3.0);

  faunae::ThompsonMutationOptions ts;
  ts.max_changes = 3;
  ts.single_block_from_alpha0 = false;
  ts.scan_alpha0_neighbourhood = false;
  ts.scan_base_neighbourhood = true;
  ts.model.noise_fraction = 0.25;
  const json tsj = faunae::options_to_json(ts);
  CHECK(tsj == json{{"max_changes", 3},
                    {"single_block_from_alpha0", false},
                    {"scan_alpha0_neighbourhood", false},
                    {"scan_base_neighbourhood", true},
                    {"model", {{"noise_fraction", 0.25}}}});
  const auto ts2 = faunae::options_from_json<faunae::ThompsonMutationOptions>(tsj, "test");
  CHECK(ts2.max_changes == 3);
  CHECK_FALSE(ts2.single_block_from_alpha0);
  CHECK_FALSE(ts2.scan_alpha0_neighbourhood);
  CHECK(ts2.scan_base_neighbourhood);
  CHECK(ts2.model == ts.model);

  const faunae::PosteriorEliminationOptions pe{.epochs_per_op = 4, .optimism = 0.5, .confident_only = true, .model = {.noise_fraction = 2.0}};
  const auto pe2 = faunae::options_from_json<faunae::PosteriorEliminationOptions>(faunae::options_to_json(pe), "test");
  CHECK(pe2.epochs_per_op == 4);
  CHECK(pe2.optimism == 0.5);
  CHECK(pe2.confident_only);
  CHECK(pe2.model.noise_fraction == 2.0);

  CHECK(faunae::options_from_json<faunae::UcbEliminationOptions>(json{{"epochs_per_op", 7}}, "test").epochs_per_op == 7);
  CHECK(faunae::options_from_json<faunae::NoEliminationOptions>(json{{"epochs", 9}}, "test").epochs == 9);
  CHECK(faunae::options_from_json<faunae::RegressionEliminationOptions>(json{{"ridge", 0.5}}, "test").ridge == 0.5);
  const auto rea = faunae::options_from_json<faunae::RegularizedEvolutionOptions>(json{{"population", 10}, {"sample", 3}}, "test");
  CHECK(rea.population == 10);
  CHECK(rea.sample == 3);
}

TEST_CASE("options: an absent key keeps the default, and the defaults read back as the defaults", "[options]") {
  const auto fm = faunae::options_from_json<faunae::FaunaeMutationOptions>(json{{"lambda1", 1.0}}, "test");
  CHECK(fm.epsilon == faunae::FaunaeMutationOptions{}.epsilon);
  CHECK(fm.lambda1 == 1.0);
  const auto ts = faunae::options_from_json<faunae::ThompsonMutationOptions>(json::object(), "test");
  CHECK(faunae::options_to_json(ts) == faunae::options_to_json(faunae::ThompsonMutationOptions{}));
  CHECK(ts.single_block_from_alpha0);
  CHECK(ts.scan_alpha0_neighbourhood);
}

TEST_CASE("options: a bad key, type or value names the option and the value, and the library's own check rules", "[options]") {
  CHECK_THAT(error_of<faunae::FaunaeMutationOptions>(json{{"epsilonn", 0.1}}),
             Contains("test: unknown key 'epsilonn'; allowed in 'the top level': epsilon, lambda1, size_unit"));
  CHECK_THAT(error_of<faunae::FaunaeMutationOptions>(json{{"epsilon", "half"}}), Contains("test: 'epsilon' must be a number, got \"half\""));
  CHECK_THAT(error_of<faunae::FaunaeMutationOptions>(json{{"epsilon", 2}}), Contains("test: epsilon must be in [0, 1], got 2"));
  CHECK_THAT(error_of<faunae::UcbEliminationOptions>(json{{"epochs_per_op", -1}}), Contains("test: 'epochs_per_op' must be >= 0, got -1"));
  CHECK_THAT(error_of<faunae::UcbEliminationOptions>(json{{"epochs_per_op", 0}}), Contains("test: epochs_per_op (E) must be at least 1, got 0"));
  CHECK_THAT(error_of<faunae::ThompsonMutationOptions>(json{{"model", {{"noise_fraction", 0}}}}),
             Contains("test 'model': noise_fraction must be finite and > 0, got 0"));
  CHECK_THAT(error_of<faunae::ThompsonMutationOptions>(json{{"model", {{"noise", 1}}}}),
             Contains("test: unknown key 'model.noise'; allowed in 'model': noise_fraction"));
  CHECK_THAT(error_of<faunae::RegularizedEvolutionOptions>(json{{"population", 2}, {"sample", 3}}),
             Contains("test: sample must be in [1, population = 2], got 3"));
  CHECK_THAT(error_of<faunae::NoEliminationOptions>(json{{"epochs_per_op", 0}}),
             Contains("test: give epochs_per_op > 0 or a fixed number of epochs > 0"));
  CHECK_THAT(error_of<faunae::PosteriorEliminationOptions>(json{{"optimism", -1}}), Contains("test: optimism must be finite and >= 0, got -1"));
  CHECK_THAT(error_of<faunae::RegressionEliminationOptions>(json{{"ridge", 0}}), Contains("test: ridge must be finite and > 0, got 0"));
  // The policies' constructors run the same checks, with their own names.
  CHECK_THROWS_WITH(faunae::UcbElimination({.epochs_per_op = 0}), Contains("faunae::UcbElimination: epochs_per_op (E) must be at least 1, got 0"));
  CHECK_THROWS_WITH(faunae::PosteriorElimination({.optimism = -1}), Contains("faunae::PosteriorElimination: optimism must be finite and >= 0, got -1"));
}

namespace {
// The member types OptionsReader reads besides the policies' (a user's options may hold them).
struct UserOptions {
  std::filesystem::path folder = "runs";
  std::vector<double> weights{0.5, 0.25};
  std::array<double, 2> range{0.0, 1.0};
  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("folder", self.folder), f("weights", self.weights), f("range", self.range);
  }
};
}  // namespace

TEST_CASE("options: paths, lists of numbers and fixed-size arrays of numbers", "[options]") {
  const json j = faunae::options_to_json(UserOptions{});
  CHECK(j == json{{"folder", "runs"}, {"weights", {0.5, 0.25}}, {"range", {0.0, 1.0}}});
  const auto o = faunae::options_from_json<UserOptions>(json{{"folder", "a/b"}, {"weights", {1, 2, 3}}, {"range", {0.25, 0.75}}}, "test");
  CHECK(o.folder == std::filesystem::path("a/b"));
  CHECK(o.weights == std::vector<double>{1, 2, 3});
  CHECK(o.range == std::array<double, 2>{0.25, 0.75});
  CHECK_THAT(error_of<UserOptions>(json{{"folder", 3}}), Contains("test: 'folder' must be a string, got 3"));
  CHECK_THAT(error_of<UserOptions>(json{{"weights", {1, "x"}}}), Contains("test: 'weights' must be a list of numbers"));
  CHECK_THAT(error_of<UserOptions>(json{{"range", {1, 2, 3}}}), Contains("test: 'range' must be a list of 2 numbers, got [1,2,3]"));
}

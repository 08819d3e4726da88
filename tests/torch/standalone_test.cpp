// train_standalone (standalone.hpp): the ground truth's recipe. It learns a task a tiny network can
// learn, gives the same numbers for the same seed and different ones for another, reports what it
// did (steps, parameters of α's network), and refuses bad options and data with clear messages.
#include <faunae/torch/standalone.hpp>  // first: the header stands alone

#include <faunae/faunae.hpp>

#include "catch_torch.hpp"
#include "fixtures.hpp"
#include "what_matcher.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::tiny_space;
using faunae_test::What;

namespace {

// Two classes a network tells apart at once: dark images (label 0) and bright ones (label 1).
ImageDataset bright_or_dark(std::int64_t n, std::uint64_t seed) {
  auto gen = make_generator(seed);
  ImageDataset d;
  d.labels = torch::randint(0, 2, {n}, gen, torch::kLong);
  const auto base = torch::randint(0, 100, {n, 1, 28, 28}, gen, torch::kLong);
  d.images = (base + 150 * d.labels.view({n, 1, 1, 1})).to(torch::kUInt8);
  d.name = "bright-or-dark";
  return d;
}

StandaloneTrainingOptions quick(std::uint64_t seed) {
  StandaloneTrainingOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.lr = 0.05;
  o.eval_batch = 32;
  o.seed = seed;
  return o;
}

}  // namespace

TEST_CASE("train_standalone learns a learnable task, reproducibly by seed, and reports its steps and parameters", "[standalone]") {
  torch::set_num_threads(1);
  const auto space = tiny_space();
  const auto train = bright_or_dark(96, 1), test = bright_or_dark(64, 2);
  const auto aug = default_augment_options(Stem::gray28);
  const faunae::Architecture a{0, 1, 2};  // conv3, sa_k3r2, identity
  const auto r = train_standalone(space, a, train, test, aug, quick(3));
  CHECK(r.test_accuracy > 0.9);
  CHECK(r.steps == 2 * (96 / 16));
  CHECK(r.parameters == ResNetSupernet(space)->parameters(a));
  CHECK(std::isfinite(r.train_loss));
  CHECK(std::isfinite(r.test_loss));
  const auto again = train_standalone(space, a, train, test, aug, quick(3));
  CHECK(again.test_loss == r.test_loss);
  CHECK(again.train_loss == r.train_loss);
  const auto other = train_standalone(space, a, train, test, aug, quick(4));
  CHECK(other.train_loss != r.train_loss);
}

TEST_CASE("train_standalone refuses bad options and data, naming the rule and the value", "[standalone]") {
  const auto space = tiny_space();
  const auto train = bright_or_dark(32, 1), test = bright_or_dark(8, 2);
  const auto aug = default_augment_options(Stem::gray28);
  const faunae::Architecture a{0, 0, 0};
  auto o = quick(0);
  o.lr = -1.0;
  CHECK_THROWS_MATCHES(train_standalone(space, a, train, test, aug, o), faunae::InvalidArgument, What(Contains("lr must be positive and finite, got -1")));
  o = quick(0);
  o.batch_size = 64;
  CHECK_THROWS_MATCHES(train_standalone(space, a, train, test, aug, o), faunae::InvalidArgument, What(Contains("32 images, fewer than a batch of 64")));
  auto unlabelled = train;
  unlabelled.labels = torch::Tensor();
  CHECK_THROWS_MATCHES(train_standalone(space, a, unlabelled, test, aug, quick(0)), faunae::InvalidArgument, What(Contains("has no labels")));
  CHECK_THROWS_AS(train_standalone(space, faunae::Architecture{0, 0, 9}, train, test, aug, quick(0)), faunae::InvalidArchitecture);
}

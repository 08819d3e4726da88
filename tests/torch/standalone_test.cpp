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
  // Weight averaging without the BatchNorm recalibration it needs, out of range, a negative recalibration.
  o = quick(0);
  o.weight_averaging_fraction = 0.5;
  CHECK_THROWS_MATCHES(train_standalone(space, a, train, test, aug, o), faunae::InvalidArgument,
                       What(Contains("weight_averaging_fraction = 0.5 needs bn_recalibration_images > 0")));
  o = quick(0);
  o.weight_averaging_fraction = 1.5;
  o.bn_recalibration_images = 8;
  CHECK_THROWS_MATCHES(train_standalone(space, a, train, test, aug, o), faunae::InvalidArgument,
                       What(Contains("weight_averaging_fraction must be in [0, 1], got 1.5")));
  o = quick(0);
  o.bn_recalibration_images = -1;
  CHECK_THROWS_MATCHES(train_standalone(space, a, train, test, aug, o), faunae::InvalidArgument,
                       What(Contains("bn_recalibration_images must be >= 0 (0 = off), got -1")));
}

TEST_CASE("recalibrate_batch_norm sets BatchNorm's statistics to exact means over the first N images and restores its momentum", "[standalone]") {
  torch::set_num_threads(1);
  torch::manual_seed(5);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(1, 3, 3).bias(false));
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(3).momentum(0.1));
  torch::nn::Sequential net(conv, bn);
  const auto data = bright_or_dark(40, 7);
  const auto aug = default_augment_options(Stem::gray28);
  net->eval();
  faunae::torch_backend::detail::standalone::recalibrate_batch_norm(*net, [&](const torch::Tensor& x) { return net->forward(x); }, data, 30, 10, aug, torch::kCPU);
  CHECK_FALSE(net->is_training());            // the module's mode is given back
  REQUIRE(bn->options.momentum().has_value());
  CHECK(*bn->options.momentum() == 0.1);     // and its momentum
  torch::NoGradGuard no_grad;
  // The exact per-channel mean of the convolution's output over the first 30 images (3 batches of 10).
  const auto y = conv->forward(normalize(data.images.narrow(0, 0, 30), aug.mean, aug.stddev));
  const auto mean = y.mean({0, 2, 3});
  CHECK(torch::allclose(bn->running_mean, mean, 1e-5, 1e-6));
  // Not the statistics of all 40 images, nor an exponential average.
  const auto all = conv->forward(normalize(data.images, aug.mean, aug.stddev)).mean({0, 2, 3});
  CHECK_FALSE(torch::allclose(bn->running_mean, all, 1e-5, 1e-6));
  // The variance: the mean of the three batches' unbiased variances.
  auto var = torch::zeros({3});
  for (int b = 0; b < 3; ++b) var += y.narrow(0, 10 * b, 10).transpose(0, 1).reshape({3, -1}).var(1, /*unbiased=*/true);
  CHECK(torch::allclose(bn->running_var, var / 3, 1e-4, 1e-6));
}

TEST_CASE("train_standalone's BatchNorm recalibration and weight averaging change only the scoring, and score_plain_too records the plain score", "[standalone]") {
  torch::set_num_threads(1);
  const auto space = tiny_space();
  const auto train = bright_or_dark(96, 1), test = bright_or_dark(64, 2);
  const auto aug = default_augment_options(Stem::gray28);
  const faunae::Architecture a{0, 1, 2};
  const auto plain = train_standalone(space, a, train, test, aug, quick(3));
  CHECK(std::isnan(plain.plain_test_accuracy));  // not asked for
  auto o = quick(3);
  o.bn_recalibration_images = 64;
  o.score_plain_too = true;
  const auto recalibrated = train_standalone(space, a, train, test, aug, o);
  CHECK(recalibrated.train_loss == plain.train_loss);                 // the same training
  CHECK(recalibrated.plain_test_loss == plain.test_loss);             // its plain score is the old recipe's
  CHECK(recalibrated.plain_test_accuracy == plain.test_accuracy);
  CHECK(recalibrated.test_loss != plain.test_loss);                   // the recalibrated one differs
  CHECK(std::isnan(recalibrated.recalibrated_final_test_accuracy));   // no averaging
  o.weight_averaging_fraction = 0.5;
  const auto averaged = train_standalone(space, a, train, test, aug, o);
  CHECK(averaged.train_loss == plain.train_loss);
  CHECK(averaged.plain_test_loss == plain.test_loss);
  CHECK(averaged.recalibrated_final_test_accuracy == recalibrated.test_accuracy);
  CHECK(averaged.test_loss != recalibrated.test_loss);
  CHECK(averaged.test_accuracy > 0.9);
  // Averaging the last step only is the final weights.
  o.weight_averaging_fraction = 1e-9;
  const auto last_only = train_standalone(space, a, train, test, aug, o);
  CHECK(last_only.test_loss == recalibrated.test_loss);
}

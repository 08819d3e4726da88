// Evaluation with labels: feature extraction in order and without gradient, the weighted kNN vote
// against a hand computation, the linear protocol on separable features and its schedule, and the
// supervised evaluator's learning, weight sharing and seeding.
#include <faunae/torch/evaluation.hpp>  // first: the header stands alone

#include <cmath>
#include <string>
#include <vector>

#include <faunae/core/options_reader.hpp>
#include <faunae/torch/export.hpp>
#include <faunae/torch/pretext_evaluator.hpp>

#include "catch_torch.hpp"
#include "what_matcher.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::What;

namespace {

/// `per_class` Gaussian points around each of `classes` centres in D dimensions, shuffled; the
/// features are ReLU'd, as pooled features of a ResNet are.
struct Clusters {
  torch::Tensor features, labels;
};
Clusters gaussian_clusters(std::int64_t classes, std::int64_t per_class, std::int64_t d, double noise, std::uint64_t seed) {
  auto gen = make_generator(seed);
  const auto centres = torch::rand({classes, d}, gen, torch::kFloat32) * 2.0;
  const auto labels = torch::arange(classes, torch::kInt64).repeat_interleave(per_class);
  auto features = centres.index_select(0, labels) + noise * torch::randn({classes * per_class, d}, gen, torch::kFloat32);
  const auto order = torch::randperm(classes * per_class, gen, torch::TensorOptions().dtype(torch::kInt64));
  return {torch::relu(features).index_select(0, order), labels.index_select(0, order)};
}

/// A point of the plane at angle `radians` and length `norm`.
std::vector<float> polar(double radians, double norm) {
  return {static_cast<float>(norm * std::cos(radians)), static_cast<float>(norm * std::sin(radians))};
}

torch::Tensor rows(const std::vector<std::vector<float>>& points) {
  std::vector<torch::Tensor> out;
  for (const auto& p : points) out.push_back(torch::tensor(p, torch::kFloat32));
  return torch::stack(out);
}

/// n gray 28×28 images: label 0 dark (pixels 0..89), label 1 bright (166..255), alternating.
ImageDataset bright_and_dark(std::int64_t n, std::uint64_t seed, std::string name) {
  auto gen = make_generator(seed);
  ImageDataset d;
  d.labels = torch::arange(n, torch::kInt64).remainder(2);
  const auto noise = torch::randint(0, 90, {n, 1, 28, 28}, gen, torch::TensorOptions().dtype(torch::kInt64));
  d.images = (noise + 166 * d.labels.view({-1, 1, 1, 1})).to(torch::kUInt8);
  d.name = std::move(name);
  return d;
}

ResNetSpaceOptions tiny_gray_space() {
  ResNetSpaceOptions space;
  space.stem = Stem::gray28;
  space.blocks_per_stage = {1, 1};
  space.width = 0.125;
  space.ops = {"conv3", "conv5"};
  return space;
}

}  // namespace

TEST_CASE("extract_features: every image once, in order, normalised, without gradient", "[evaluation]") {
  auto gen = make_generator(3);
  ImageDataset data;
  data.images = torch::randint(0, 256, {10, 2, 3, 3}, gen, torch::TensorOptions().dtype(torch::kUInt8));
  data.name = "random";
  std::vector<std::int64_t> batches;
  bool grad_enabled = true;
  const auto flatten = [&](const torch::Tensor& x) {
    batches.push_back(x.size(0));
    grad_enabled = grad_enabled && torch::GradMode::is_enabled();
    CHECK(x.scalar_type() == torch::kFloat32);
    return x.flatten(1);
  };
  const auto f = extract_features(flatten, data, {0.5, 0.25}, {0.25, 0.5}, /*batch_size=*/4);
  CHECK(batches == std::vector<std::int64_t>{4, 4, 2});
  CHECK_FALSE(grad_enabled);
  const auto m = torch::tensor({0.5, 0.25}, torch::kFloat32).view({1, 2, 1, 1});
  const auto s = torch::tensor({0.25, 0.5}, torch::kFloat32).view({1, 2, 1, 1});
  const auto expected = ((data.images.to(torch::kFloat32) / 255.0 - m) / s).flatten(1);
  CHECK(f.sizes() == torch::IntArrayRef({10, 18}));
  CHECK(f.device() == torch::Device(torch::kCPU));
  CHECK((f - expected).abs().max().item<float>() < 1e-5f);

  // An extracted network is a backbone as it is (ModuleHolder's operator()).
  ResNetSpaceOptions space = tiny_gray_space();
  ResNetSupernet supernet(space);
  auto net = extract(supernet, faunae::Architecture{0, 1});
  net->eval();
  ImageDataset gray = bright_and_dark(5, 1, "gray");
  CHECK(extract_features(net, gray, {0.5}, {0.5}, 2).sizes() == torch::IntArrayRef({5, supernet->feature_dim()}));

  CHECK_THROWS_MATCHES(extract_features(flatten, data, {0.5}, {0.5}, 4), faunae::InvalidArgument,
                       What(Contains("2 channels") && Contains("got 1 and 1")));
  CHECK_THROWS_MATCHES(extract_features(flatten, data, {0.5, 0.5}, {0.5, 0.5}, 0), faunae::InvalidArgument,
                       What(Contains("batch_size must be positive, got 0")));
  const auto one_row = [](const torch::Tensor& x) { return x.flatten(1).narrow(0, 0, 1); };
  CHECK_THROWS_MATCHES(extract_features(one_row, data, {0.5, 0.5}, {0.5, 0.5}, 4), faunae::InvalidArgument,
                       What(Contains("must return 4 rows") && Contains("[1, 18]")));
  const auto maps = [](const torch::Tensor& x) { return x; };
  CHECK_THROWS_MATCHES(extract_features(maps, data, {0.5, 0.5}, {0.5, 0.5}, 4), faunae::InvalidArgument, What(Contains("4×D")));
}

TEST_CASE("kNN: the weighted vote of a hand-computed example", "[evaluation]") {
  // Around the test point (1, 0): cosine similarities 0.9 (class 1), 0.8 and 0.7 (class 0); the
  // lengths differ, which the L2 normalisation must ignore. Two far points of class 2.
  const auto train = rows({polar(std::acos(0.9), 3.0), polar(-std::acos(0.8), 0.5), polar(std::acos(0.7), 2.0), {-1.0f, 0.1f}, {0.0f, -4.0f}});
  const auto labels = torch::tensor({1, 0, 0, 2, 2}, torch::kInt64);
  const auto test = rows({{2.0f, 0.0f}, {-1.0f, 0.0f}});
  const auto predict = [&](std::int64_t k, double t) {
    const auto p = knn_predict(train, labels, test, k, t);
    REQUIRE(p.sizes() == torch::IntArrayRef({2}));
    REQUIRE(p.scalar_type() == torch::kInt64);
    return std::vector<std::int64_t>{p[0].item<std::int64_t>(), p[1].item<std::int64_t>()};
  };
  CHECK(predict(1, 0.1) == std::vector<std::int64_t>{1, 2});
  // k = 2: one vote each, exp(0.9/t) > exp(0.8/t): the nearer one wins, not the smaller class.
  CHECK(predict(2, 0.1) == std::vector<std::int64_t>{1, 2});
  // k = 3, t = 0.1: class 1 has e^9 ≈ 8103, class 0 e^8 + e^7 ≈ 4078: class 1.
  CHECK(predict(3, 0.1) == std::vector<std::int64_t>{1, 2});
  // k = 3, t = 1: class 1 has e^0.9 ≈ 2.46, class 0 e^0.8 + e^0.7 ≈ 4.24: class 0.
  CHECK(predict(3, 1.0) == std::vector<std::int64_t>{0, 2});
  // For the test point (−1, 0) at t = 1 and k = 5: class 2 has e^0.995 + e^0 ≈ 3.70, class 0
  // e^−0.8 + e^−0.7 ≈ 0.95, class 1 e^−0.9 ≈ 0.41. k = 200 > 5 is clamped to all 5 points.
  CHECK(predict(5, 1.0) == std::vector<std::int64_t>{0, 2});
  CHECK(predict(200, 1.0) == std::vector<std::int64_t>{0, 2});
  // A tiny t does not overflow: the weights are taken relative to the best similarity.
  CHECK(predict(3, 1e-4) == std::vector<std::int64_t>{1, 2});

  CHECK(knn_accuracy(train, labels, test, torch::tensor({1, 2}, torch::kInt64), 3, 0.1) == 1.0);
  CHECK(knn_accuracy(train, labels, test, torch::tensor({1, 2}, torch::kInt64), 3, 1.0) == 0.5);
  CHECK(knn_accuracy(train, labels, test, torch::tensor({1, 2}, torch::kInt32), 3, 1.0, /*classes=*/7) == 0.5);
  // a test label no training point has is simply never predicted
  CHECK(knn_accuracy(train, labels, test, torch::tensor({5, 5}, torch::kInt64), 3, 0.1) == 0.0);
}

TEST_CASE("kNN: Gaussian clusters are recognised; blocks of test rows do not change the answer", "[evaluation]") {
  const auto train = gaussian_clusters(3, 100, 16, 0.3, 1);
  // test points around the same centres (gaussian_clusters draws them first from its seed)
  auto gen = make_generator(1);
  const auto centres = torch::rand({3, 16}, gen, torch::kFloat32) * 2.0;
  auto other = make_generator(99);
  const auto test_labels = torch::randint(0, 3, {1500}, other, torch::TensorOptions().dtype(torch::kInt64));
  const auto test_features = torch::relu(centres.index_select(0, test_labels) + 0.3 * torch::randn({1500, 16}, other, torch::kFloat32));
  const double accuracy = knn_accuracy(train.features, train.labels, test_features, test_labels);  // k = 200, t = 0.1
  CHECK(accuracy > 0.9);
  CHECK(accuracy <= 1.0);
  // 1500 test rows run as blocks of 1024 and 476; split elsewhere, the predictions are the same
  const auto whole = knn_predict(train.features, train.labels, test_features);
  const auto parts = torch::cat({knn_predict(train.features, train.labels, test_features.narrow(0, 0, 700)),
                                 knn_predict(train.features, train.labels, test_features.narrow(0, 700, 800))});
  CHECK(torch::equal(whole, parts));
}

TEST_CASE("kNN: bad shapes, labels, k and t are refused with the value", "[evaluation]") {
  const auto train = torch::rand({4, 3});
  const auto labels = torch::tensor({0, 1, 0, 1}, torch::kInt64);
  const auto test = torch::rand({2, 3});
  const auto test_labels = torch::tensor({0, 1}, torch::kInt64);
  using faunae::InvalidArgument;
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels, torch::rand({2, 4}), test_labels), InvalidArgument,
                       What(Contains("D = 4") && Contains("D = 3")));
  CHECK_THROWS_MATCHES(knn_accuracy(train.flatten(), labels, test, test_labels), InvalidArgument,
                       What(Contains("train_features must be a floating-point tensor N×D") && Contains("[12]")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels.narrow(0, 0, 3), test, test_labels), InvalidArgument,
                       What(Contains("train_labels has 3 entries") && Contains("4 rows")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, torch::tensor({0, -1, 0, 1}, torch::kInt64), test, test_labels), InvalidArgument,
                       What(Contains("train_labels must be ≥ 0, got a label of -1")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels, test, torch::tensor({0, -3}, torch::kInt64)), InvalidArgument,
                       What(Contains("test_labels must be ≥ 0, got a label of -3")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels.to(torch::kFloat32), test, test_labels), InvalidArgument,
                       What(Contains("train_labels must be a 1-D integer tensor")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels, test, test_labels, /*k=*/0), InvalidArgument, What(Contains("k must be at least 1, got 0")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels, test, test_labels, 2, /*t=*/0.0), InvalidArgument,
                       What(Contains("t must be positive and finite, got 0")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels, test, test_labels, 2, 0.1, /*classes=*/1), InvalidArgument,
                       What(Contains("must be in [0, 1)") && Contains("got a label of 1")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels, test, test_labels, 2, 0.1, /*classes=*/0), InvalidArgument,
                       What(Contains("classes must be positive") && Contains("got 0")));
  CHECK_THROWS_MATCHES(knn_accuracy(train, labels, torch::rand({0, 3}), torch::empty({0}, torch::kInt64)), InvalidArgument,
                       What(Contains("test_features has no rows")));
  CHECK_THROWS_MATCHES(knn_predict(torch::rand({0, 3}), torch::empty({0}, torch::kInt64), test), InvalidArgument,
                       What(Contains("train_features has no rows")));
}

TEST_CASE("linear evaluation: MoCo's recipe learns separable features, seeded", "[evaluation]") {
  const auto train = gaussian_clusters(3, 100, 32, 0.5, 7);
  auto gen = make_generator(7);
  const auto centres = torch::rand({3, 32}, gen, torch::kFloat32) * 2.0;
  auto other = make_generator(8);
  const auto test_labels = torch::randint(0, 3, {150}, other, torch::TensorOptions().dtype(torch::kInt64));
  const auto test = torch::relu(centres.index_select(0, test_labels) + 0.5 * torch::randn({150, 32}, other, torch::kFloat32));

  const LinearEvalOptions defaults;  // 100 epochs, lr 30, momentum 0.9, no weight decay, ÷10 at 60 and 80
  const auto r = linear_evaluation(train.features, train.labels, test, test_labels, defaults);
  REQUIRE(r.epoch_loss.size() == 100);
  CHECK(r.train_accuracy > 0.9);
  CHECK(r.test_accuracy > 0.9);
  CHECK(r.epoch_loss.back() < r.epoch_loss.front());
  for (double l : r.epoch_loss) CHECK(std::isfinite(l));

  // Seeded: the same seed repeats the run, another one changes it (shorter runs).
  LinearEvalOptions short_run;
  short_run.epochs = 10;
  short_run.milestones = {6, 8};
  const auto once = linear_evaluation(train.features, train.labels, test, test_labels, short_run);
  const auto again = linear_evaluation(train.features, train.labels, test, test_labels, short_run);
  CHECK(again.epoch_loss == once.epoch_loss);
  CHECK(again.test_accuracy == once.test_accuracy);
  short_run.seed = 1;
  CHECK(linear_evaluation(train.features, train.labels, test, test_labels, short_run).epoch_loss != once.epoch_loss);

  LinearEvalOptions standardized;
  standardized.standardize = true;
  standardized.epochs = 20;
  standardized.milestones = {12, 16};
  const auto z = linear_evaluation(train.features, train.labels, test, test_labels, standardized);
  CHECK(z.test_accuracy > 0.9);
  // standardised, an affine change of the features' scale changes nothing (up to rounding)
  const auto scaled = linear_evaluation(train.features * 100.0 + 5.0, train.labels, test * 100.0 + 5.0, test_labels, standardized);
  CHECK(scaled.epoch_loss.front() == Approx(z.epoch_loss.front()).epsilon(1e-3));
  CHECK(scaled.test_accuracy == Approx(z.test_accuracy).margin(0.02));
}

TEST_CASE("linear evaluation: the learning rate steps at the milestones", "[evaluation]") {
  const auto data = gaussian_clusters(2, 40, 8, 0.5, 3);
  LinearEvalOptions o;
  o.epochs = 4;
  o.batch_size = 16;
  o.gamma = 1e-12;
  // at epoch 0 already: the classifier keeps its N(0, 0.01²) weights, the loss stays ≈ log 2
  o.milestones = {0};
  const auto frozen = linear_evaluation(data.features, data.labels, data.features, data.labels, o);
  for (double l : frozen.epoch_loss) CHECK(l == Approx(std::log(2.0)).margin(0.05));
  // at epoch 1: it learns in epoch 0 only; later epochs see the same weights in another order
  o.milestones = {1};
  const auto one = linear_evaluation(data.features, data.labels, data.features, data.labels, o);
  CHECK(one.epoch_loss[1] < std::log(2.0) - 0.1);
  CHECK(one.epoch_loss[2] == Approx(one.epoch_loss[1]).epsilon(1e-4));
  CHECK(one.epoch_loss[3] == Approx(one.epoch_loss[1]).epsilon(1e-4));
}

TEST_CASE("linear evaluation: bad options and inputs are refused with the value", "[evaluation]") {
  const auto x = torch::rand({6, 4});
  const auto y = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  using faunae::InvalidArgument;
  LinearEvalOptions o;
  o.epochs = 0;
  CHECK_THROWS_MATCHES(linear_evaluation(x, y, x, y, o), InvalidArgument, What(Contains("LinearEvalOptions::epochs must be positive, got 0")));
  o = {};
  o.milestones = {80, 60};
  CHECK_THROWS_MATCHES(linear_evaluation(x, y, x, y, o), InvalidArgument, What(Contains("milestones") && Contains("[80, 60]")));
  o = {};
  o.lr = -1.0;
  CHECK_THROWS_MATCHES(linear_evaluation(x, y, x, y, o), InvalidArgument, What(Contains("lr must be positive") && Contains("got -1")));
  o = {};
  o.momentum = 1.0;
  CHECK_THROWS_MATCHES(linear_evaluation(x, y, x, y, o), InvalidArgument, What(Contains("momentum must be in [0, 1), got 1")));
  o = {};
  o.classes = 2;
  CHECK_THROWS_MATCHES(linear_evaluation(x, y, x, y, o), InvalidArgument, What(Contains("[0, 2)") && Contains("got a label of 2")));
  CHECK_THROWS_MATCHES(linear_evaluation(x, y, torch::rand({6, 5}), y), InvalidArgument, What(Contains("D = 5") && Contains("D = 4")));
  CHECK_THROWS_MATCHES(linear_evaluation(x, y.narrow(0, 0, 5), x, y), InvalidArgument, What(Contains("train_labels has 5 entries")));
  CHECK_THROWS_MATCHES(linear_evaluation(x, y, x, y - 1), InvalidArgument, What(Contains("test_labels must be ≥ 0, got a label of -1")));
}

TEST_CASE("linear evaluation from images through a backbone; unlabelled sets are refused", "[evaluation]") {
  const auto train = bright_and_dark(40, 1, "train"), test = bright_and_dark(20, 2, "test");
  const auto mean_pixel = [](const torch::Tensor& x) { return x.mean({2, 3}); };  // N×1: brightness
  LinearEvalOptions o;
  o.epochs = 10;
  o.milestones = {};
  o.batch_size = 8;
  const auto r = linear_evaluation(mean_pixel, train, test, {0.5}, {0.5}, o);
  CHECK(r.test_accuracy == 1.0);
  ImageDataset unlabelled = test;
  unlabelled.labels = torch::Tensor();
  CHECK_THROWS_MATCHES(linear_evaluation(mean_pixel, train, unlabelled, {0.5}, {0.5}, o), faunae::InvalidArgument,
                       What(Contains("'test' has no labels")));
}

TEST_CASE("supervised evaluator: learns bright vs dark, shares weights, repeats under a seed", "[evaluation]") {
  static_assert(faunae::Evaluator<SupervisedEvaluator>);
  const auto space = tiny_gray_space();
  const auto train = bright_and_dark(64, 1, "train"), validation = bright_and_dark(32, 2, "validation");
  SupervisedEvaluatorOptions o;
  o.steps = 8;
  o.batch_size = 16;
  o.seed = 5;
  const auto augment = supervised_augment_options(space.stem);
  SupervisedEvaluator e(space, train, validation, augment, o);
  CHECK(e.classes() == 2);
  const faunae::Architecture a0{0, 0}, a1{1, 1};
  const faunae::Evaluation first = e.evaluate(a0);
  REQUIRE(first.metrics.size() == 2);
  CHECK(first.metrics[0].first == "accuracy");
  CHECK(first.metrics[1].first == "train_loss");
  CHECK(std::isfinite(first.loss));
  CHECK(first.loss > 0.0);
  CHECK(std::isfinite(first.metrics[1].second));

  // The ops of a0 stay put while a1 trains: no momentum, no weight decay on unused weights.
  const auto weights_of = [&](const std::string& op) {
    std::vector<torch::Tensor> out;
    for (const auto& p : e.supernet()->named_parameters())
      if (p.key().find(".ops." + op + ".") != std::string::npos) out.push_back(p.value().clone());
    return out;
  };
  const auto conv3 = weights_of("conv3"), conv5 = weights_of("conv5");
  REQUIRE_FALSE(conv3.empty());
  const faunae::Evaluation other = e.evaluate(a1);
  CHECK(std::isfinite(other.loss));
  const auto conv3_after = weights_of("conv3"), conv5_after = weights_of("conv5");
  for (std::size_t i = 0; i < conv3.size(); ++i) CHECK(torch::equal(conv3[i], conv3_after[i]));
  bool conv5_moved = false;
  for (std::size_t i = 0; i < conv5.size(); ++i) conv5_moved = conv5_moved || !torch::equal(conv5[i], conv5_after[i]);
  CHECK(conv5_moved);

  // More steps on a0 with the shared weights: the validation accuracy is well above chance.
  const faunae::Evaluation last = e.evaluate(a0);
  CHECK(last.metrics[0].second > 0.75);
  CHECK(last.loss < first.loss);

  // Same seed, same numbers; another seed, others.
  SupervisedEvaluator twin(space, train, validation, augment, o);
  const faunae::Evaluation twin_first = twin.evaluate(a0);
  CHECK(twin_first.loss == first.loss);
  CHECK(twin_first.metrics == first.metrics);
  o.seed = 6;
  SupervisedEvaluator reseeded(space, train, validation, augment, o);
  CHECK(reseeded.evaluate(a0).loss != first.loss);
}

TEST_CASE("supervised evaluator: without augmentation; bad data and options are refused", "[evaluation]") {
  const auto space = tiny_gray_space();
  const auto train = bright_and_dark(16, 1, "train"), validation = bright_and_dark(8, 2, "validation");
  SupervisedEvaluatorOptions o;
  o.steps = 2;
  o.batch_size = 8;
  o.augment = false;
  const auto augment = default_augment_options(space.stem);
  SupervisedEvaluator e(space, train, validation, augment, o);
  CHECK(std::isfinite(e.evaluate(faunae::Architecture{1, 0}).loss));
  CHECK_THROWS_AS(e.evaluate(faunae::Architecture{0, 0, 0}), faunae::InvalidArchitecture);

  using faunae::InvalidArgument;
  ImageDataset unlabelled = validation;
  unlabelled.labels = torch::Tensor();
  CHECK_THROWS_MATCHES(SupervisedEvaluator(space, train, unlabelled, augment, o), InvalidArgument,
                       What(Contains("'validation' has no labels")));
  ImageDataset unlabelled_train = train;
  unlabelled_train.labels = torch::Tensor();
  CHECK_THROWS_MATCHES(SupervisedEvaluator(space, unlabelled_train, validation, augment, o), InvalidArgument,
                       What(Contains("'train' has no labels")));
  ImageDataset negative = train;
  negative.labels = negative.labels - 1;
  CHECK_THROWS_MATCHES(SupervisedEvaluator(space, negative, validation, augment, o), InvalidArgument,
                       What(Contains("training labels must be ≥ 0, got a label of -1")));
  o.batch_size = 17;
  CHECK_THROWS_MATCHES(SupervisedEvaluator(space, train, validation, augment, o), InvalidArgument,
                       What(Contains("16 images, fewer than a batch of 17")));
  o.batch_size = 8;
  o.steps = 0;
  CHECK_THROWS_MATCHES(SupervisedEvaluator(space, train, validation, augment, o), InvalidArgument,
                       What(Contains("steps must be positive, got 0")));
  o.steps = 2;
  CHECK_THROWS_MATCHES(SupervisedEvaluator(space, train, validation, default_augment_options(Stem::color32), o), InvalidArgument,
                       What(Contains("1 channels") && Contains("mean has 3 entries")));
}

TEST_CASE("linear evaluation: the options' JSON form reads back every field and is checked", "[evaluation]") {
  static_assert(faunae::ReflectedOptions<LinearEvalOptions>);
  LinearEvalOptions o;
  o.epochs = 20;
  o.milestones = {12, 16};
  o.standardize = true;
  o.seed = 7;
  const nlohmann::json j = faunae::options_to_json(o);
  CHECK(j.at("milestones") == nlohmann::json({12, 16}));
  const auto back = faunae::options_from_json<LinearEvalOptions>(j, "test");
  CHECK(back.epochs == 20);
  CHECK(back.milestones == std::vector<std::int64_t>{12, 16});
  CHECK(back.standardize);
  CHECK(back.seed == 7);
  CHECK(back.lr == o.lr);
  CHECK_THROWS_WITH(faunae::options_from_json<LinearEvalOptions>({{"epochs", 2}, {"milestones", {1, 1}}}, "test"),
                    Contains("test: LinearEvalOptions::milestones must be increasing epochs >= 0, got [1, 1]"));
}

namespace {
/// n 1×28×28 images whose top half is bright and bottom half dark, with noise: a quarter turn is
/// easy to tell apart. Labelled with random classes that the rotation task must not read.
ImageDataset top_lit(std::int64_t n, std::uint64_t seed, std::string name) {
  auto gen = make_generator(seed);
  ImageDataset d;
  auto images = torch::randint(0, 60, {n, 1, 28, 28}, gen, torch::TensorOptions().dtype(torch::kInt64));
  images.narrow(2, 0, 14).add_(180);
  d.images = images.to(torch::kUInt8);
  d.labels = torch::randint(0, 10, {n}, gen, torch::TensorOptions().dtype(torch::kInt64));
  d.name = std::move(name);
  return d;
}
}  // namespace

TEST_CASE("RotationEvaluator: a label-free score, each evaluation independent, options as its state", "[evaluation]") {
  static_assert(faunae::StatefulEvaluator<RotationEvaluator>);
  torch::set_num_threads(1);
  const auto space = tiny_gray_space();
  const auto train = top_lit(48, 1, "train"), validation = top_lit(16, 2, "validation");
  const auto augment = default_augment_options(space.stem);
  const RotationEvaluatorOptions o{.steps = 40, .batch_size = 32, .lr = 0.1, .seed = 3, .score = RotationScore::held_out_error};
  RotationEvaluator e(space, train, validation, augment, o);
  const faunae::Architecture a0{0, 0}, a1{1, 1};
  const faunae::Evaluation first = e.evaluate(a0);
  REQUIRE(first.metrics.size() == 4);
  CHECK(first.metrics[0].first == "accuracy");
  CHECK(first.metrics[1].first == "validation_loss");
  CHECK(first.metrics[2].first == "train_loss");
  CHECK(first.loss == 1.0 - first.metrics[0].second);
  CHECK(first.metrics[0].second > 0.5);  // four turns: chance is 0.25
  // Independent evaluations: α1 between two evaluations of α0 changes nothing; α1 scores otherwise.
  const faunae::Evaluation other = e.evaluate(a1);
  const faunae::Evaluation again = e.evaluate(a0);
  CHECK(again.loss == first.loss);
  CHECK(again.metrics[1].second == first.metrics[1].second);
  CHECK(other.metrics[1].second != first.metrics[1].second);
  // The class labels are never read: without them, the same numbers.
  ImageDataset unlabelled_train = train, unlabelled_validation = validation;
  unlabelled_train.labels = torch::Tensor();
  unlabelled_validation.labels = torch::Tensor();
  RotationEvaluator blind(space, unlabelled_train, unlabelled_validation, augment, o);
  CHECK(blind.evaluate(a0).metrics[1].second == first.metrics[1].second);
  // Its state is its options: the same ones resume, others are refused with both named.
  e.restore(blind.state());
  RotationEvaluator longer(space, train, validation, augment, {.steps = 41, .batch_size = 32, .lr = 0.1, .seed = 3, .score = RotationScore::held_out_error});
  CHECK_THROWS_MATCHES(longer.restore(e.state()), faunae::IoError, What(Contains("\"steps\":40") && Contains("\"steps\":41")));
  // The default score is the training loss (training speed): the same run, another number as the loss.
  RotationEvaluatorOptions by_speed = o;
  by_speed.score = RotationScore::training_loss;
  RotationEvaluator speed(space, train, validation, augment, by_speed);
  const faunae::Evaluation fast = speed.evaluate(a0);
  CHECK(fast.loss == fast.metrics[2].second);
  CHECK(fast.metrics[0].second == first.metrics[0].second);  // the same training, so the same held-out numbers
  CHECK(fast.metrics[2].second == first.metrics[2].second);
  CHECK(RotationEvaluatorOptions{}.score == RotationScore::training_loss);
  CHECK_THROWS_MATCHES(speed.restore(e.state()), faunae::IoError, What(Contains("held-out-error") && Contains("training-loss")));
  // Downsampled images (28 → 14): the oriented pattern is still learnt; a factor that does not
  // divide the side is refused, and the checkpoint tells the factors apart.
  RotationEvaluatorOptions half = o;
  half.downsample = 2;
  RotationEvaluator small(space, train, validation, augment, half);
  CHECK(small.evaluate(a0).metrics[0].second > 0.5);
  CHECK_THROWS_MATCHES(small.restore(e.state()), faunae::IoError, What(Contains("\"downsample\":1") && Contains("\"downsample\":2")));
  half.downsample = 3;
  CHECK_THROWS_MATCHES(RotationEvaluator(space, train, validation, augment, half), faunae::InvalidArgument,
                       What(Contains("RotationEvaluatorOptions::downsample = 3 needs square images whose side it divides, got 28×28")));
  half.downsample = 0;
  CHECK_THROWS_MATCHES(RotationEvaluator(space, train, validation, augment, half), faunae::InvalidArgument,
                       What(Contains("RotationEvaluatorOptions::downsample must be positive, got 0")));
  // Repeats: the mean of fresh networks from seed, seed + 1; the checkpoint names them (only when
  // not 1, so that older checkpoints resume); 0 is refused.
  RotationEvaluatorOptions twice = o, next_seed = o;
  twice.repeats = 2;
  next_seed.seed = o.seed + 1;
  RotationEvaluator averaged(space, train, validation, augment, twice), second(space, train, validation, augment, next_seed);
  const faunae::Evaluation mean = averaged.evaluate(a0), of_second = second.evaluate(a0);
  CHECK(mean.metrics[2].second == (first.metrics[2].second + of_second.metrics[2].second) / 2);
  CHECK(mean.metrics[0].second == (first.metrics[0].second + of_second.metrics[0].second) / 2);
  CHECK(mean.loss == 1.0 - mean.metrics[0].second);
  CHECK_FALSE(e.state().contains("repeats"));
  CHECK_THROWS_MATCHES(averaged.restore(e.state()), faunae::IoError, What(Contains("\"repeats\":2")));
  twice.repeats = 0;
  CHECK_THROWS_MATCHES(RotationEvaluator(space, train, validation, augment, twice), faunae::InvalidArgument,
                       What(Contains("RotationEvaluatorOptions::repeats must be positive, got 0")));
  // The score in options' JSON, by name.
  CHECK(faunae::options_to_json(by_speed).at("score") == "training-loss");
  CHECK(faunae::options_from_json<RotationEvaluatorOptions>({{"score", "held-out-error"}}, "test").score == RotationScore::held_out_error);
  CHECK_THROWS_MATCHES(faunae::options_from_json<RotationEvaluatorOptions>({{"score", "accuracy"}}, "test"), faunae::InvalidArgument,
                       What(Contains("'score': faunae::torch_backend::parse_rotation_score(): 'accuracy' is not a rotation score; use one of "
                                     "training-loss, held-out-error")));
  // Bad options and images.
  CHECK_THROWS_MATCHES(RotationEvaluator(space, train, validation, augment, {.steps = 0}), faunae::InvalidArgument,
                       What(Contains("RotationEvaluatorOptions::steps must be positive, got 0")));
  CHECK_THROWS_MATCHES(RotationEvaluator(space, train, validation, augment, {.batch_size = 1000}), faunae::InvalidArgument,
                       What(Contains("192 images, fewer than a batch of 1000")));
  ImageDataset wide = train;
  wide.images = wide.images.narrow(3, 0, 20).contiguous();
  CHECK_THROWS_MATCHES(RotationEvaluator(space, wide, validation, augment, o), faunae::InvalidArgument, What(Contains("square images")));
}

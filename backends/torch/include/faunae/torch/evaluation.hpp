// Measuring what a backbone has learnt, with labels — the paper's protocol (IV: after unsupervised
// pretraining, a supervised linear classifier is trained for 100 epochs on the frozen network, initial
// learning rate 30, weight decay 0, "as described in [1]") and MoCo's kNN monitor — and a supervised
// evaluator to compare with the contrastive one.
//
//   net->eval();                                                               // the caller's choice
//   const auto o = default_augment_options(Stem::color32);                     // for mean and stddev
//   const auto backbone = [&](const torch::Tensor& x) { return net->forward(x, found); };
//   auto train_x = extract_features(backbone, train, o.mean, o.stddev, /*batch_size=*/512);
//   auto test_x = extract_features(backbone, test, o.mean, o.stddev, /*batch_size=*/512);
//   double knn = knn_accuracy(train_x, train.labels, test_x, test.labels);      // k = 200, t = 0.1
//   LinearEvalResult linear = linear_evaluation(train_x, train.labels, test_x, test.labels);
//
// - extract_features: a backbone's pooled features of a whole data set, batch by batch, without
//   gradients and without augmentation (the images as they are, normalised).
// - knn_accuracy / knn_predict: the weighted k-nearest-neighbour monitor of InstDisc (Wu et al. 2018)
//   as MoCo's code runs it: cosine similarity, the k most similar training features vote for their
//   labels with weight exp(sim / t).
// - linear_evaluation: MoCo's linear classification protocol on frozen features.
// - SupervisedEvaluator: an Evaluator that trains the supernet and a linear classifier with
//   cross-entropy for k steps and returns the validation cross-entropy and top-1 accuracy.
//
// Labels are integer tensors (int64 as ImageDataset holds them; other integer types are accepted)
// with values in [0, classes). Every error is an InvalidArgument naming the function, the rule and
// the bad value. All randomness comes from the options' seeds: the same seed, data, LibTorch version
// and thread count give the same numbers.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "faunae/concepts/evaluator.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/error.hpp"
#include "faunae/torch/augment.hpp"
#include "faunae/torch/cpu_convolution.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/resnet_space.hpp"

namespace faunae::torch_backend {

namespace detail::eval {

inline std::string describe(const torch::Tensor& t) {
  return t.defined() ? fmt::format("{} of shape {}", std::string(c10::toString(t.scalar_type())), t.sizes().vec())
                     : std::string("an undefined tensor");
}

/// Throws unless `t` is a floating-point N×D matrix with D ≥ 1.
inline void check_features(const torch::Tensor& t, std::string_view where, std::string_view name) {
  if (!t.defined() || t.dim() != 2 || !t.is_floating_point() || t.size(1) < 1)
    throw InvalidArgument(fmt::format("{}: {} must be a floating-point tensor N×D (D ≥ 1), got {}", where, name, describe(t)));
}

/// Throws unless `labels` is a 1-D integer tensor of `n` entries, all ≥ 0 (and < classes when
/// classes > 0). Returns them as int64 on `device`.
inline torch::Tensor check_labels(const torch::Tensor& labels, std::int64_t n, std::int64_t classes, torch::Device device,
                                  std::string_view where, std::string_view name) {
  if (!labels.defined() || labels.dim() != 1 || !at::isIntegralType(labels.scalar_type(), /*includeBool=*/false))
    throw InvalidArgument(fmt::format("{}: {} must be a 1-D integer tensor (int64), got {}", where, name, describe(labels)));
  if (labels.size(0) != n)
    throw InvalidArgument(fmt::format("{}: {} has {} entries, the features have {} rows", where, name, labels.size(0), n));
  const torch::Tensor out = labels.to(device, torch::kInt64);
  if (n > 0) {
    const auto lo = out.min().item<std::int64_t>(), hi = out.max().item<std::int64_t>();
    if (lo < 0) throw InvalidArgument(fmt::format("{}: {} must be ≥ 0, got a label of {}", where, name, lo));
    if (classes > 0 && hi >= classes)
      throw InvalidArgument(fmt::format("{}: {} must be in [0, {}) (classes = {}), got a label of {}", where, name, classes, classes, hi));
  }
  return out;
}

/// classes if given (≥ 1), else 1 + the largest label of `a` and `b`.
inline std::int64_t count_classes(std::int64_t classes, const torch::Tensor& a, const torch::Tensor& b, std::string_view where) {
  if (classes == 0 || classes < -1)
    throw InvalidArgument(fmt::format("{}: classes must be positive, or -1 to infer it from the labels, got {}", where, classes));
  if (classes > 0) return classes;
  std::int64_t hi = -1;
  for (const auto* t : {&a, &b})
    if (t->numel() > 0) hi = std::max(hi, t->max().item<std::int64_t>());
  return hi + 1;
}

using torch_backend::construct_seeded;  // seeding.hpp

/// Throws InvalidArgument "<where>: <owner>::<name> must be positive, got <v>" unless v ≥ 1.
inline void require_positive(std::string_view where, std::string_view owner, std::string_view name, std::int64_t v) {
  if (v < 1) throw InvalidArgument(fmt::format("{}: {}::{} must be positive, got {}", where, owner, name, v));
}

/// The checks of an SGD recipe (SupervisedEvaluatorOptions, StandaloneTrainingOptions,
/// RotationEvaluatorOptions): lr positive and finite, momentum in [0, 1), weight decay finite and ≥ 0;
/// the message names `where`, `owner`'s option and its value.
inline void check_sgd(std::string_view where, std::string_view owner, double lr, double momentum, double weight_decay) {
  if (!(lr > 0.0 && std::isfinite(lr))) throw InvalidArgument(fmt::format("{}: {}::lr must be positive and finite, got {}", where, owner, lr));
  if (!(momentum >= 0.0 && momentum < 1.0))
    throw InvalidArgument(fmt::format("{}: {}::momentum must be in [0, 1), got {}", where, owner, momentum));
  if (!(weight_decay >= 0.0 && std::isfinite(weight_decay)))
    throw InvalidArgument(fmt::format("{}: {}::weight_decay must be finite and >= 0, got {}", where, owner, weight_decay));
}

/// Top-1 accuracy of `linear` on `features` (rows of `batch` at a time).
inline double top1(torch::nn::Linear& linear, const torch::Tensor& features, const torch::Tensor& labels, std::int64_t batch) {
  torch::NoGradGuard no_grad;
  const std::int64_t n = features.size(0);
  if (n == 0) return 0.0;
  torch::Tensor correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(features.device()));
  for (std::int64_t start = 0; start < n; start += batch) {
    const auto rows = std::min(batch, n - start);
    correct += linear->forward(features.narrow(0, start, rows)).argmax(1).eq(labels.narrow(0, start, rows)).sum();
  }
  return static_cast<double>(correct.item<std::int64_t>()) / static_cast<double>(n);
}

/// The checks of a supervised train-then-score pair (SupervisedEvaluator, train_standalone): both sets
/// valid and labelled, with the stem's channels and `augment`'s, the training set at least a batch,
/// the scored set (`scored`: "validation", "test") not empty, every label in range; returns the
/// number of classes (`classes`, or counted from the labels when 0). `purpose` names the caller's
/// job in the message about missing labels ("supervised training").
inline std::int64_t check_supervised_sets(const ImageDataset& train, const ImageDataset& scored, std::string_view scored_name,
                                          std::int64_t in_channels, const AugmentOptions& augment, std::int64_t batch_size,
                                          std::int64_t classes, std::string_view where, std::string_view purpose) {
  for (const auto* d : {&train, &scored}) {
    d->check(where);
    if (!d->labelled())
      throw InvalidArgument(fmt::format("{}: dataset '{}' has no labels; {} needs labelled training and {} sets", where, d->name, purpose,
                                        scored_name));
    if (d->channels() != in_channels || static_cast<std::int64_t>(augment.mean.size()) != d->channels())
      throw InvalidArgument(fmt::format("{}: dataset '{}' has {} channels; the stem takes {} and AugmentOptions::mean has {} entries", where,
                                        d->name, d->channels(), in_channels, augment.mean.size()));
  }
  if (train.size() < batch_size)
    throw InvalidArgument(fmt::format("{}: the training set has {} images, fewer than a batch of {}", where, train.size(), batch_size));
  if (scored.size() < 1) throw InvalidArgument(fmt::format("{}: the {} set is empty", where, scored_name));
  check_labels(train.labels, train.size(), classes, torch::kCPU, where, "the training labels");
  check_labels(scored.labels, scored.size(), classes, torch::kCPU, where, fmt::format("the {} labels", scored_name));
  return count_classes(classes, train.labels, scored.labels, where);
}

/// Summed cross-entropy and number of correct top-1 predictions of `logits_of(x)` over `data`, `batch`
/// images at a time, normalised with `augment`'s mean and std, without gradients. The caller puts its
/// modules in eval mode.
struct ClassificationScore {
  double loss_sum = 0.0;
  std::int64_t correct = 0;
};
template <class LogitsOf>
ClassificationScore classification_score(LogitsOf&& logits_of, const ImageDataset& data, const AugmentOptions& augment, std::int64_t batch,
                                         torch::Device device = torch::kCPU) {
  torch::NoGradGuard no_grad;
  ClassificationScore r;
  for (std::int64_t start = 0; start < data.size(); start += batch) {
    const auto n = std::min(batch, data.size() - start);
    const auto x = normalize(data.images.narrow(0, start, n), augment.mean, augment.stddev).to(device);
    const auto labels = data.labels.narrow(0, start, n).to(device);
    const torch::Tensor logits = logits_of(x);
    r.loss_sum += torch::nn::functional::cross_entropy(logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                      .item<double>();
    r.correct += logits.argmax(1).eq(labels).sum().item<std::int64_t>();
  }
  return r;
}

}  // namespace detail::eval

// --- features -----------------------------------------------------------------------------------

/// The features of every image of `data`, in order: N×D float32 on the CPU. `backbone` is any
/// callable taking a float32 batch B×C×H×W on `device` — the images of `data` as they are (no
/// augmentation), scaled to [0, 1] and normalised per channel by (x − mean) / stddev — and returning
/// B×D features: a callable, e.g. a lambda calling ResNetSupernet::forward(x, α), or a module holder
/// or pointer whose forward(x) does, e.g. an extracted network (extract() in export.hpp).
/// Batches of `batch_size` images run under torch::NoGradGuard. The backbone's mode is not touched:
/// call eval() on it first, as MoCo does for linear evaluation (train mode would use and update the
/// batch statistics of batch normalisation).
template <class Backbone>
torch::Tensor extract_features(Backbone&& backbone, const ImageDataset& data, const std::vector<double>& mean,
                               const std::vector<double>& stddev, std::int64_t batch_size, torch::Device device = torch::kCPU) {
  constexpr std::string_view where = "faunae::torch_backend::extract_features()";
  data.check(where);
  if (batch_size < 1) throw InvalidArgument(fmt::format("{}: batch_size must be positive, got {}", where, batch_size));
  if (data.size() == 0) throw InvalidArgument(fmt::format("{}: dataset '{}' is empty", where, data.name));
  if (static_cast<std::int64_t>(mean.size()) != data.channels() || static_cast<std::int64_t>(stddev.size()) != data.channels())
    throw InvalidArgument(fmt::format("{}: dataset '{}' has {} channels; mean and stddev must have one entry per channel, got {} and {}",
                                      where, data.name, data.channels(), mean.size(), stddev.size()));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (std::int64_t start = 0; start < data.size(); start += batch_size) {
    const auto rows = std::min(batch_size, data.size() - start);
    const torch::Tensor x = normalize(data.images.narrow(0, start, rows).to(device), mean, stddev);
    torch::Tensor y;
    if constexpr (requires { { backbone->forward(x) } -> std::convertible_to<torch::Tensor>; })
      y = backbone->forward(x);  // a module holder: ModuleHolder::operator() fails on an overloaded forward
    else
      y = std::invoke(backbone, x);
    if (!y.defined() || y.dim() != 2 || y.size(0) != rows)
      throw InvalidArgument(fmt::format("{}: the backbone must return {} rows of features (a tensor {}×D) for a batch of {}, got {}", where,
                                        rows, rows, rows, detail::eval::describe(y)));
    parts.push_back(y.detach().to(torch::kCPU, torch::kFloat32));
  }
  return torch::cat(parts, /*dim=*/0);
}

// --- kNN monitor --------------------------------------------------------------------------------

/// The weighted kNN classifier of InstDisc (Wu et al. 2018, eq. 10), as MoCo's kNN monitor computes
/// it: features are L2-normalised; for each test feature f, the k training features g_i with the
/// largest cosine similarity s_i = f·g_i vote, the score of class c being
///   w_c = Σ_{i among the k, label_i = c} exp(s_i / t),
/// and the prediction is argmax_c w_c (on a tie, the smaller class). The weights are computed as
/// exp((s_i − max_j s_j) / t), the same ranking without overflow for a small t.
///
/// Rules: k ≥ 1; a k larger than the training set is clamped to its size N (every training feature
/// votes), so that a default k = 200 works on small validation subsets. t > 0. classes = -1 infers
/// 1 + the largest training label (a class no training feature has cannot win a vote).
///
/// Runs on the device of train_features (test rows are moved there), a block of test rows at a time
/// sized so that the block's similarity matrix holds at most 2^26 entries (256 MiB of float32), at
/// most 1024 rows. Returns the M predicted labels (int64, on the CPU).
inline torch::Tensor knn_predict(const torch::Tensor& train_features, const torch::Tensor& train_labels, const torch::Tensor& test_features,
                                 std::int64_t k = 200, double t = 0.1, std::int64_t classes = -1) {
  constexpr std::string_view where = "faunae::torch_backend::knn_predict()";
  detail::eval::check_features(train_features, where, "train_features");
  detail::eval::check_features(test_features, where, "test_features");
  if (test_features.size(1) != train_features.size(1))
    throw InvalidArgument(fmt::format("{}: test_features have D = {} columns, train_features D = {}", where, test_features.size(1),
                                      train_features.size(1)));
  const std::int64_t n = train_features.size(0), m = test_features.size(0);
  if (n < 1) throw InvalidArgument(fmt::format("{}: train_features has no rows", where));
  if (k < 1) throw InvalidArgument(fmt::format("{}: k must be at least 1, got {}", where, k));
  if (!(t > 0.0 && std::isfinite(t))) throw InvalidArgument(fmt::format("{}: t must be positive and finite, got {}", where, t));
  const torch::Device device = train_features.device();
  const torch::Tensor labels = detail::eval::check_labels(train_labels, n, classes, device, where, "train_labels");
  classes = detail::eval::count_classes(classes, labels, labels, where);
  k = std::min(k, n);

  torch::NoGradGuard no_grad;
  namespace F = torch::nn::functional;
  const auto unit = [&](const torch::Tensor& x) { return F::normalize(x.to(device, torch::kFloat32), F::NormalizeFuncOptions().dim(1)); };
  const torch::Tensor bank = unit(train_features).t().contiguous();  // D×N
  const std::int64_t block = std::clamp<std::int64_t>((std::int64_t{1} << 26) / n, 1, 1024);
  std::vector<torch::Tensor> predictions;
  for (std::int64_t start = 0; start < m; start += block) {
    const auto rows = std::min(block, m - start);
    const torch::Tensor sim = unit(test_features.narrow(0, start, rows)).mm(bank);  // rows×N: s_i
    const auto [top_sim, top_index] = sim.topk(k, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
    const torch::Tensor weight = ((top_sim - top_sim.narrow(1, 0, 1)) / t).exp();  // exp((s_i − max s) / t)
    const torch::Tensor votes = labels.index_select(0, top_index.flatten()).view({rows, k});
    const torch::Tensor scores = torch::zeros({rows, classes}, weight.options()).scatter_add_(1, votes, weight);  // w_c
    predictions.push_back(scores.argmax(1).to(torch::kCPU));
  }
  if (predictions.empty()) return torch::empty({0}, torch::kInt64);
  return torch::cat(predictions);
}

/// Top-1 accuracy in [0, 1] of knn_predict's predictions against test_labels. classes = -1 infers
/// 1 + the largest label of either set; a given classes bounds both sets' labels. The test set must
/// not be empty.
inline double knn_accuracy(const torch::Tensor& train_features, const torch::Tensor& train_labels, const torch::Tensor& test_features,
                           const torch::Tensor& test_labels, std::int64_t k = 200, double t = 0.1, std::int64_t classes = -1) {
  constexpr std::string_view where = "faunae::torch_backend::knn_accuracy()";
  detail::eval::check_features(test_features, where, "test_features");
  if (test_features.size(0) < 1) throw InvalidArgument(fmt::format("{}: test_features has no rows", where));
  const torch::Tensor truth = detail::eval::check_labels(test_labels, test_features.size(0), classes, torch::kCPU, where, "test_labels");
  const torch::Tensor predicted = knn_predict(train_features, train_labels, test_features, k, t, classes);
  return predicted.eq(truth).to(torch::kFloat64).mean().item<double>();
}

// --- linear evaluation --------------------------------------------------------------------------

/// MoCo's linear classification protocol (He et al. 2020, 4.1; the paper's IV: 100 epochs, lr 30,
/// weight decay 0), the defaults.
struct LinearEvalOptions {
  std::int64_t epochs = 100;
  double lr = 30.0;                                ///< initial learning rate of SGD
  double momentum = 0.9;
  double weight_decay = 0.0;
  std::vector<std::int64_t> milestones{60, 80};    ///< the learning rate is multiplied by gamma at these epochs
  double gamma = 0.1;
  std::int64_t batch_size = 256;
  std::uint64_t seed = 0;                          ///< the classifier's initial weights and the shuffling
  std::int64_t classes = -1;                       ///< -1: 1 + the largest label of either set
  /// Standardise each feature dimension by the training set's mean and standard deviation (both sets
  /// with the training statistics) before training. Off in MoCo's recipe, which trains on the raw
  /// pooled features; an option for backbones whose features are badly scaled for lr = 30.
  bool standardize = false;

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("epochs", self.epochs), f("lr", self.lr), f("momentum", self.momentum), f("weight_decay", self.weight_decay),
        f("milestones", self.milestones), f("gamma", self.gamma), f("batch_size", self.batch_size), f("seed", self.seed),
        f("classes", self.classes), f("standardize", self.standardize);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of its range.
  void check(std::string_view where) const {
    const auto fail = [&](std::string_view option, const auto& value, std::string_view rule) {
      throw InvalidArgument(fmt::format("{}: LinearEvalOptions::{} must be {}, got {}", where, option, rule, value));
    };
    if (epochs < 1) fail("epochs", epochs, "positive");
    if (!(lr > 0.0 && std::isfinite(lr))) fail("lr", lr, "positive and finite");
    if (!(momentum >= 0.0 && momentum < 1.0)) fail("momentum", momentum, "in [0, 1)");
    if (!(weight_decay >= 0.0 && std::isfinite(weight_decay))) fail("weight_decay", weight_decay, "finite and >= 0");
    if (!(gamma > 0.0 && std::isfinite(gamma))) fail("gamma", gamma, "positive and finite");
    if (batch_size < 1) fail("batch_size", batch_size, "positive");
    for (std::size_t i = 0; i < milestones.size(); ++i)
      if (milestones[i] < 0 || (i > 0 && milestones[i] <= milestones[i - 1]))
        fail("milestones", fmt::format("{}", milestones), "increasing epochs >= 0");
    if (classes == 0 || classes < -1) fail("classes", classes, "positive, or -1 to infer it from the labels");
  }
};

struct LinearEvalResult {
  double train_accuracy = 0.0;     ///< top-1 of the final classifier on the training features
  double test_accuracy = 0.0;      ///< top-1 of the final classifier on the test features
  std::vector<double> epoch_loss;  ///< mean training cross-entropy of each epoch (over its batches, weighted by size)
};

/// Trains a linear classifier D → classes on frozen features and reports its top-1 accuracy.
///
/// MoCo's protocol trains the linear layer on random-resized-crop and flip views of the images
/// through the frozen backbone, and tests on centre crops. With the backbone frozen, this function is
/// the faster equivalent used by many reimplementations: the features are computed once, without
/// augmentation (extract_features), and the classifier is trained on those fixed features. Results
/// are comparable, not identical, to the augmented protocol's.
///
/// The rest is MoCo's recipe (main_lincls.py): weights drawn from N(0, 0.01²), bias 0; SGD with
/// momentum and weight decay, learning rate lr · gamma^(number of milestones ≤ epoch); shuffled
/// batches (the last one may be smaller), the permutation of each epoch drawn from
/// make_generator(seed); cross-entropy. Features are float, labels integers in [0, classes). Runs on
/// the device of train_features.
inline LinearEvalResult linear_evaluation(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                                          const torch::Tensor& test_features, const torch::Tensor& test_labels,
                                          const LinearEvalOptions& options = {}) {
  constexpr std::string_view where = "faunae::torch_backend::linear_evaluation()";
  const LinearEvalOptions& o = options;
  o.check(where);
  detail::eval::check_features(train_features, where, "train_features");
  detail::eval::check_features(test_features, where, "test_features");
  if (test_features.size(1) != train_features.size(1))
    throw InvalidArgument(fmt::format("{}: test_features have D = {} columns, train_features D = {}", where, test_features.size(1),
                                      train_features.size(1)));
  const std::int64_t n = train_features.size(0), d = train_features.size(1);
  if (n < 1) throw InvalidArgument(fmt::format("{}: train_features has no rows", where));
  if (test_features.size(0) < 1) throw InvalidArgument(fmt::format("{}: test_features has no rows", where));
  const torch::Device device = train_features.device();
  const torch::Tensor y_train = detail::eval::check_labels(train_labels, n, o.classes, device, where, "train_labels");
  const torch::Tensor y_test = detail::eval::check_labels(test_labels, test_features.size(0), o.classes, device, where, "test_labels");
  const std::int64_t classes = detail::eval::count_classes(o.classes, y_train, y_test, where);

  torch::Tensor x_train = train_features.detach().to(device, torch::kFloat32);
  torch::Tensor x_test = test_features.detach().to(device, torch::kFloat32);
  if (o.standardize) {
    const auto mu = x_train.mean({0}, /*keepdim=*/true);
    const auto sigma = (x_train - mu).square().mean({0}, /*keepdim=*/true).sqrt().clamp_min(1e-8);
    x_train = (x_train - mu) / sigma;
    x_test = (x_test - mu) / sigma;
  }

  torch::Generator gen = make_generator(o.seed);
  torch::nn::Linear linear(d, classes);
  {
    torch::NoGradGuard no_grad;
    linear->weight.copy_(torch::randn({classes, d}, gen, torch::kFloat32).mul_(0.01));
    linear->bias.zero_();
  }
  linear->to(device);
  torch::optim::SGD sgd(linear->parameters(), torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));

  LinearEvalResult result;
  result.epoch_loss.reserve(static_cast<std::size_t>(o.epochs));
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    const auto passed = std::count_if(o.milestones.begin(), o.milestones.end(), [&](std::int64_t e) { return e <= epoch; });
    for (auto& group : sgd.param_groups())
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(o.lr * std::pow(o.gamma, static_cast<double>(passed)));
    const torch::Tensor order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64)).to(device);
    torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    for (std::int64_t start = 0; start < n; start += o.batch_size) {
      const auto rows = std::min(o.batch_size, n - start);
      const torch::Tensor idx = order.narrow(0, start, rows);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(linear->forward(x_train.index_select(0, idx)), y_train.index_select(0, idx));
      sgd.zero_grad();
      backward(loss);
      sgd.step();
      total += loss.detach().to(torch::kFloat64) * static_cast<double>(rows);
    }
    result.epoch_loss.push_back(total.item<double>() / static_cast<double>(n));
  }
  result.train_accuracy = detail::eval::top1(linear, x_train, y_train, o.batch_size);
  result.test_accuracy = detail::eval::top1(linear, x_test, y_test, o.batch_size);
  return result;
}

/// The protocol from images: extract_features of both (labelled) data sets through `backbone` on
/// `device` (batches of options.batch_size; the backbone's mode is not touched — call eval() first),
/// then linear_evaluation on `device`.
template <class Backbone>
LinearEvalResult linear_evaluation(Backbone&& backbone, const ImageDataset& train, const ImageDataset& test, const std::vector<double>& mean,
                                   const std::vector<double>& stddev, const LinearEvalOptions& options = {},
                                   torch::Device device = torch::kCPU) {
  constexpr std::string_view where = "faunae::torch_backend::linear_evaluation()";
  options.check(where);
  for (const auto* d : {&train, &test}) {
    d->check(where);
    if (!d->labelled()) throw InvalidArgument(fmt::format("{}: dataset '{}' has no labels; linear evaluation needs them", where, d->name));
  }
  const torch::Tensor train_x = extract_features(backbone, train, mean, stddev, options.batch_size, device);
  const torch::Tensor test_x = extract_features(backbone, test, mean, stddev, options.batch_size, device);
  return linear_evaluation(train_x.to(device), train.labels, test_x.to(device), test.labels, options);
}

// --- supervised evaluator -----------------------------------------------------------------------

/// Settings of SupervisedEvaluator: a supervised counterpart of ContrastiveEvaluatorOptions.
struct SupervisedEvaluatorOptions {
  std::int64_t steps = 10;        ///< k: SGD steps on the architecture per evaluation
  std::int64_t batch_size = 256;  ///< images per step (and per validation batch)
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;  ///< ResNet's SGD (He et al. 2016)
  /// Train on augment(images, AugmentOptions) views; false: on the images as they are, normalised
  /// with the AugmentOptions' mean and stddev. Validation images are never augmented.
  bool augment = true;
  std::int64_t classes = -1;  ///< -1: 1 + the largest label of either set
  std::uint64_t seed = 0;     ///< initial weights, batches and augmentations

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("steps", self.steps), f("batch_size", self.batch_size), f("lr", self.lr), f("momentum", self.momentum),
        f("weight_decay", self.weight_decay), f("augment", self.augment), f("classes", self.classes), f("seed", self.seed);
  }
};

/// The usual augmentation of supervised training: default_augment_options(stem) with only the random
/// resized crop and the horizontal flip left on (no colour jitter, grayscale or blur).
inline AugmentOptions supervised_augment_options(Stem stem) {
  AugmentOptions o = default_augment_options(stem);
  o.jitter_p = 0.0;
  o.grayscale_p = 0.0;
  o.blur_p = 0.0;
  return o;
}

/// Scores an architecture α with labels: trains the supernet (through α) and a linear classifier on
/// its pooled features for k steps of cross-entropy with SGD, then returns
///   Evaluation{loss = mean cross-entropy on the validation set, metrics = {"accuracy": validation
///   top-1 in [0, 1], "train_loss": mean cross-entropy of the k training steps}},
/// the validation run without gradient, both modules in eval mode, on the images as they are
/// (normalised). Each step draws batch_size distinct training images at random. The augmentation is
/// augment() with the AugmentOptions given (supervised_augment_options(stem) for crop and flip only),
/// or none when SupervisedEvaluatorOptions::augment is false.
///
/// Weights and optimizer momenta carry over from one evaluation to the next (weight sharing). Each
/// step drops the previous step's gradients (rather than zeroing them), so that SGD leaves alone the
/// ops α does not use: neither momentum nor weight decay moves the weights of the other
/// architectures' ops. Initial weights are drawn from LibTorch's default generator reseeded with the
/// seed (detail::eval::construct_seeded), so two evaluators with the same options start the same.
/// Runs on the CPU.
class SupervisedEvaluator {
 public:
  SupervisedEvaluator(const ResNetSpaceOptions& space, ImageDataset train, ImageDataset validation, AugmentOptions augment,
                      SupervisedEvaluatorOptions options = {})
      : train_(std::move(train)), validation_(std::move(validation)), augment_(std::move(augment)), o_(options),
        supernet_(construct_seeded(stream_seed(o_.seed, "supervised.network"), [&] { return ResNetSupernet(space); })),
        gen_(make_generator(stream_seed(o_.seed, "supervised.augment"))) {
    constexpr std::string_view where = "faunae::torch_backend::SupervisedEvaluator";
    constexpr std::string_view owner = "SupervisedEvaluatorOptions";
    detail::eval::require_positive(where, owner, "steps", o_.steps);
    detail::eval::require_positive(where, owner, "batch_size", o_.batch_size);
    detail::eval::check_sgd(where, owner, o_.lr, o_.momentum, o_.weight_decay);
    augment_.check(where);
    classes_ = detail::eval::check_supervised_sets(train_, validation_, "validation", supernet_->in_channels(), augment_, o_.batch_size,
                                                   o_.classes, where, "supervised evaluation");
    classifier_ = construct_seeded(stream_seed(o_.seed, "supervised.classifier"), [&] { return torch::nn::Linear(supernet_->feature_dim(), classes_); });
    params_ = supernet_->torch::nn::Module::parameters();  // ResNetSupernet::parameters(α) counts
    for (auto& p : classifier_->parameters()) params_.push_back(p);
    optimizer_ = std::make_unique<torch::optim::SGD>(
        params_, torch::optim::SGDOptions(o_.lr).momentum(o_.momentum).weight_decay(o_.weight_decay));
  }

  /// k training steps on α, then the validation cross-entropy (lower is better) and top-1 accuracy.
  Evaluation evaluate(const Architecture& a) {
    supernet_->check(a, "faunae::torch_backend::SupervisedEvaluator::evaluate()");
    supernet_->train();
    classifier_->train();
    double train_loss = 0.0;
    for (std::int64_t step = 0; step < o_.steps; ++step) {
      const auto idx = torch::randperm(train_.size(), gen_, torch::TensorOptions().dtype(torch::kLong)).narrow(0, 0, o_.batch_size);
      const auto images = train_.images.index_select(0, idx);
      const auto x = o_.augment ? augment(images, augment_, gen_) : normalize(images, augment_.mean, augment_.stddev);
      const auto loss = torch::nn::functional::cross_entropy(classifier_->forward(supernet_->forward(x, a)), train_.labels.index_select(0, idx));
      for (auto& p : params_) p.mutable_grad().reset();  // undefined: SGD skips the ops α does not use
      backward(loss);  // cpu_convolution.hpp
      optimizer_->step();
      train_loss += loss.item<double>();
    }
    torch::NoGradGuard no_grad;
    supernet_->eval();
    classifier_->eval();
    const auto score = detail::eval::classification_score([&](const torch::Tensor& x) { return classifier_->forward(supernet_->forward(x, a)); },
                                                          validation_, augment_, o_.batch_size);
    const auto count = static_cast<double>(validation_.size());
    return Evaluation{score.loss_sum / count,
                      {{"accuracy", static_cast<double>(score.correct) / count}, {"train_loss", train_loss / static_cast<double>(o_.steps)}}};
  }

  ResNetSupernet& supernet() noexcept { return supernet_; }
  torch::nn::Linear& classifier() noexcept { return classifier_; }
  std::int64_t classes() const noexcept { return classes_; }

 private:
  ImageDataset train_, validation_;
  AugmentOptions augment_;
  SupervisedEvaluatorOptions o_;
  ResNetSupernet supernet_;
  torch::nn::Linear classifier_{nullptr};
  std::int64_t classes_ = 0;
  torch::Generator gen_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::SGD> optimizer_;
};
static_assert(faunae::Evaluator<SupervisedEvaluator>, "SupervisedEvaluator must satisfy faunae::Evaluator");

}  // namespace faunae::torch_backend

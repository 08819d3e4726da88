// Stand-alone supervised training of one architecture from scratch: the ground truth that label-free
// evaluators are judged against (docs/benchmarks.md, "Ground truth on Fashion-MNIST"), and the recipe
// by which found networks are judged end to end.
//
//   StandaloneTrainingOptions o;              // 3 epochs, batch 128, SGD lr 0.1 with cosine decay
//   o.seed = 1;                               // initial weights and batch order
//   StandaloneResult r = train_standalone(space_options, alpha, train, test, default_augment_options(Stem::gray28), o);
//   r.test_accuracy;                          // top-1 on every image of `test`, in [0, 1]
//
// The network is ResNetSupernet(space, α): only α's ops exist, with fresh weights drawn from LibTorch's
// default generator reseeded with the seed (nothing else moves that generator). A linear classifier on
// its pooled features is trained with it, by cross-entropy, SGD with momentum and weight decay, the
// learning rate following a cosine from `lr` to 0 over all steps (one value per step). Each epoch
// visits every training image once in an order drawn from the seed; the last, partial batch is
// dropped. Training images are normalised with the AugmentOptions' mean and stddev, and augmented
// (the random resized crop and flip of supervised_augment_options) only with `augment`. The test
// images are never augmented; they are scored in eval mode, without gradients.
//
// Two options make the score less noisy from seed to seed (the truth-v2 pilot measures them,
// docs/benchmarks.md): `bn_recalibration_images` recomputes BatchNorm's running statistics after
// training as exact means over the first N training images ("precise BN", Wu & Johnson, "Rethinking
// 'Batch' in BatchNorm", 2021) instead of the exponential average of the last few batches; and
// `weight_averaging_fraction` scores the uniform average of the weights after each of the last
// steps (tail averaging, as in SWA, Izmailov et al. 2018), which needs the recalibration because
// averaged weights have no running statistics of their own. With `score_plain_too` the result also
// holds the scores without them, from the same run.
//
// The same options, data, LibTorch version and thread count give the same numbers. Errors are
// InvalidArgument naming the function, the rule and the bad value.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>
#include <numbers>
#include <string_view>
#include <tuple>

#include <fmt/format.h>
#include <torch/torch.h>

#include "faunae/core/architecture.hpp"
#include "faunae/core/error.hpp"
#include "faunae/torch/augment.hpp"
#include "faunae/torch/cpu_convolution.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/evaluation.hpp"
#include "faunae/torch/resnet_space.hpp"

namespace faunae::torch_backend {

/// The recipe of train_standalone().
struct StandaloneTrainingOptions {
  std::int64_t epochs = 3;          ///< passes over the training images
  std::int64_t batch_size = 128;    ///< images per SGD step (the last, partial batch of an epoch is dropped)
  double lr = 0.1;                  ///< initial learning rate, decayed to 0 by a cosine over all steps
  double momentum = 0.9;
  double weight_decay = 5e-4;
  bool augment = false;             ///< crop and flip (supervised_augment_options); false: images as they are
  std::int64_t classes = -1;        ///< -1: 1 + the largest label of either set
  std::int64_t eval_batch = 1000;   ///< test images per forward pass
  std::uint64_t seed = 0;           ///< initial weights, batch order and augmentations
  /// After training, BatchNorm's running statistics become exact means over the first N training
  /// images (not augmented, eval_batch at a time); 0 keeps the running averages of training.
  std::int64_t bn_recalibration_images = 0;
  /// Score the uniform average of the weights after each of the last ceil(f × steps) steps; 0 scores
  /// the final weights. Needs bn_recalibration_images > 0.
  double weight_averaging_fraction = 0.0;
  /// Also score the final weights with training's running statistics (StandaloneResult::plain_*) and,
  /// with averaging, the final weights with recalibrated statistics: one run compares the recipes.
  bool score_plain_too = false;

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("epochs", self.epochs), f("batch_size", self.batch_size), f("lr", self.lr), f("momentum", self.momentum),
        f("weight_decay", self.weight_decay), f("augment", self.augment), f("classes", self.classes),
        f("eval_batch", self.eval_batch), f("seed", self.seed), f("bn_recalibration_images", self.bn_recalibration_images),
        f("weight_averaging_fraction", self.weight_averaging_fraction), f("score_plain_too", self.score_plain_too);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where) const {
    constexpr std::string_view owner = "StandaloneTrainingOptions";
    detail::eval::require_positive(where, owner, "epochs", epochs);
    detail::eval::require_positive(where, owner, "batch_size", batch_size);
    detail::eval::require_positive(where, owner, "eval_batch", eval_batch);
    detail::eval::check_sgd(where, owner, lr, momentum, weight_decay);
    if (bn_recalibration_images < 0)
      throw InvalidArgument(fmt::format("{}: StandaloneTrainingOptions::bn_recalibration_images must be >= 0 (0 = off), got {}", where,
                                        bn_recalibration_images));
    if (!(weight_averaging_fraction >= 0.0 && weight_averaging_fraction <= 1.0))
      throw InvalidArgument(fmt::format("{}: StandaloneTrainingOptions::weight_averaging_fraction must be in [0, 1], got {}", where,
                                        weight_averaging_fraction));
    if (weight_averaging_fraction > 0.0 && bn_recalibration_images == 0)
      throw InvalidArgument(fmt::format("{}: StandaloneTrainingOptions::weight_averaging_fraction = {} needs bn_recalibration_images > 0 "
                                        "(averaged weights have no running BatchNorm statistics of their own), got 0",
                                        where, weight_averaging_fraction));
  }
};

/// What train_standalone() measured.
struct StandaloneResult {
  double test_accuracy = 0.0;     ///< top-1 on the test images, in [0, 1]
  double test_loss = 0.0;         ///< mean cross-entropy on the test images
  double train_loss = 0.0;        ///< mean cross-entropy of the last epoch's steps
  std::int64_t parameters = 0;    ///< of the network (without the classifier)
  std::int64_t steps = 0;         ///< SGD steps taken
  double seconds = 0.0;           ///< wall time of training and testing
  /// With score_plain_too: the final weights with training's running statistics (the score without
  /// recalibration and averaging); otherwise NaN.
  double plain_test_accuracy = std::numeric_limits<double>::quiet_NaN();
  double plain_test_loss = std::numeric_limits<double>::quiet_NaN();
  /// With score_plain_too and averaging: the final weights with recalibrated statistics; otherwise NaN.
  double recalibrated_final_test_accuracy = std::numeric_limits<double>::quiet_NaN();
};

namespace detail::standalone {

/// Recomputes every BatchNorm's running statistics of `net` as exact means over the first `images`
/// images of `data` (normalised, not augmented), eval_batch at a time: "precise BN".
inline void recalibrate_batch_norm(torch::nn::Module& net, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                   const ImageDataset& data, std::int64_t images, std::int64_t eval_batch,
                                   const AugmentOptions& augment_options, torch::Device device) {
  std::vector<std::pair<torch::nn::BatchNorm2dImpl*, c10::optional<double>>> norms;
  for (const auto& m : net.modules(/*include_self=*/false))
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>(); bn != nullptr && bn->options.track_running_stats()) {
      norms.emplace_back(bn, bn->options.momentum());
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // cumulative average over the batches below
    }
  const std::int64_t n = std::min(images, data.size());
  const std::int64_t batch = std::min(eval_batch, n);
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.train();
  for (std::int64_t i = 0; i + batch <= n; i += batch)  // equal batches: the mean of their means is exact
    forward(normalize(data.images.narrow(0, i, batch), augment_options.mean, augment_options.stddev).to(device));
  net.train(was_training);
  for (auto& [bn, momentum] : norms) bn->options.momentum(momentum);
}

}  // namespace detail::standalone

/// Trains ResNetSupernet(space, a) and a linear classifier from scratch on `train` and scores them on
/// `test` (see the top of this file). Both sets must be labelled, with the stem's channels.
inline StandaloneResult train_standalone(const ResNetSpaceOptions& space, const Architecture& a, const ImageDataset& train,
                                         const ImageDataset& test, const AugmentOptions& augment_options,
                                         StandaloneTrainingOptions o = {}, torch::Device device = torch::kCPU) {
  constexpr std::string_view where = "faunae::torch_backend::train_standalone()";
  o.check(where);
  augment_options.check(where);
  const auto start = std::chrono::steady_clock::now();
  ResNetSupernet net = construct_seeded(stream_seed(o.seed, "standalone.network"), [&] { return ResNetSupernet(space, a); });
  const std::int64_t classes = detail::eval::check_supervised_sets(train, test, "test", net->in_channels(), augment_options, o.batch_size,
                                                                   o.classes, where, "supervised training");
  torch::nn::Linear classifier = construct_seeded(stream_seed(o.seed, "standalone.classifier"), [&] { return torch::nn::Linear(net->feature_dim(), classes); });
  net->to(device);
  classifier->to(device);

  std::vector<torch::Tensor> params = net->torch::nn::Module::parameters();
  for (auto& p : classifier->parameters()) params.push_back(p);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  const AugmentOptions crop_flip = [&] {
    AugmentOptions c = augment_options;
    c.jitter_p = 0.0;
    c.grayscale_p = 0.0;
    c.blur_p = 0.0;
    return c;
  }();
  torch::Generator gen = make_generator(stream_seed(o.seed, "standalone.augment"));
  const std::int64_t per_epoch = train.size() / o.batch_size;
  const std::int64_t total = per_epoch * o.epochs;
  StandaloneResult r;
  // Tail averaging: the uniform mean of the weights after each of the last `averaged_steps` steps.
  const std::int64_t averaged_steps =
      o.weight_averaging_fraction > 0.0
          ? std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(o.weight_averaging_fraction * static_cast<double>(total))))
          : 0;
  std::vector<torch::Tensor> averaged;
  std::int64_t averaged_count = 0;
  net->train();
  classifier->train();
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    const auto order = torch::randperm(train.size(), gen, torch::TensorOptions().dtype(torch::kLong));
    double epoch_loss = 0.0;
    for (std::int64_t i = 0; i < per_epoch; ++i, ++r.steps) {
      const double lr = 0.5 * o.lr * (1.0 + std::cos(std::numbers::pi * static_cast<double>(r.steps) / static_cast<double>(total)));
      for (auto& group : sgd.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      const auto idx = order.narrow(0, i * o.batch_size, o.batch_size);
      const auto images = train.images.index_select(0, idx);
      const auto x = o.augment ? augment(images, crop_flip, gen) : normalize(images, augment_options.mean, augment_options.stddev);
      const auto loss = torch::nn::functional::cross_entropy(classifier->forward(net->forward(x.to(device))),
                                                             train.labels.index_select(0, idx).to(device));
      sgd.zero_grad();
      backward(loss);  // cpu_convolution.hpp: oneDNN kept out where unreliable
      sgd.step();
      epoch_loss += loss.item<double>();
      if (r.steps + averaged_steps >= total) {
        torch::NoGradGuard no_grad;
        ++averaged_count;
        if (averaged.empty())
          for (const auto& p : params) averaged.push_back(p.detach().clone());
        else
          for (std::size_t k = 0; k < params.size(); ++k) averaged[k].add_(params[k].detach() - averaged[k], 1.0 / static_cast<double>(averaged_count));
      }
    }
    r.train_loss = epoch_loss / static_cast<double>(per_epoch);
  }
  torch::NoGradGuard no_grad;
  // Top-1 accuracy and mean cross-entropy on `test`, in eval mode.
  const auto score_test = [&] {
    net->eval();
    classifier->eval();
    const auto score = detail::eval::classification_score([&](const torch::Tensor& x) { return classifier->forward(net->forward(x)); },
                                                          test, augment_options, o.eval_batch, device);
    const auto n = static_cast<double>(test.size());
    return std::pair{static_cast<double>(score.correct) / n, score.loss_sum / n};
  };
  const auto recalibrate = [&] {
    detail::standalone::recalibrate_batch_norm(*net, [&](const torch::Tensor& x) { return net->forward(x); }, train,
                                               o.bn_recalibration_images, o.eval_batch, augment_options, device);
  };
  if (o.score_plain_too) std::tie(r.plain_test_accuracy, r.plain_test_loss) = score_test();
  if (o.bn_recalibration_images > 0) {
    if (averaged_steps > 0) {
      if (o.score_plain_too) {
        recalibrate();
        r.recalibrated_final_test_accuracy = score_test().first;
      }
      for (std::size_t k = 0; k < params.size(); ++k) params[k].detach().copy_(averaged[k]);
    }
    recalibrate();
  }
  std::tie(r.test_accuracy, r.test_loss) = score_test();
  r.parameters = net->parameters(a);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace faunae::torch_backend

// RotationEvaluator: a label-free score of an architecture by the rotation pretext task (Gidaris et
// al., ICLR 2018), the self-supervised proxy of UnNAS (Liu et al., ECCV 2020). For each α, a fresh
// network, initialised from the seed (the same start for every α), trains k SGD steps to tell which
// quarter turn each training image was given (rotation_task: four turns per image, the turn as its
// label), and α's loss is its error rate on the quarter turns of the held-out images: 1 − top-1.
// No class label is read.
//
//   auto [train, validation] = faunae::torch_backend::split(images, 0.9, seed);   // labels unused
//   faunae::torch_backend::RotationEvaluator evaluator(space_options, train, validation,
//                                                      default_augment_options(space_options.stem), {.steps = 30});
//   search.run(evaluator);
//
// Measured against a supervised ground truth on Fashion-MNIST (docs/benchmarks.md, "Evaluator
// fidelity"): of the label-free evaluators tried it ranks architectures best. Each evaluation is
// independent of the others (no weight sharing), so the search's order does not change a score and
// the evaluator's state is its options: state() records them and restore() refuses others.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "faunae/concepts/evaluator.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/error.hpp"
#include "faunae/torch/augment.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/evaluation.hpp"
#include "faunae/torch/resnet_space.hpp"
#include "faunae/torch/stem.hpp"

namespace faunae::torch_backend {

/// Settings of RotationEvaluator: the short training of each α on the rotation task.
struct RotationEvaluatorOptions {
  std::int64_t steps = 30;        ///< k: SGD steps of the fresh network on α
  std::int64_t batch_size = 128;  ///< rotated images per step (and per validation batch)
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;  ///< SGD, as SupervisedEvaluator's
  std::uint64_t seed = 0;         ///< initial weights and batches (the same for every α)

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("steps", self.steps), f("batch_size", self.batch_size), f("lr", self.lr), f("momentum", self.momentum),
        f("weight_decay", self.weight_decay), f("seed", self.seed);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where) const {
    constexpr std::string_view owner = "RotationEvaluatorOptions";
    detail::eval::require_positive(where, owner, "steps", steps);
    detail::eval::require_positive(where, owner, "batch_size", batch_size);
    detail::eval::check_sgd(where, owner, lr, momentum, weight_decay);
  }
};

/// See the top of this file. evaluate(α) returns Evaluation{loss = held-out rotation error in [0, 1],
/// metrics = {"accuracy": 1 − loss, "validation_loss": held-out cross-entropy, "train_loss": mean
/// cross-entropy of the k steps, "seconds"}}. Runs on the CPU.
class RotationEvaluator {
 public:
  /// `train` and `validation`: images of any labels or none (they are not read); square images with
  /// the channels of the space's stem and of `augment` (its mean and stddev normalise them).
  RotationEvaluator(const ResNetSpaceOptions& space, const ImageDataset& train, const ImageDataset& validation, AugmentOptions augment,
                    RotationEvaluatorOptions options = {})
      : space_(space), train_(rotation_task(train)), validation_(rotation_task(validation)), augment_(std::move(augment)), o_(options) {
    constexpr std::string_view where = "faunae::torch_backend::RotationEvaluator";
    o_.check(where);
    augment_.check(where);
    detail::eval::check_supervised_sets(train_, validation_, "validation", stem_channels(space_.stem), augment_, o_.batch_size, 4, where,
                                        "rotation prediction");
  }

  Evaluation evaluate(const Architecture& a) {
    const auto start = std::chrono::steady_clock::now();
    SupervisedEvaluator fresh(space_, train_, validation_, augment_, supervised_options());
    const Evaluation e = fresh.evaluate(a);
    const double accuracy = metric(e, "accuracy"), train_loss = metric(e, "train_loss");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Evaluation{1.0 - accuracy, {{"accuracy", accuracy}, {"validation_loss", e.loss}, {"train_loss", train_loss}, {"seconds", seconds}}};
  }

  /// The evaluator keeps nothing between evaluations: its state is its options, which a checkpoint
  /// records so that a search cannot resume with another recipe.
  nlohmann::json state() const {
    return {{"kind", "rotation"}, {"steps", o_.steps}, {"batch_size", o_.batch_size}, {"lr", o_.lr}, {"seed", o_.seed}};
  }
  void restore(const nlohmann::json& j) const {
    if (j != state())
      throw IoError(fmt::format("faunae::torch_backend::RotationEvaluator::restore(): the checkpoint was written with the evaluator {}, "
                                "this one is {}", j.dump().substr(0, 200), state().dump()));
  }

  const RotationEvaluatorOptions& options() const noexcept { return o_; }

 private:
  SupervisedEvaluatorOptions supervised_options() const {
    SupervisedEvaluatorOptions s;
    s.steps = o_.steps;
    s.batch_size = o_.batch_size;
    s.lr = o_.lr;
    s.momentum = o_.momentum;
    s.weight_decay = o_.weight_decay;
    s.augment = false;  // a crop or flip would change what the turn looks like
    s.classes = 4;
    s.seed = o_.seed;
    return s;
  }
  static double metric(const Evaluation& e, std::string_view name) {
    for (const auto& [key, value] : e.metrics)
      if (key == name) return value;
    throw std::logic_error(fmt::format("faunae::torch_backend::RotationEvaluator: SupervisedEvaluator reported no '{}'", name));
  }

  ResNetSpaceOptions space_;
  ImageDataset train_, validation_;
  AugmentOptions augment_;
  RotationEvaluatorOptions o_;
};
static_assert(faunae::StatefulEvaluator<RotationEvaluator>, "RotationEvaluator must satisfy faunae::StatefulEvaluator");

}  // namespace faunae::torch_backend

// RotationEvaluator: a label-free score of an architecture by the rotation pretext task (Gidaris et
// al., ICLR 2018), the self-supervised proxy of UnNAS (Liu et al., ECCV 2020). For each α, a fresh
// network, initialised from the seed (the same start and the same batches for every α), trains k SGD
// steps to tell which quarter turn each training image was given (rotation_task: four turns per image,
// the turn as its label). No class label is read. α's loss is, by RotationEvaluatorOptions::score,
//   - RotationScore::training_loss (the default): the mean rotation cross-entropy of the k training
//     steps, i.e. how fast α learns the pretext task, the "training speed estimate" of Ru et al.
//     ("Speedy performance estimation for neural architecture search", NeurIPS 2021) on self-made
//     labels; or
//   - RotationScore::held_out_error: 1 − top-1 on the quarter turns of the held-out images (UnNAS's).
//
//   auto [train, validation] = faunae::torch_backend::split(images, 0.9, seed);   // labels unused
//   faunae::torch_backend::RotationEvaluator evaluator(space_options, train, validation,
//                                                      default_augment_options(space_options.stem), {.steps = 30});
//   search.run(evaluator);
//
// Measured against a supervised ground truth on Fashion-MNIST (docs/benchmarks.md, "Evaluator
// fidelity"): the defaults (lr 0.03, training_loss) were chosen on the within-budget sample and then
// checked on the whole-space sample. Each evaluation is independent of the others (no weight sharing),
// so the search's order does not change a score and the evaluator's state is its options: state()
// records them and restore() refuses others.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "faunae/concepts/evaluator.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/options_reader.hpp"
#include "faunae/torch/augment.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/evaluation.hpp"
#include "faunae/torch/resnet_space.hpp"
#include "faunae/torch/stem.hpp"

namespace faunae::torch_backend {

/// What RotationEvaluator returns as α's loss (see the top of this file).
enum class RotationScore {
  training_loss,  ///< mean rotation cross-entropy of the k training steps (training speed)
  held_out_error  ///< 1 − top-1 on the held-out images' quarter turns (UnNAS)
};

/// The scores' names, in the enum's order: "training-loss", "held-out-error".
inline constexpr std::array<std::string_view, 2> kRotationScores = {"training-loss", "held-out-error"};
inline std::string_view to_string(RotationScore s) noexcept { return kRotationScores[static_cast<std::size_t>(s)]; }
/// The score called `name`; otherwise InvalidArgument naming the names allowed.
inline RotationScore parse_rotation_score(std::string_view name) {
  for (std::size_t i = 0; i < kRotationScores.size(); ++i)
    if (kRotationScores[i] == name) return static_cast<RotationScore>(i);
  throw InvalidArgument(fmt::format("faunae::torch_backend::parse_rotation_score(): '{}' is not a rotation score; use one of {}", name,
                                    fmt::join(kRotationScores, ", ")));
}

}  // namespace faunae::torch_backend

namespace faunae {
/// A rotation score in options' JSON: its name (kRotationScores).
template <>
struct OptionCodec<torch_backend::RotationScore> {
  static torch_backend::RotationScore from_json(const nlohmann::json& v, std::string_view key) {
    return option_from_name(v, key, "a rotation score's name", torch_backend::parse_rotation_score);
  }
  static nlohmann::json to_json(torch_backend::RotationScore s) { return std::string(torch_backend::to_string(s)); }
};
}  // namespace faunae

namespace faunae::torch_backend {

/// Settings of RotationEvaluator: the short training of each α on the rotation task.
struct RotationEvaluatorOptions {
  std::int64_t steps = 30;        ///< k: SGD steps of the fresh network on α
  std::int64_t batch_size = 128;  ///< rotated images per step (and per validation batch)
  /// SGD. lr 0.03: at 0.1 (SupervisedEvaluator's) the fresh networks mostly diverge in 30 steps
  /// (held-out accuracy near chance, cross-entropy in the thousands; docs/benchmarks.md).
  double lr = 0.03, momentum = 0.9, weight_decay = 1e-4;
  std::uint64_t seed = 0;         ///< initial weights and batches (the same for every α)
  RotationScore score = RotationScore::training_loss;  ///< what the loss is
  /// Train and score on the images shrunk by this integer factor (resized(): area interpolation,
  /// e.g. 28 → 14 for 2); 1 = as given. The measured fidelity is at 2 on Fashion-MNIST, where it is
  /// about 4× cheaper than 1 (docs/benchmarks.md).
  std::int64_t downsample = 1;
  /// Fresh networks per α, from seeds seed, seed + 1, …; α's loss and metrics are their means. The
  /// score's own seed-to-seed noise is about as large as the differences it ranks: on the whole-space
  /// sample of docs/benchmarks.md, 2 raised Kendall τ against the mean of six truth seeds from
  /// +0.508 / +0.518 (seed 0 / seed 1) to +0.570 at twice the time; within α0's budget, +0.690
  /// against +0.676 / +0.622.
  std::int64_t repeats = 1;

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("steps", self.steps), f("batch_size", self.batch_size), f("lr", self.lr), f("momentum", self.momentum),
        f("weight_decay", self.weight_decay), f("seed", self.seed), f("score", self.score),
        f("downsample", self.downsample), f("repeats", self.repeats);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where) const {
    constexpr std::string_view owner = "RotationEvaluatorOptions";
    detail::eval::require_positive(where, owner, "steps", steps);
    detail::eval::require_positive(where, owner, "batch_size", batch_size);
    detail::eval::check_sgd(where, owner, lr, momentum, weight_decay);
    detail::eval::require_positive(where, owner, "downsample", downsample);
    detail::eval::require_positive(where, owner, "repeats", repeats);
  }
};

/// See the top of this file. evaluate(α) returns Evaluation{loss = the mean training cross-entropy or
/// the held-out rotation error (options().score), metrics = {"accuracy": held-out top-1 on the turns,
/// "validation_loss": held-out cross-entropy, "train_loss": mean cross-entropy of the k steps,
/// "seconds"}}: both scores are always measured. Runs on the CPU.
class RotationEvaluator {
 public:
  /// `train` and `validation`: images of any labels or none (they are not read); square images with
  /// the channels of the space's stem and of `augment` (its mean and stddev normalise them), whose
  /// side options.downsample divides.
  RotationEvaluator(const ResNetSpaceOptions& space, const ImageDataset& train, const ImageDataset& validation, AugmentOptions augment,
                    RotationEvaluatorOptions options = {})
      : space_(space), augment_(std::move(augment)), o_(options) {
    constexpr std::string_view where = "faunae::torch_backend::RotationEvaluator";
    o_.check(where);
    train_ = rotation_task(shrunk(train, where));
    validation_ = rotation_task(shrunk(validation, where));
    augment_.check(where);
    detail::eval::check_supervised_sets(train_, validation_, "validation", stem_channels(space_.stem), augment_, o_.batch_size, 4, where,
                                        "rotation prediction");
  }

  Evaluation evaluate(const Architecture& a) {
    const auto start = std::chrono::steady_clock::now();
    double accuracy = 0.0, train_loss = 0.0, validation_loss = 0.0;
    for (std::int64_t r = 0; r < o_.repeats; ++r) {
      SupervisedEvaluator fresh(space_, train_, validation_, augment_, supervised_options(o_.seed + static_cast<std::uint64_t>(r)));
      const Evaluation e = fresh.evaluate(a);
      accuracy += metric(e, "accuracy");
      train_loss += metric(e, "train_loss");
      validation_loss += e.loss;
    }
    const auto n = static_cast<double>(o_.repeats);
    accuracy /= n, train_loss /= n, validation_loss /= n;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double loss = o_.score == RotationScore::training_loss ? train_loss : 1.0 - accuracy;
    return Evaluation{loss, {{"accuracy", accuracy}, {"validation_loss", validation_loss}, {"train_loss", train_loss}, {"seconds", seconds}}};
  }

  /// The evaluator keeps nothing between evaluations: its state is its options, which a checkpoint
  /// records so that a search cannot resume with another recipe.
  /// `repeats` appears only when it is not 1, so that a checkpoint written before it existed resumes.
  nlohmann::json state() const {
    nlohmann::json j = {{"kind", "rotation"}, {"steps", o_.steps}, {"batch_size", o_.batch_size},         {"lr", o_.lr},
                        {"seed", o_.seed},    {"score", std::string(to_string(o_.score))}, {"downsample", o_.downsample}};
    if (o_.repeats != 1) j["repeats"] = o_.repeats;
    return j;
  }
  void restore(const nlohmann::json& j) const {
    if (j != state())
      throw IoError(fmt::format("faunae::torch_backend::RotationEvaluator::restore(): the checkpoint was written with the evaluator {}, "
                                "this one is {}", j.dump().substr(0, 200), state().dump()));
  }

  const RotationEvaluatorOptions& options() const noexcept { return o_; }

 private:
  /// `d` shrunk by options().downsample; the images must be square and divisible by it.
  ImageDataset shrunk(const ImageDataset& d, std::string_view where) const {
    if (o_.downsample == 1) return d;
    d.check(where);
    if (d.height() != d.width() || d.height() % o_.downsample != 0)
      throw InvalidArgument(fmt::format("{}: RotationEvaluatorOptions::downsample = {} needs square images whose side it divides, got {}×{} "
                                        "({})",
                                        where, o_.downsample, d.height(), d.width(), d.name));
    return resized(d, d.height() / o_.downsample);
  }

  SupervisedEvaluatorOptions supervised_options(std::uint64_t seed) const {
    SupervisedEvaluatorOptions s;
    s.steps = o_.steps;
    s.batch_size = o_.batch_size;
    s.lr = o_.lr;
    s.momentum = o_.momentum;
    s.weight_decay = o_.weight_decay;
    s.augment = false;  // a crop or flip would change what the turn looks like
    s.classes = 4;
    s.seed = seed;
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

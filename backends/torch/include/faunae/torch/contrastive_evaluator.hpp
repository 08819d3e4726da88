// ContrastiveEvaluator: the unsupervised score of FaUNAE (Algorithm 1, steps 5–6): for each α, k
// teacher–student steps of eq. (6)–(7) on training images, then the mean InfoNCE on held-out images.
//
//   auto [train, validation] = faunae::torch_backend::split(load_fashion_mnist(dir, true), 0.9, seed);
//   faunae::torch_backend::ContrastiveEvaluatorOptions o;   // MoCo v2's recipe, k = 10 steps
//   faunae::torch_backend::ContrastiveEvaluator evaluator(space_options, train, validation,
//                                                          default_augment_options(space_options.stem), o);
//   faunae::FaUNAE<faunae::BlockSpace> search(space, {}, {}, options);
//   search.run(evaluator);
//
// Weights, momenta and the queue carry over from one evaluation to the next (weight sharing in
// the supernet). With ContrastiveEvaluatorOptions::state_directory set, it is a
// faunae::StatefulEvaluator: checkpoints of the search hold its whole state, and a resumed search
// ends exactly where an uninterrupted one does.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "faunae/concepts/evaluator.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/error.hpp"
#include "faunae/torch/augment.hpp"
#include "faunae/torch/collective.hpp"
#include "faunae/torch/darts_space.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/export.hpp"
#include "faunae/torch/moco.hpp"
#include "faunae/torch/resnet_space.hpp"

namespace faunae::torch_backend {

/// Settings of the evaluator: MoCo's recipe (MocoOptions, flat: o.batch_size, o.lr, ...) and k.
struct ContrastiveEvaluatorOptions : MocoOptions {
  std::int64_t steps = 10;                   ///< k: training steps of the student per evaluation (Algorithm 1)
  std::int64_t validation_batch_size = 256;  ///< images per forward of the validation loss
  /// Where state() writes the learner's tensors (one file per checkpoint, the last two kept); empty:
  /// state() throws, so checkpoints need it.
  std::filesystem::path state_directory;

  /// MocoOptions' fields, then the evaluator's.
  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    MocoOptions::for_each_option(self, f);
    f("steps", self.steps), f("validation_batch_size", self.validation_batch_size), f("state_directory", self.state_directory);
  }

  /// MocoOptions::check, then k and the validation batch: throws InvalidArgument naming `where`, the
  /// option and its value.
  void check(std::string_view where, int world_size = 1) const {
    MocoOptions::check(where, world_size);
    if (steps < 1) throw InvalidArgument(fmt::format("{}: ContrastiveEvaluatorOptions::steps must be positive, got {}", where, steps));
    if (validation_batch_size < 1)
      throw InvalidArgument(fmt::format("{}: ContrastiveEvaluatorOptions::validation_batch_size must be positive, got {}", where,
                                        validation_batch_size));
  }
};

/// See the top of this file. Net: ResNetSupernet (default) or DartsSupernet; Comm: SingleProcess or
/// a process group (distributed.hpp). Every process of a group must construct it with the same
/// options and data; each trains on its share of every batch.
template <Supernet Net = ResNetSupernet, Collective Comm = SingleProcess>
class BasicContrastiveEvaluator {
 public:
  using NetOptions = SupernetOptions<Net>;

  BasicContrastiveEvaluator(const NetOptions& space, ImageDataset train, ImageDataset validation, AugmentOptions augment,
                            ContrastiveEvaluatorOptions options = {}, Comm comm = {})
      : train_(std::move(train)), validation_(std::move(validation)), augment_(std::move(augment)), o_(std::move(options)),
        learner_(construct_seeded(stream_seed(o_.seed, "evaluator.network"), [&] { return Net(space); }), static_cast<const MocoOptions&>(o_),
                 std::move(comm)),
        order_(make_generator(stream_seed(o_.seed, "evaluator.order"))) {
    constexpr std::string_view where = "faunae::torch_backend::ContrastiveEvaluator";
    o_.check(where, learner_.collective().world_size());
    train_.check(where);
    validation_.check(where);
    if (train_.size() < o_.batch_size)
      throw InvalidArgument(fmt::format("{}: the training set '{}' has {} images, fewer than a batch of {}", where, train_.name, train_.size(),
                                        o_.batch_size));
    if (validation_.size() < learner_.collective().world_size())
      throw InvalidArgument(fmt::format("{}: the validation set '{}' has {} images, fewer than the {} processes", where, validation_.name,
                                        validation_.size(), learner_.collective().world_size()));
    augment_.check(where);
    if (static_cast<std::int64_t>(augment_.mean.size()) != train_.channels())
      throw InvalidArgument(fmt::format("{}: the images have {} channels but AugmentOptions::mean has {} entries", where, train_.channels(),
                                        augment_.mean.size()));
  }

  /// k training steps on α, then the validation InfoNCE of α (lower is better). Metrics: the mean
  /// training loss of the k steps, the learning rate, the seconds taken, and the held-out
  /// instance-discrimination accuracy (MocoLearner::validation_score; higher is better).
  Evaluation evaluate(const Architecture& a) {
    const auto start = std::chrono::steady_clock::now();
    learner_.student()->check(a, "faunae::torch_backend::ContrastiveEvaluator::evaluate()");
    auto train_loss = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(o_.device));
    for (std::int64_t step = 0; step < o_.steps; ++step) train_loss += train_one_step(a);
    const auto validation = learner_.validation_score(validation_, a, augment_, stream_seed(o_.seed, "evaluator.validation_views"),
                                                      o_.validation_batch_size);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Evaluation{validation.loss,
                      {{"train_loss", train_loss.item<double>() / static_cast<double>(o_.steps)},
                       {"lr", learner_.learning_rate()},
                       {"seconds", seconds},
                       {"instance_accuracy", validation.instance_accuracy}}};
  }

  /// Trains the student `steps` steps on α without scoring it: a warm-up before the search, so that
  /// the first comparisons of trial and test are not made while the queue still holds its random
  /// initial keys (the InfoNCE of a fresh queue rises for K / batch steps whatever the architecture,
  /// and every early mutation would look worse). Returns the mean training loss.
  double warm_up(const Architecture& a, std::int64_t steps) {
    learner_.student()->check(a, "faunae::torch_backend::ContrastiveEvaluator::warm_up()");
    if (steps < 0) throw InvalidArgument(fmt::format("faunae::torch_backend::ContrastiveEvaluator::warm_up(): steps must be >= 0, got {}", steps));
    auto total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(o_.device));
    for (std::int64_t step = 0; step < steps; ++step) total += train_one_step(a);
    return steps == 0 ? 0.0 : total.item<double>() / static_cast<double>(steps);
  }

  /// Saves the learner's tensors and the batch order's generator to a new file in
  /// state_directory and returns its name (with a checksum-free reference: the file itself is
  /// written atomically). Keeps this file and the one before (an interrupted checkpoint write leaves
  /// the previous checkpoint pointing at a file that still exists).
  nlohmann::json state() const {
    constexpr std::string_view where = "faunae::torch_backend::ContrastiveEvaluator::state()";
    if (o_.state_directory.empty())
      throw InvalidArgument(fmt::format("{}: checkpoints need ContrastiveEvaluatorOptions::state_directory (where the weights go)", where));
    std::error_code ec;
    std::filesystem::create_directories(o_.state_directory, ec);
    if (ec) throw IoError(fmt::format("{}: cannot create '{}': {}", where, o_.state_directory.string(), ec.message()));
    const auto name = fmt::format("contrastive-rank{}-step{:010}.pt", learner_.collective().rank(), learner_.steps());
    learner_.save(o_.state_directory / name);
    detail::save_tensor_dict({{"order", order_.get_state()}}, o_.state_directory / (name + ".order"));
    if (written_.empty() || written_.back() != name) written_.push_back(name);
    while (written_.size() > 2) {
      std::filesystem::remove(o_.state_directory / written_.front(), ec);
      std::filesystem::remove(o_.state_directory / (written_.front() + ".order"), ec);
      written_.pop_front();
    }
    return {{"kind", "contrastive"}, {"file", name}, {"steps", learner_.steps()}};
  }

  /// Loads what state() wrote (the file named in `j`, in state_directory).
  void restore(const nlohmann::json& j) {
    constexpr std::string_view where = "faunae::torch_backend::ContrastiveEvaluator::restore()";
    if (!j.is_object() || !j.contains("file") || !j["file"].is_string() || j.value("kind", "") != "contrastive")
      throw IoError(fmt::format("{}: expects {{\"kind\": \"contrastive\", \"file\": ...}}, got {}", where, j.dump().substr(0, 200)));
    if (o_.state_directory.empty())
      throw InvalidArgument(fmt::format("{}: set ContrastiveEvaluatorOptions::state_directory to the folder of the weights", where));
    const std::string name = j["file"].get<std::string>();
    if (name.find('/') != std::string::npos || name.find("..") != std::string::npos)
      throw IoError(fmt::format("{}: the file name '{}' must be a plain name inside state_directory", where, name));
    const std::string text = read_file(o_.state_directory / (name + ".order"), where);
    torch::IValue value;
    try {
      value = detail::pickle_load(text);  // export.hpp: reads bounded by the file
    } catch (const std::exception& e) {
      throw IoError(fmt::format("{}: '{}.order' is damaged: {}", where, name, error_text(e)));
    }
    if (!value.isGenericDict() || !value.toGenericDict().contains("order") || !value.toGenericDict().at("order").isTensor())
      throw IoError(fmt::format("{}: '{}.order' holds no generator state", where, name));
    const auto order_state = value.toGenericDict().at("order").toTensor();
    auto probe = make_generator(0);
    try {
      probe.set_state(order_state);
    } catch (const std::exception& e) {
      throw IoError(fmt::format("{}: '{}.order' holds a damaged generator state: {}", where, name, error_text(e)));
    }
    learner_.load(o_.state_directory / name);  // checks everything before it changes anything
    order_.set_state(order_state);
    written_ = {name};
  }

  MocoLearner<Net, Comm>& learner() noexcept { return learner_; }
  Net& student() noexcept { return learner_.student(); }
  Net& teacher() noexcept { return learner_.teacher(); }
  ContrastiveHead& student_head() noexcept { return learner_.student_head(); }
  ContrastiveHead& teacher_head() noexcept { return learner_.teacher_head(); }
  const KeyQueue& queue() const noexcept { return learner_.queue(); }
  const ContrastiveEvaluatorOptions& options() const noexcept { return o_; }

 private:
  /// One training step on a batch drawn from a generator that every process holds in the same
  /// state; each process trains on its own contiguous share of it.
  torch::Tensor train_one_step(const Architecture& a) {
    const std::int64_t local = learner_.local_batch(), rank = learner_.collective().rank();
    const auto batch = torch::randperm(train_.size(), order_, torch::TensorOptions().dtype(torch::kLong)).narrow(0, 0, o_.batch_size);
    const auto mine = batch.narrow(0, rank * local, local);
    return learner_.train_step(train_.images.index_select(0, mine), a, augment_).to(torch::kFloat64);
  }

  ImageDataset train_, validation_;
  AugmentOptions augment_;
  ContrastiveEvaluatorOptions o_;
  MocoLearner<Net, Comm> learner_;
  torch::Generator order_;
  mutable std::deque<std::string> written_;
};

/// The evaluator over the ResNet space on one process.
using ContrastiveEvaluator = BasicContrastiveEvaluator<ResNetSupernet, SingleProcess>;
static_assert(faunae::StatefulEvaluator<ContrastiveEvaluator>, "ContrastiveEvaluator must satisfy faunae::StatefulEvaluator");
/// The evaluator over the DARTS cell space on one process.
using DartsContrastiveEvaluator = BasicContrastiveEvaluator<DartsSupernet, SingleProcess>;
static_assert(faunae::StatefulEvaluator<DartsContrastiveEvaluator>);

}  // namespace faunae::torch_backend

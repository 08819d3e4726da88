// MocoLearner: the teacher–student of paper III.C (MoCo v2) over a network of the backend — one
// training step of eq. (6) with the teacher following by eq. (7), the validation InfoNCE, the
// cosine schedule, CUDA, mixed precision, data parallelism through a Collective, and exact
// save / load. The ContrastiveEvaluator (search) and train_contrastive (final training) use it.
//
//   ResNetSupernet net(space);
//   MocoOptions o;                       // MoCo v2's recipe; o.device = parse_device("cuda"), ...
//   MocoLearner learner(net, o);
//   for (...) learner.train_step(batch_of_uint8_images, alpha, augment_options);
//   double l = learner.validation_loss(validation_set, alpha, augment_options, /*view_seed=*/1);
//
// Net is ResNetSupernet or DartsSupernet (a supernet, or a standalone network built with a fixed
// architecture: then α is that architecture). The teacher is a second Net of the same structure.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numbers>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "faunae/concepts/hooks.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/torch/augment.hpp"
#include "faunae/torch/collective.hpp"
#include "faunae/torch/cpu_convolution.hpp"
#include "faunae/torch/contrastive.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/device.hpp"
#include "faunae/torch/export.hpp"

namespace faunae::torch_backend {

/// The teacher–student recipe; the defaults are the paper's (IV.B) and MoCo v2's.
struct MocoOptions {
  std::int64_t batch_size = 256;    ///< images per step over all processes (two views each)
  std::int64_t queue_size = 4096;   ///< K negatives; a multiple of batch_size
  std::int64_t shuffle_groups = 8;  ///< shuffled-BN groups of the keys on each process; divides the per-process batch
  double tau = 0.2;                 ///< temperature of eq. (6)
  double m = 0.999;                 ///< EMA coefficient of eq. (7)
  double lr = 0.03, momentum = 0.9, weight_decay = 1e-4;  ///< the student's SGD
  /// Cosine schedule: lr·½(1 + cos(π·t/T)) at step t < T, 0 after; T = 0 keeps lr constant.
  std::int64_t schedule_steps = 0;
  std::int64_t head_hidden = 2048, head_out = 128;  ///< projection head of IV.B
  torch::Device device = torch::kCPU;
  Precision precision = Precision::fp32;  ///< bf16 or fp16 autocast on CUDA
  bool channels_last = false;             ///< channels-last convolutions on CUDA
  std::uint64_t seed = 0;

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("batch_size", self.batch_size), f("queue_size", self.queue_size), f("shuffle_groups", self.shuffle_groups),
        f("tau", self.tau), f("m", self.m), f("lr", self.lr), f("momentum", self.momentum),
        f("weight_decay", self.weight_decay), f("schedule_steps", self.schedule_steps), f("head_hidden", self.head_hidden),
        f("head_out", self.head_out), f("device", self.device), f("precision", self.precision),
        f("channels_last", self.channels_last), f("seed", self.seed);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range for a
  /// group of `world_size` processes.
  void check(std::string_view where, int world_size = 1) const {
    const auto fail = [&](std::string_view option, const auto& value, std::string_view rule) {
      throw InvalidArgument(fmt::format("{}: MocoOptions::{} must be {}, got {}", where, option, rule, value));
    };
    if (batch_size < 1) fail("batch_size", batch_size, "positive");
    if (queue_size < 1) fail("queue_size", queue_size, "positive");
    if (shuffle_groups < 1) fail("shuffle_groups", shuffle_groups, "positive");
    if (head_hidden < 1) fail("head_hidden", head_hidden, "positive");
    if (head_out < 1) fail("head_out", head_out, "positive");
    if (schedule_steps < 0) fail("schedule_steps", schedule_steps, ">= 0");
    if (!(tau > 0.0 && std::isfinite(tau))) fail("tau", tau, "positive and finite");
    if (!(m >= 0.0 && m <= 1.0)) fail("m", m, "in [0, 1]");
    if (!(lr >= 0.0 && std::isfinite(lr))) fail("lr", lr, "finite and >= 0");
    if (!(momentum >= 0.0 && momentum < 1.0)) fail("momentum", momentum, "in [0, 1)");
    if (!(weight_decay >= 0.0 && std::isfinite(weight_decay))) fail("weight_decay", weight_decay, "finite and >= 0");
    if (world_size < 1 || batch_size % world_size != 0)
      throw InvalidArgument(fmt::format("{}: the batch size {} must be a multiple of the number of processes, {}", where, batch_size, world_size));
    if (queue_size % batch_size != 0)
      throw InvalidArgument(fmt::format("{}: the queue size K = {} must be a multiple of the batch size, got a batch of {}", where, queue_size,
                                        batch_size));
    if (const std::uint64_t bytes = KeyQueue::queue_bytes(queue_size, head_out), memory = physical_memory_bytes();
        memory > 0 && bytes > memory)
      throw InvalidArgument(fmt::format("{}: MocoOptions::queue_size = {} keys of head_out = {} floats need {} bytes, more than the {} "
                                        "bytes of physical memory",
                                        where, queue_size, head_out, bytes, memory));
    if ((batch_size / world_size) % shuffle_groups != 0)
      throw InvalidArgument(fmt::format("{}: the batch size per process {} must be a multiple of shuffle_groups, got {}", where,
                                        batch_size / world_size, shuffle_groups));
    check_precision(precision, device, where);
  }
};

namespace detail {
/// A second network of the same structure as `net` (fresh weights).
template <Supernet Net>
Net twin(const Net& net) {
  return Net(net->options(), net->fixed_architecture());
}

inline std::vector<std::pair<std::string, torch::Tensor>> prefixed(std::string_view prefix, const torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back(fmt::format("{}.{}", prefix, p.key()), p.value());
  return out;
}

/// The entries of `all` whose names start with "prefix.", without the prefix.
inline std::map<std::string, torch::Tensor> strip(const std::map<std::string, torch::Tensor>& all, std::string_view prefix) {
  std::map<std::string, torch::Tensor> out;
  const std::string p = std::string(prefix) + ".";
  for (const auto& [name, t] : all)
    if (name.rfind(p, 0) == 0) out.emplace(name.substr(p.size()), t);
  return out;
}

// By value (a Tensor is a counted handle): a reference into `all`, bound at a call with temporary
// arguments, is what g++ 14's -Wdangling-reference cannot tell from a dangling one.
inline torch::Tensor entry(const std::map<std::string, torch::Tensor>& all, const std::string& name, std::string_view where) {
  const auto it = all.find(name);
  if (it == all.end()) throw IoError(fmt::format("{}: the file has no '{}'", where, name));
  return it->second;
}
}  // namespace detail

/// Student and teacher (each a Net and a ContrastiveHead), the key queue, the student's SGD and the
/// randomness of the augmentations; see the top of this file. Every process of a Collective holds
/// one: the batch is split over the processes, gradients are averaged, keys gathered into every
/// queue, and the validation loss summed, so all processes hold the same weights and see the same
/// losses.
template <Supernet Net, Collective Comm = SingleProcess>
class MocoLearner {
 public:
  /// `student` is used as it is (its weights are trained in place); the teacher starts as a copy.
  MocoLearner(Net student, MocoOptions options, Comm comm = {})
      : o_(checked(std::move(options), comm.world_size())), comm_(std::move(comm)), student_(std::move(student)), teacher_(detail::twin(student_)),
        student_head_(construct_seeded(stream_seed(o_.seed, "moco.head"), [&] {
          return ContrastiveHead(ContrastiveHeadOptions(student_->feature_dim()).hidden(o_.head_hidden).out(o_.head_out));
        })),
        teacher_head_(ContrastiveHeadOptions(student_->feature_dim()).hidden(o_.head_hidden).out(o_.head_out)),  // a copy of the student's
        queue_(o_.queue_size, o_.head_out, make_generator(stream_seed(o_.seed, "moco.queue")), o_.device),
        gen_(make_generator(stream_seed(o_.seed, "moco.augment", static_cast<std::uint64_t>(comm_.rank())))),
        scaler_(o_.device, o_.precision == Precision::fp16) {
    constexpr std::string_view where = "faunae::torch_backend::MocoLearner";
    for (torch::nn::Module* m : modules()) m->to(o_.device);
    if (o_.channels_last && o_.device.is_cuda())
      for (torch::nn::Module* m : modules()) to_channels_last(*m);
    {
      // All processes start from rank 0's student (and its queue).
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> shared;
      for (const auto& [name, t] : state_dict(*student_)) shared.push_back(t);
      for (const auto& [name, t] : state_dict(*student_head_)) shared.push_back(t);
      shared.push_back(queue_.keys());
      comm_.broadcast(shared);
    }
    copy_state(*student_, *teacher_, where);
    copy_state(*student_head_, *teacher_head_, where);
    for (auto& p : teacher_->torch::nn::Module::parameters()) p.set_requires_grad(false);
    for (auto& p : teacher_head_->parameters()) p.set_requires_grad(false);
    auto params = detail::prefixed("backbone", *student_);
    for (auto& p : detail::prefixed("head", *student_head_)) params.push_back(std::move(p));
    for (const auto& [name, t] : params) student_params_.push_back(t);
    for (const auto& t : teacher_->torch::nn::Module::parameters()) teacher_params_.push_back(t);
    for (const auto& t : teacher_head_->parameters()) teacher_params_.push_back(t);
    sgd_ = std::make_unique<MomentumSgd>(std::move(params), o_.lr, o_.momentum, o_.weight_decay);
  }

  /// One step of eq. (6) on this process's share of a batch: `images` (uint8 N×C×H×W, N = the
  /// batch size / processes, on the CPU or the device) augmented twice, queries from the student,
  /// keys from the teacher after its eq. (7) update (shuffled BN), InfoNCE against the queue, an SGD
  /// step with gradients averaged over the processes, then every process's keys go into the queue.
  /// Returns this process's loss (a 0-d tensor on the device: reading it waits for the GPU).
  torch::Tensor train_step(const torch::Tensor& images, const Architecture& a, const AugmentOptions& augment_options) {
    constexpr std::string_view where = "faunae::torch_backend::MocoLearner::train_step()";
    student_->check(a, where);
    if (!images.defined() || images.dim() != 4 || images.size(0) != local_batch())
      throw InvalidArgument(fmt::format("{}: needs a batch of {} images (N×C×H×W) on this process, got shape {}", where, local_batch(),
                                        images.defined() ? images.sizes().vec() : std::vector<std::int64_t>{}));
    set_training(true);
    const auto [x_s, x_t] = two_views(to_device(images, o_.device), augment_options, gen_);
    torch::Tensor q, k;
    {
      AutocastGuard autocast(o_.device, o_.precision);
      q = student_head_->forward(student_->forward(x_s, a));
    }
    q = normalize_rows(q.to(torch::kFloat32));
    {
      torch::NoGradGuard no_grad;
      ema_update(teacher_params_, student_params_, o_.m);  // eq. (7)
      AutocastGuard autocast(o_.device, o_.precision);
      k = shuffle_bn_forward([&](const torch::Tensor& c) { return teacher_head_->forward(teacher_->forward(c, a)); }, x_t,
                             o_.shuffle_groups, gen_);
    }
    k = normalize_rows(k.to(torch::kFloat32));
    const auto loss = info_nce(q, k, queue_.keys(), o_.tau);  // eq. (6)
    sgd_->zero_grad();
    backward(scaler_.scale(loss));  // cpu_convolution.hpp: oneDNN kept out where unreliable
    auto grads = sgd_->gradients();
    comm_.average(grads);
    if (scaler_.unscale(grads)) sgd_->step(learning_rate());
    scaler_.update();
    queue_.enqueue(comm_.gather_rows(k));
    ++steps_;
    return loss.detach();
  }

  /// The held-out scores of α on `data` (no gradient; both networks in eval mode, so BN uses its
  /// running statistics; the queue is not changed): the mean InfoNCE of eq. (6), and the
  /// instance-discrimination accuracy, the share of queries whose positive key beats every key of the
  /// queue (instance_discrimination_hits). The views come from a generator seeded with `view_seed`, so
  /// every architecture is scored on the same views. With several processes, each scores a
  /// contiguous share and the sums are added: every process returns the same numbers.
  struct ValidationScore {
    double loss = 0.0;                 ///< mean InfoNCE, eq. (6); lower is better
    double instance_accuracy = 0.0;    ///< share of hits in [0, 1]; higher is better
  };
  ValidationScore validation_score(const ImageDataset& data, const Architecture& a, const AugmentOptions& augment_options,
                                   std::uint64_t view_seed, std::int64_t batch_size = 256) {
    constexpr std::string_view where = "faunae::torch_backend::MocoLearner::validation_score()";
    student_->check(a, where);
    data.check(where);
    if (data.size() < 1) throw InvalidArgument(fmt::format("{}: the data set '{}' is empty", where, data.name));
    if (batch_size < 1) throw InvalidArgument(fmt::format("{}: batch_size must be positive, got {}", where, batch_size));
    torch::NoGradGuard no_grad;
    set_training(false);
    const std::int64_t rank = comm_.rank(), world = comm_.world_size();
    const std::int64_t begin = data.size() * rank / world, end = data.size() * (rank + 1) / world;
    auto views = make_generator(stream_seed(view_seed, "moco.validation_views", static_cast<std::uint64_t>(rank)));
    auto total = torch::zeros({3}, torch::TensorOptions().dtype(torch::kFloat64).device(o_.device));  // Σ loss, count, Σ hits
    for (std::int64_t start = begin; start < end; start += batch_size) {
      const auto n = std::min(batch_size, end - start);
      const auto [x_s, x_t] = two_views(to_device(data.images.narrow(0, start, n), o_.device), augment_options, views);
      torch::Tensor q, k;
      {
        AutocastGuard autocast(o_.device, o_.precision);
        q = student_head_->forward(student_->forward(x_s, a));
        k = teacher_head_->forward(teacher_->forward(x_t, a));
      }
      q = normalize_rows(q.to(torch::kFloat32));
      k = normalize_rows(k.to(torch::kFloat32));
      const auto loss = info_nce(q, k, queue_.keys(), o_.tau);  // eq. (6)
      total[0] += loss.to(torch::kFloat64) * static_cast<double>(n);
      total[1] += static_cast<double>(n);
      total[2] += instance_discrimination_hits(q, k, queue_.keys()).sum().to(torch::kFloat64);
    }
    comm_.sum(total);
    const auto t = total.cpu();
    return {t[0].item<double>() / t[1].item<double>(), t[2].item<double>() / t[1].item<double>()};
  }

  /// The mean InfoNCE of `data` under α: validation_score(...).loss.
  double validation_loss(const ImageDataset& data, const Architecture& a, const AugmentOptions& augment_options, std::uint64_t view_seed,
                         std::int64_t batch_size = 256) {
    return validation_score(data, a, augment_options, view_seed, batch_size).loss;
  }

  /// The learning rate of the next step (cosine schedule, MocoOptions::schedule_steps).
  double learning_rate() const {
    if (o_.schedule_steps == 0) return o_.lr;
    const double t = std::min(1.0, static_cast<double>(steps_) / static_cast<double>(o_.schedule_steps));
    return o_.lr * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  }

  /// The images per step on this process.
  std::int64_t local_batch() const { return o_.batch_size / comm_.world_size(); }
  std::int64_t steps() const noexcept { return steps_; }
  const MocoOptions& options() const noexcept { return o_; }
  Net& student() noexcept { return student_; }
  Net& teacher() noexcept { return teacher_; }
  ContrastiveHead& student_head() noexcept { return student_head_; }
  ContrastiveHead& teacher_head() noexcept { return teacher_head_; }
  const KeyQueue& queue() const noexcept { return queue_; }
  Comm& collective() noexcept { return comm_; }
  const Comm& collective() const noexcept { return comm_; }
  torch::Generator& generator() noexcept { return gen_; }

  /// Everything a resumed run needs to continue exactly: both networks and heads (with BN
  /// statistics), the momentum buffers, the queue and its pointer, the step count, the augmentation
  /// generator and the gradient scaler. Tensors by name, written atomically by `save`.
  std::vector<std::pair<std::string, torch::Tensor>> state() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    const auto add = [&](std::string_view prefix, const torch::nn::Module& m) {
      for (auto& [name, t] : state_dict(m)) out.emplace_back(fmt::format("{}.{}", prefix, name), t);
    };
    add("student", *student_);
    add("teacher", *teacher_);
    add("student_head", *student_head_);
    add("teacher_head", *teacher_head_);
    for (auto& [name, t] : sgd_->state()) out.emplace_back("momentum." + name, t);
    out.emplace_back("queue.keys", queue_.keys());
    out.emplace_back("queue.pointer", torch::tensor({queue_.pointer()}, torch::kInt64));
    out.emplace_back("steps", torch::tensor({steps_}, torch::kInt64));
    out.emplace_back("generator", gen_.get_state());
    out.emplace_back("scaler.scale", scaler_.scale_tensor());
    out.emplace_back("scaler.growth", scaler_.growth_tracker());
    return out;
  }

  /// Writes state() to `path` (torch.load reads it as a dict, weights_only=True included), atomically.
  void save(const std::filesystem::path& path) const { detail::save_tensor_dict(state(), path); }

  /// Reads a file written by `save` of a learner with the same networks and options; checks every
  /// entry before it changes anything.
  void load(const std::filesystem::path& path) {
    const std::string where = fmt::format("faunae::torch_backend::MocoLearner::load('{}')", path.string());
    const std::string text = read_file(path, where);
    torch::IValue value;
    try {
      value = detail::pickle_load(text);  // export.hpp: reads bounded by the file
    } catch (const std::exception& e) {
      throw IoError(fmt::format("{}: not a file written by MocoLearner::save: {}", where, error_text(e)));
    }
    if (!value.isGenericDict()) throw IoError(fmt::format("{}: the file holds a {}, not a dict of tensors", where, value.tagKind()));
    std::map<std::string, torch::Tensor> all;
    for (const auto& item : value.toGenericDict()) {
      if (!item.key().isString() || !item.value().isTensor()) throw IoError(fmt::format("{}: every entry must map a name to a tensor", where));
      all.emplace(item.key().toStringRef(), item.value().toTensor());
    }
    // Check all, then change: a learner of a different shape or a damaged file leaves this one whole.
    const torch::Tensor keys = detail::entry(all, "queue.keys", where);
    if (!keys.sizes().equals(queue_.keys().sizes()))
      throw IoError(fmt::format("{}: the queue has shape {}, this learner's {}", where, keys.sizes().vec(), queue_.keys().sizes().vec()));
    // One integer each; an empty, longer or floating-point tensor is a damaged file (found by
    // tests/fuzz/evaluator_state: item() threw c10::Error past this function's IoError contract).
    const auto integer = [&](const std::string& name) {
      const torch::Tensor t = detail::entry(all, name, where);
      if (t.numel() != 1 || !c10::isIntegralType(t.scalar_type(), /*includeBool=*/false))
        throw IoError(fmt::format("{}: '{}' must hold one integer, got a {} tensor of shape {}", where, name,
                                  std::string(c10::toString(t.scalar_type())), t.sizes().vec()));
      return t.item<std::int64_t>();
    };
    const auto pointer = integer("queue.pointer");
    if (pointer < 0 || pointer >= queue_.size()) throw IoError(fmt::format("{}: queue pointer {} outside [0, {})", where, pointer, queue_.size()));
    const auto steps = integer("steps");
    if (steps < 0) throw IoError(fmt::format("{}: negative step count {}", where, steps));
    const torch::Tensor generator_state = detail::entry(all, "generator", where);
    const torch::Tensor scale = detail::entry(all, "scaler.scale", where);
    const torch::Tensor growth = detail::entry(all, "scaler.growth", where);
    if (!scale.sizes().equals(scaler_.scale_tensor().sizes()) || !growth.sizes().equals(scaler_.growth_tracker().sizes()))
      throw IoError(fmt::format("{}: 'scaler.scale' and 'scaler.growth' have shapes {} and {}, this learner's {} and {}", where,
                                scale.sizes().vec(), growth.sizes().vec(), scaler_.scale_tensor().sizes().vec(),
                                scaler_.growth_tracker().sizes().vec()));
    std::vector<std::pair<std::string, torch::Tensor>> momentum;
    for (const auto& [name, t] : detail::strip(all, "momentum")) momentum.emplace_back(name, t);
    for (auto [prefix, module] : {std::pair<std::string_view, torch::nn::Module*>{"student", student_.ptr().get()},
                                  {"teacher", teacher_.ptr().get()}, {"student_head", student_head_.ptr().get()},
                                  {"teacher_head", teacher_head_.ptr().get()}})
      check_entries(detail::strip(all, prefix), *module, fmt::format("{} ({})", where, prefix));
    MomentumSgd probe(sgd_->parameters(), o_.lr, o_.momentum, o_.weight_decay);
    probe.restore(momentum);  // throws on unknown names or shapes before anything changes
    auto gen = make_generator(0);
    try {
      gen.set_state(generator_state);
    } catch (const std::exception& e) {
      throw IoError(fmt::format("{}: the generator state is damaged: {}", where, error_text(e)));
    }
    // Now change.
    for (auto [prefix, module] : {std::pair<std::string_view, torch::nn::Module*>{"student", student_.ptr().get()},
                                  {"teacher", teacher_.ptr().get()}, {"student_head", student_head_.ptr().get()},
                                  {"teacher_head", teacher_head_.ptr().get()}})
      detail::copy_by_name<IoError>(detail::strip(all, prefix), *module, where, "the file", /*exact=*/true);
    sgd_->restore(momentum);
    queue_.restore(keys.to(queue_.keys().device()), pointer);
    steps_ = steps;
    gen_.set_state(generator_state);
    scaler_.restore(scale.to(scaler_.scale_tensor().device()), growth.to(scaler_.growth_tracker().device()));
  }

 private:
  /// The student's and the teacher's views of `x`, drawn in that order from `gen` (channels-last on
  /// CUDA when asked).
  std::pair<torch::Tensor, torch::Tensor> two_views(const torch::Tensor& x, const AugmentOptions& augment_options,
                                                    torch::Generator& gen) const {
    auto student_view = augment(x, augment_options, gen);
    auto teacher_view = augment(x, augment_options, gen);
    if (o_.channels_last && o_.device.is_cuda()) {
      student_view = student_view.contiguous(torch::MemoryFormat::ChannelsLast);
      teacher_view = teacher_view.contiguous(torch::MemoryFormat::ChannelsLast);
    }
    return {std::move(student_view), std::move(teacher_view)};
  }

  static torch::Tensor normalize_rows(const torch::Tensor& x) {
    return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(1));
  }

  std::vector<torch::nn::Module*> modules() { return {student_.ptr().get(), teacher_.ptr().get(), student_head_.ptr().get(), teacher_head_.ptr().get()}; }

  void set_training(bool on) {
    for (torch::nn::Module* m : modules()) m->train(on);
  }

  static void check_entries(const std::map<std::string, torch::Tensor>& source, const torch::nn::Module& m, const std::string& where) {
    for (const auto& [name, t] : state_dict(m)) {
      const auto it = source.find(name);
      if (it == source.end()) throw IoError(fmt::format("{}: the file has no '{}'", where, name));
      if (!it->second.sizes().equals(t.sizes()))
        throw IoError(fmt::format("{}: '{}' has shape {} in the file, {} here", where, name, it->second.sizes().vec(), t.sizes().vec()));
    }
  }

  // Checked before any member is built: a bad option (a queue larger than memory) allocates nothing.
  static MocoOptions checked(MocoOptions o, int world_size) {
    o.check("faunae::torch_backend::MocoLearner", world_size);
    return o;
  }

  MocoOptions o_;
  Comm comm_;
  Net student_, teacher_;
  ContrastiveHead student_head_, teacher_head_;
  KeyQueue queue_;
  torch::Generator gen_;
  GradScaler scaler_;
  std::unique_ptr<MomentumSgd> sgd_;
  std::vector<torch::Tensor> student_params_, teacher_params_;
  std::int64_t steps_ = 0;
};

/// What train_contrastive reports after each epoch.
struct EpochReport {
  std::int64_t epoch = 0;         ///< 1-based
  double loss = 0.0;              ///< mean training InfoNCE of the epoch (this process)
  double learning_rate = 0.0;     ///< at the end of the epoch
  double seconds = 0.0;
  std::int64_t images = 0;        ///< images seen by all processes in the epoch
};

/// Final training (paper IV.B, after the search): trains the standalone network `net` (built with
/// the found architecture, e.g. by extract()) with the teacher–student recipe for `epochs` passes
/// over `data`, the cosine schedule spanning them all (MocoOptions::schedule_steps is set here).
/// Each epoch visits a random permutation of the images (seeded by options.seed; the last partial
/// batch is dropped). `on_epoch(const EpochReport&)` is called after each epoch (logging, kNN
/// monitor, checkpoints); it returns void, or faunae::Flow (Flow::stop ends the training early, the
/// hooks' convention). Returns the learner, whose student is `net`.
template <Supernet Net, Collective Comm = SingleProcess, class OnEpoch = void (*)(const EpochReport&)>
MocoLearner<Net, Comm> train_contrastive(Net net, const ImageDataset& data, const AugmentOptions& augment_options, MocoOptions options,
                                         std::int64_t epochs, OnEpoch&& on_epoch = [](const EpochReport&) {}, Comm comm = {}) {
  using Result = std::remove_cvref_t<std::invoke_result_t<OnEpoch&, const EpochReport&>>;
  static_assert(std::is_void_v<Result> || std::is_same_v<Result, Flow>,
                "train_contrastive: on_epoch must return void or faunae::Flow (Flow::stop to stop early, Flow::proceed to go on); "
                "a bool is refused because it once meant the opposite of the hooks' bool (true = go on)");
  constexpr std::string_view where = "faunae::torch_backend::train_contrastive()";
  data.check(where);
  if (epochs < 1) throw InvalidArgument(fmt::format("{}: epochs must be positive, got {}", where, epochs));
  if (data.size() < options.batch_size)
    throw InvalidArgument(fmt::format("{}: the data set '{}' has {} images, fewer than a batch of {}", where, data.name, data.size(),
                                      options.batch_size));
  const auto& fixed = net->fixed_architecture();
  if (!fixed) throw InvalidArgument(fmt::format("{}: needs a standalone network (extract(supernet, α)), not a supernet", where));
  const Architecture a = *fixed;
  const std::int64_t per_epoch = data.size() / options.batch_size;
  options.schedule_steps = per_epoch * epochs;
  MocoLearner<Net, Comm> learner(std::move(net), options, std::move(comm));
  auto order = make_generator(stream_seed(options.seed, "train.order"));  // the same on every process
  const std::int64_t rank = learner.collective().rank(), local = learner.local_batch();
  for (std::int64_t epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const auto permutation = torch::randperm(data.size(), order, torch::TensorOptions().dtype(torch::kLong));
    auto total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(options.device));
    for (std::int64_t b = 0; b < per_epoch; ++b) {
      const auto idx = permutation.narrow(0, b * options.batch_size + rank * local, local);
      total += learner.train_step(data.images.index_select(0, idx), a, augment_options).to(torch::kFloat64);
    }
    EpochReport report{epoch, total.item<double>() / static_cast<double>(per_epoch), learner.learning_rate(),
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), per_epoch * options.batch_size};
    if constexpr (std::is_void_v<Result>) {
      on_epoch(report);
    } else if (on_epoch(report) == Flow::stop) {
      break;
    }
  }
  return learner;
}

}  // namespace faunae::torch_backend

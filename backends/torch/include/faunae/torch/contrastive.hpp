// Teacher–student contrastive learning (paper section III.C, after MoCo [1]): the InfoNCE loss of
// eq. (6), the queue of negative keys, the EMA teacher of eq. (7), the projection head of IV.B and
// shuffled batch normalisation on one device. MocoLearner (moco.hpp) puts them together; the
// ContrastiveEvaluator (contrastive_evaluator.hpp) scores architectures with it.
//
//   faunae::torch_backend::KeyQueue queue(/*size=*/4096, /*dim=*/128, gen);
//   auto q = torch::nn::functional::normalize(head(student(x_s)), F::NormalizeFuncOptions().dim(1));
//   torch::Tensor k;
//   {
//     torch::NoGradGuard no_grad;
//     faunae::torch_backend::ema_update(*teacher, *student, /*m=*/0.999);                        // (7)
//     k = faunae::torch_backend::shuffle_bn_forward([&](const torch::Tensor& x) { return teacher_head(teacher(x)); },
//                                                   x_t, /*groups=*/8, gen);
//     k = torch::nn::functional::normalize(k, F::NormalizeFuncOptions().dim(1));
//   }
//   auto loss = faunae::torch_backend::info_nce(q, k, queue.keys(), /*tau=*/0.2);                // (6)
//   loss.backward(); optimizer.step();
//   queue.enqueue(k);
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/torch/error_text.hpp"

namespace faunae::torch_backend {

namespace detail {
inline void check_matrix(const torch::Tensor& t, std::string_view where, std::string_view name) {
  if (!t.defined() || t.dim() != 2)
    throw InvalidArgument(fmt::format("{}: {} must be a 2-d tensor (rows × D), got {}", where, name,
                                      t.defined() ? fmt::format("shape {}", t.sizes().vec()) : std::string("an undefined tensor")));
}
/// The checks of eq. (6)'s layout (info_nce, instance_discrimination_hits): q, k and queue 2-d, q and
/// k of the same shape N×D, the queue's keys of dimension D.
inline void check_queries_keys_bank(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& queue, std::string_view where) {
  check_matrix(q, where, "q");
  check_matrix(k, where, "k");
  check_matrix(queue, where, "queue");
  if (!q.sizes().equals(k.sizes()))
    throw InvalidArgument(fmt::format("{}: q and k must have the same shape N×D, got {} and {}", where, q.sizes().vec(), k.sizes().vec()));
  if (queue.size(1) != q.size(1))
    throw InvalidArgument(fmt::format("{}: the queue's keys must have the queries' dimension D = {}, got {}", where, q.size(1), queue.size(1)));
}
}  // namespace detail

/// InfoNCE, eq. (6), in MoCo's layout: for each of the N queries s = q[i] (N×D), the positive key
/// t₊ = k[i] (N×D) and the K negatives t_n = queue[n] (K×D),
///   logits[i] = [q[i]·k[i] | q[i]·queue[0], ..., q[i]·queue[K-1]] / τ,
///   L = mean over i of cross-entropy(logits[i], class 0) = −log(exp(s·t₊/τ) / Σ_n exp(s·t_n/τ)).
/// q, k and queue are expected L2-normalised along D (not checked: it costs a pass). Keys and queue
/// are constants, as in MoCo: no gradient flows into them (they come from the teacher).
inline torch::Tensor info_nce(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& queue, double tau = 0.2) {
  constexpr std::string_view where = "faunae::torch_backend::info_nce()";
  detail::check_queries_keys_bank(q, k, queue, where);
  if (q.size(0) < 1) throw InvalidArgument(fmt::format("{}: the batch is empty (N = 0)", where));
  if (!(tau > 0.0 && std::isfinite(tau))) throw InvalidArgument(fmt::format("{}: tau must be positive and finite, got {}", where, tau));
  const auto l_pos = (q * k.detach()).sum(/*dim=*/1, /*keepdim=*/true);  // N×1: s·t₊
  const auto l_neg = q.mm(queue.detach().t());                           // N×K: s·t_n
  const auto logits = torch::cat({l_pos, l_neg}, /*dim=*/1) / tau;
  const auto labels = torch::zeros({q.size(0)}, torch::TensorOptions().dtype(torch::kLong).device(q.device()));
  return torch::nn::functional::cross_entropy(logits, labels);
}

/// Instance discrimination, the top-1 of eq. (6)'s logits: for each of the N queries q[i], whether its
/// positive key k[i] scores higher than every key of the bank (q[i]·k[i] > max_n q[i]·queue[n]; a tie
/// counts as a miss). Returns N booleans. The share of hits over held-out images is the label-free
/// "instance-discrimination accuracy" of a student–teacher pair (InstDisc, Wu et al. 2018; MoCo's
/// training monitor), a companion of the held-out InfoNCE. Same layout and checks as info_nce.
inline torch::Tensor instance_discrimination_hits(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& queue) {
  constexpr std::string_view where = "faunae::torch_backend::instance_discrimination_hits()";
  detail::check_queries_keys_bank(q, k, queue, where);
  if (queue.size(0) < 1) throw InvalidArgument(fmt::format("{}: the key bank is empty (K = 0)", where));
  torch::NoGradGuard no_grad;
  const auto l_pos = (q * k).sum(/*dim=*/1);                                         // N: s·t₊
  const auto best_negative = std::get<0>(q.mm(queue.t()).max(/*dim=*/1));  // N: max_n s·t_n
  return l_pos > best_negative;
}

/// MoCo's dictionary: K negative keys of dimension D in a K×D tensor, filled first-in first-out.
/// It starts as random unit vectors (MoCo's randn then normalise) and `enqueue` overwrites the oldest
/// batch. K must be a multiple of the batch size so that a batch never straddles the wrap-around
/// (MoCo's assert), which `enqueue` checks.
class KeyQueue {
 public:
  /// `gen` (optional, a CPU generator) makes the initial keys reproducible; they live on `device`.
  KeyQueue(std::int64_t size, std::int64_t dim, torch::Generator gen = torch::Generator(), torch::Device device = torch::kCPU) {
    constexpr std::string_view where = "faunae::torch_backend::KeyQueue";
    if (size < 1) throw InvalidArgument(fmt::format("{}: the queue size K must be positive, got {}", where, size));
    if (dim < 1) throw InvalidArgument(fmt::format("{}: the key dimension D must be positive, got {}", where, dim));
    // The keys are made on the CPU (then moved to `device`): refuse a queue the host cannot hold
    // before allocating it.
    const std::uint64_t memory = physical_memory_bytes();
    if (const std::uint64_t bytes = queue_bytes(size, dim); memory > 0 && bytes > memory)
      throw InvalidArgument(fmt::format("{}: a queue of K = {} keys of dimension D = {} needs {} bytes, more than the {} bytes of "
                                        "physical memory",
                                        where, size, dim, bytes, memory));
    torch::NoGradGuard no_grad;
    const auto init = gen.defined() ? torch::randn({size, dim}, gen, torch::kFloat) : torch::randn({size, dim}, torch::kFloat);
    try {
      keys_ = torch::nn::functional::normalize(init, torch::nn::functional::NormalizeFuncOptions().dim(1)).to(device);
    } catch (const c10::Error& e) {  // e.g. out of memory on the GPU
      throw InvalidArgument(fmt::format("{}: the queue of K = {} keys of dimension D = {} ({} bytes) does not fit on {}: {}", where, size,
                                        dim, queue_bytes(size, dim), device.str(), error_text(e)));
    }
  }

  /// Bytes of a K × D queue of float keys (saturating: never wraps around).
  static std::uint64_t queue_bytes(std::int64_t size, std::int64_t dim) noexcept {
    if (size <= 0 || dim <= 0) return 0;
    const auto k = static_cast<std::uint64_t>(size), d = static_cast<std::uint64_t>(dim);
    constexpr std::uint64_t max = ~std::uint64_t{0};
    return k > max / d / sizeof(float) ? max : k * d * sizeof(float);
  }

  /// Writes `keys` (B×D, B dividing K) at the pointer and advances it by B, modulo K.
  void enqueue(const torch::Tensor& keys) {
    constexpr std::string_view where = "faunae::torch_backend::KeyQueue::enqueue()";
    detail::check_matrix(keys, where, "keys");
    const auto batch = keys.size(0);
    if (keys.size(1) != dim())
      throw InvalidArgument(fmt::format("{}: keys must have the queue's dimension D = {}, got {}", where, dim(), keys.size(1)));
    if (batch < 1 || size() % batch != 0)
      throw InvalidArgument(fmt::format("{}: the queue size K = {} must be a multiple of the batch size, got a batch of {}", where, size(), batch));
    torch::NoGradGuard no_grad;
    keys_.narrow(/*dim=*/0, pointer_, batch).copy_(keys.detach());
    pointer_ = (pointer_ + batch) % size();
  }

  /// Puts back a saved queue: `keys` (K×D, this queue's shape) and the write pointer in [0, K).
  void restore(const torch::Tensor& keys, std::int64_t pointer) {
    constexpr std::string_view where = "faunae::torch_backend::KeyQueue::restore()";
    if (!keys.defined() || !keys.sizes().equals(keys_.sizes()))
      throw InvalidArgument(fmt::format("{}: the keys must have the queue's shape {}, got {}", where, keys_.sizes().vec(),
                                        keys.defined() ? keys.sizes().vec() : std::vector<std::int64_t>{}));
    if (pointer < 0 || pointer >= size())
      throw InvalidArgument(fmt::format("{}: the pointer must be in [0, {}), got {}", where, size(), pointer));
    torch::NoGradGuard no_grad;
    keys_.copy_(keys);
    pointer_ = pointer;
  }

  /// The K×D keys (row n is the key t_n of eq. (6)); shares storage with the queue.
  const torch::Tensor& keys() const noexcept { return keys_; }
  /// The row the next batch is written at.
  std::int64_t pointer() const noexcept { return pointer_; }
  std::int64_t size() const { return keys_.size(0); }
  std::int64_t dim() const { return keys_.size(1); }

 private:
  torch::Tensor keys_;
  std::int64_t pointer_ = 0;
};

/// The teacher's EMA, eq. (7): θ_t = m·θ_t + (1 − m)·θ_s for every pair of parameters, in two
/// multi-tensor kernels (torch::_foreach_mul_, torch::_foreach_add_) rather than two per parameter.
/// m must be in [0, 1]; the lists must pair up (same length, same shapes).
inline void ema_update(const std::vector<torch::Tensor>& teacher, const std::vector<torch::Tensor>& student, double m) {
  constexpr std::string_view where = "faunae::torch_backend::ema_update()";
  if (!(m >= 0.0 && m <= 1.0)) throw InvalidArgument(fmt::format("{}: m must be in [0, 1], got {}", where, m));
  if (teacher.size() != student.size())
    throw InvalidArgument(fmt::format("{}: the teacher has {} parameters, the student {}", where, teacher.size(), student.size()));
  for (std::size_t i = 0; i < teacher.size(); ++i)
    if (!teacher[i].sizes().equals(student[i].sizes()))
      throw InvalidArgument(fmt::format("{}: parameter {} has shape {} in the teacher and {} in the student", where, i,
                                        teacher[i].sizes().vec(), student[i].sizes().vec()));
  if (teacher.empty()) return;
  torch::NoGradGuard no_grad;
  torch::_foreach_mul_(teacher, m);
  torch::_foreach_add_(teacher, student, /*alpha=*/1.0 - m);
}

/// Eq. (7) over the parameters of two modules of the same structure (the teacher a clone() of the
/// student). Parameters only, as MoCo: buffers such as batch normalisation's running mean and
/// variance stay the teacher's own, accumulated from the keys it sees.
inline void ema_update(torch::nn::Module& teacher, const torch::nn::Module& student, double m) {
  ema_update(teacher.parameters(), student.parameters(), m);
}

/// The projection head of section IV.B: global average pooling, then Linear(in, hidden) → ReLU →
/// Linear(hidden, out), by default 2048 hidden and 128 out. The output is not normalised: the
/// caller normalises before eq. (6), as MoCo does.
struct ContrastiveHeadOptions {
  explicit ContrastiveHeadOptions(std::int64_t in_features) : in_features_(in_features) {}
  TORCH_ARG(std::int64_t, in_features);
  TORCH_ARG(std::int64_t, hidden) = 2048;
  TORCH_ARG(std::int64_t, out) = 128;
};

struct ContrastiveHeadImpl : torch::nn::Module {
  explicit ContrastiveHeadImpl(ContrastiveHeadOptions options) : options_(options) {
    constexpr std::string_view where = "faunae::torch_backend::ContrastiveHead";
    const auto check = [&](std::string_view name, std::int64_t v) {
      if (v < 1) throw InvalidArgument(fmt::format("{}: {} must be positive, got {}", where, name, v));
    };
    check("in_features", options.in_features());
    check("hidden", options.hidden());
    check("out", options.out());
    fc1 = register_module("fc1", torch::nn::Linear(options.in_features(), options.hidden()));
    fc2 = register_module("fc2", torch::nn::Linear(options.hidden(), options.out()));
  }
  explicit ContrastiveHeadImpl(std::int64_t in_features, std::int64_t hidden = 2048, std::int64_t out = 128)
      : ContrastiveHeadImpl(ContrastiveHeadOptions(in_features).hidden(hidden).out(out)) {}

  /// x: N×C×H×W feature maps (pooled here) or N×C features already pooled; returns N×out.
  torch::Tensor forward(torch::Tensor x) {
    if (x.dim() == 4) x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(/*start_dim=*/1);
    if (x.dim() != 2 || x.size(1) != options_.in_features())
      throw InvalidArgument(fmt::format("faunae::torch_backend::ContrastiveHead::forward(): expects N×{0}×H×W or N×{0} features, got shape {1}",
                                        options_.in_features(), x.sizes().vec()));
    return fc2(torch::relu(fc1(x)));
  }

  const ContrastiveHeadOptions& options() const noexcept { return options_; }

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  ContrastiveHeadOptions options_;
};
TORCH_MODULE(ContrastiveHead);

/// A batch in a random order and the permutation that puts it back.
struct ShuffledBatch {
  torch::Tensor x;        ///< x_shuffled[j] = x[permutation[j]]
  torch::Tensor inverse;  ///< x_shuffled.index_select(0, inverse) == x
};

/// Shuffles the rows of `x` with a permutation drawn from the CPU generator `gen`.
inline ShuffledBatch shuffle_batch(const torch::Tensor& x, torch::Generator& gen) {
  constexpr std::string_view where = "faunae::torch_backend::shuffle_batch()";
  if (!x.defined() || x.dim() < 1) throw InvalidArgument(fmt::format("{}: needs a batch (a tensor of at least 1 dimension)", where));
  if (!gen.defined() || gen.device().type() != torch::kCPU)
    throw InvalidArgument(fmt::format("{}: the generator must be a CPU generator (make_generator(seed))", where));
  const auto n = x.size(0);
  const auto long_cpu = torch::TensorOptions().dtype(torch::kLong);
  const auto permutation = torch::randperm(n, gen, long_cpu);
  auto inverse = torch::empty_like(permutation).scatter_(/*dim=*/0, permutation, torch::arange(n, long_cpu));
  return {x.index_select(0, permutation.to(x.device())), inverse.to(x.device())};
}

/// Puts back in the original order the rows of `y` computed from ShuffledBatch::x.
inline torch::Tensor unshuffle_batch(const torch::Tensor& y, const torch::Tensor& inverse) {
  if (!y.defined() || y.dim() < 1 || y.size(0) != inverse.numel())
    throw InvalidArgument(fmt::format("faunae::torch_backend::unshuffle_batch(): needs a batch of {} rows, got shape {}", inverse.numel(),
                                      y.defined() ? y.sizes().vec() : std::vector<std::int64_t>{}));
  return y.index_select(0, inverse);
}

/// Shuffled batch normalisation for the teacher on one device (MoCo's single-GPU recipe, its
/// "SplitBatchNorm"): the key batch is permuted at random, cut into `groups` equal sub-batches that go
/// through `teacher` one by one (so in training mode each has its own BN batch statistics, as each GPU
/// has in MoCo), and the outputs are put back in the original order. The query batch goes through
/// the student whole, so the keys' BN statistics are never those of the query's group and cannot
/// leak which key is the positive. The batch size must be a multiple of `groups`.
template <class Teacher>
torch::Tensor shuffle_bn_forward(Teacher&& teacher, const torch::Tensor& x, std::int64_t groups, torch::Generator& gen) {
  constexpr std::string_view where = "faunae::torch_backend::shuffle_bn_forward()";
  if (!x.defined() || x.dim() < 1) throw InvalidArgument(fmt::format("{}: needs a batch (a tensor of at least 1 dimension)", where));
  if (groups < 1 || x.size(0) % groups != 0)
    throw InvalidArgument(fmt::format("{}: the batch size {} must be a positive multiple of groups, got groups = {}", where, x.size(0), groups));
  const auto shuffled = shuffle_batch(x, gen);
  std::vector<torch::Tensor> outputs;
  outputs.reserve(static_cast<std::size_t>(groups));
  for (const auto& chunk : shuffled.x.chunk(groups, /*dim=*/0)) outputs.push_back(teacher(chunk));
  return unshuffle_batch(torch::cat(outputs, /*dim=*/0), shuffled.inverse);
}

}  // namespace faunae::torch_backend

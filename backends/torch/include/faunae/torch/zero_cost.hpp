// Zero-cost proxies as Evaluators: score an architecture from its freshly initialised network, with
// no training (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; Mellor et al.,
// "Neural Architecture Search without Training", ICML 2021). Each is a faunae::Evaluator like the
// ContrastiveEvaluator, so a search swaps one for the other:
//
//   faunae::torch_backend::ZeroCostOptions o;
//   o.proxy = faunae::torch_backend::ZeroCostProxy::naswot;  // synflow, naswot, snip, params, flops
//   o.seed = 1;
//   faunae::torch_backend::ZeroCostEvaluator evaluator(space_options, train, default_augment_options(space_options.stem), o);
//   faunae::FaUNAE<faunae::BlockSpace> search(space, {});
//   search.run(evaluator);
//
// Every proxy gives a score S, higher = better, and the evaluator returns the loss −ln S (lower =
// better); see ZeroCostProxy for each S. The proxies also exist as functions on any module
// (synflow_score, naswot_log_det, snip_score), which the tests check against hand computations.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "faunae/concepts/evaluator.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/options_reader.hpp"
#include "faunae/core/rng.hpp"
#include "faunae/torch/augment.hpp"
#include "faunae/torch/cpu_convolution.hpp"
#include "faunae/torch/darts_space.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/ops.hpp"
#include "faunae/torch/resnet_space.hpp"

namespace faunae::torch_backend {

/// The proxies. S is the score (higher = better); the evaluator's loss is −ln S.
enum class ZeroCostProxy {
  synflow,  ///< S = Σ_θ |θ ⊙ ∂R/∂θ|, R = 1ᵀ(Π_l |θ_l|)1: synflow_score (Tanaka et al. 2020)
  naswot,   ///< S = |K_H|, the kernel of the ReLUs' binary codes on a minibatch: naswot_log_det (Mellor et al. 2021)
  snip,     ///< S = Σ_θ |θ ⊙ ∂L/∂θ|, L a label-free InfoNCE on two views of a minibatch: snip_score (Lee et al. 2019)
  params,   ///< S = the network's parameters
  flops     ///< S = the network's multiply–accumulates on one image at the stem's input size
};

/// The proxies' names, as to_string writes them and parse_zero_cost_proxy reads them.
inline constexpr std::array<std::string_view, 5> kZeroCostProxies = {"synflow", "naswot", "snip", "params", "flops"};

inline std::string_view to_string(ZeroCostProxy p) { return kZeroCostProxies.at(static_cast<std::size_t>(p)); }

inline ZeroCostProxy parse_zero_cost_proxy(std::string_view name) {
  for (std::size_t i = 0; i < kZeroCostProxies.size(); ++i)
    if (kZeroCostProxies[i] == name) return static_cast<ZeroCostProxy>(i);
  throw InvalidArgument(fmt::format("faunae::torch_backend::parse_zero_cost_proxy(): '{}' is not a zero-cost proxy; use one of {}", name,
                                    fmt::join(kZeroCostProxies, ", ")));
}

}  // namespace faunae::torch_backend

namespace faunae {
/// A zero-cost proxy in options' JSON: its name (kZeroCostProxies).
template <>
struct OptionCodec<torch_backend::ZeroCostProxy> {
  static torch_backend::ZeroCostProxy from_json(const nlohmann::json& v, std::string_view key) {
    return option_from_name(v, key, "a proxy's name", torch_backend::parse_zero_cost_proxy);
  }
  static nlohmann::json to_json(torch_backend::ZeroCostProxy p) { return std::string(torch_backend::to_string(p)); }
};
}  // namespace faunae

namespace faunae::torch_backend {

/// ln S with S = 0 (a network without a path from input to output, a singular NASWOT kernel) floored
/// at ln of the smallest normal double, ≈ −708.4, so that the loss stays finite: a search stops on a
/// non-finite loss.
inline double log_score(double s) { return s > 0.0 ? std::log(s) : std::log(std::numeric_limits<double>::min()); }

// --- the proxies on any module ----------------------------------------------------------------

/// The weights of the module's convolutions and linear layers: the parameters the proxies sum over,
/// as the reference code does (biases and BatchNorm's affine parameters excluded).
inline std::vector<torch::Tensor> proxy_weights(torch::nn::Module& net) {
  std::vector<torch::Tensor> out;
  for (const auto& m : net.modules(/*include_self=*/true)) {
    if (auto* conv = m->as<torch::nn::Conv2dImpl>()) out.push_back(conv->weight);
    else if (auto* conv1 = m->as<torch::nn::Conv1dImpl>()) out.push_back(conv1->weight);
    else if (auto* linear = m->as<torch::nn::LinearImpl>()) out.push_back(linear->weight);
  }
  return out;
}

/// Σ over `weights` of |θ ⊙ θ.grad| (0 for a weight without a gradient: not on the path), in float64.
inline double sum_abs_weight_times_gradient(const std::vector<torch::Tensor>& weights) {
  double total = 0.0;
  for (const auto& w : weights)
    if (w.grad().defined()) total += (w.detach() * w.grad()).abs().sum().item<double>();
  return total;
}

namespace detail {

inline void clear_gradients(torch::nn::Module& net) {
  for (auto& p : net.parameters()) p.mutable_grad() = torch::Tensor();
}

}  // namespace detail

/// Synflow (Tanaka et al., NeurIPS 2020) as Abdelfattah et al.'s zero-cost code computes it: every
/// parameter and buffer replaced by its absolute value, the module in float64 and eval mode, one
/// input of ones of shape 1×`input_shape` (no batch dimension in `input_shape`) on `device`,
/// R = Σ forward(input) (= 1ᵀ(Π_l |θ_l|)1 for a network of linear layers and ReLUs), and
///   S = Σ_θ |θ ⊙ ∂R/∂θ|  over the weights of the convolutions and linear layers (proxy_weights).
/// BatchNorm in eval mode with fresh statistics (mean 0, variance 1) is the identity up to a factor
/// (1 + eps)^−½, i.e. the reference code's network without BatchNorm. `net` must already be on `device`.
/// The module is put back as it was (values, dtype, mode); its gradients are cleared.
inline double synflow_score(torch::nn::Module& net, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                            torch::IntArrayRef input_shape, torch::Device device = torch::kCPU) {
  const torch::AutoGradMode with_gradients(true);
  const bool training = net.is_training();
  const auto params = net.parameters();
  const auto dtype = params.empty() ? torch::kFloat32 : params.front().scalar_type();
  std::vector<torch::Tensor> signs;
  {
    torch::NoGradGuard no_grad;
    for (auto& t : net.parameters()) signs.push_back(torch::sign(t)), t.abs_();
    for (auto& t : net.buffers()) signs.push_back(torch::sign(t)), t.abs_();
  }
  net.to(torch::kFloat64);
  net.eval();
  detail::clear_gradients(net);
  double s = 0.0;
  std::vector<std::int64_t> shape{1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  try {
    const auto ones = torch::ones(shape, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    backward(forward(ones).sum());  // cpu_convolution.hpp
    s = sum_abs_weight_times_gradient(proxy_weights(net));
  } catch (...) {
    net.to(dtype);
    throw;
  }
  net.to(dtype);  // float64 → float32 → exact round trip
  detail::clear_gradients(net);
  {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto& t : net.parameters()) t.mul_(signs[i++]);
    for (auto& t : net.buffers()) t.mul_(signs[i++]);
  }
  net.train(training);
  return s;
}

/// NASWOT (Mellor et al., ICML 2021): runs forward(batch) (no gradients) and, for each ReLU it
/// passes through observed_relu (every ReLU of this backend's networks), takes each image's binary
/// code c_i (1 where the ReLU's input is > 0). Over all ReLU units (N_A of them),
///   K_H[i][j] = N_A − d_Hamming(c_i, c_j) = Σ_units [c_i = c_j],
/// and the score is ln|det K_H| (slogdet, float64), −∞ when K_H is singular (two images with the same
/// codes). K_H is accumulated as the reference code does, from c·cᵀ + (1 − c)(1 − c)ᵀ of each ReLU
/// call. The caller chooses the mode (the reference code runs the network in train mode).
inline double naswot_log_det(const std::function<torch::Tensor(const torch::Tensor&)>& forward, const torch::Tensor& batch) {
  if (!batch.defined() || batch.dim() < 1 || batch.size(0) < 1)
    throw InvalidArgument("faunae::torch_backend::naswot_log_det(): the batch must hold at least one input");
  const std::int64_t n = batch.size(0);
  torch::NoGradGuard no_grad;
  torch::Tensor k = torch::zeros({n, n}, torch::TensorOptions().dtype(torch::kFloat64).device(batch.device()));
  std::int64_t calls = 0;
  {
    const ReluObserver observer([&](const torch::Tensor& x) {
      TORCH_CHECK(x.size(0) == n, "naswot_log_det(): a ReLU saw a batch of ", x.size(0), " inputs, expected ", n);
      // Float32 matrix products of 0/1 codes are exact while a row has < 2^24 units.
      const torch::Tensor c = x.reshape({n, -1}).gt(0).to(torch::kFloat32);
      const torch::Tensor ones = c.sum(1, /*keepdim=*/true);
      const double units = static_cast<double>(c.size(1));
      // c·cᵀ + (1 − c)(1 − c)ᵀ = 2 c·cᵀ − s_i − s_j + N_A with s the count of ones per code
      k += (2.0 * c.matmul(c.t()) - ones - ones.t() + units).to(torch::kFloat64);
      ++calls;
    });
    forward(batch);
  }
  if (calls == 0)
    throw InvalidArgument("faunae::torch_backend::naswot_log_det(): the forward passed no ReLU through observed_relu; NASWOT has no codes");
  const auto [sign, log_abs_det] = torch::slogdet(k);
  if (sign.item<double>() == 0.0) return -std::numeric_limits<double>::infinity();
  return log_abs_det.item<double>();
}

/// SNIP's connection sensitivity (Lee et al., ICLR 2019) summed as the zero-cost proxy does:
///   S = Σ_θ |θ ⊙ ∂L/∂θ|  over the weights of the convolutions and linear layers (proxy_weights),
/// with L = loss() computed by the caller through `net` (in the mode the caller set; the reference
/// code uses train mode). The module's gradients are cleared before and after.
inline double snip_score(torch::nn::Module& net, const std::function<torch::Tensor()>& loss) {
  const torch::AutoGradMode with_gradients(true);
  detail::clear_gradients(net);
  backward(loss());  // cpu_convolution.hpp
  const double s = sum_abs_weight_times_gradient(proxy_weights(net));
  detail::clear_gradients(net);
  return s;
}

/// The label-free loss of the snip proxy: InfoNCE with in-batch negatives between two views of the
/// same N images, L = (1/N) Σ_i −ln softmax_j(q_i·k_j / τ)_i, with q and k the L2-normalised rows of
/// `q` and `k` (N×D): image i's second view is its positive, the other images' are its negatives
/// (eq. (6) with the batch as the queue, as SimCLR and MoCo v3 do).
inline torch::Tensor batch_info_nce(const torch::Tensor& q, const torch::Tensor& k, double tau) {
  constexpr std::string_view where = "faunae::torch_backend::batch_info_nce()";
  if (!(tau > 0.0 && std::isfinite(tau))) throw InvalidArgument(fmt::format("{}: tau must be positive, got {}", where, tau));
  if (!q.defined() || !k.defined() || q.dim() != 2 || q.sizes() != k.sizes())
    throw InvalidArgument(fmt::format("{}: q and k must be N×D tensors of the same shape", where));
  namespace F = torch::nn::functional;
  const auto qn = F::normalize(q, F::NormalizeFuncOptions().dim(1));
  const auto kn = F::normalize(k, F::NormalizeFuncOptions().dim(1));
  const auto logits = qn.matmul(kn.t()) / tau;
  return F::cross_entropy(logits, torch::arange(q.size(0), torch::TensorOptions().dtype(torch::kLong).device(q.device())));
}

// --- the evaluator ------------------------------------------------------------------------------

struct ZeroCostOptions {
  ZeroCostProxy proxy = ZeroCostProxy::synflow;
  /// One seed for all the randomness: the initialisation of every network (the same for every
  /// architecture), the images of the minibatch and snip's two views.
  std::uint64_t seed = 0;
  std::int64_t batch_size = 64;  ///< N: images of the fixed minibatch (naswot, snip); ≥ 2
  double tau = 0.2;              ///< temperature of snip's InfoNCE
  torch::Device device = torch::kCPU;

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("proxy", self.proxy), f("seed", self.seed), f("batch_size", self.batch_size), f("tau", self.tau), f("device", self.device);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range.
  void check(std::string_view where) const {
    if (static_cast<std::size_t>(proxy) >= kZeroCostProxies.size())
      throw InvalidArgument(fmt::format("{}: ZeroCostOptions::proxy has no proxy {}", where, static_cast<int>(proxy)));
    if (batch_size < 2) throw InvalidArgument(fmt::format("{}: ZeroCostOptions::batch_size must be >= 2, got {}", where, batch_size));
    if (!(tau > 0.0 && std::isfinite(tau))) throw InvalidArgument(fmt::format("{}: ZeroCostOptions::tau must be positive, got {}", where, tau));
  }

  /// Whether the proxy reads images (naswot, snip).
  bool needs_data() const { return proxy == ZeroCostProxy::naswot || proxy == ZeroCostProxy::snip; }
};

/// See the top of this file. Net: ResNetSupernet (default) or DartsSupernet.
///
/// evaluate(α) builds α's standalone network (Net(space, α), only α's ops) with LibTorch's default
/// initialisation from the seed (the same for every α; the caller's random stream untouched), on
/// `device`, computes S, and returns faunae::Evaluation{−ln S, {log_score, score, seconds}}
/// (log_score = ln S; score = S, left out for naswot, whose S overflows). An evaluation depends on α,
/// the options and the images only: it is the same every time and after a resume. The evaluator is a
/// faunae::StatefulEvaluator whose state is its identity (proxy, seed, batch size), so that a
/// checkpoint written with one evaluator is not resumed with another.
///
/// Data: a fixed minibatch of batch_size images drawn once (by faunae::Rng from the seed) from
/// `images` (unlabeled; labels are never read), as floats normalised by the AugmentOptions' mean and
/// stddev and resized to its output_size (the central square) if they differ; snip also draws two
/// augmented views of it (AugmentOptions, a generator seeded from the seed). synflow, params and flops
/// read no images: `images` may be empty for them.
template <Supernet Net = ResNetSupernet>
class BasicZeroCostEvaluator {
 public:
  using NetOptions = SupernetOptions<Net>;

  BasicZeroCostEvaluator(NetOptions space, const ImageDataset& images, AugmentOptions views, ZeroCostOptions options = {})
      : space_(std::move(space)), augment_(std::move(views)), o_(std::move(options)) {
    constexpr std::string_view where = "faunae::torch_backend::ZeroCostEvaluator";
    o_.check(where);
    faunae::Rng seeds(o_.seed);
    init_seed_ = seeds();
    const std::uint64_t batch_seed = seeds(), views_seed = seeds();
    probe_ = construct_seeded(init_seed_, [&] { return Net(space_); });
    if (!o_.needs_data()) return;
    images.check(where);
    if (images.size() < o_.batch_size)
      throw InvalidArgument(fmt::format("{}: the data set '{}' has {} images, fewer than a batch of {} (ZeroCostOptions::batch_size)", where,
                                        images.name, images.size(), o_.batch_size));
    augment_.check(where);
    if (images.channels() != input_channels())
      throw InvalidArgument(fmt::format("{}: the images have {} channels, the network takes {}", where, images.channels(), input_channels()));
    if (static_cast<std::int64_t>(augment_.mean.size()) != images.channels())
      throw InvalidArgument(fmt::format("{}: the images have {} channels but AugmentOptions::mean has {} entries", where, images.channels(),
                                        augment_.mean.size()));
    if (augment_.output_size != input_size())
      throw InvalidArgument(fmt::format("{}: AugmentOptions::output_size is {}, the network takes {}×{} images", where, augment_.output_size,
                                        input_size(), input_size()));
    // The minibatch: a partial Fisher–Yates draw, the same on every platform.
    std::vector<std::int64_t> order(static_cast<std::size_t>(images.size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    faunae::Rng rng(batch_seed);
    for (std::size_t i = 0; i < static_cast<std::size_t>(o_.batch_size); ++i)
      std::swap(order[i], order[i + static_cast<std::size_t>(rng.below(order.size() - i))]);
    order.resize(static_cast<std::size_t>(o_.batch_size));
    const torch::Tensor raw = images.images.index_select(0, torch::tensor(order, torch::kLong));
    torch::Tensor x = to_unit_float(raw);
    if (x.size(2) != input_size() || x.size(3) != input_size()) {
      const double side = static_cast<double>(std::min(x.size(2), x.size(3)));
      const CropBox centre{(static_cast<double>(x.size(3)) - side) / 2, (static_cast<double>(x.size(2)) - side) / 2, side, side};
      x = resized_crop(x, std::vector<CropBox>(static_cast<std::size_t>(o_.batch_size), centre), input_size());
    }
    batch_ = normalize(x, augment_.mean, augment_.stddev).to(o_.device);
    if (o_.proxy == ZeroCostProxy::snip) {
      auto gen = make_generator(views_seed);
      view1_ = augment(raw, augment_, gen).to(o_.device);
      view2_ = augment(raw, augment_, gen).to(o_.device);
    }
  }

  /// The score of α: ln S and, where it is representable (not naswot's |K_H|), S itself.
  struct Score {
    double log = 0.0;
    std::optional<double> value;
  };

  /// S of α (see ZeroCostProxy).
  Score score(const Architecture& a) {
    probe_->check(a, "faunae::torch_backend::ZeroCostEvaluator::evaluate()");
    const auto of = [](double s) { return Score{log_score(s), s}; };
    switch (o_.proxy) {
      case ZeroCostProxy::params: return of(static_cast<double>(probe_->parameters(a)));
      case ZeroCostProxy::flops: return of(static_cast<double>(probe_->flops(a)));
      case ZeroCostProxy::synflow: {
        Net net = build(a);
        return of(synflow_score(*net, [&](const torch::Tensor& x) { return net->forward(x); }, {input_channels(), input_size(), input_size()},
                                o_.device));
      }
      case ZeroCostProxy::naswot: {
        Net net = build(a);
        net->train();  // BatchNorm on the batch's statistics, as the reference code runs it
        const double log_det = naswot_log_det([&](const torch::Tensor& x) { return net->forward(x); }, batch_);
        return Score{std::isfinite(log_det) ? log_det : log_score(0.0), std::nullopt};
      }
      case ZeroCostProxy::snip: {
        Net net = build(a);
        net->train();  // as the reference code
        return of(snip_score(*net, [&] { return batch_info_nce(net->forward(view1_), net->forward(view2_), o_.tau); }));
      }
    }
    throw std::logic_error("faunae::torch_backend::ZeroCostEvaluator: unknown proxy");
  }

  /// −ln S of α (lower is better). Metrics: log_score (ln S), score (S; not for naswot), seconds.
  Evaluation evaluate(const Architecture& a) {
    const auto start = std::chrono::steady_clock::now();
    const Score s = score(a);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Evaluation e{-s.log, {{"log_score", s.log}}};
    if (s.value) e.metrics.emplace_back("score", *s.value);
    e.metrics.emplace_back("seconds", seconds);
    return e;
  }

  /// The evaluator's identity, for the search's checkpoint: a zero-cost evaluator has no state that
  /// changes, but a search resumed with another proxy (or seed, or batch) would mix two losses.
  nlohmann::json state() const {
    return {{"kind", "zero_cost"}, {"proxy", to_string(o_.proxy)}, {"seed", o_.seed}, {"batch_size", o_.batch_size}};
  }

  /// Refuses a state that another evaluator wrote.
  void restore(const nlohmann::json& j) const {
    if (j != state())
      throw IoError(fmt::format("faunae::torch_backend::ZeroCostEvaluator::restore(): the checkpoint was written with the evaluator {}, "
                                "this one is {}", j.dump().substr(0, 200), state().dump()));
  }

  /// α's standalone network, initialised from the seed, on the device.
  Net build(const Architecture& a) const {
    Net net = construct_seeded(init_seed_, [&] { return Net(space_, a); });
    net->to(o_.device);
    return net;
  }

  const ZeroCostOptions& options() const noexcept { return o_; }
  /// The normalised minibatch (naswot, snip; undefined for the others).
  const torch::Tensor& minibatch() const noexcept { return batch_; }
  /// The supernet that counts params and FLOPs and checks architectures.
  const Net& supernet() const noexcept { return probe_; }

 private:
  std::int64_t input_channels() const {
    if constexpr (std::is_same_v<Net, ResNetSupernet>) return probe_->in_channels();
    else return space_.in_channels;
  }
  std::int64_t input_size() const {
    if constexpr (std::is_same_v<Net, ResNetSupernet>) return probe_->input_size();
    else return space_.input_size;
  }

  NetOptions space_;
  AugmentOptions augment_;
  ZeroCostOptions o_;
  std::uint64_t init_seed_ = 0;
  Net probe_{nullptr};
  torch::Tensor batch_, view1_, view2_;
};

/// The zero-cost evaluator over the ResNet space.
using ZeroCostEvaluator = BasicZeroCostEvaluator<ResNetSupernet>;
static_assert(faunae::StatefulEvaluator<ZeroCostEvaluator>, "ZeroCostEvaluator must satisfy faunae::StatefulEvaluator");
/// The zero-cost evaluator over the DARTS cell space.
using DartsZeroCostEvaluator = BasicZeroCostEvaluator<DartsSupernet>;
static_assert(faunae::StatefulEvaluator<DartsZeroCostEvaluator>);

}  // namespace faunae::torch_backend

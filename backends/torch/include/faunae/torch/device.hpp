// Where the backend's tensors live and in which precision they are computed: device names, host →
// device batches through pinned memory, mixed precision (autocast and a gradient scaler) on CUDA,
// channels-last, and an SGD with momentum in multi-tensor kernels whose state can be saved.
//
//   const torch::Device device = faunae::torch_backend::parse_device("cuda");        // or "cpu", "cuda:1"
//   auto x = faunae::torch_backend::to_device(images.index_select(0, idx), device);  // pinned + non_blocking
//   {
//     faunae::torch_backend::AutocastGuard autocast(device, Precision::bf16);
//     loss = ...;                                                                     // matmuls in bf16
//   }
//
// Everything here also builds and runs without CUDA: on the CPU, Precision::fp32 is the only one
// accepted and to_device is a no-op.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "faunae/core/error.hpp"
#include "faunae/core/options_reader.hpp"

namespace faunae::torch_backend {

/// "cpu", "cuda" or "cuda:N" → a torch::Device; CUDA is checked to be there.
inline torch::Device parse_device(std::string_view name) {
  constexpr std::string_view where = "faunae::torch_backend::parse_device()";
  std::optional<torch::Device> device;
  try {
    device = torch::Device(std::string(name));
  } catch (const std::exception&) {
    throw InvalidArgument(fmt::format("{}: '{}' is not a device; use cpu, cuda or cuda:N", where, name));
  }
  if (device->is_cpu()) return *device;
  if (!device->is_cuda()) throw InvalidArgument(fmt::format("{}: device '{}' is not supported; use cpu, cuda or cuda:N", where, name));
  if (!torch::cuda::is_available())
    throw InvalidArgument(fmt::format("{}: device '{}' asked for, but this LibTorch has no CUDA or sees no GPU", where, name));
  if (device->has_index() && device->index() >= static_cast<int>(torch::cuda::device_count()))
    throw InvalidArgument(fmt::format("{}: device '{}' asked for, but only {} GPU(s) are visible", where, name, torch::cuda::device_count()));
  return *device;
}

/// A host tensor on `device`: on CUDA through pinned (page-locked) memory and a non-blocking copy,
/// so the copy overlaps the work already queued. The pinned buffer comes from LibTorch's caching
/// host allocator, which keeps it alive until the copy has run. On the CPU, `t` itself.
inline torch::Tensor to_device(const torch::Tensor& t, torch::Device device) {
  if (device.is_cpu() || t.device() == device) return t;
  if (t.is_cuda()) return t.to(device);
  const auto pinned = t.is_pinned() ? t : t.pin_memory();
  return pinned.to(device, /*non_blocking=*/true);
}

/// Precision of the forward and backward passes. The weights and the optimizer stay in float32.
enum class Precision {
  fp32,  ///< everything in float32 (the only choice on the CPU)
  bf16,  ///< CUDA autocast to bfloat16: float32's range, no gradient scaling needed
  fp16   ///< CUDA autocast to float16 with dynamic gradient scaling (GradScaler)
};

inline std::string_view to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
  }
  return "?";
}

inline Precision parse_precision(std::string_view name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  if (name == "fp16") return Precision::fp16;
  throw InvalidArgument(fmt::format("faunae::torch_backend::parse_precision(): '{}' is not a precision; use fp32, bf16 or fp16", name));
}

}  // namespace faunae::torch_backend

namespace faunae {
/// A device in options' JSON (ReflectedOptions fields): its name, "cpu" or "cuda:N" (parse_device).
template <>
struct OptionCodec<torch::Device> {
  static torch::Device from_json(const nlohmann::json& v, std::string_view key) {
    return option_from_name(v, key, "cpu, cuda or cuda:N", torch_backend::parse_device);
  }
  static nlohmann::json to_json(const torch::Device& d) { return d.str(); }
};
/// A precision in options' JSON: fp32, bf16 or fp16.
template <>
struct OptionCodec<torch_backend::Precision> {
  static torch_backend::Precision from_json(const nlohmann::json& v, std::string_view key) {
    if (v.is_string() && (v == "fp32" || v == "bf16" || v == "fp16")) return torch_backend::parse_precision(v.get<std::string>());
    throw InvalidArgument(fmt::format("'{}' must be fp32, bf16 or fp16, got {}", key, v.dump()));
  }
  static nlohmann::json to_json(torch_backend::Precision p) { return std::string(torch_backend::to_string(p)); }
};
}  // namespace faunae

namespace faunae::torch_backend {

/// Throws unless `p` can run on `device` (mixed precision needs CUDA).
inline void check_precision(Precision p, torch::Device device, std::string_view where) {
  if (p != Precision::fp32 && !device.is_cuda())
    throw InvalidArgument(fmt::format("{}: precision {} needs a CUDA device, got {}", where, to_string(p), device.str()));
}

/// Turns CUDA autocast on for the guard's lifetime (torch.autocast("cuda", dtype) in Python), and off
/// again with its cast cache cleared. Does nothing for Precision::fp32.
class AutocastGuard {
 public:
  AutocastGuard(torch::Device device, Precision p) : active_(p != Precision::fp32 && device.is_cuda()) {
    if (!active_) return;
    const auto dtype = p == Precision::bf16 ? at::kBFloat16 : at::kHalf;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previous_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
    previous_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, previous_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
    at::autocast::set_enabled(previous_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

/// Converts the 4-d parameters and buffers of `m` (convolution weights) to channels-last memory
/// format, which cuDNN runs faster with tensor cores; inputs should be converted too
/// (x.contiguous(torch::MemoryFormat::ChannelsLast)).
inline void to_channels_last(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

/// Stochastic gradient descent with momentum and weight decay, exactly PyTorch's torch.optim.SGD
/// (dampening 0, not Nesterov):  g ← ∇ + wd·θ;  b ← μ·b + g (b ← g the first time);  θ ← θ − lr·b,
/// in multi-tensor kernels (torch::_foreach_*) over the parameters that have a gradient: in a
/// single-path supernet the ops that α did not select have none and are left alone, weight decay
/// included. Momentum buffers are kept by parameter name so that they can be saved and restored.
/// With `scale` (a GradScaler's), gradients are unscaled first and the step is skipped if any is
/// not finite.
class MomentumSgd {
 public:
  MomentumSgd(std::vector<std::pair<std::string, torch::Tensor>> named_parameters, double lr, double momentum, double weight_decay)
      : params_(std::move(named_parameters)), buffers_(params_.size()), lr_(lr), momentum_(momentum), weight_decay_(weight_decay) {
    constexpr std::string_view where = "faunae::torch_backend::MomentumSgd";
    if (!(lr >= 0.0 && std::isfinite(lr))) throw InvalidArgument(fmt::format("{}: lr must be finite and >= 0, got {}", where, lr));
    if (!(momentum >= 0.0 && momentum < 1.0)) throw InvalidArgument(fmt::format("{}: momentum must be in [0, 1), got {}", where, momentum));
    if (!(weight_decay >= 0.0 && std::isfinite(weight_decay)))
      throw InvalidArgument(fmt::format("{}: weight_decay must be finite and >= 0, got {}", where, weight_decay));
  }

  /// Forgets the gradients (set to none, as PyTorch's zero_grad(set_to_none=True)).
  void zero_grad() {
    for (auto& [name, p] : params_) p.mutable_grad() = torch::Tensor();
  }

  /// The gradients that exist, in parameter order (what a data-parallel all-reduce averages).
  std::vector<torch::Tensor> gradients() const {
    std::vector<torch::Tensor> out;
    for (const auto& [name, p] : params_)
      if (p.grad().defined()) out.push_back(p.grad());
    return out;
  }

  /// One step at learning rate `lr` (the schedule's current value).
  void step(double lr) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> params, grads, buffers;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i].second;
      if (!p.grad().defined()) continue;
      params.push_back(p);
      grads.push_back(p.grad());
    }
    if (params.empty()) return;
    if (weight_decay_ != 0.0) torch::_foreach_add_(grads, params, weight_decay_);
    std::vector<torch::Tensor> fresh_buffers, fresh_grads;
    std::size_t j = 0;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].second.grad().defined()) continue;
      if (!buffers_[i].defined()) {
        buffers_[i] = grads[j].clone();  // b ← g the first time
      } else {
        buffers.push_back(buffers_[i]);
        fresh_grads.push_back(grads[j]);
      }
      fresh_buffers.push_back(buffers_[i]);
      ++j;
    }
    if (!buffers.empty()) {
      torch::_foreach_mul_(buffers, momentum_);
      torch::_foreach_add_(buffers, fresh_grads);
    }
    torch::_foreach_add_(params, fresh_buffers, -lr);
    lr_ = lr;
  }

  double lr() const noexcept { return lr_; }
  double momentum() const noexcept { return momentum_; }
  double weight_decay() const noexcept { return weight_decay_; }
  const std::vector<std::pair<std::string, torch::Tensor>>& parameters() const noexcept { return params_; }

  /// Momentum buffers by parameter name (only those that exist).
  std::vector<std::pair<std::string, torch::Tensor>> state() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (buffers_[i].defined()) out.emplace_back(params_[i].first, buffers_[i]);
    return out;
  }

  /// Sets the momentum buffers from `state()`'s output (names must be parameters, shapes must match).
  void restore(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
    constexpr std::string_view where = "faunae::torch_backend::MomentumSgd::restore()";
    std::vector<torch::Tensor> restored(params_.size());
    for (const auto& [name, t] : state) {
      std::size_t i = 0;
      while (i < params_.size() && params_[i].first != name) ++i;
      if (i == params_.size()) throw IoError(fmt::format("{}: momentum for '{}', which is not a parameter", where, name));
      if (!t.sizes().equals(params_[i].second.sizes()))
        throw IoError(fmt::format("{}: momentum for '{}' has shape {}, the parameter {}", where, name, t.sizes().vec(),
                                  params_[i].second.sizes().vec()));
      restored[i] = t.to(params_[i].second.device(), params_[i].second.scalar_type()).clone();
    }
    buffers_ = std::move(restored);
  }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> buffers_;
  double lr_, momentum_, weight_decay_;
};

/// Dynamic loss scaling for float16 (PyTorch's torch.cuda.amp.GradScaler with its defaults: scale
/// 2^16, ×2 after 2000 good steps, ×0.5 after a step with an Inf or NaN gradient, which is skipped).
class GradScaler {
 public:
  explicit GradScaler(torch::Device device, bool enabled, double init_scale = 65536.0)
      : enabled_(enabled), scale_(torch::full({1}, init_scale, torch::TensorOptions().dtype(torch::kFloat32).device(device))),
        growth_tracker_(torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt32).device(device))) {}

  bool enabled() const noexcept { return enabled_; }
  torch::Tensor scale(const torch::Tensor& loss) const { return enabled_ ? loss * scale_.to(loss.scalar_type()) : loss; }

  /// Unscales `grads` in place; true if they are all finite (the step may go ahead).
  bool unscale(std::vector<torch::Tensor>& grads) {
    if (!enabled_) return true;
    found_inf_ = torch::zeros({1}, scale_.options());
    const auto inv_scale = scale_.reciprocal();
    if (!grads.empty()) at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv_scale);
    return found_inf_.item<float>() == 0.0F;
  }

  /// Updates the scale after a step (grows or backs off).
  void update() {
    if (!enabled_ || !found_inf_.defined()) return;
    at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, 2.0, 0.5, 2000);
  }

  double current_scale() const { return enabled_ ? scale_.item<double>() : 1.0; }
  const torch::Tensor& scale_tensor() const noexcept { return scale_; }
  const torch::Tensor& growth_tracker() const noexcept { return growth_tracker_; }
  void restore(const torch::Tensor& scale, const torch::Tensor& growth_tracker) {
    scale_.copy_(scale);
    growth_tracker_.copy_(growth_tracker);
  }

 private:
  bool enabled_;
  torch::Tensor scale_, growth_tracker_, found_inf_;
};

}  // namespace faunae::torch_backend

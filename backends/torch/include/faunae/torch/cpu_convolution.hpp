// Which CPU convolution kernels the backend's backward passes use (issue 30).
//
//   loss = ...;                                   // forward as usual (oneDNN where LibTorch picks it)
//   faunae::torch_backend::backward(loss);        // = loss.backward(), oneDNN's convolution kept out
//
// Why: LibTorch 2.6's oneDNN convolution backward (Debian's libdnnl 3.7) returns non-finite input
// gradients for a few stride-1 convolutions on AMD Zen 5 CPUs (family 26): 4 to 10 of 648 shapes in
// a sweep, different ones on every run, also at one thread, while the forward output and the weight
// gradient stay finite (docs/torch-backend.md, "NaN gradients from oneDNN's convolution backward on
// Zen 5"). LibTorch 1.13 on the same CPU is correct, and so is LibTorch 2.6 with oneDNN switched off.
// A start-up known-answer check cannot decide it: the bad shapes change from run to run and a
// failing shape passes alone.
//
// So every backward pass of this backend (MoCo, the evaluators, stand-alone training, the zero-cost
// proxies) runs inside a CpuConvolutionBackwardGuard, which switches LibTorch's oneDNN off
// (at::Context::setUserEnabledMkldnn(false)) for its scope, where the setting asks for it:
//   - CpuConvolutionBackward::automatic (the default): off on LibTorch >= 2, left alone on 1.x;
//   - CpuConvolutionBackward::native: off on every LibTorch;
//   - CpuConvolutionBackward::onednn: left alone (LibTorch's own choice; for a CPU known to be
//     correct, where oneDNN's backward is faster).
// The forward passes keep oneDNN: its results are correct there. LibTorch picks the convolution
// kernel again for the backward (convolution_backward selects its backend from the context at that
// moment) and saves only the input and the weight in the forward, so a forward on oneDNN and a
// backward on the native kernels (im2col and BLAS) are a valid pair. CUDA is not affected: the flag
// only steers CPU kernels.
//
// The setting and the switch are process-wide, as LibTorch's flag is. Guards nest and may be held
// by several threads at once: the first one in saves the user's flag and the last one out restores
// it. The cost in speed is measured in docs/benchmarks.md ("oneDNN out of the backward").
#pragma once

#include <atomic>
#include <mutex>
#include <string_view>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "faunae/core/error.hpp"

namespace faunae::torch_backend {

/// Which CPU convolution kernels the backend's backward passes use (see the file's comment).
enum class CpuConvolutionBackward {
  automatic,  ///< native kernels on LibTorch >= 2 (oneDNN's backward is unreliable there), LibTorch's choice on 1.x
  native,     ///< never oneDNN in a backward pass
  onednn      ///< LibTorch's own choice (oneDNN for most float32 convolutions)
};

inline std::string_view to_string(CpuConvolutionBackward c) {
  switch (c) {
    case CpuConvolutionBackward::automatic: return "automatic";
    case CpuConvolutionBackward::native: return "native";
    case CpuConvolutionBackward::onednn: return "onednn";
  }
  return "?";
}

inline CpuConvolutionBackward parse_cpu_convolution_backward(std::string_view name) {
  if (name == "automatic") return CpuConvolutionBackward::automatic;
  if (name == "native") return CpuConvolutionBackward::native;
  if (name == "onednn") return CpuConvolutionBackward::onednn;
  throw InvalidArgument(fmt::format(
      "faunae::torch_backend::parse_cpu_convolution_backward(): '{}' is not a choice; use automatic, native or onednn", name));
}

namespace detail::cpu_convolution {
inline std::atomic<CpuConvolutionBackward> setting{CpuConvolutionBackward::automatic};
inline std::mutex mutex;          // guards the two below
inline int guards_inside = 0;     // guards now holding oneDNN off
inline bool user_flag = true;     // LibTorch's flag as the first of them found it
}  // namespace detail::cpu_convolution

/// Sets, for the whole process, which kernels the backend's backward passes use from now on.
inline void set_cpu_convolution_backward(CpuConvolutionBackward c) { detail::cpu_convolution::setting.store(c); }

/// The process's setting (CpuConvolutionBackward::automatic unless set).
inline CpuConvolutionBackward cpu_convolution_backward() { return detail::cpu_convolution::setting.load(); }

/// Whether the backend's backward passes keep oneDNN out, on this LibTorch, under the current setting.
inline bool backward_avoids_onednn() {
  switch (cpu_convolution_backward()) {
    case CpuConvolutionBackward::native: return true;
    case CpuConvolutionBackward::onednn: return false;
    case CpuConvolutionBackward::automatic: return TORCH_VERSION_MAJOR >= 2;
  }
  return true;
}

/// For its lifetime, LibTorch's oneDNN is off (where backward_avoids_onednn() says so when the guard
/// is made); the flag the first guard found is restored when the last one ends.
class CpuConvolutionBackwardGuard {
 public:
  CpuConvolutionBackwardGuard() : engaged_(backward_avoids_onednn()) {
    if (!engaged_) return;
    const std::lock_guard lock(detail::cpu_convolution::mutex);
    if (detail::cpu_convolution::guards_inside++ == 0) {
      detail::cpu_convolution::user_flag = at::globalContext().userEnabledMkldnn();
      at::globalContext().setUserEnabledMkldnn(false);
    }
  }
  ~CpuConvolutionBackwardGuard() {
    if (!engaged_) return;
    const std::lock_guard lock(detail::cpu_convolution::mutex);
    if (--detail::cpu_convolution::guards_inside == 0) at::globalContext().setUserEnabledMkldnn(detail::cpu_convolution::user_flag);
  }
  CpuConvolutionBackwardGuard(const CpuConvolutionBackwardGuard&) = delete;
  CpuConvolutionBackwardGuard& operator=(const CpuConvolutionBackwardGuard&) = delete;

  /// Whether this guard switched oneDNN off (or found it off through another guard).
  bool engaged() const { return engaged_; }

 private:
  bool engaged_;
};

/// `loss.backward()` with the backend's choice of CPU convolution kernels (CpuConvolutionBackwardGuard).
inline void backward(const torch::Tensor& loss) {
  const CpuConvolutionBackwardGuard guard;
  loss.backward();
}

}  // namespace faunae::torch_backend

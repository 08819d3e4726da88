// The backend's backward passes and LibTorch's oneDNN convolution (issue 30, cpu_convolution.hpp):
// a sweep of the backend's convolution ops whose gradients must be finite and equal to a float64
// reference (float64 convolutions never run on oneDNN), and the guard's switch itself.
//
// On an AMD Zen 5 CPU with LibTorch 2.6, oneDNN's convolution backward gave non-finite input
// gradients for a few of these shapes on every run; the sweep fails there without the guard.
#include "catch_torch.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <faunae/torch/cpu_convolution.hpp>
#include <faunae/torch/ops.hpp>
#include <faunae/torch/seeding.hpp>

using namespace faunae::torch_backend;

namespace {

/// Sets the process's choice for one scope, and LibTorch's flag back as it was.
struct ScopedSetting {
  explicit ScopedSetting(CpuConvolutionBackward c) : previous(cpu_convolution_backward()), flag(at::globalContext().userEnabledMkldnn()) {
    set_cpu_convolution_backward(c);
  }
  ~ScopedSetting() {
    set_cpu_convolution_backward(previous);
    at::globalContext().setUserEnabledMkldnn(flag);
  }
  CpuConvolutionBackward previous;
  bool flag;
};

/// LibTorch's oneDNN flag as a gradient hook saw it in the middle of a backward through
/// faunae::torch_backend::backward (-1: the hook did not run).
int flag_seen_in_backward() {
  int seen = -1;
  const auto x = torch::ones({3}, torch::requires_grad());
  auto y = x * 2.0;
  y.register_hook([&seen](const torch::Tensor&) { seen = at::globalContext().userEnabledMkldnn() ? 1 : 0; });
  backward(y.sum());
  return seen;
}

/// What one op's backward gives: the input gradient and every parameter's gradient, flattened.
struct Gradients {
  torch::Tensor output, input, parameters;
};

/// The loss is Σ r ⊙ y² with r a fixed random sign-mixed weight: its gradient vanishes where a ReLU
/// output does (so float32 and float64 agree at the ReLU's kink) and is not aligned with a BatchNorm's
/// normalised output (whose component BatchNorm's backward removes, which would leave only rounding).
Gradients gradients_of(const std::shared_ptr<CandidateOpImpl>& op, const torch::Tensor& x0) {
  op->zero_grad();
  const auto x = x0.detach().clone().requires_grad_(true);
  const auto y = op->forward(x);
  const auto r = torch::randn(y.sizes(), make_generator(7), torch::TensorOptions().dtype(torch::kFloat64));
  backward((y.square() * r.to(y.scalar_type())).mean());
  std::vector<torch::Tensor> grads;
  for (const auto& p : op->parameters())
    if (p.grad().defined()) grads.push_back(p.grad().flatten());
  return {y.detach(), x.grad(), torch::cat(grads)};
}

/// Largest |a − b| relative to the largest |b| (and 1e-12): a float32 result against its float64 twin.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto b64 = b.to(torch::kFloat64);
  const double scale = std::max(b64.abs().max().item<double>(), 1e-12);
  return (a.to(torch::kFloat64) - b64).abs().max().item<double>() / scale;
}

/// Runs `op` in float32 (the path oneDNN may take) and in float64 (never oneDNN) on the same
/// weights and input; returns a description of what is wrong, or "" when all is finite and close.
std::string check_against_float64(const std::shared_ptr<CandidateOpImpl>& op, const torch::Tensor& x, const std::string& what) {
  op->to(torch::kFloat32);
  const auto f32 = gradients_of(op, x);
  op->to(torch::kFloat64);
  const auto f64 = gradients_of(op, x.to(torch::kFloat64));
  op->to(torch::kFloat32);
  std::string bad;
  const auto check = [&](const char* name, const torch::Tensor& a, const torch::Tensor& b, double tolerance) {
    if (!torch::isfinite(a).all().item<bool>())
      bad += fmt::format("{}: non-finite {} ({} of {} values); ", what, name, (~torch::isfinite(a)).sum().item<std::int64_t>(), a.numel());
    else if (const double e = relative_error(a, b); e > tolerance)
      bad += fmt::format("{}: {} off the float64 reference by {:.2e} of its largest value; ", what, name, e);
  };
  check("forward output", f32.output, f64.output, 1e-3);
  check("input gradient", f32.input, f64.input, 1e-3);
  check("parameter gradients", f32.parameters, f64.parameters, 1e-3);
  return bad;
}

}  // namespace

TEST_CASE("cpu_convolution: the guard switches oneDNN off for the backward where the setting asks, and restores the flag",
          "[cpu_convolution]") {
  const ScopedSetting restore(CpuConvolutionBackward::automatic);
  at::globalContext().setUserEnabledMkldnn(true);
  CHECK(backward_avoids_onednn() == (TORCH_VERSION_MAJOR >= 2));
  CHECK(flag_seen_in_backward() == (TORCH_VERSION_MAJOR >= 2 ? 0 : 1));
  CHECK(at::globalContext().userEnabledMkldnn());

  set_cpu_convolution_backward(CpuConvolutionBackward::native);
  CHECK(backward_avoids_onednn());
  CHECK(flag_seen_in_backward() == 0);
  CHECK(at::globalContext().userEnabledMkldnn());
  {  // nested guards: the flag comes back only when the outer one ends
    const CpuConvolutionBackwardGuard outer;
    CHECK(outer.engaged());
    {
      const CpuConvolutionBackwardGuard inner;
      CHECK_FALSE(at::globalContext().userEnabledMkldnn());
    }
    CHECK_FALSE(at::globalContext().userEnabledMkldnn());
  }
  CHECK(at::globalContext().userEnabledMkldnn());
  at::globalContext().setUserEnabledMkldnn(false);  // a user who switched oneDNN off keeps it off
  CHECK(flag_seen_in_backward() == 0);
  CHECK_FALSE(at::globalContext().userEnabledMkldnn());

  at::globalContext().setUserEnabledMkldnn(true);
  set_cpu_convolution_backward(CpuConvolutionBackward::onednn);
  CHECK_FALSE(backward_avoids_onednn());
  CHECK_FALSE(CpuConvolutionBackwardGuard().engaged());
  CHECK(flag_seen_in_backward() == 1);
  CHECK(at::globalContext().userEnabledMkldnn());
}

TEST_CASE("cpu_convolution: choices by name", "[cpu_convolution]") {
  for (const auto c : {CpuConvolutionBackward::automatic, CpuConvolutionBackward::native, CpuConvolutionBackward::onednn})
    CHECK(parse_cpu_convolution_backward(to_string(c)) == c);
  CHECK_THROWS_WITH(parse_cpu_convolution_backward("mkldnn"),
                    "faunae::torch_backend::parse_cpu_convolution_backward(): 'mkldnn' is not a choice; use automatic, native or onednn");
}

// The sweep (6 × 6 × 3 × 2 × 3 × 2 = 1296 convolutions, here through ConvBnRelu and
// ReluConvBn), and smaller ones through the separable and the split-attention convolutions. Every
// gradient finite and within 1e-3 (relative to its largest value) of float64. A few seconds.
TEST_CASE("cpu_convolution: the backend's convolution ops have finite gradients equal to float64's (sweep)", "[cpu_convolution]") {
  const ScopedSetting restore(cpu_convolution_backward());
  torch::manual_seed(0);
  std::vector<std::string> bad;
  int checked = 0;
  const auto run = [&](const std::shared_ptr<CandidateOpImpl>& op, std::int64_t n, std::int64_t c, std::int64_t hw, const std::string& what) {
    op->train();
    const auto message = check_against_float64(op, torch::randn({n, c, hw, hw}), what);
    ++checked;
    if (!message.empty()) bad.push_back(message);
  };
  for (const std::int64_t cin : {1, 2, 4, 8, 16, 32})
    for (const std::int64_t cout : {2, 4, 8, 16, 32, 64})
      for (const std::int64_t k : {1, 3, 5})
        for (const std::int64_t s : {1, 2})
          for (const std::int64_t hw : {28, 14, 7})
            for (const std::int64_t n : {8, 16}) {
              const auto shape = fmt::format("cin {} cout {} k {} stride {} {}x{} batch {}", cin, cout, k, s, hw, hw, n);
              if ((cin + cout + k + s + hw + n) % 2 == 0)
                run(ConvBnRelu(cin, cout, k, s).ptr(), n, cin, hw, "ConvBnRelu " + shape);
              else
                run(ReluConvBn(cin, cout, k, s).ptr(), n, cin, hw, "ReluConvBn " + shape);
            }
  for (const std::int64_t c : {4, 8, 16, 32})
    for (const std::int64_t k : {3, 5})
      for (const std::int64_t s : {1, 2})
        for (const std::int64_t hw : {14, 7}) {
          run(SepConv(c, c, k, s).ptr(), 8, c, hw, fmt::format("SepConv c {} k {} stride {} {}x{}", c, k, s, hw, hw));
          run(SplAtConv2d(SplAtConv2dOptions(c, c, k).stride(s)).ptr(), 8, c, hw,
              fmt::format("SplAtConv2d c {} k {} stride {} {}x{}", c, k, s, hw, hw));
        }
  INFO(fmt::format("{} of {} ops wrong (first ones: {})", bad.size(), checked,
                   bad.empty() ? std::string("none") : bad.front() + (bad.size() > 1 ? " | " + bad[1] : std::string())));
  CHECK(checked == 1296 + 64);
  CHECK(bad.empty());
}

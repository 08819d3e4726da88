// The Supernet concept: what the torch backend's learners, evaluators and export need of a
// weight-sharing network over a block space (paper III.A: one operation per block is active).
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include <torch/torch.h>

#include "faunae/core/architecture.hpp"

namespace faunae::torch_backend {

/// The options a supernet `Net` is built from (ResNetSpaceOptions, DartsSpaceOptions, ...).
template <class Net>
using SupernetOptions = std::remove_cvref_t<decltype(std::declval<const Net&>()->options())>;

/// Supernet: a torch::nn::ModuleHolder (as TORCH_MODULE makes) whose module holds every candidate op of
/// every block, and runs the ops of one architecture at a time.
///
/// Requirements, for `Net n`, its options `o` (SupernetOptions<Net>), an architecture `a`, an
/// optional architecture `only`, a batch of images `x` and `std::string_view where`:
///  1. `Net(o)` builds the supernet; `Net(o, only)` the standalone network of `*only` (only its ops,
///     which export.hpp's extract() and MoCo's teacher use), or the supernet when `only` is empty.
///  2. `n->forward(x, a)` → the pooled features (N, feature_dim()) through `a`'s ops;
///     `n->forward(x)` → the same through the standalone network's own architecture.
///  3. `n->options()`, `n->feature_dim()`, `n->fixed_architecture()` (the `only` it was built with).
///  4. `n->check(a, where)` throws InvalidArchitecture (naming `where`) unless `a` fits the space.
///  5. `n->parameters(a)` and `n->flops(a)`: the size of `a` (eq. (2)'s MS, reports).
///  6. The holder's module is a torch::nn::Module (parameters, to(device), train()/eval()).
///
/// Satisfied by: ResNetSupernet (resnet_space.hpp) and DartsSupernet (darts_space.hpp).
template <class Net>
concept Supernet =
    std::derived_from<typename Net::ContainedType, torch::nn::Module> &&
    std::constructible_from<Net, const SupernetOptions<Net>&> &&
    std::constructible_from<Net, const SupernetOptions<Net>&, const std::optional<Architecture>&> &&
    requires(Net& n, const Net& cn, const Architecture& a, const torch::Tensor& x, std::string_view where) {
      { n->forward(x, a) } -> std::same_as<torch::Tensor>;
      { n->forward(x) } -> std::same_as<torch::Tensor>;
      { cn->feature_dim() } -> std::convertible_to<std::int64_t>;
      { cn->fixed_architecture() } -> std::convertible_to<const std::optional<Architecture>&>;
      cn->check(a, where);
      { cn->parameters(a) } -> std::convertible_to<std::int64_t>;
      { cn->flops(a) } -> std::convertible_to<std::int64_t>;
    };

}  // namespace faunae::torch_backend

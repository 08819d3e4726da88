// Where the torch backend's randomness comes from: explicit generators and seeded construction, never
// LibTorch's global seed. Every component derives its seeds from the user's seed with
// faunae::stream_seed(seed, purpose, index) (core/rng.hpp); the purposes are listed in
// docs/algorithm.md ("Seeds").
//
//   torch::Generator order = make_generator(faunae::stream_seed(seed, "train.order"));
//   auto net = construct_seeded(faunae::stream_seed(seed, "evaluator.network"), [&] { return ResNetSupernet(options); });
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>

#include <torch/torch.h>

#include "faunae/core/rng.hpp"

namespace faunae::torch_backend {

/// A CPU generator seeded with `seed`: what augmentations, shuffles and queues draw from.
inline torch::Generator make_generator(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

/// Calls `make()` with LibTorch's default CPU generator reseeded with `seed`, and restores the
/// generator's state afterwards (also when `make` throws): modules initialise their weights from
/// that generator, and this makes their initial weights a function of `seed` without moving the
/// caller's random stream. The generator's own lock is held while it is reseeded and restored; other
/// threads that draw from the default generator meanwhile would still see the seeded stream.
template <class Make>
auto construct_seeded(std::uint64_t seed, Make&& make) {
  at::Generator global = at::detail::getDefaultCPUGenerator();
  torch::Tensor saved;
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    saved = global.get_state();
    global.set_current_seed(seed);
  }
  struct Restore {
    at::Generator& g;
    const torch::Tensor& state;
    ~Restore() {
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_state(state);
    }
  } restore{global, saved};
  return std::forward<Make>(make)();
}

}  // namespace faunae::torch_backend

// The Collective concept: what data-parallel training needs from a process group, so that the
// trainers run unchanged on one process (SingleProcess, the default) or on N (c10d, distributed.hpp).
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace faunae::torch_backend {

/// Collective: the communication of data parallelism, for `C c`:
///  1. `c.rank()` and `c.world_size()`: this process's index in [0, world_size) and the number of
///     processes, as int.
///  2. `c.average(grads)`: all-reduces the tensors of `grads` (std::vector<torch::Tensor>&) in place
///     to their mean over the processes; every process passes tensors of the same shapes in the same
///     order.
///  3. `c.sum(t)`: all-reduces the tensor `t` in place to its sum over the processes.
///  4. `c.gather_rows(t)`: the tensors `t` (B×D, the same shape on every process) of all processes
///     stacked along rows in rank order (world_size·B × D).
///  5. `c.broadcast(tensors)`: every process's tensors become those of rank 0 (start from the same
///     weights).
///  6. `c.broadcast_string(s)`: rank 0's string on every process (decisions, checks).
///  7. `c.bytes_communicated()`: bytes this process has sent into collectives so far (for reports).
///
/// Satisfied by: SingleProcess (all no-ops), faunae::torch_backend::C10dCollective (distributed.hpp).
template <class C>
concept Collective = requires(C& c, const C& cc, std::vector<torch::Tensor>& tensors, torch::Tensor& t, const torch::Tensor& ct,
                              const std::string& s) {
  { cc.rank() } -> std::convertible_to<int>;
  { cc.world_size() } -> std::convertible_to<int>;
  c.average(tensors);
  c.sum(t);
  { c.gather_rows(ct) } -> std::convertible_to<torch::Tensor>;
  c.broadcast(tensors);
  { c.broadcast_string(s) } -> std::convertible_to<std::string>;
  { cc.bytes_communicated() } -> std::convertible_to<std::uint64_t>;
};

/// One process: every collective is the identity.
struct SingleProcess {
  int rank() const noexcept { return 0; }
  int world_size() const noexcept { return 1; }
  void average(std::vector<torch::Tensor>&) noexcept {}
  void sum(torch::Tensor&) noexcept {}
  torch::Tensor gather_rows(const torch::Tensor& t) { return t; }
  void broadcast(std::vector<torch::Tensor>&) noexcept {}
  std::string broadcast_string(const std::string& s) { return s; }
  std::uint64_t bytes_communicated() const noexcept { return 0; }
};
static_assert(Collective<SingleProcess>);

}  // namespace faunae::torch_backend

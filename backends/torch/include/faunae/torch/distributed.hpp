// Data parallelism over a c10d process group: C10dCollective (a Collective, collective.hpp) for
// MocoLearner and the ContrastiveEvaluator, the launch variables of torchrun, a hand launch and
// Slurm (DistributedEnvironment), and the check that every rank takes the same search decisions
// (C10dCollective::agree, the RanksAgree hook).
//
//   auto comm = faunae::torch_backend::C10dCollective::from_environment("gloo");  // or "nccl"
//   ContrastiveEvaluatorOptions o;  o.device = comm.device();  // cuda:LOCAL_RANK with NCCL
//   BasicContrastiveEvaluator<ResNetSupernet, C10dCollective> evaluator(space, train, validation, augment, o, comm);
//   faunae::torch_backend::RanksAgree agree(comm);                             // throws on every rank if they part
//   faunae::FaUNAE<faunae::BlockSpace> search(block_space, {.seed = 7});
//   search.run(evaluator, agree);
//
// Run with `torchrun --no_python --nproc_per_node=N ./program` (docs/distributed.md).
//
// One search, not N: every rank runs the same search with the same seed. The batch order is drawn
// from a generator in the same state on every rank, gradients are averaged and the validation loss
// is summed over the ranks, so every rank sees the same loss bit for bit and therefore takes the
// same decisions (mutation, accept or revert, elimination) — the equivalent of "rank 0 decides and
// broadcasts", without the broadcast. RanksAgree checks it after every epoch.
//
// LibTorch 1.13 (Debian) and 2.x: c10d's ProcessGroupGloo / ProcessGroupNCCL derive from
// c10d::ProcessGroup in 1.x and from c10d::Backend in 2.x; this file uses only the collectives both
// have (allreduce, allgather, broadcast, barrier). The headers need USE_C10D_GLOO (and
// USE_C10D_NCCL for NCCL) defined: the CMake target faunae::torch_distributed does that.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#if !defined(USE_C10D_GLOO)
#error "faunae/torch/distributed.hpp needs USE_C10D_GLOO defined (LibTorch's c10d headers are empty without it): link faunae::torch_distributed"
#endif
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(USE_C10D_NCCL)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "faunae/concepts/hooks.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/search_state.hpp"
#include "faunae/core/serialization.hpp"
#include "faunae/torch/collective.hpp"
#include "faunae/torch/error_text.hpp"

namespace faunae::torch_backend {

/// A collective failed (a peer died, the rendezvous timed out, the network broke) or the ranks of a
/// group disagree where they must agree (C10dCollective::agree). Thrown on every rank that sees it.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
#if TORCH_VERSION_MAJOR >= 2
/// What ProcessGroupGloo and ProcessGroupNCCL derive from: c10d::Backend since LibTorch 2.0.
using C10dGroup = c10d::Backend;
#else
using C10dGroup = c10d::ProcessGroup;
#endif
}  // namespace detail

/// Where this process stands in the group, from the variables its launcher set: torchrun's RANK,
/// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT, with Slurm's SLURM_PROCID, SLURM_NTASKS and
/// SLURM_LOCALID where torchrun's are absent. Without RANK/SLURM_PROCID and WORLD_SIZE/SLURM_NTASKS
/// it is a single process (rank 0 of 1).
struct DistributedEnvironment {
  int rank = 0;                          ///< RANK, or SLURM_PROCID: in [0, world_size)
  int world_size = 1;                    ///< WORLD_SIZE, or SLURM_NTASKS
  int local_rank = 0;                    ///< LOCAL_RANK, or SLURM_LOCALID, or 0: the GPU index on this machine
  std::string master_addr = "127.0.0.1";  ///< MASTER_ADDR: rank 0's host (required when world_size > 1)
  std::uint16_t master_port = 29500;     ///< MASTER_PORT (default 29500, torchrun's)

  /// Reads the variables through `lookup` (returns nullptr for an unset variable). Throws
  /// InvalidArgument naming the variable, the rule and the value when one is malformed or they
  /// contradict each other.
  static DistributedEnvironment parse(const std::function<const char*(const char*)>& lookup) {
    constexpr std::string_view where = "faunae::torch_backend::DistributedEnvironment";
    const auto get = [&](const char* name) -> std::optional<std::string> {
      const char* v = lookup(name);
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
    // The first of `names` that is set, with its name (for the messages).
    const auto first = [&](std::initializer_list<const char*> names) -> std::optional<std::pair<std::string, std::string>> {
      for (const char* n : names)
        if (auto v = get(n)) return std::pair<std::string, std::string>{n, *v};
      return std::nullopt;
    };
    const auto integer = [&](const std::pair<std::string, std::string>& var, long long low, long long high, std::string_view rule) {
      const std::string& text = var.second;
      std::size_t used = 0;
      long long value = 0;
      bool ok = !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-');
      if (ok) try {
          value = std::stoll(text, &used);
        } catch (const std::exception&) {
          ok = false;
        }
      if (!ok || used != text.size() || value < low || value > high)
        throw InvalidArgument(fmt::format("{}: {} must be {}, got '{}'", where, var.first, rule, text));
      return value;
    };

    DistributedEnvironment e;
    const auto rank = first({"RANK", "SLURM_PROCID"});
    const auto world = first({"WORLD_SIZE", "SLURM_NTASKS"});
    if (rank.has_value() != world.has_value()) {
      const auto& set = rank ? *rank : *world;
      throw InvalidArgument(fmt::format("{}: {} is set (to '{}') but {} is not: a launcher sets both (torchrun: RANK and WORLD_SIZE; "
                                        "Slurm: SLURM_PROCID and SLURM_NTASKS)",
                                        where, set.first, set.second, rank ? "WORLD_SIZE (nor SLURM_NTASKS)" : "RANK (nor SLURM_PROCID)"));
    }
    if (world) {
      e.world_size = static_cast<int>(integer(*world, 1, 1 << 20, "a positive integer"));
      e.rank = static_cast<int>(integer(*rank, 0, e.world_size - 1, fmt::format("an integer in [0, {}) ({} = {})", e.world_size, world->first,
                                                                                 e.world_size)));
    }
    if (const auto local = first({"LOCAL_RANK", "SLURM_LOCALID"})) e.local_rank = static_cast<int>(integer(*local, 0, 1 << 20, "an integer >= 0"));
    if (const auto addr = get("MASTER_ADDR")) {
      if (addr->empty()) throw InvalidArgument(fmt::format("{}: MASTER_ADDR must name rank 0's host, got ''", where));
      e.master_addr = *addr;
    } else if (e.world_size > 1) {
      throw InvalidArgument(fmt::format("{}: MASTER_ADDR is not set, but WORLD_SIZE is {}: set it to rank 0's host name or address (torchrun "
                                        "sets it; under Slurm: export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1))",
                                        where, e.world_size));
    }
    if (const auto port = get("MASTER_PORT")) e.master_port = static_cast<std::uint16_t>(integer({"MASTER_PORT", *port}, 1, 65535, "a port in [1, 65535]"));
    return e;
  }

  /// parse() of this process's environment.
  static DistributedEnvironment from_environment() {
    return parse([](const char* name) { return std::getenv(name); });
  }
};

/// Settings of C10dCollective::connect / from_environment.
struct C10dOptions {
  std::string backend = "gloo";  ///< "gloo" (CPU tensors) or "nccl" (CUDA tensors; needs USE_C10D_NCCL)
  /// How long the rendezvous and each collective may wait for the other ranks (torch's default).
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  /// Gradients are all-reduced in buckets of about this many bytes (25 MiB, as DDP's bucket_cap_mb).
  std::int64_t bucket_bytes = std::int64_t{25} << 20;
};

namespace detail {
/// A TCPStore with LibTorch's default server (libuv's since LibTorch 2.4), or the classic one where
/// this LibTorch was built without libuv (Debian 13's 2.6: "use_libuv was requested but PyTorch was
/// build without libuv support"). LibTorch 1.x has no choice to make.
template <class Options>
c10::intrusive_ptr<c10d::Store> make_tcp_store(const std::string& host, Options o) {
  if constexpr (requires { o.useLibUV; }) {
    try {
      return c10::make_intrusive<c10d::TCPStore>(host, o);
    } catch (const std::exception& e) {
      if (!o.useLibUV || std::string_view(e.what()).find("libuv") == std::string_view::npos) throw;
      o.useLibUV = false;
    }
  }
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}
}  // namespace detail

/// A Collective over a c10d process group (Gloo or NCCL); see the top of this file. Copies are
/// handles to the same group and share its byte count. Every rank must call the collectives in the
/// same order with tensors of the same shapes (MocoLearner and the evaluator do).
class C10dCollective {
 public:
  /// Over an existing group (its rank and size); `device` is where broadcast_string's and agree()'s
  /// small tensors go (the CPU for Gloo, the rank's GPU for NCCL).
  explicit C10dCollective(c10::intrusive_ptr<detail::C10dGroup> group, torch::Device device = torch::kCPU,
                          std::int64_t bucket_bytes = C10dOptions{}.bucket_bytes, int local_rank = 0)
      : s_(std::make_shared<Shared>()) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective";
    if (!group) throw InvalidArgument(fmt::format("{}: needs a process group, got none", where));
    if (bucket_bytes < 1) throw InvalidArgument(fmt::format("{}: bucket_bytes must be positive, got {}", where, bucket_bytes));
    s_->group = std::move(group);
    s_->rank = s_->group->getRank();
    s_->world = s_->group->getSize();
    s_->local_rank = local_rank;
    s_->device = device;
    s_->bucket_bytes = bucket_bytes;
  }

  /// Rendezvous through a TCPStore at env.master_addr:env.master_port (rank 0 serves it; a group of
  /// one uses an in-memory store), then the process group of options.backend. Throws InvalidArgument
  /// for a bad option, DistributedError when the rendezvous or the group's set-up fails.
  static C10dCollective connect(const DistributedEnvironment& env, const C10dOptions& options = {}) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective::connect()";
    if (options.backend != "gloo" && options.backend != "nccl")
      throw InvalidArgument(fmt::format("{}: the backend must be 'gloo' or 'nccl', got '{}'", where, options.backend));
    if (options.timeout.count() <= 0) throw InvalidArgument(fmt::format("{}: the timeout must be positive, got {} ms", where, options.timeout.count()));
    if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size)
      throw InvalidArgument(fmt::format("{}: the rank must be in [0, world size), got rank {} of {}", where, env.rank, env.world_size));
#if !defined(USE_C10D_NCCL)
    if (options.backend == "nccl")
      throw InvalidArgument(fmt::format("{}: backend 'nccl' is not available: this program was compiled without USE_C10D_NCCL (a LibTorch "
                                        "without CUDA, or CMake found no nccl.h; see docs/distributed.md); use 'gloo'",
                                        where));
#endif
    c10::intrusive_ptr<c10d::Store> store;
    try {
      if (env.world_size == 1) {
        store = c10::make_intrusive<c10d::HashStore>();
      } else {
        c10d::TCPStoreOptions o;
        o.port = env.master_port;
        o.isServer = env.rank == 0;
        o.numWorkers = static_cast<std::size_t>(env.world_size);
        o.waitWorkers = true;
        o.timeout = options.timeout;
        store = detail::make_tcp_store(env.master_addr, o);
      }
    } catch (const std::exception& e) {
      throw DistributedError(fmt::format("{}: rank {} of {} could not {} the TCPStore at {}:{} within {} s: {}", where, env.rank, env.world_size,
                                         env.rank == 0 ? "serve" : "reach", env.master_addr, env.master_port, options.timeout.count() / 1000,
                                         error_text(e, 600)));
    }
    c10::intrusive_ptr<detail::C10dGroup> group;
    torch::Device device = torch::kCPU;
    try {
      if (options.backend == "gloo") {
        auto o = c10d::ProcessGroupGloo::Options::create(options.timeout);
        if (const char* interfaces = std::getenv("GLOO_SOCKET_IFNAME")) {
          for (const auto& name : split(interfaces, ',')) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
        } else if (is_loopback(env.master_addr) || env.world_size == 1) {
          o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.world_size == 1 ? "127.0.0.1" : env.master_addr));
        } else {
          o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        }
        group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, o);
      } else {
#if defined(USE_C10D_NCCL)
        if (!torch::cuda::is_available() || env.local_rank >= static_cast<int>(torch::cuda::device_count()))
          throw InvalidArgument(fmt::format("{}: backend 'nccl' needs GPU {} (LOCAL_RANK), but this machine has {} CUDA device(s)", where,
                                            env.local_rank, torch::cuda::is_available() ? torch::cuda::device_count() : 0));
        c10::cuda::set_device(static_cast<c10::DeviceIndex>(env.local_rank));
        device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
        auto o = c10d::ProcessGroupNCCL::Options::create();
        o->timeout = options.timeout;
        group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, o);
#endif
      }
    } catch (const InvalidArgument&) {
      throw;
    } catch (const std::exception& e) {
      throw DistributedError(fmt::format("{}: rank {} of {} could not set up the {} group (MASTER_ADDR {}; for Gloo across machines set "
                                         "GLOO_SOCKET_IFNAME to the network interface): {}",
                                         where, env.rank, env.world_size, options.backend, env.master_addr, error_text(e, 600)));
    }
    C10dCollective c(std::move(group), device, options.bucket_bytes, env.local_rank);
    c.s_->store = std::move(store);
    return c;
  }

  /// connect() with DistributedEnvironment::from_environment().
  static C10dCollective from_environment(std::string_view backend = "gloo", std::chrono::milliseconds timeout = C10dOptions{}.timeout,
                                         std::int64_t bucket_bytes = C10dOptions{}.bucket_bytes) {
    return connect(DistributedEnvironment::from_environment(), C10dOptions{std::string(backend), timeout, bucket_bytes});
  }

  int rank() const noexcept { return s_->rank; }
  int world_size() const noexcept { return s_->world; }
  int local_rank() const noexcept { return s_->local_rank; }
  /// The device this rank computes on: the CPU for Gloo, cuda:LOCAL_RANK for NCCL.
  torch::Device device() const noexcept { return s_->device; }
  std::int64_t bucket_bytes() const noexcept { return s_->bucket_bytes; }
  const c10::intrusive_ptr<detail::C10dGroup>& group() const noexcept { return s_->group; }

  /// Payload bytes of the tensors this process has handed to collectives (all-reduce, all-gather,
  /// broadcast), sent or received; a ring all-reduce of n bytes over p ranks puts about
  /// 2·(p−1)/p·n on the wire. 0 for a group of one, where nothing is communicated.
  std::uint64_t bytes_communicated() const noexcept { return s_->bytes; }

  /// Gradients to their mean over the ranks, in place: flattened into buckets of about
  /// bucket_bytes (per dtype and device), every bucket's all-reduce started before the first is
  /// awaited, then the sums divided by the world size and copied back.
  void average(std::vector<torch::Tensor>& grads) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective::average()";
    if (s_->world == 1) return;
    for (const auto& g : grads)
      if (!g.defined() || !g.is_floating_point())
        throw InvalidArgument(fmt::format("{}: gradients must be defined floating-point tensors, got {}", where,
                                          g.defined() ? std::string(c10::toString(g.scalar_type())) : std::string("an undefined tensor")));
    bucketed(grads, where, [&](std::vector<torch::Tensor>& bucket) { return s_->group->allreduce(bucket); },
             [&](torch::Tensor& flat) { flat.div_(s_->world); });
  }

  /// `t` to its sum over the ranks, in place.
  void sum(torch::Tensor& t) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective::sum()";
    if (s_->world == 1) return;
    if (!t.defined()) throw InvalidArgument(fmt::format("{}: needs a tensor, got an undefined one", where));
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    run(where, [&] { return s_->group->allreduce(one); });
    count(one[0]);
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }

  /// Every rank's `t` (the same shape on all) stacked along the rows in rank order.
  torch::Tensor gather_rows(const torch::Tensor& t) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective::gather_rows()";
    if (!t.defined() || t.dim() < 1) throw InvalidArgument(fmt::format("{}: needs a tensor of at least one dimension", where));
    if (s_->world == 1) return t;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> input{t.contiguous()};
    std::vector<std::vector<torch::Tensor>> output(1);
    for (int r = 0; r < s_->world; ++r) output[0].push_back(torch::empty_like(input[0]));
    run(where, [&] { return s_->group->allgather(output, input); });
    count(input[0]);
    return torch::cat(output[0], 0);
  }

  /// Every rank's tensors become rank 0's, in place (bucketed as average()).
  void broadcast(std::vector<torch::Tensor>& tensors) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective::broadcast()";
    if (s_->world == 1) return;
    for (const auto& t : tensors)
      if (!t.defined()) throw InvalidArgument(fmt::format("{}: every tensor must be defined", where));
    bucketed(tensors, where, [&](std::vector<torch::Tensor>& bucket) { return s_->group->broadcast(bucket); }, [](torch::Tensor&) {});
  }

  /// Rank 0's `s` on every rank (its length, then its bytes).
  std::string broadcast_string(const std::string& s) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective::broadcast_string()";
    if (s_->world == 1) return s;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> length{torch::tensor({static_cast<std::int64_t>(s.size())}, torch::kInt64).to(s_->device)};
    run(where, [&] { return s_->group->broadcast(length); });
    count(length[0]);
    const auto n = length[0].cpu().item<std::int64_t>();
    if (n == 0) return {};
    auto bytes = torch::empty({n}, torch::kUInt8);
    if (s_->rank == 0) std::memcpy(bytes.data_ptr<std::uint8_t>(), s.data(), s.size());
    std::vector<torch::Tensor> payload{bytes.to(s_->device)};
    run(where, [&] { return s_->group->broadcast(payload); });
    count(payload[0]);
    const auto received = payload[0].cpu().contiguous();
    return std::string(reinterpret_cast<const char*>(received.data_ptr<std::uint8_t>()), static_cast<std::size_t>(n));
  }

  /// Checks that every rank holds the same `value` of `what` (an architecture, an epoch's
  /// decisions): rank 0's value is broadcast, each rank compares, and the verdicts are summed, so
  /// that on a mismatch every rank throws DistributedError (naming `what`, the ranks that differ
  /// and the values) instead of some ranks waiting for the others until the timeout.
  void agree(std::string_view what, const std::string& value) {
    constexpr std::string_view where = "faunae::torch_backend::C10dCollective::agree()";
    if (s_->world == 1) return;
    const std::string reference = broadcast_string(value);
    auto differs = torch::zeros({s_->world}, torch::kInt32);
    if (reference != value) differs[s_->rank] = 1;
    auto verdicts = differs.to(s_->device);
    sum(verdicts);
    const auto v = verdicts.cpu();
    std::vector<int> parted;
    for (int r = 0; r < s_->world; ++r)
      if (v[r].item<std::int32_t>() != 0) parted.push_back(r);
    if (parted.empty()) return;
    throw DistributedError(fmt::format("{}: the ranks disagree on {}: rank(s) {} differ from rank 0, which has '{}'{}", where, what,
                                       fmt::join(parted, ", "), clip(reference),
                                       reference != value ? fmt::format("; this rank ({}) has '{}'", s_->rank, clip(value)) : std::string()));
  }

  /// Waits until every rank has arrived here.
  void barrier() {
    if (s_->world == 1) return;
    run("faunae::torch_backend::C10dCollective::barrier()", [&] { return s_->group->barrier(); });
  }

 private:
  struct Shared {
    c10::intrusive_ptr<detail::C10dGroup> group;
    c10::intrusive_ptr<c10d::Store> store;
    int rank = 0, world = 1, local_rank = 0;
    torch::Device device = torch::kCPU;
    std::int64_t bucket_bytes = 0;
    std::uint64_t bytes = 0;
  };


  /// How long a rank whose collective failed waits for the other ranks to report the failure too.
  static constexpr std::chrono::milliseconds kReportGrace{3000};

  /// After a collective failed: which ranks stopped, as "; rank(s) 1 stopped: ...". This rank writes
  /// "faunae/failed/<rank>" into the job's TCPStore and waits up to kReportGrace for the other ranks'
  /// keys; those that wrote none stopped (killed, hung, or failed outside a collective). If the store,
  /// which rank 0 serves, does not answer, rank 0 is the one that stopped. "" for groups built without
  /// connect() (no store) and groups of one.
  std::string stopped_ranks() const noexcept {
    try {
      if (!s_->store || s_->world == 1) return "";
      auto verdict = std::make_shared<std::promise<std::string>>();
      auto future = verdict->get_future();
      // A thread of its own: the store's calls block (up to the store's timeout) when rank 0 hangs.
      std::thread([store = s_->store, rank = s_->rank, world = s_->world, verdict] {
        std::string note;
        try {
          const auto key = [](int r) { return fmt::format("faunae/failed/{}", r); };
          store->set(key(rank), std::vector<std::uint8_t>{1});
          const auto deadline = std::chrono::steady_clock::now() + kReportGrace;
          std::vector<int> silent;
          do {
            silent.clear();
            for (int r = 0; r < world; ++r)
              if (r != rank && !store->check({key(r)})) silent.push_back(r);
            if (silent.empty()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          } while (std::chrono::steady_clock::now() < deadline);
          note = silent.empty() ? "; every other rank reports a failed collective too"
                                : fmt::format("; rank{} {} stopped: {} not report the failure within {} ms (killed, hung, or failed "
                                              "outside a collective)",
                                              silent.size() > 1 ? "s" : "", fmt::join(silent, ", "), silent.size() > 1 ? "they did" : "it did",
                                              kReportGrace.count());
        } catch (const std::exception&) {
          note = "; rank 0 stopped: the TCPStore it serves cannot be reached";
        }
        verdict->set_value(note);
      }).detach();
      if (future.wait_for(kReportGrace + std::chrono::seconds(1)) != std::future_status::ready)
        return fmt::format("; rank 0 stopped answering: the TCPStore it serves did not answer within {} ms",
                           (kReportGrace + std::chrono::seconds(1)).count());
      return future.get();
    } catch (...) {
      return "";
    }
  }

  static std::string clip(const std::string& s) { return s.size() > 300 ? s.substr(0, 300) + "..." : s; }

  static std::vector<std::string> split(const std::string& s, char separator) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
      const auto end = std::min(s.find(separator, start), s.size());
      if (end > start) out.push_back(s.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }

  static bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

  void count(const torch::Tensor& t) { s_->bytes += static_cast<std::uint64_t>(t.numel()) * static_cast<std::uint64_t>(t.element_size()); }

  /// Starts a collective and waits for it; failures become DistributedError naming `where`.
  template <class Start>
  void run(std::string_view where, Start&& start) {
    try {
      auto work = start();
      work->wait();
    } catch (const std::exception& e) {
      throw DistributedError(fmt::format("{}: rank {} of {}: the collective failed (did another rank stop or time out?): {}{}", where,
                                         s_->rank, s_->world, error_text(e, 600), stopped_ranks()));
    }
  }

  /// `tensors` grouped by dtype and device into flat buckets of about bucket_bytes, `start` on each
  /// (all started before the first is awaited), `finish` on each result, then copied back. A bucket
  /// of one contiguous tensor is that tensor itself (no copies).
  template <class Start, class Finish>
  void bucketed(std::vector<torch::Tensor>& tensors, std::string_view where, Start&& start, Finish&& finish) {
    torch::NoGradGuard no_grad;
    struct Bucket {
      std::vector<std::size_t> members;
      std::vector<torch::Tensor> flat;  // one tensor: what the collective works on
      c10::intrusive_ptr<c10d::Work> work;
    };
    std::vector<Bucket> buckets;
    std::vector<bool> placed(tensors.size(), false);
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (placed[i]) continue;
      // Tensors of i's dtype and device, in order, cut into buckets.
      Bucket current;
      std::int64_t bytes = 0;
      for (std::size_t j = i; j < tensors.size(); ++j) {
        if (placed[j] || tensors[j].scalar_type() != tensors[i].scalar_type() || tensors[j].device() != tensors[i].device()) continue;
        placed[j] = true;
        if (tensors[j].numel() == 0) continue;
        const std::int64_t size = tensors[j].numel() * static_cast<std::int64_t>(tensors[j].element_size());
        if (!current.members.empty() && bytes + size > s_->bucket_bytes) {
          buckets.push_back(std::move(current));
          current = Bucket{};
          bytes = 0;
        }
        current.members.push_back(j);
        bytes += size;
      }
      if (!current.members.empty()) buckets.push_back(std::move(current));
    }
    try {
      for (auto& b : buckets) {
        if (b.members.size() == 1 && tensors[b.members[0]].is_contiguous()) {
          b.flat = {tensors[b.members[0]].view({-1})};
        } else {
          std::vector<torch::Tensor> parts;
          parts.reserve(b.members.size());
          for (auto m : b.members) parts.push_back(tensors[m].reshape({-1}));
          b.flat = {torch::cat(parts)};
        }
        count(b.flat[0]);
        b.work = start(b.flat);
      }
      for (auto& b : buckets) {
        b.work->wait();
        finish(b.flat[0]);
        if (b.members.size() == 1 && b.flat[0].data_ptr() == tensors[b.members[0]].data_ptr()) continue;
        std::int64_t offset = 0;
        for (auto m : b.members) {
          auto& t = tensors[m];
          t.copy_(b.flat[0].narrow(0, offset, t.numel()).view(t.sizes()));
          offset += t.numel();
        }
      }
    } catch (const std::exception& e) {
      throw DistributedError(fmt::format("{}: rank {} of {}: the collective failed (did another rank stop or time out?): {}{}", where,
                                         s_->rank, s_->world, error_text(e, 600), stopped_ranks()));
    }
  }

  std::shared_ptr<Shared> s_;
};
static_assert(Collective<C10dCollective>);

/// A hook (faunae::Hook) that proves, after every epoch, that every rank of a data-parallel search
/// took the same decisions: the evaluated architecture, its loss (bit for bit), the mutations with
/// their accept or revert, the eliminations, and the state they lead to (current architecture, the
/// op statistics of eq. 4, the alive ops, the search's RNG). Metrics are left out (the training
/// loss and the seconds are per rank). On a mismatch every rank throws DistributedError.
/// Comm: anything with `agree(std::string_view what, const std::string& value)`, such as
/// faunae::torch_backend::C10dCollective (held by reference: it must outlive the hook).
template <class Comm>
  requires requires(Comm& c, std::string_view what, const std::string& value) { c.agree(what, value); }
class RanksAgree {
 public:
  explicit RanksAgree(Comm& comm) : comm_(&comm) {}

  void on_epoch(const EpochRecord& record, const SearchState& state) {
    comm_->agree(fmt::format("the decisions of epoch {}", record.epoch), decisions(record, state));
    ++checked_;
  }

  void on_end(const SearchResult& result, const SearchState&) { comm_->agree("the found architecture", result.architecture.to_string()); }

  /// Epochs checked so far.
  std::size_t checked() const noexcept { return checked_; }

  /// What is compared after an epoch (a JSON text; doubles in hexadecimal, exact).
  static std::string decisions(const EpochRecord& record, const SearchState& state) {
    nlohmann::json j = faunae::detail::record_to_json(record);
    j.erase("metrics");
    j["loss"] = fmt::format("{:a}", record.loss);
    j["current"] = faunae::detail::architecture_ops_to_json(state.current);
    j["alive"] = faunae::detail::table_to_json(state.stats.alive, [](bool v) { return nlohmann::json(v); });
    j["samples"] = faunae::detail::table_to_json(state.stats.samples, [](std::int64_t v) { return nlohmann::json(v); });
    j["op_losses"] = faunae::detail::table_to_json(state.stats.loss, [](double v) { return nlohmann::json(fmt::format("{:a}", v)); });
    j["rng"] = state.rng;
    j["counters"] = {state.epoch, state.evaluations, state.epochs_since_elimination, state.elimination_rounds};
    return j.dump();
  }

 private:
  Comm* comm_;
  std::size_t checked_ = 0;
};

}  // namespace faunae::torch_backend

namespace faunae {
// The names these had before they moved into the torch backend's namespace (they need LibTorch).
using DistributedError [[deprecated("use faunae::torch_backend::DistributedError")]] = torch_backend::DistributedError;
template <class Comm>
using RanksAgree [[deprecated("use faunae::torch_backend::RanksAgree")]] = torch_backend::RanksAgree<Comm>;
}  // namespace faunae

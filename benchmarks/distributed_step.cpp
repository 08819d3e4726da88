// Images per second of the data-parallel teacher–student step (MocoLearner::train_step over a
// C10dCollective, Gloo) with 1, 2, ... processes on this machine, and the bytes each process hands
// to the collectives per step (C10dCollective::bytes_communicated: the averaged gradients, the
// gathered keys).
//
//   distributed_step --processes 1,2 [--batch 64] [--steps 6] [--warmup 2] [--threads 0] [--width 0.5]
//
// The network: the ResNet-block supernet at Fashion-MNIST's size (1×28×28, blocks {4, 6, 8, 4},
// width 0.5, all seven ops) running ResNet-50's blocks ({3, 4, 6, 3} conv3 blocks, the others
// identity), as the search trains it; random images. --batch is the global batch (split over the
// processes). --threads 0 gives each process (cores / processes) Torch threads.
//
// For each entry of --processes this program launches itself that many times as a hand launch
// would (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, a free MASTER_PORT); under torchrun
// (RANK set) it is one rank of the measurement. Rank 0 prints one JSON line per measurement, then
// this program a markdown table. See docs/benchmarks.md, "Data parallelism (Gloo)".
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <faunae/torch/distributed.hpp>
#include <faunae/torch/moco.hpp>
#include <faunae/torch/resnet_space.hpp>

extern char** environ;

using namespace faunae::torch_backend;

namespace {

struct Config {
  std::vector<int> processes{1, 2};
  std::int64_t batch = 64, steps = 6, warmup = 2;
  int threads = 0;
  double width = 0.5;
};

/// One rank of a measurement (this process, placed by the launch variables).
int run_rank(const Config& c) {
  auto comm = C10dCollective::from_environment("gloo", std::chrono::minutes(5));
  const int world = comm.world_size();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = c.threads > 0 ? c.threads : std::max(1, cores / world);
  torch::set_num_threads(threads);

  ResNetSpaceOptions space;
  space.width = c.width;
  // ResNet-50's blocks in the space: {3, 4, 6, 3} conv3 blocks per stage, the others identity.
  const std::vector<std::int64_t> resnet50{3, 4, 6, 3};
  const auto index = [&](const std::string& op) {
    return static_cast<faunae::OpIndex>(std::find(space.ops.begin(), space.ops.end(), op) - space.ops.begin());
  };
  std::vector<faunae::OpIndex> ops;
  for (std::size_t s = 0; s < space.blocks_per_stage.size(); ++s)
    for (std::int64_t b = 0; b < space.blocks_per_stage[s]; ++b) ops.push_back(index(b < resnet50[s] ? "conv3" : "identity"));
  const faunae::Architecture a(ops);

  MocoOptions o;
  o.batch_size = c.batch;
  o.queue_size = c.batch * 16;
  o.shuffle_groups = 2;
  torch::manual_seed(1);
  MocoLearner<ResNetSupernet, C10dCollective> learner(ResNetSupernet(space), o, comm);
  auto gen = make_generator(7 + static_cast<std::uint64_t>(comm.rank()));
  const auto images = torch::randint(0, 256, {learner.local_batch(), 1, 28, 28}, gen, torch::kLong).to(torch::kUInt8);
  const auto augment = default_augment_options(Stem::gray28);

  for (std::int64_t s = 0; s < c.warmup; ++s) learner.train_step(images, a, augment).item<double>();
  comm.barrier();
  const auto bytes_before = comm.bytes_communicated();
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t s = 0; s < c.steps; ++s) learner.train_step(images, a, augment).item<double>();
  comm.barrier();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto bytes = comm.bytes_communicated() - bytes_before;

  // The gradients of one step alone (the student's parameters that α uses: what average() carries),
  // and the time their average takes by itself.
  std::vector<torch::Tensor> grads;
  std::int64_t gradient_bytes = 0;
  learner.train_step(images, a, augment);
  for (const auto& p : learner.student()->torch::nn::Module::parameters())
    if (p.grad().defined()) grads.push_back(p.grad().clone());
  for (const auto& p : learner.student_head()->parameters())
    if (p.grad().defined()) grads.push_back(p.grad().clone());
  for (const auto& g : grads) gradient_bytes += g.numel() * static_cast<std::int64_t>(g.element_size());
  constexpr int kAverages = 5;
  comm.average(grads);  // warm-up
  comm.barrier();
  const auto average_start = std::chrono::steady_clock::now();
  for (int i = 0; i < kAverages; ++i) comm.average(grads);
  const double average_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - average_start).count() / kAverages;
  comm.barrier();
  if (comm.rank() == 0) {
    const nlohmann::json line = {{"processes", world},
                                 {"threads_per_process", threads},
                                 {"batch", c.batch},
                                 {"steps", c.steps},
                                 {"seconds_per_step", seconds / static_cast<double>(c.steps)},
                                 {"images_per_second", static_cast<double>(c.batch * c.steps) / seconds},
                                 {"bytes_per_step", static_cast<double>(bytes) / static_cast<double>(c.steps)},
                                 {"gradient_bytes", gradient_bytes},
                                 {"average_seconds", average_seconds},
                                 {"torch", TORCH_VERSION}};
    fmt::print("{}\n", line.dump());
    std::fflush(stdout);
  }
  return 0;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("distributed_step: cannot find a free port on 127.0.0.1");
  ::close(fd);
  return ntohs(address.sin_port);
}

/// Runs `world` copies of this program as ranks of one measurement; returns rank 0's JSON line.
nlohmann::json launch(const std::string& self, int world, const std::vector<std::string>& args) {
  const int port = free_port();
  const auto out = std::filesystem::temp_directory_path() / fmt::format("faunae-distributed-step-{}-{}", ::getpid(), world);
  std::vector<std::string> base;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e, name = entry.substr(0, entry.find('='));
    if (name != "RANK" && name != "WORLD_SIZE" && name != "LOCAL_RANK" && name != "MASTER_ADDR" && name != "MASTER_PORT" &&
        name.rfind("SLURM_", 0) != 0)
      base.push_back(entry);
  }
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    std::vector<std::string> env = base;
    env.push_back(fmt::format("RANK={}", r));
    env.push_back(fmt::format("WORLD_SIZE={}", world));
    env.push_back(fmt::format("LOCAL_RANK={}", r));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back(fmt::format("MASTER_PORT={}", port));
    std::vector<std::string> argv_strings{self};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv, envp;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = fmt::format("{}.rank{}", out.string(), r);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0)
      throw std::runtime_error(fmt::format("distributed_step: cannot start '{}'", self));
    posix_spawn_file_actions_destroy(&actions);
    pids.push_back(pid);
  }
  int failed = 0;
  for (const pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::ifstream in(fmt::format("{}.rank0", out.string()));
  std::string line;
  std::getline(in, line);
  for (int r = 0; r < world; ++r) std::filesystem::remove(fmt::format("{}.rank{}", out.string(), r));
  if (failed > 0 || line.empty()) throw std::runtime_error(fmt::format("distributed_step: {} of {} ranks failed", failed, world));
  return nlohmann::json::parse(line);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app("Images per second and bytes communicated per step of the data-parallel MoCo step (Gloo)");
  app.add_option("--processes", c.processes, "numbers of processes to measure (comma-separated)")->delimiter(',');
  app.add_option("--batch", c.batch, "global batch (split over the processes)");
  app.add_option("--steps", c.steps, "timed steps");
  app.add_option("--warmup", c.warmup, "untimed steps first");
  app.add_option("--threads", c.threads, "Torch threads per process (0: cores / processes)");
  app.add_option("--width", c.width, "width multiplier of the ResNet space");
  CLI11_PARSE(app, argc, argv);
  try {
    if (std::getenv("RANK") != nullptr || std::getenv("SLURM_PROCID") != nullptr) return run_rank(c);
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    std::vector<nlohmann::json> rows;
    for (const int p : c.processes) {
      rows.push_back(launch("/proc/self/exe", p, args));
      fmt::print("{}\n", rows.back().dump());
      std::fflush(stdout);
    }
    fmt::print("\n| processes | Torch threads each | global batch | s / step | images / s | bytes / step / process | gradient average alone |\n"
               "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const auto& r : rows)
      fmt::print("| {} | {} | {} | {:.3f} | {:.1f} | {:.0f} | {:.3f} s |\n", r["processes"].get<int>(), r["threads_per_process"].get<int>(),
                 r["batch"].get<std::int64_t>(), r["seconds_per_step"].get<double>(), r["images_per_second"].get<double>(),
                 r["bytes_per_step"].get<double>(), r["average_seconds"].get<double>());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "distributed_step: {}\n", e.what());
    return 1;
  }
}

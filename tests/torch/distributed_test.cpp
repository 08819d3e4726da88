// Data parallelism over c10d with Gloo: the launch variables, every collective of C10dCollective
// (two ranks as threads of this process), MocoLearner keeping the ranks' weights equal, and a
// FaUNAE search run by 2 processes on 127.0.0.1 (distributed_worker.cpp) that ends where the same
// search on 1 process does, with the ranks agreeing after every epoch.
#include <faunae/torch/distributed.hpp>  // first: the header stands alone

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <faunae/torch/moco.hpp>
#include <faunae/torch/resnet_space.hpp>

#include "catch_torch.hpp"
#include "what_matcher.hpp"
#include "fixtures.hpp"

extern char** environ;

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::What;

using faunae_test::random_images;
using faunae_test::TempDir;
using faunae_test::tiny_space;

namespace {

DistributedEnvironment parse(const std::map<std::string, std::string>& vars) {
  return DistributedEnvironment::parse([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

/// Runs `f(C10dCollective&)` on ranks 0 and 1 of a Gloo group whose ranks are two threads of this
/// process (an in-memory store); returns what each rank's `f` returned. Catch's assertions are not
/// thread-safe: `f` computes, the caller checks.
template <class F>
auto on_two_ranks(F&& f, std::int64_t bucket_bytes = 64) {
  using Result = decltype(f(std::declval<C10dCollective&>()));
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<Result> results(2);
  std::vector<std::exception_ptr> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      try {
        auto o = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(30));
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        C10dCollective c(c10::make_intrusive<c10d::ProcessGroupGloo>(store, r, 2, o), torch::kCPU, bucket_bytes);
        results[r] = f(c);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return results;
}

/// A port on 127.0.0.1 that nobody listens on now (bound to port 0, read back, closed).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// What each rank of a worker group left: its exit status, its log and its report.
struct Rank {
  int status = -1;
  std::string log;
  nlohmann::json report;
  double exited = -1.0, stopped = -1.0;  ///< seconds from the launch to its exit, to its SIGSTOP (-1: never)
};

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Launches `world` processes of the worker as torchrun would (RANK, WORLD_SIZE, LOCAL_RANK,
/// MASTER_ADDR=127.0.0.1, MASTER_PORT = a free port; the launcher variables of this process's own
/// environment removed), waits at most `timeout` for them (then kills them), and returns each
/// rank's exit status, log, report and times. With `teardown_after` = r, once rank r has exited the
/// others are killed (SIGKILL), as torchrun tears a group down when one worker fails.
std::vector<Rank> run_workers(int world, const std::filesystem::path& dir, const std::vector<std::string>& args,
                              std::chrono::seconds timeout = std::chrono::seconds(120), int teardown_after = -1) {
  const int port = free_port();
  const auto out = dir / "result.json";
  std::vector<std::string> base;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (name == "RANK" || name == "WORLD_SIZE" || name == "LOCAL_RANK" || name == "MASTER_ADDR" || name == "MASTER_PORT" ||
        name.rfind("SLURM_", 0) == 0 || name == "GLOO_SOCKET_IFNAME" || name == "OMP_NUM_THREADS")
      continue;
    base.push_back(entry);
  }
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    std::vector<std::string> env = base;
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{{"RANK", std::to_string(r)},
                                                                                      {"WORLD_SIZE", std::to_string(world)},
                                                                                      {"LOCAL_RANK", std::to_string(r)},
                                                                                      {"MASTER_ADDR", "127.0.0.1"},
                                                                                      {"MASTER_PORT", std::to_string(port)},
                                                                                      {"OMP_NUM_THREADS", "1"}})
      env.push_back(name + "=" + value);
    std::vector<std::string> argv_strings{FAUNAE_DISTRIBUTED_WORKER, out.string()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv, envp;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir / fmt::format("rank{}.log", r)).string();
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = 0;
    const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(error == 0);
    pids.push_back(pid);
  }
  std::vector<Rank> ranks(static_cast<std::size_t>(world));
  std::vector<bool> done(static_cast<std::size_t>(world), false);
  const auto launched = std::chrono::steady_clock::now();
  const auto deadline = launched + timeout;
  const auto since_launch = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - launched).count(); };
  for (int left = world; left > 0;) {
    for (int r = 0; r < world; ++r) {
      if (done[r]) continue;
      int status = 0;
      if (::waitpid(pids[r], &status, WNOHANG | WUNTRACED) == pids[r]) {
        if (WIFSTOPPED(status)) {
          ranks[r].stopped = since_launch();
          continue;
        }
        done[r] = true;
        --left;
        ranks[r].status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        ranks[r].exited = since_launch();
        if (r == teardown_after)
          for (int other = 0; other < world; ++other)
            if (!done[other]) ::kill(pids[other], SIGKILL);
      }
    }
    if (left > 0 && std::chrono::steady_clock::now() > deadline) {
      for (int r = 0; r < world; ++r)
        if (!done[r]) {
          ::kill(pids[r], SIGKILL);
          ::waitpid(pids[r], nullptr, 0);
        }
      FAIL("the workers did not finish within " << timeout.count() << " s");
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int r = 0; r < world; ++r) {
    ranks[r].log = read_text(dir / fmt::format("rank{}.log", r));
    const auto report = fmt::format("{}.rank{}", out.string(), r);
    if (std::filesystem::exists(report)) ranks[r].report = nlohmann::json::parse(read_text(report));
  }
  return ranks;
}

}  // namespace

TEST_CASE("DistributedEnvironment: torchrun's variables, Slurm's as fallbacks, a single process without either", "[distributed]") {
  const auto single = parse({});
  CHECK(single.rank == 0);
  CHECK(single.world_size == 1);
  CHECK(single.local_rank == 0);

  const auto torchrun = parse({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29400"}});
  CHECK(torchrun.rank == 3);
  CHECK(torchrun.world_size == 4);
  CHECK(torchrun.local_rank == 1);
  CHECK(torchrun.master_addr == "node7");
  CHECK(torchrun.master_port == 29400);

  const auto slurm = parse({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}, {"MASTER_ADDR", "node1"}});
  CHECK(slurm.rank == 5);
  CHECK(slurm.world_size == 8);
  CHECK(slurm.local_rank == 1);
  CHECK(slurm.master_port == 29500);  // torchrun's default port

  // torchrun started by srun: torchrun's variables win.
  const auto both = parse({{"RANK", "2"}, {"WORLD_SIZE", "4"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"MASTER_ADDR", "a"}});
  CHECK(both.rank == 2);
  CHECK(both.world_size == 4);
}

TEST_CASE("DistributedEnvironment: errors name the variable, the rule and the value", "[distributed]") {
  CHECK_THROWS_MATCHES(parse({{"RANK", "1"}}), faunae::InvalidArgument, What(Contains("RANK is set (to '1')") && Contains("WORLD_SIZE")));
  CHECK_THROWS_MATCHES(parse({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}}), faunae::InvalidArgument, What(Contains("WORLD_SIZE is set")));
  CHECK_THROWS_MATCHES(parse({{"RANK", "one"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}}), faunae::InvalidArgument,
                       What(Contains("RANK must be an integer in [0, 2)") && Contains("'one'")));
  CHECK_THROWS_MATCHES(parse({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}}), faunae::InvalidArgument, What(Contains("got '2'")));
  CHECK_THROWS_MATCHES(parse({{"RANK", "0"}, {"WORLD_SIZE", "0"}}), faunae::InvalidArgument,
                       What(Contains("WORLD_SIZE must be a positive integer, got '0'")));
  CHECK_THROWS_MATCHES(parse({{"RANK", "0"}, {"WORLD_SIZE", "2 "}, {"MASTER_ADDR", "a"}}), faunae::InvalidArgument, What(Contains("'2 '")));
  CHECK_THROWS_MATCHES(parse({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}), faunae::InvalidArgument,
                       What(Contains("MASTER_ADDR is not set") && Contains("scontrol show hostnames")));
  CHECK_THROWS_MATCHES(parse({{"MASTER_PORT", "70000"}}), faunae::InvalidArgument, What(Contains("MASTER_PORT must be a port") && Contains("'70000'")));
  CHECK_THROWS_MATCHES(parse({{"LOCAL_RANK", "-1"}}), faunae::InvalidArgument, What(Contains("LOCAL_RANK") && Contains("'-1'")));
}

TEST_CASE("C10dCollective::connect: bad options, a group of one, an unreachable rank 0", "[distributed]") {
  DistributedEnvironment env;
  CHECK_THROWS_MATCHES(C10dCollective::connect(env, {.backend = "mpi"}), faunae::InvalidArgument, What(Contains("'gloo' or 'nccl', got 'mpi'")));
#if !defined(USE_C10D_NCCL)
  CHECK_THROWS_MATCHES(C10dCollective::connect(env, {.backend = "nccl"}), faunae::InvalidArgument, What(Contains("'nccl' is not available")));
#endif
  env.rank = 1;
  CHECK_THROWS_MATCHES(C10dCollective::connect(env), faunae::InvalidArgument, What(Contains("rank 1 of 1")));

  // A group of one communicates nothing: every collective is the identity.
  auto one = C10dCollective::connect(DistributedEnvironment{});
  CHECK(one.world_size() == 1);
  std::vector<torch::Tensor> grads{torch::ones({2})};
  one.average(grads);
  CHECK(torch::equal(grads[0], torch::ones({2})));
  CHECK(one.broadcast_string("x") == "x");
  one.agree("anything", "x");
  CHECK(one.bytes_communicated() == 0);

  // Rank 1 of 2 whose rank 0 never comes: a DistributedError naming the address, within the timeout.
  DistributedEnvironment lonely;
  lonely.rank = 1;
  lonely.world_size = 2;
  lonely.master_port = static_cast<std::uint16_t>(free_port());
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_MATCHES(C10dCollective::connect(lonely, {.timeout = std::chrono::milliseconds(1500)}), faunae::torch_backend::DistributedError,
                       What(Contains("rank 1 of 2 could not reach the TCPStore at 127.0.0.1:")));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
}

TEST_CASE("C10dCollective: average in buckets, sum, gather_rows, broadcast, broadcast_string over 2 ranks", "[distributed]") {
  struct Out {
    std::vector<torch::Tensor> grads, broadcast;
    torch::Tensor sum, gathered;
    std::string text, empty, long_text;
    std::uint64_t bytes = 0;
    int rank = -1;
  };
  const auto out = on_two_ranks([](C10dCollective& c) {
    Out o;
    o.rank = c.rank();
    const double r = c.rank() + 1;  // 1 on rank 0, 2 on rank 1
    // 24 + 40 + 24 + 12 bytes with buckets of 64: several buckets, two dtypes, a non-contiguous tensor.
    o.grads = {torch::full({3, 2}, r), torch::arange(5, torch::kFloat64) * r, torch::full({2, 3}, 10 * r).t(), torch::full({3}, -r)};
    c.average(o.grads);
    o.sum = torch::tensor({r, 2 * r}, torch::kFloat64);
    c.sum(o.sum);
    o.gathered = c.gather_rows(torch::full({2, 3}, r));
    o.broadcast = {torch::full({4}, r), torch::full({2}, static_cast<std::int64_t>(r), torch::kInt64)};
    c.broadcast(o.broadcast);
    o.text = c.broadcast_string(c.rank() == 0 ? "rank zero's" : "rank one's");
    o.empty = c.broadcast_string(c.rank() == 0 ? "" : "not empty");
    o.long_text = c.broadcast_string(std::string(100000, c.rank() == 0 ? 'a' : 'b'));
    o.bytes = c.bytes_communicated();
    return o;
  });
  for (const auto& o : out) {
    INFO("rank " << o.rank);
    CHECK(torch::equal(o.grads[0], torch::full({3, 2}, 1.5)));
    CHECK(torch::equal(o.grads[1], torch::arange(5, torch::kFloat64) * 1.5));
    CHECK(torch::equal(o.grads[2], torch::full({3, 2}, 15.0)));
    CHECK(torch::equal(o.grads[3], torch::full({3}, -1.5)));
    CHECK(torch::equal(o.sum, torch::tensor({3.0, 6.0}, torch::kFloat64)));
    CHECK(torch::equal(o.gathered, torch::cat({torch::full({2, 3}, 1.0), torch::full({2, 3}, 2.0)})));
    CHECK(torch::equal(o.broadcast[0], torch::full({4}, 1.0)));
    CHECK(torch::equal(o.broadcast[1], torch::full({2}, 1, torch::kInt64)));
    CHECK(o.text == "rank zero's");
    CHECK(o.empty.empty());
    CHECK(o.long_text == std::string(100000, 'a'));
    // Payload bytes: 100 of gradients, 16 summed, 24 gathered, 16 + 16 broadcast, then the strings'
    // lengths (8 each) and bytes (11, none, 100000).
    CHECK(o.bytes == 100 + 16 + 24 + 32 + 3 * 8 + 11 + 100000);
  }
}

TEST_CASE("C10dCollective: average rejects integer gradients, and a bucket larger than any tensor is one all-reduce", "[distributed]") {
  const auto out = on_two_ranks(
      [](C10dCollective& c) {
        std::vector<torch::Tensor> ints{torch::ones({2}, torch::kInt64)};
        std::string error;
        try {
          c.average(ints);
        } catch (const faunae::InvalidArgument& e) {
          error = e.what();
        }
        std::vector<torch::Tensor> grads;
        for (int i = 0; i < 10; ++i) grads.push_back(torch::full({7}, static_cast<double>(c.rank() * 10 + i)));
        c.average(grads);
        return std::make_pair(error, grads);
      },
      /*bucket_bytes=*/std::int64_t{25} << 20);
  for (const auto& [error, grads] : out) {
    CHECK_THAT(error, Contains("floating-point") && Contains("Long"));
    for (int i = 0; i < 10; ++i) CHECK(torch::equal(grads[i], torch::full({7}, 5.0 + i)));
  }
}

TEST_CASE("C10dCollective::agree: silent when the ranks agree, and every rank throws, naming the values, when they do not", "[distributed]") {
  const auto out = on_two_ranks([](C10dCollective& c) {
    std::string same, different;
    try {
      c.agree("the architecture", "[0, 1, 2]");
    } catch (const std::exception& e) {
      same = e.what();
    }
    try {
      c.agree("the architecture", c.rank() == 0 ? "[0, 1, 2]" : "[0, 1, 1]");
    } catch (const faunae::torch_backend::DistributedError& e) {
      different = e.what();
    }
    return std::make_pair(same, different);
  });
  for (const auto& [same, different] : out) CHECK(same.empty());
  CHECK_THAT(out[0].second, Contains("the ranks disagree on the architecture: rank(s) 1 differ from rank 0, which has '[0, 1, 2]'"));
  CHECK_THAT(out[1].second, Contains("this rank (1) has '[0, 1, 1]'"));
}

TEST_CASE("MocoLearner over 2 ranks: each trains on its half, both hold the same weights and see the same validation loss", "[distributed]") {
  torch::set_num_threads(1);
  struct Out {
    std::vector<torch::Tensor> params;
    torch::Tensor queue;
    double validation = 0.0;
    std::uint64_t bytes = 0;
  };
  auto gen = make_generator(5);
  ImageDataset data;
  data.images = torch::randint(0, 256, {16, 1, 28, 28}, gen, torch::kLong).to(torch::kUInt8);
  data.name = "random";
  const auto out = on_two_ranks(
      [&](C10dCollective& c) {
        MocoOptions o;
        o.batch_size = 8;  // 4 per rank
        o.queue_size = 16;
        o.shuffle_groups = 2;
        o.head_hidden = 16;
        o.head_out = 8;
        torch::manual_seed(100 + c.rank());  // different initial weights: the learner broadcasts rank 0's
        MocoLearner<ResNetSupernet, C10dCollective> learner(ResNetSupernet(tiny_space()), o, c);
        const faunae::Architecture a({0, 1, 2});
        const auto aug = default_augment_options(Stem::gray28);
        for (int step = 0; step < 2; ++step) learner.train_step(data.images.narrow(0, step * 8 + c.rank() * 4, 4), a, aug);
        Out r;
        for (const auto& p : learner.student()->torch::nn::Module::parameters()) r.params.push_back(p.detach().clone());
        r.queue = learner.queue().keys().clone();
        r.validation = learner.validation_loss(data, a, aug, /*view_seed=*/1, 4);
        r.bytes = c.bytes_communicated();
        return r;
      },
      C10dOptions{}.bucket_bytes);
  torch::set_num_threads(2);
  REQUIRE(out[0].params.size() == out[1].params.size());
  for (std::size_t i = 0; i < out[0].params.size(); ++i) CHECK(torch::equal(out[0].params[i], out[1].params[i]));
  CHECK(torch::equal(out[0].queue, out[1].queue));
  CHECK(out[0].validation == out[1].validation);
  CHECK(std::isfinite(out[0].validation));
  CHECK(out[0].bytes == out[1].bytes);
  CHECK(out[0].bytes > 0);
}

// The search on 2 processes against the same search on 1 (same global batch of 16, seed, data).
// The processes differ from the single one only where data parallelism must: batch-norm statistics
// are per process (of 8 images, not 16) and so are the running statistics that the validation loss
// uses. So the losses are close, not equal. The worker runs with --no-augment (both views are the
// image) to take each rank's own augmentation randomness out of that difference, and with 2
// shuffled-BN groups per process in both runs (the running statistics move once per group).
//
// Tolerance: every validation loss within kLossTolerance = 0.1 (losses run from about 0.8 to 3.5;
// measured: at most 0.023 apart). The single run reports the smallest margin by which any of its
// decisions was taken (eq. 5's |l(new) − l(old)|, eq. 9's gap between the removed op and the
// runner-up); proposals depend only on sample counts, and smoothed losses are averages of losses.
// So when every loss is within the tolerance and that margin exceeds twice the tolerance, the
// 2-process run cannot take another decision: the equal architectures are not luck. Seed 4 gives
// a margin of 0.34 (some seeds give margins under 0.1 and do part ways: those would prove nothing).
TEST_CASE("2 Gloo processes on 127.0.0.1: one search, the architecture of 1 process, the ranks agree bit for bit", "[distributed][processes]") {
  constexpr double kLossTolerance = 0.1;
  TempDir dir("faunae-distributed-test");
  std::filesystem::create_directories(dir.path / "1");
  std::filesystem::create_directories(dir.path / "2");
  const std::vector<std::string> args{"--seed", "4", "--no-augment", "--shuffle-groups", "2"};
  const auto one = run_workers(1, dir.path / "1", args);
  const auto two = run_workers(2, dir.path / "2", args);
  for (const auto* group : {&one, &two})
    for (const auto& r : *group) {
      INFO(r.log);
      REQUIRE(r.status == 0);
    }
  const auto& single = one[0].report;
  const auto& rank0 = two[0].report;
  const auto& rank1 = two[1].report;
  // The ranks: the same search to the last bit (RanksAgree checked every epoch too).
  CHECK(rank0["epochs"] == rank1["epochs"]);
  CHECK(rank0["architecture"] == rank1["architecture"]);
  CHECK(rank0["epochs_checked"] == rank0["epochs"].size());
  CHECK(rank0["bytes_communicated"].get<std::uint64_t>() > 0);
  CHECK(single["bytes_communicated"] == 0);
  // 2 processes against 1.
  CHECK(single["finished"] == true);
  CHECK(rank0["architecture"] == single["architecture"]);
  REQUIRE(rank0["epochs"].size() == single["epochs"].size());
  for (std::size_t e = 0; e < single["epochs"].size(); ++e) {
    INFO("epoch " << e);
    CHECK(rank0["epochs"][e]["evaluated"] == single["epochs"][e]["evaluated"]);
    CHECK(std::abs(rank0["epochs"][e]["loss"].get<double>() - single["epochs"][e]["loss"].get<double>()) < kLossTolerance);
  }
  CHECK(single["smallest_decision_margin"].get<double>() > 2 * kLossTolerance);
}

TEST_CASE("2 Gloo processes with their own augmentations still agree, and ranks that part are stopped on every rank", "[distributed][processes]") {
  TempDir dir("faunae-distributed-disagree-test");
  std::filesystem::create_directories(dir.path / "augment");
  std::filesystem::create_directories(dir.path / "part");
  // Default augmentations: each rank draws its own views, yet the summed loss and so every decision
  // is the same on both.
  const auto augmented = run_workers(2, dir.path / "augment", {"--seed", "4"});
  for (const auto& r : augmented) {
    INFO(r.log);
    REQUIRE(r.status == 0);
  }
  CHECK(augmented[0].report["epochs"] == augmented[1].report["epochs"]);
  // Rank 1 smooths the losses with another λ2 (eq. 4): RanksAgree sees the statistics part after the
  // first epoch that samples an op twice, and both ranks stop with the disagreement (no hang).
  const auto parted = run_workers(2, dir.path / "part", {"--seed", "4", "--lambda2-on-rank-1", "0.9"});
  for (const auto& r : parted) {
    INFO(r.log);
    CHECK(r.status == 3);
    CHECK_THAT(r.log, Contains("the ranks disagree on the decisions of epoch"));
  }
}

// Rank failure and restart. One rank of a 2-process job dies (SIGKILL) after epoch 2 is
// checkpointed: the other stops by itself, naming it, instead of waiting; the job started again with
// the same command (what torchrun --max-restarts does) resumes every rank from its checkpoint and
// ends exactly like the uninterrupted job. A rank that hangs (SIGSTOP) keeps its sockets open, so
// only the timeout (C10dOptions::timeout, here 5 s) can stop the other: it does, naming it.
TEST_CASE("2 Gloo processes: a killed or hung rank stops the other within the timeout, naming it, and a restart resumes to the uninterrupted result",
          "[distributed][processes]") {
  TempDir dir("faunae-distributed-fault-test");
  for (const char* sub : {"whole", "killed", "restarted", "hung"}) std::filesystem::create_directories(dir.path / sub);
  const auto with = [](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const std::vector<std::string> args{"--seed", "4", "--timeout-s", "20"};
  const auto whole = run_workers(2, dir.path / "whole", with(args, {"--checkpoint", (dir.path / "whole-checkpoints").string()}));
  for (const auto& r : whole) {
    INFO(r.log);
    REQUIRE(r.status == 0);
  }
  REQUIRE(whole[0].report["epochs"].size() > 3);

  const auto checkpoints = (dir.path / "checkpoints").string();
  const auto killed = run_workers(2, dir.path / "killed", with(args, {"--checkpoint", checkpoints, "--rank-1-dies-after-epoch", "2"}));
  INFO(killed[0].log);
  CHECK(killed[1].status == 128 + SIGKILL);
  CHECK(killed[0].status == 1);
  CHECK_THAT(killed[0].log, Contains("rank 0 of 2: the collective failed"));
  CHECK_THAT(killed[0].log, Contains("rank 1 stopped"));
  // Within the timeout (20 s) plus the 3 s the survivor waits for the others' reports (and slack).
  CHECK(killed[0].exited - killed[1].exited < 20 + 3 + 2);

  const auto restarted = run_workers(2, dir.path / "restarted", with(args, {"--checkpoint", checkpoints}));
  for (const auto& r : restarted) {
    INFO(r.log);
    REQUIRE(r.status == 0);
    CHECK(r.report["resumed_at"] == 2);
    CHECK(r.report["epochs"] == whole[0].report["epochs"]);  // bit for bit: losses, mutations, eliminations
    CHECK(r.report["architecture"] == whole[0].report["architecture"]);
  }

  const auto hung = run_workers(2, dir.path / "hung", {"--seed", "4", "--timeout-s", "5", "--rank-1-hangs-after-epoch", "1"},
                                std::chrono::seconds(120), /*teardown_after=*/0);
  INFO(hung[0].log);
  REQUIRE(hung[1].stopped > 0);
  CHECK(hung[0].status == 1);
  CHECK_THAT(hung[0].log, Contains("rank 1 stopped"));
  const double waited = hung[0].exited - hung[1].stopped;
  CHECK(waited < 5 + 3 + 4);
  CHECK(waited > 3);  // it did wait for the timeout: a hung rank closes no socket
}

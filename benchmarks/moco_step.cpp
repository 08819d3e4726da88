// Images per second of one teacher–student step (MocoLearner::train_step: MoCo v2, paper III.C) on
// a standalone network of the ResNet-block space, side by side with the same step written in Python
// PyTorch (benchmarks/moco_step.py), and the step's FLOP/s against a dense matrix multiply measured
// in the same run.
//
//   moco_step [--batch 32,256] [--steps 10,6] [--warmup 2,1] [--python /usr/bin/python3] [--threads 2]
//             [--arch resnet50|mix|conv3,conv3,...] [--device cpu|cuda] [--precision fp32|bf16|fp16]
//             [--channels-last] [--keep-heap] [--json results.json]
//
// For each batch size, two worker processes hold a learner each: this program with --worker (C++)
// and the Python script with --serve, both built from the same seed and architecture. The driver
// asks them for one step at a time, alternately (C++ first on even steps, Python first on odd ones),
// so that the two steps of a pair run back to back under the same load on a shared machine; the
// speed-up is the median over the pairs. With --python none only C++ runs. docs/benchmarks.md gives
// the conventions (what is timed, how FLOPs are counted) and the measured numbers.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include "faunae/torch/augment.hpp"
#include "faunae/torch/cpu_convolution.hpp"
#include "faunae/torch/device.hpp"
#include "faunae/torch/moco.hpp"
#include "faunae/torch/resnet_space.hpp"

#ifndef FAUNAE_MOCO_STEP_SCRIPT
#define FAUNAE_MOCO_STEP_SCRIPT "benchmarks/moco_step.py"
#endif

using namespace faunae::torch_backend;
using faunae::Architecture;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::vector<std::int64_t> batches{32, 256};
  // Per batch size (one value: the same for all); by default 10 timed after 2 warm-up steps up to
  // batch 64, 6 after 1 above (a quiet 2-core CPU takes about 0.8 s per step at batch 32, 7 s at 256).
  std::vector<int> steps, warmup;
  int threads = 2;
  std::string arch = "resnet50", device = "cpu", precision = "fp32", python = "/usr/bin/python3", script = FAUNAE_MOCO_STEP_SCRIPT;
  std::string json_path, cpu_conv_backward = "automatic";
  bool channels_last = false, worker = false, keep_heap = false;
  std::uint64_t seed = 0;
};

int per_batch(const std::vector<int>& values, std::size_t i, std::int64_t batch, int small, int large) {
  if (values.empty()) return batch <= 64 ? small : large;
  return values.size() == 1 ? values[0] : values.at(i);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// The architecture: "resnet50" (ResNet-50 remapped into the space: {3, 4, 6, 3} conv3 blocks, the
// others identity), "mix" (the same blocks, their ops cycling through all six non-identity ops:
// conv3, conv5, sa_k3r2, sa_k3r4, sa_k5r2, sa_k5r4) or one op name per block, comma-separated.
Architecture resolve_architecture(const ResNetSupernet& space, const std::string& arch) {
  constexpr std::string_view who = "moco_step --arch";
  if (arch == "resnet50") return space->resnet50();
  if (arch == "mix") {
    Architecture a = space->resnet50();
    const std::vector<std::string> cycle{"conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4"};
    std::size_t j = 0;
    for (std::size_t b = 0; b < a.size(); ++b)
      if (space->op_names(b)[a[b]] != "identity") a[b] = space->op_index(b, cycle[j++ % cycle.size()], who);
    return a;
  }
  std::vector<std::string> names;
  std::stringstream in(arch);
  for (std::string name; std::getline(in, name, ',');) names.push_back(name);
  if (names.size() != space->num_blocks())
    throw faunae::InvalidArgument(fmt::format("{}: 'resnet50', 'mix' or {} op names separated by commas, got {} names", who,
                                              space->num_blocks(), names.size()));
  Architecture a(std::vector<faunae::OpIndex>(names.size(), 0));
  for (std::size_t b = 0; b < names.size(); ++b) a[b] = space->op_index(b, names[b], who);
  return a;
}

std::vector<std::string> op_names(const ResNetSupernet& net, const Architecture& a) {
  std::vector<std::string> out;
  for (std::size_t b = 0; b < a.size(); ++b) out.push_back(net->op_names(b)[a[b]]);
  return out;
}

// The dense ceilings of the step's FLOP/s, n×n @ n×n products (2n³ FLOPs) in `dtype` on `device`:
// "matmul" is torch::mm (BLAS: OpenBLAS for Debian's CPU LibTorch, cuBLAS on CUDA), "conv_gemm" the
// same product as a 1×1 convolution of 16 images of n channels and 8×8 pixels (oneDNN on the CPU,
// cuDNN on CUDA: the kernels the step's convolutions run on). GFLOP/s of the best of 7 samples,
// each a run of enough products to last about 50 ms: a ceiling is what the machine can do, so the
// sample least disturbed by other load is the one wanted.
double best_gflops(const std::function<void()>& product, double flops, const torch::Device& device) {
  for (int i = 0; i < 2; ++i) product();
  synchronize(device);
  auto t0 = Clock::now();
  product();
  synchronize(device);
  const int per_sample = std::max(1, static_cast<int>(0.05 / std::max(seconds_since(t0), 1e-6)));
  double best = 0.0;
  for (int s = 0; s < 7; ++s) {
    t0 = Clock::now();
    for (int i = 0; i < per_sample; ++i) product();
    synchronize(device);
    best = std::max(best, flops * per_sample / seconds_since(t0) / 1e9);
  }
  return best;
}

json ceilings(std::int64_t n, torch::ScalarType dtype, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  const double flops = 2.0 * static_cast<double>(n * n * n);
  const auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  auto c = torch::empty({n, n}, options);
  const double matmul = best_gflops([&] { torch::mm_out(c, a, b); }, flops, device);
  const auto x = torch::randn({16, n, 8, 8}, options), w = torch::randn({n, n, 1, 1}, options);
  const double conv = best_gflops([&] { (void)torch::conv2d(x, w); }, flops, device);
  return {{"n", n}, {"dtype", std::string(c10::toString(dtype))}, {"matmul_gflops", matmul}, {"conv_gemm_gflops", conv}};
}

// A field of /proc/self/status ("VmHWM": peak resident set) in MiB.
double status_mib(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':')
      return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return 0.0;
}

// The worker: one learner at one batch size in this process, answering the driver's commands (one
// per line on stdin: step, augment, ceilings, quit) with one JSON line each on stdout.
class Session {
 public:
  Session(const Config& c, std::int64_t batch)
      : device_(parse_device(c.device)), precision_(parse_precision(c.precision)),
        augment_options_(default_augment_options(Stem::gray28)), augment_gen_(make_generator(c.seed + 13)) {
    torch::manual_seed(c.seed);
    const ResNetSpaceOptions space_options;  // gray28 stem, {4, 6, 8, 4} blocks, width 0.5, all 7 ops
    {
      const ResNetSupernet space(space_options);  // only to resolve the architecture's op indices
      a_ = resolve_architecture(space, c.arch);
    }
    ResNetSupernet net(space_options, a_);  // the standalone network of α
    MocoOptions o;                          // MoCo v2: K = 4096, head 2048 → 128, m 0.999, τ 0.2, SGD 0.03 / 0.9 / 1e-4
    o.batch_size = batch;
    o.shuffle_groups = 8;
    o.device = device_;
    o.precision = precision_;
    o.channels_last = c.channels_last;
    o.seed = c.seed;
    // FLOPs of a step, 2 per multiply–accumulate: the student's forward, backward (≈ 2× forward) and
    // the teacher's forward through backbone and head (4 forwards' worth), plus the InfoNCE logits
    // against the queue (q·queueᵀ and its gradient for q). BN, ReLU, pooling, the augmentation, the
    // EMA and the SGD update are not counted.
    const std::int64_t macs = net->flops(a_);
    const std::int64_t head_macs = net->feature_dim() * o.head_hidden + o.head_hidden * o.head_out;
    const std::int64_t infonce_macs = o.queue_size * o.head_out;
    const double flops_per_image = 2.0 * static_cast<double>(4 * (macs + head_macs) + 2 * infonce_macs);
    info_ = {{"language", "C++"},
             {"torch", TORCH_VERSION},
             {"device", device_.str()},
             {"precision", std::string(to_string(precision_))},
             {"channels_last", c.channels_last},
             {"cpu_conv_backward", std::string(to_string(cpu_convolution_backward()))},
             {"backward_avoids_onednn", backward_avoids_onednn()},
             {"threads", torch::get_num_threads()},
             {"interop_threads", torch::get_num_interop_threads()},
             {"batch", batch},
             {"ops", op_names(net, a_)},
             {"parameters", {{"backbone", parameter_count(*net)}, {"head", 0}}},
             {"macs_per_image", {{"backbone", macs}, {"head", head_macs}, {"infonce", infonce_macs}}},
             {"flops_per_step", flops_per_image * static_cast<double>(batch)}};
    learner_ = std::make_unique<MocoLearner<ResNetSupernet>>(net, o);
    info_["parameters"]["head"] = parameter_count(*learner_->student_head());
    auto data_gen = make_generator(c.seed + 11);
    images_ = torch::randint(0, 256, {batch, 1, 28, 28}, data_gen, torch::TensorOptions().dtype(torch::kUInt8));
  }

  const json& info() const noexcept { return info_; }

  /// One train_step, timed to the loss on the host (.item() waits for the device).
  json step() {
    const auto t0 = Clock::now();
    const double loss = learner_->train_step(images_, a_, augment_options_).item<double>();
    return {{"s", seconds_since(t0)}, {"loss", loss}};
  }

  /// The augmentation alone: the two views of a step, from the host batch (as train_step gets it).
  json augment_views() {
    const auto t0 = Clock::now();
    const auto x = to_device(images_, device_);
    const auto s = augment(x, augment_options_, augment_gen_), t = augment(x, augment_options_, augment_gen_);
    synchronize(device_);
    return {{"s", seconds_since(t0)}};
  }

  json dense_ceilings() const {
    if (device_.is_cuda() && precision_ != Precision::fp32)
      return ceilings(8192, precision_ == Precision::bf16 ? torch::kBFloat16 : torch::kHalf, device_);
    return ceilings(device_.is_cuda() ? 8192 : 1024, torch::kFloat32, device_);
  }

 private:
  torch::Device device_;
  Precision precision_;
  Architecture a_;
  AugmentOptions augment_options_;
  torch::Generator augment_gen_;
  std::unique_ptr<MocoLearner<ResNetSupernet>> learner_;
  torch::Tensor images_;
  json info_;
};

int serve(const Config& c) {
  Session session(c, c.batches.at(0));
  std::cout << session.info().dump() << std::endl;
  for (std::string command; std::getline(std::cin, command);) {
    json reply;
    if (command == "step") reply = session.step();
    else if (command == "augment") reply = session.augment_views();
    else if (command == "ceilings") reply = session.dense_ceilings();
    else if (command == "quit") reply = {{"peak_rss_mib", status_mib("VmHWM")}};
    else reply = {{"error", fmt::format("unknown command '{}'", command)}};
    std::cout << reply.dump() << std::endl;
    if (command == "quit") break;
  }
  return 0;
}

// A worker process (this program with --worker, or the Python script with --serve) spoken to through
// its stdin and stdout, one line each way per command; its stderr is ours.
class WorkerProcess {
 public:
  WorkerProcess(std::string name, const std::vector<std::string>& argv) : name_(std::move(name)) {
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) throw std::runtime_error("moco_step: pipe() failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("moco_step: fork() failed");
    if (pid_ == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
      std::vector<char*> args;
      for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      std::perror(("moco_step: cannot run " + argv[0]).c_str());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = ::fdopen(to_child[1], "w");
    from_ = ::fdopen(from_child[0], "r");
  }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  ~WorkerProcess() {
    if (to_) std::fclose(to_);
    if (from_) std::fclose(from_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }

  /// The next line the worker prints, as JSON.
  json read() {
    std::string line;
    for (int ch; (ch = std::fgetc(from_)) != EOF && ch != '\n';) line += static_cast<char>(ch);
    if (line.empty()) throw std::runtime_error(fmt::format("moco_step: the {} worker ended without answering", name_));
    auto reply = json::parse(line);
    if (reply.contains("error")) throw std::runtime_error(fmt::format("moco_step: the {} worker: {}", name_, reply["error"].dump()));
    return reply;
  }

  json request(const std::string& command) {
    std::fputs((command + "\n").c_str(), to_);
    std::fflush(to_);
    return read();
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

std::vector<std::string> worker_arguments(const Config& c, std::int64_t batch) {
  std::vector<std::string> out{"--batch", std::to_string(batch), "--threads", std::to_string(c.threads), "--device", c.device,
                               "--precision", c.precision, "--seed", std::to_string(c.seed)};
  if (c.channels_last) out.push_back("--channels-last");
  return out;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

// One language's side of a batch size: its worker, what it reported and what was timed.
struct Side {
  std::string name;
  std::unique_ptr<WorkerProcess> worker;
  json info;
  std::vector<double> step_s, augment_s, losses;
  std::vector<json> ceilings;
  double peak_rss_mib = 0.0;

  json summary(double batch) const {
    const double step = median(step_s), aug = median(augment_s), flops = info["flops_per_step"].get<double>();
    return {{"median_step_s", step},
            {"min_step_s", *std::min_element(step_s.begin(), step_s.end())},
            {"max_step_s", *std::max_element(step_s.begin(), step_s.end())},
            {"images_per_s", batch / step},
            {"median_augment_s", aug},
            {"images_per_s_without_augment", batch / (step - aug)},
            {"step_gflops", flops / step / 1e9},
            {"peak_rss_mib", peak_rss_mib},
            {"step_s", step_s},
            {"augment_s", augment_s},
            {"losses", losses},
            {"ceilings", ceilings},
            {"info", info}};
  }
};

double best_ceiling(const std::vector<Side*>& sides, const char* key) {
  double best = 0.0;
  for (const Side* s : sides)
    for (const auto& c : s->ceilings) best = std::max(best, c[key].get<double>());
  return best;
}

// For each batch size: start the workers, measure both dense ceilings, run the warm-up and timed
// steps alternating the languages step by step (C++ first on even steps, Python first on odd ones),
// time the augmentation alone the same way, measure the ceilings again, and print one table row.
int drive(const Config& c, const std::string& self) {
  const bool with_python = c.python != "none";
  std::signal(SIGPIPE, SIG_IGN);  // a worker that dies shows up as an unanswered request
  if (c.keep_heap) {
    // glibc malloc serves blocks above its mmap threshold (at most 32 MiB) with fresh mmaps and unmaps
    // them when freed, so every step's large activations are page-faulted and zeroed by the kernel
    // again; these two settings keep freed memory in the heap instead (both workers inherit them).
    ::setenv("MALLOC_MMAP_MAX_", "0", 1);
    ::setenv("MALLOC_TRIM_THRESHOLD_", "1099511627776", 1);
  }
  json results = json::array();
  std::vector<std::string> rows;
  json first_info;
  std::string python_torch;
  const auto t_start = Clock::now();
  const std::string load_start = load_average();
  for (std::size_t i = 0; i < c.batches.size(); ++i) {
    const auto batch = c.batches[i];
    const int warmup = per_batch(c.warmup, i, batch, 2, 1), steps = per_batch(c.steps, i, batch, 10, 6);
    Side cpp{"C++"}, py{"Python"};
    std::vector<Side*> sides{&cpp};
    auto args = worker_arguments(c, batch);
    std::vector<std::string> cpp_argv{self, "--worker", "--arch", c.arch, "--cpu-conv-backward", c.cpu_conv_backward};
    cpp_argv.insert(cpp_argv.end(), args.begin(), args.end());
    cpp.worker = std::make_unique<WorkerProcess>("C++", cpp_argv);
    cpp.info = cpp.worker->read();
    if (with_python) {
      std::vector<std::string> py_argv{c.python, c.script, "--serve", "--ops",
                                       fmt::format("{}", fmt::join(cpp.info["ops"].get<std::vector<std::string>>(), ","))};
      py_argv.insert(py_argv.end(), args.begin(), args.end());
      py.worker = std::make_unique<WorkerProcess>("Python", py_argv);
      py.info = py.worker->read();
      python_torch = py.info["torch"].get<std::string>();
      sides.push_back(&py);
    }
    if (first_info.is_null()) first_info = cpp.info;
    std::cerr << fmt::format("batch {}: workers ready (load average {})\n", batch, load_average());
    for (Side* s : sides) s->ceilings.push_back(s->worker->request("ceilings"));
    for (int k = 0; k < warmup + steps; ++k) {
      std::vector<Side*> order = sides;
      if (k % 2 == 1) std::reverse(order.begin(), order.end());
      std::string line = fmt::format("  batch {} step {}/{}{}:", batch, k + 1, warmup + steps, k < warmup ? " (warm-up)" : "");
      for (Side* s : order) {
        const json r = s->worker->request("step");
        if (k >= warmup) s->step_s.push_back(r["s"].get<double>());
        s->losses.push_back(r["loss"].get<double>());
        line += fmt::format(" {} {:.3f} s", s->name, r["s"].get<double>());
      }
      std::cerr << line << "\n";
    }
    for (int k = 0; k < warmup + steps; ++k) {
      std::vector<Side*> order = sides;
      if (k % 2 == 1) std::reverse(order.begin(), order.end());
      for (Side* s : order) {
        const double t = s->worker->request("augment")["s"].get<double>();
        if (k >= warmup) s->augment_s.push_back(t);
      }
    }
    for (auto it = sides.rbegin(); it != sides.rend(); ++it) (*it)->ceilings.push_back((*it)->worker->request("ceilings"));
    for (Side* s : sides) {
      s->peak_rss_mib = s->worker->request("quit")["peak_rss_mib"].get<double>();
      s->worker.reset();
    }

    const double b = static_cast<double>(batch);
    const double matmul = best_ceiling(sides, "matmul_gflops"), conv = best_ceiling(sides, "conv_gemm_gflops");
    json row = {{"batch", batch}, {"warmup", warmup}, {"steps", steps}, {"flops_per_step", cpp.info["flops_per_step"]},
                {"matmul_gflops", matmul}, {"conv_gemm_gflops", conv}, {"load_average_end", load_average()},
                {"cpp", cpp.summary(b)}};
    const json sc = row["cpp"];
    const std::string na = "—";
    std::string speedup = na, py_rate = na, py_step = na, py_aug = na, py_noaug = na, py_gflops = na;
    if (with_python) {
      std::vector<double> ratios;  // Python's time over C++'s, step by step (the pairs ran back to back)
      for (std::size_t k = 0; k < cpp.step_s.size(); ++k) ratios.push_back(py.step_s[k] / cpp.step_s[k]);
      row["python"] = py.summary(b);
      row["paired_speedup"] = median(ratios);
      const json sp = row["python"];
      speedup = fmt::format("{:.2f}× ({:.2f}×)", median(ratios), sp["median_step_s"].get<double>() / sc["median_step_s"].get<double>());
      py_rate = fmt::format("{:.1f}", sp["images_per_s"].get<double>());
      py_step = fmt::format("{:.3f} [{:.3f}]", sp["median_step_s"].get<double>(), sp["min_step_s"].get<double>());
      py_aug = fmt::format("{:.3f}", sp["median_augment_s"].get<double>());
      py_noaug = fmt::format("{:.1f}", sp["images_per_s_without_augment"].get<double>());
      py_gflops = fmt::format("{:.1f}", sp["step_gflops"].get<double>());
    }
    const double gflops = sc["step_gflops"].get<double>();
    rows.push_back(fmt::format("| {} | {:.1f} | {} | {} | {:.3f} [{:.3f}] | {} | {:.3f} / {} | {:.1f} / {} | {:.1f} / {} | {:.1f} | {:.1f} | {:.0f}% | {:.0f}% |",
                               batch, sc["images_per_s"].get<double>(), py_rate, speedup, sc["median_step_s"].get<double>(),
                               sc["min_step_s"].get<double>(), py_step, sc["median_augment_s"].get<double>(), py_aug,
                               sc["images_per_s_without_augment"].get<double>(), py_noaug, gflops, py_gflops, matmul, conv,
                               100.0 * gflops / matmul, 100.0 * gflops / conv));
    results.push_back(row);
  }
  const double total_s = seconds_since(t_start);

  fmt::print("MoCo v2 teacher–student step (MocoLearner::train_step), standalone ResNet-space network, 28×28 gray input\n");
  fmt::print("architecture {}: {}\n", c.arch, fmt::join(first_info["ops"].get<std::vector<std::string>>(), ","));
  fmt::print("device {}, precision {}{}{}, {} threads; C++ LibTorch {}, CPU convolution backward {} ({}){}; {:.0f} s in all, load average {} → {}\n",
             c.device, c.precision, c.channels_last ? ", channels-last" : "", c.keep_heap ? ", --keep-heap" : "", c.threads, first_info["torch"].get<std::string>(),
             c.cpu_conv_backward, first_info["backward_avoids_onednn"].get<bool>() ? "oneDNN kept out" : "oneDNN where LibTorch picks it",
             with_python ? ", Python torch " + python_torch : std::string(), total_s, load_start, load_average());
  fmt::print("parameters (backbone + head): {} + {}", first_info["parameters"]["backbone"].get<std::int64_t>(),
             first_info["parameters"]["head"].get<std::int64_t>());
  bool same = true;
  if (with_python)
    for (const auto& row : results)
      same = same && row["python"]["info"]["parameters"] == row["cpp"]["info"]["parameters"] &&
             row["python"]["info"]["macs_per_image"] == row["cpp"]["info"]["macs_per_image"];
  fmt::print("{}\n", with_python ? (same ? ", the same in Python" : "  ** Python's network differs: parameters or MACs **") : "");
  fmt::print("MACs per image: backbone {}, head {}, InfoNCE {}; FLOPs per step = batch · 2 · (4 · (backbone + head) + 2 · InfoNCE)\n\n",
             first_info["macs_per_image"]["backbone"].get<std::int64_t>(), first_info["macs_per_image"]["head"].get<std::int64_t>(),
             first_info["macs_per_image"]["infonce"].get<std::int64_t>());
  fmt::print("| batch | C++ img/s | Python img/s | C++ speed-up: paired (of medians) | C++ step s: median [min] | Python step s: median [min] | "
             "augment s: C++ / Py | img/s w/o augment: C++ / Py | step GFLOP/s: C++ / Py | matmul GFLOP/s | conv-GEMM GFLOP/s | "
             "C++ step / matmul | C++ step / conv GEMM |\n");
  fmt::print("|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& row : rows) fmt::print("{}\n", row);
  fmt::print("\nimg/s from the median step; the speed-up is the median over step pairs of Python's time / C++'s (each pair ran back to "
             "back), in brackets the ratio of the medians; the ceilings are the best of both languages' measurements ({}).\n",
             results[0]["cpp"]["ceilings"][0]["dtype"].get<std::string>());
  if (!c.json_path.empty()) {
    std::ofstream out(c.json_path);
    out << json{{"results", results}, {"seconds", total_s}, {"load_average_start", load_start}, {"arch", c.arch}, {"keep_heap", c.keep_heap}}.dump(1) << "\n";
    if (!out) throw std::runtime_error(fmt::format("moco_step: cannot write {}", c.json_path));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Images per second of one MoCo v2 teacher–student step (MocoLearner::train_step), C++ and Python side by side"};
  Config c;
  app.add_option("--batch", c.batches, "batch sizes (comma-separated)")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--steps", c.steps, "timed steps (one value, or one per batch size; default 10 up to batch 64, else 6)")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--warmup", c.warmup, "untimed steps first (likewise; default 2 up to batch 64, else 1)")->delimiter(',')->check(CLI::NonNegativeNumber);
  app.add_option("--threads", c.threads, "torch intra-op and inter-op threads (both languages)")->check(CLI::PositiveNumber);
  app.add_option("--arch", c.arch, "resnet50, mix, or one op name per block, comma-separated");
  app.add_option("--device", c.device, "cpu, cuda or cuda:N");
  app.add_option("--precision", c.precision, "fp32, bf16 or fp16 (mixed precision needs CUDA)")->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  app.add_flag("--channels-last", c.channels_last, "channels-last convolutions (CUDA)");
  app.add_flag("--keep-heap", c.keep_heap,
               "both workers' glibc malloc keeps freed memory (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_=1 TiB): no page faults per step");
  app.add_option("--python", c.python, "Python interpreter with torch for the Python side, or 'none'");
  app.add_option("--script", c.script, "the Python side's script (moco_step.py)");
  app.add_option("--seed", c.seed, "seed of weights, images and augmentations");
  app.add_option("--json", c.json_path, "write every measurement and the summary to this file");
  app.add_option("--cpu-conv-backward", c.cpu_conv_backward,
                 "C++ only: the CPU convolution kernels of the backward (cpu_convolution.hpp): automatic, native or onednn")
      ->check(CLI::IsMember({"automatic", "native", "onednn"}));
  app.add_flag("--worker", c.worker, "serve the driver's commands for one batch size on stdin / stdout (used by the driver)");
  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& [name, v] : {std::pair{"--steps", c.steps.size()}, std::pair{"--warmup", c.warmup.size()}})
      if (v > 1 && v != c.batches.size())
        throw faunae::InvalidArgument(fmt::format("moco_step: {} needs one value or one per batch size ({}), got {}", name, c.batches.size(), v));
    torch::set_num_threads(c.threads);
    torch::set_num_interop_threads(c.threads);
    set_cpu_convolution_backward(parse_cpu_convolution_backward(c.cpu_conv_backward));
    if (c.worker) {
      if (c.batches.size() != 1) throw faunae::InvalidArgument("moco_step --worker: one batch size");
      return serve(c);
    }
    return drive(c, std::filesystem::canonical("/proc/self/exe").string());
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

// Images per second of one teacher–student step (MocoLearner::train_step: MoCo v2, paper III.C) on
// a standalone network of the ResNet-block space, side by side with the same step written in Python
// PyTorch (benchmarks/moco_step.py), and the step's FLOP/s against a dense matrix multiply measured
// in the same run.
//
//   moco_step [--batch 32,256] [--python /usr/bin/python3] [--rounds 2] [--threads 2]
//             [--arch resnet50|mix|conv3,conv3,...] [--device cpu|cuda] [--precision fp32|bf16|fp16]
//             [--channels-last] [--json results.json]
//
// Every measurement (one language, one batch size) runs in a process of its own: this program runs
// itself with --worker, and the Python script; both print one JSON line. The two languages alternate
// (C++ then Python in even rounds, Python then C++ in odd ones) so that a change of load on a shared
// machine falls on both. With --python none only C++ runs. See docs/benchmarks.md for the
// conventions (what a step is, how FLOPs are counted) and the measured numbers.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
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
  std::vector<int> steps{6, 3}, warmup{2, 1};  // per batch size (one value: the same for all)
  int rounds = 2, threads = 2;
  std::string arch = "resnet50", device = "cpu", precision = "fp32", python = "/usr/bin/python3", script = FAUNAE_MOCO_STEP_SCRIPT;
  std::string json_path;
  bool channels_last = false, worker = false;
  std::uint64_t seed = 0;
};

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

// Dense n×n @ n×n matrix product in `dtype` on `device`: GFLOP/s (2n³ per product) of the median of
// 7 samples, each a run of enough products to last about 50 ms.
json matmul_gflops(std::int64_t n, torch::ScalarType dtype, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  const auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  auto c = torch::empty({n, n}, options);
  for (int i = 0; i < 2; ++i) torch::mm_out(c, a, b);
  synchronize(device);
  auto t0 = Clock::now();
  torch::mm_out(c, a, b);
  synchronize(device);
  const int per_sample = std::max(1, static_cast<int>(0.05 / std::max(seconds_since(t0), 1e-6)));
  std::vector<double> rates;
  for (int s = 0; s < 7; ++s) {
    t0 = Clock::now();
    for (int i = 0; i < per_sample; ++i) torch::mm_out(c, a, b);
    synchronize(device);
    rates.push_back(2.0 * static_cast<double>(n * n * n) * per_sample / seconds_since(t0) / 1e9);
  }
  return {{"n", n}, {"dtype", std::string(c10::toString(dtype))}, {"gflops", median(rates)}};
}

// One measurement in this process: `warmup` then `steps` timed train_step calls at batch `batch`,
// then as many timed calls of the augmentation alone (the two views of a step), and the matmul.
json measure(const Config& c, std::int64_t batch, int warmup, int steps) {
  torch::manual_seed(c.seed);
  const torch::Device device = parse_device(c.device);
  const Precision precision = parse_precision(c.precision);
  const ResNetSpaceOptions space_options;  // gray28 stem, {4, 6, 8, 4} blocks, width 0.5, all 7 ops
  Architecture a;
  {
    const ResNetSupernet space(space_options);  // only to resolve the architecture's op indices
    a = resolve_architecture(space, c.arch);
  }
  ResNetSupernet net(space_options, a);  // the standalone network of α
  MocoOptions o;                         // MoCo v2: K = 4096, head 2048 → 128, m 0.999, τ 0.2, SGD 0.03 / 0.9 / 1e-4
  o.batch_size = batch;
  o.shuffle_groups = 8;
  o.device = device;
  o.precision = precision;
  o.channels_last = c.channels_last;
  o.seed = c.seed;
  const std::int64_t macs = net->flops(a);
  const std::int64_t backbone_parameters = parameter_count(*net);
  MocoLearner<ResNetSupernet> learner(net, o);
  const std::int64_t head_parameters = parameter_count(*learner.student_head());
  const AugmentOptions augment_options = default_augment_options(Stem::gray28);
  auto data_gen = make_generator(c.seed + 11);
  const auto images = torch::randint(0, 256, {batch, 1, 28, 28}, data_gen, torch::TensorOptions().dtype(torch::kUInt8));

  const json matmul = device.is_cuda() && precision != Precision::fp32
                          ? matmul_gflops(8192, precision == Precision::bf16 ? torch::kBFloat16 : torch::kHalf, device)
                          : matmul_gflops(device.is_cuda() ? 8192 : 1024, torch::kFloat32, device);

  std::vector<double> step_s, augment_s;
  double first_loss = 0.0, last_loss = 0.0;
  for (int i = 0; i < warmup + steps; ++i) {
    const auto t0 = Clock::now();
    const double loss = learner.train_step(images, a, augment_options).item<double>();  // .item() waits for the device
    const double t = seconds_since(t0);
    if (i == 0) first_loss = loss;
    last_loss = loss;
    if (i >= warmup) step_s.push_back(t);
    std::cerr << fmt::format("  [C++ batch {}] step {}/{}: {:.3f} s{}\n", batch, i + 1, warmup + steps, t, i < warmup ? " (warm-up)" : "");
  }
  {
    auto gen = make_generator(c.seed + 13);
    for (int i = 0; i < warmup + steps; ++i) {
      const auto t0 = Clock::now();
      const auto x = to_device(images, device);
      const auto s = augment(x, augment_options, gen), t = augment(x, augment_options, gen);
      synchronize(device);
      if (i >= warmup) augment_s.push_back(seconds_since(t0));
    }
  }

  // FLOPs of a step, 2 per multiply–accumulate: the student's forward, backward (≈ 2× forward) and
  // the teacher's forward through backbone and head (4 forwards' worth), plus the InfoNCE logits
  // against the queue (q·queueᵀ and its gradient for q). BN, ReLU, pooling, the augmentation, the
  // EMA and the SGD update are not counted.
  const auto& ho = learner.student_head()->options();
  const std::int64_t head_macs = ho.in_features() * ho.hidden() + ho.hidden() * ho.out();
  const std::int64_t infonce_macs = 2 * o.queue_size * o.head_out;
  const double flops_per_image = 2.0 * static_cast<double>(4 * (macs + head_macs) + infonce_macs);
  const double step = median(step_s), aug = median(augment_s);
  return {{"language", "C++"},
          {"torch", TORCH_VERSION},
          {"device", device.str()},
          {"precision", std::string(to_string(precision))},
          {"channels_last", c.channels_last},
          {"threads", torch::get_num_threads()},
          {"interop_threads", torch::get_num_interop_threads()},
          {"batch", batch},
          {"warmup", warmup},
          {"steps", steps},
          {"ops", op_names(net, a)},
          {"parameters", {{"backbone", backbone_parameters}, {"head", head_parameters}}},
          {"macs_per_image", {{"backbone", macs}, {"head", head_macs}, {"infonce", infonce_macs / 2}}},
          {"flops_per_step", flops_per_image * static_cast<double>(batch)},
          {"step_s", step_s},
          {"augment_s", augment_s},
          {"median_step_s", step},
          {"median_augment_s", aug},
          {"images_per_s", static_cast<double>(batch) / step},
          {"step_gflops", flops_per_image * static_cast<double>(batch) / step / 1e9},
          {"matmul", matmul},
          {"loss_first", first_loss},
          {"loss_last", last_loss}};
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Runs `command`, returns the JSON of the last line it printed on stdout (its stderr passes through).
json run_worker(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error(fmt::format("moco_step: cannot run {}", command));
  std::string out, last;
  char buffer[1 << 16];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  const int status = ::pclose(pipe);
  std::stringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) last = line;
  if (status != 0 || last.empty()) throw std::runtime_error(fmt::format("moco_step: worker failed (status {}): {}", status, command));
  return json::parse(last);
}

std::string worker_arguments(const Config& c, std::int64_t batch, int warmup, int steps, const std::string& arch_flag,
                             const std::string& arch) {
  return fmt::format("--batch {} --warmup {} --steps {} --threads {} --device {} --precision {}{} --seed {} {} {}", batch, warmup, steps,
                     c.threads, c.device, c.precision, c.channels_last ? " --channels-last" : "", c.seed, arch_flag, quoted(arch));
}

struct Pooled {
  std::vector<double> step_s, augment_s, matmul;
  json first;
};

Pooled pool(const std::vector<json>& runs) {
  Pooled p;
  for (const auto& r : runs) {
    for (double t : r["step_s"]) p.step_s.push_back(t);
    for (double t : r["augment_s"]) p.augment_s.push_back(t);
    p.matmul.push_back(r["matmul"]["gflops"].get<double>());
  }
  if (!runs.empty()) p.first = runs.front();
  return p;
}

int drive(const Config& c, const std::string& self) {
  const bool with_python = c.python != "none";
  std::map<std::int64_t, std::vector<json>> cpp, py;
  std::string arch_ops;
  const auto t_start = Clock::now();
  for (int round = 0; round < c.rounds; ++round)
    for (std::size_t i = 0; i < c.batches.size(); ++i) {
      const auto batch = c.batches[i];
      const int warmup = c.warmup.size() == 1 ? c.warmup[0] : c.warmup.at(i), steps = c.steps.size() == 1 ? c.steps[0] : c.steps.at(i);
      const auto run_cpp = [&] {
        std::cerr << fmt::format("round {}, batch {}: C++\n", round + 1, batch);
        cpp[batch].push_back(run_worker(fmt::format("{} --worker {}", quoted(self), worker_arguments(c, batch, warmup, steps, "--arch", c.arch))));
        arch_ops = fmt::format("{}", fmt::join(cpp[batch].back()["ops"].get<std::vector<std::string>>(), ","));
      };
      const auto run_python = [&] {
        if (!with_python) return;
        if (arch_ops.empty()) run_cpp();  // the Python script takes the op names the C++ side resolved
        std::cerr << fmt::format("round {}, batch {}: Python\n", round + 1, batch);
        py[batch].push_back(
            run_worker(fmt::format("{} {} {}", quoted(c.python), quoted(c.script), worker_arguments(c, batch, warmup, steps, "--ops", arch_ops))));
      };
      if (round % 2 == 0 || !with_python) {
        run_cpp();
        run_python();
      } else {
        run_python();
        run_cpp();
      }
    }
  const double total_s = seconds_since(t_start);

  const json& any = cpp.begin()->second.front();
  fmt::print("MoCo v2 teacher–student step (MocoLearner::train_step), standalone ResNet-space network, 28×28 gray input\n");
  fmt::print("architecture {}: {}\n", c.arch, fmt::join(any["ops"].get<std::vector<std::string>>(), ","));
  fmt::print("device {}, precision {}{}, {} threads; C++ LibTorch {}", c.device, c.precision, c.channels_last ? ", channels-last" : "",
             c.threads, any["torch"].get<std::string>());
  if (with_python) fmt::print(", Python torch {}", py.begin()->second.front()["torch"].get<std::string>());
  fmt::print("; {} round(s), {:.0f} s in all\n", c.rounds, total_s);
  fmt::print("parameters (backbone + head): C++ {} + {}", any["parameters"]["backbone"].get<std::int64_t>(),
             any["parameters"]["head"].get<std::int64_t>());
  if (with_python) {
    const json& p = py.begin()->second.front();
    fmt::print(", Python {} + {}", p["parameters"]["backbone"].get<std::int64_t>(), p["parameters"]["head"].get<std::int64_t>());
    if (p["parameters"] != any["parameters"] || p["macs_per_image"] != any["macs_per_image"]) fmt::print("  ** MISMATCH **");
  }
  fmt::print("\nMACs per image: backbone {}, head {}, InfoNCE {}; FLOPs per image and step = 2·(4·(backbone + head) + 2·InfoNCE)\n\n",
             any["macs_per_image"]["backbone"].get<std::int64_t>(), any["macs_per_image"]["head"].get<std::int64_t>(),
             any["macs_per_image"]["infonce"].get<std::int64_t>());

  fmt::print("| batch | C++ img/s | Python img/s | C++ / Python | C++ step (s), median [min–max] | Python step (s) | C++ aug. (s) | "
             "Python aug. (s) | C++ img/s w/o aug. | Python img/s w/o aug. | step GFLOP/s (C++) | matmul GFLOP/s | step / matmul |\n");
  fmt::print("|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  json summary = json::array();
  for (const auto batch : c.batches) {
    const Pooled pc = pool(cpp[batch]);
    const Pooled pp = pool(py[batch]);
    const double b = static_cast<double>(batch);
    const double sc = median(pc.step_s), ac = median(pc.augment_s), mm = median(pc.matmul);
    const double sp = with_python ? median(pp.step_s) : 0.0, ap = with_python ? median(pp.augment_s) : 0.0;
    const double flops = pc.first["flops_per_step"].get<double>();
    const auto range = [](const std::vector<double>& v) {
      return fmt::format("{:.3f} [{:.3f}–{:.3f}]", median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
    };
    const std::string na = "—";
    fmt::print("| {} | {:.1f} | {} | {} | {} | {} | {:.3f} | {} | {:.1f} | {} | {:.1f} | {:.1f} ({}) | {:.0f}% |\n", batch, b / sc,
               with_python ? fmt::format("{:.1f}", b / sp) : na, with_python ? fmt::format("{:.2f}×", sp / sc) : na, range(pc.step_s),
               with_python ? range(pp.step_s) : na, ac, with_python ? fmt::format("{:.3f}", ap) : na, b / (sc - ac),
               with_python ? fmt::format("{:.1f}", b / (sp - ap)) : na, flops / sc / 1e9, mm,
               pc.first["matmul"]["dtype"].get<std::string>(), 100.0 * flops / sc / 1e9 / mm);
    json row = {{"batch", batch},
                {"cpp", {{"images_per_s", b / sc}, {"median_step_s", sc}, {"median_augment_s", ac}, {"step_gflops", flops / sc / 1e9},
                         {"matmul_gflops", mm}, {"timed_steps", pc.step_s.size()}}},
                {"flops_per_step", flops}};
    if (with_python) {
      row["python"] = {{"images_per_s", b / sp}, {"median_step_s", sp}, {"median_augment_s", ap}, {"step_gflops", flops / sp / 1e9},
                       {"matmul_gflops", median(pp.matmul)}, {"timed_steps", pp.step_s.size()}};
      row["cpp_over_python"] = sp / sc;
    }
    summary.push_back(row);
  }
  if (with_python) {
    fmt::print("\nmatmul GFLOP/s, median of the workers: C++");
    for (const auto batch : c.batches) fmt::print(" {:.1f}", median(pool(cpp[batch]).matmul));
    fmt::print(", Python");
    for (const auto batch : c.batches) fmt::print(" {:.1f}", median(pool(py[batch]).matmul));
    fmt::print(" (per batch size)\n");
  }
  if (!c.json_path.empty()) {
    json all = {{"summary", summary}, {"cpp", json::array()}, {"python", json::array()}, {"seconds", total_s}};
    for (auto& [batch, runs] : cpp)
      for (auto& r : runs) all["cpp"].push_back(r);
    for (auto& [batch, runs] : py)
      for (auto& r : runs) all["python"].push_back(r);
    std::ofstream(c.json_path) << all.dump(1) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Images per second of one MoCo v2 teacher–student step (MocoLearner::train_step), C++ and Python side by side"};
  Config c;
  app.add_option("--batch", c.batches, "batch sizes (comma-separated)")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--steps", c.steps, "timed steps per batch size (one value, or one per batch size)")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--warmup", c.warmup, "untimed steps first (one value, or one per batch size)")->delimiter(',')->check(CLI::NonNegativeNumber);
  app.add_option("--rounds", c.rounds, "measurements per language and batch size, alternating the order")->check(CLI::PositiveNumber);
  app.add_option("--threads", c.threads, "torch intra-op and inter-op threads (both languages)")->check(CLI::PositiveNumber);
  app.add_option("--arch", c.arch, "resnet50, mix, or one op name per block, comma-separated");
  app.add_option("--device", c.device, "cpu, cuda or cuda:N");
  app.add_option("--precision", c.precision, "fp32, bf16 or fp16 (mixed precision needs CUDA)")->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  app.add_flag("--channels-last", c.channels_last, "channels-last convolutions (CUDA)");
  app.add_option("--python", c.python, "Python interpreter with torch for the Python side, or 'none'");
  app.add_option("--script", c.script, "the Python side's script (moco_step.py)");
  app.add_option("--seed", c.seed, "seed of weights, images and augmentations");
  app.add_option("--json", c.json_path, "write every measurement and the summary to this file");
  app.add_flag("--worker", c.worker, "measure one batch size in this process and print one JSON line (used by the driver)");
  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& [name, v] : {std::pair{"--steps", c.steps.size()}, std::pair{"--warmup", c.warmup.size()}})
      if (v != 1 && v != c.batches.size())
        throw faunae::InvalidArgument(fmt::format("moco_step: {} needs one value or one per batch size ({}), got {}", name, c.batches.size(), v));
    torch::set_num_threads(c.threads);
    torch::set_num_interop_threads(c.threads);
    if (c.worker) {
      if (c.batches.size() != 1) throw faunae::InvalidArgument("moco_step --worker: one batch size");
      std::cout << measure(c, c.batches[0], c.warmup[0], c.steps[0]).dump() << std::endl;
      return 0;
    }
    return drive(c, std::filesystem::canonical("/proc/self/exe").string());
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

// The multi-epoch InfoNCE curve of faunae's final training (train_contrastive, moco.hpp) against the
// same recipe in Python PyTorch (moco_curve.py, run by this binary), over several seeds: issue 13's
// "check the training itself". Both train the standalone network of one architecture of the
// program's default space on the first N Fashion-MNIST training images, with the program's train
// recipe by default (batch 128, K = 4096, lr 0.06 cosine, m 0.99, τ 0.2, SGD momentum 0.9, weight
// decay 1e-4, 3 epochs), and report the mean training loss of every epoch. The Python side also
// reports the logits' statistics (positive and negative cosine similarities) that explain the level.
//
//   moco_curve [--images 10000] [--epochs 3] [--seeds 0,1,2] [--ops conv3,...] [--constant-lr]
//              [--python /usr/bin/python3|none] [--json out.json]
//
// The two languages draw different random numbers (weights, queue, permutations, augmentations): the
// curves are compared as distributions over seeds (mean ± SE per epoch, and the difference), not step
// by step.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "faunae/torch.hpp"

#ifndef FAUNAE_MOCO_CURVE_SCRIPT
#define FAUNAE_MOCO_CURVE_SCRIPT "benchmarks/moco_curve.py"
#endif

namespace {

using namespace faunae::torch_backend;
using json = nlohmann::json;

struct Config {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::int64_t images = 10000, epochs = 3, batch = 128, queue = 4096, threads = 2;
  double lr = 0.06, m = 0.99, tau = 0.2, width = 0.25;
  bool constant_lr = false;
  std::vector<std::int64_t> blocks{2, 2, 2, 2};
  std::vector<std::string> ops;  // default: conv3 everywhere (the program's "plain" α0)
  std::vector<std::uint64_t> seeds{0, 1, 2};
  std::string python = "/usr/bin/python3", script = FAUNAE_MOCO_CURVE_SCRIPT, json_path;
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

/// train_contrastive on the standalone network, the per-epoch reports as JSON.
json run_cpp(const Config& c, const ImageDataset& data, std::uint64_t seed) {
  ResNetSpaceOptions space;
  space.blocks_per_stage = c.blocks;
  space.width = c.width;
  space.ops = {"conv3", "conv5", "sa_k3r2", "identity"};
  faunae::Architecture a;
  {
    const ResNetSupernet supernet(space);
    a = faunae::Architecture(std::vector<faunae::OpIndex>(supernet->num_blocks()));
    for (std::size_t b = 0; b < a.size(); ++b) a[b] = supernet->op_index(b, c.ops[b], "moco_curve");
  }
  torch::manual_seed(seed);
  ResNetSupernet net(space, a);
  MocoOptions o;
  o.batch_size = c.batch;
  o.queue_size = c.queue;
  o.lr = c.lr;
  o.m = c.m;
  o.tau = c.tau;
  o.seed = seed;
  json epochs = json::array();
  const auto on_epoch = [&](const EpochReport& r) {
    epochs.push_back({{"epoch", r.epoch}, {"loss", r.loss}, {"learning_rate", r.learning_rate}, {"seconds", r.seconds}});
    std::cerr << fmt::format("C++ seed {} epoch {}: loss {:.4f} ({:.0f} s)\n", seed, r.epoch, r.loss, r.seconds);
  };
  if (c.constant_lr) {
    // train_contrastive always spans the cosine over its epochs; a constant lr is the same loop with
    // schedule_steps = 0 (MocoOptions: constant).
    MocoLearner<ResNetSupernet> learner(net, o);
    const auto aug = default_augment_options(Stem::gray28);
    auto order = make_generator(seed + 3);
    const std::int64_t per_epoch = data.size() / c.batch;
    for (std::int64_t e = 1; e <= c.epochs; ++e) {
      const auto start = std::chrono::steady_clock::now();
      const auto permutation = torch::randperm(data.size(), order, torch::TensorOptions().dtype(torch::kLong));
      double total = 0;
      for (std::int64_t b = 0; b < per_epoch; ++b)
        total += learner.train_step(data.images.index_select(0, permutation.narrow(0, b * c.batch, c.batch)), a, aug).item<double>();
      on_epoch({e, total / static_cast<double>(per_epoch), learner.learning_rate(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), per_epoch * c.batch});
    }
  } else {
    train_contrastive(net, data, default_augment_options(Stem::gray28), o, c.epochs, on_epoch);
  }
  return {{"language", "C++"}, {"torch", TORCH_VERSION}, {"epochs", epochs}};
}

json run_python(const Config& c, std::uint64_t seed) {
  std::string blocks;
  for (auto b : c.blocks) blocks += (blocks.empty() ? "" : ",") + std::to_string(b);
  const std::string cmd = fmt::format(
      "{} {} --data '{}' --images {} --epochs {} --batch {} --queue {} --lr {} --m {} --tau {} --blocks {} --width {} --ops {} "
      "--seed {} --threads {}{}",
      c.python, c.script, c.data, c.images, c.epochs, c.batch, c.queue, c.lr, c.m, c.tau, blocks, c.width, join(c.ops), seed, c.threads,
      c.constant_lr ? " --constant-lr" : "");
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("moco_curve: cannot run " + cmd);
  std::string out;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe.get())) out.append(buf, n);
  if (pclose(pipe.release()) != 0) throw std::runtime_error("moco_curve: the Python side failed: " + cmd);
  return json::parse(out);
}

struct MeanSe {
  double mean = 0, se = 0;
};
MeanSe mean_se(const std::vector<double>& x) {
  MeanSe r;
  for (double v : x) r.mean += v;
  r.mean /= static_cast<double>(x.size());
  if (x.size() > 1) {
    double s = 0;
    for (double v : x) s += (v - r.mean) * (v - r.mean);
    r.se = std::sqrt(s / static_cast<double>(x.size() - 1) / static_cast<double>(x.size()));
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"faunae's multi-epoch InfoNCE curve (train_contrastive) against the same recipe in Python PyTorch"};
  app.add_option("--data", c.data, "Fashion-MNIST folder");
  app.add_option("--images", c.images, "first N training images")->check(CLI::PositiveNumber);
  app.add_option("--epochs", c.epochs, "epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch", c.batch, "batch size (a multiple of 8)")->check(CLI::PositiveNumber);
  app.add_option("--queue", c.queue, "K, a multiple of the batch")->check(CLI::PositiveNumber);
  app.add_option("--lr", c.lr, "the student's learning rate")->check(CLI::PositiveNumber);
  app.add_flag("--constant-lr", c.constant_lr, "no cosine schedule");
  app.add_option("--m", c.m, "EMA coefficient of the teacher");
  app.add_option("--tau", c.tau, "temperature")->check(CLI::PositiveNumber);
  app.add_option("--blocks", c.blocks, "blocks per stage")->delimiter(',');
  app.add_option("--width", c.width, "width multiplier")->check(CLI::PositiveNumber);
  app.add_option("--ops", c.ops, "one op name per block (conv3, conv5, sa_k3r2, identity)")->delimiter(',');
  app.add_option("--seeds", c.seeds, "seeds")->delimiter(',');
  app.add_option("--threads", c.threads, "torch threads (both languages)")->check(CLI::PositiveNumber);
  app.add_option("--python", c.python, "Python interpreter with torch, or 'none'");
  app.add_option("--script", c.script, "moco_curve.py");
  app.add_option("--json", c.json_path, "write every run to this file");
  CLI11_PARSE(app, argc, argv);
  std::int64_t blocks = 0;
  for (auto b : c.blocks) blocks += b;
  if (c.ops.empty()) c.ops.assign(static_cast<std::size_t>(blocks), "conv3");
  if (static_cast<std::int64_t>(c.ops.size()) != blocks) {
    std::cerr << fmt::format("moco_curve: {} op names for {} blocks\n", c.ops.size(), blocks);
    return 2;
  }
  torch::set_num_threads(static_cast<int>(c.threads));
  faunae::torch_backend::keep_freed_cpu_memory();  // no page faults on every step's tensors (cpu_memory.hpp)
  torch::set_num_interop_threads(static_cast<int>(c.threads));
  const ImageDataset data = take(load_fashion_mnist(c.data, /*train=*/true), c.images);

  json runs = json::array();
  for (const std::uint64_t seed : c.seeds) {
    runs.push_back({{"seed", seed}, {"cpp", run_cpp(c, data, seed)}});
    if (c.python != "none") runs.back()["python"] = run_python(c, seed);
  }

  fmt::print("InfoNCE per epoch (mean training loss), {} seeds, {} images, batch {}, K = {}, lr {}{}, m {}, τ {}, ops {}\n\n",
             c.seeds.size(), data.size(), c.batch, c.queue, c.lr, c.constant_lr ? " constant" : " cosine", c.m, c.tau, join(c.ops));
  fmt::print("| epoch | C++ loss | Python loss | C++ − Python | Python: positive cos | mean negative cos | max negative cos | positive beats all |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (std::int64_t e = 0; e < c.epochs; ++e) {
    std::vector<double> cpp, py, d, pos, neg, maxneg, wins;
    for (const json& r : runs) {
      cpp.push_back(r["cpp"]["epochs"][e]["loss"].get<double>());
      if (r.contains("python")) {
        const json& p = r["python"]["epochs"][e];
        py.push_back(p["loss"].get<double>());
        d.push_back(cpp.back() - py.back());
        pos.push_back(p["positive"].get<double>());
        neg.push_back(p["negative"].get<double>());
        maxneg.push_back(p["max_negative"].get<double>());
        wins.push_back(p["positive_wins"].get<double>());
      }
    }
    const auto f = [](const std::vector<double>& x, const char* spec = "{:.3f} ± {:.3f}") {
      if (x.empty()) return std::string("—");
      const MeanSe m = mean_se(x);
      return fmt::format(fmt::runtime(spec), m.mean, m.se);
    };
    fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} |\n", e + 1, f(cpp), f(py), f(d, "{:+.3f} ± {:.3f}"), f(pos), f(neg), f(maxneg),
               f(wins));
  }
  if (!c.json_path.empty()) {
    const json config = {{"images", data.size()}, {"epochs", c.epochs}, {"batch", c.batch}, {"queue", c.queue}, {"lr", c.lr},
                         {"constant_lr", c.constant_lr}, {"m", c.m}, {"tau", c.tau}, {"blocks", c.blocks}, {"width", c.width},
                         {"ops", c.ops}, {"threads", c.threads}};
    std::ofstream(c.json_path) << json{{"config", config}, {"runs", runs}}.dump(1) << '\n';
  }
  return 0;
}

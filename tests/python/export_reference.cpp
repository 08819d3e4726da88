// faunae_export_reference OUT_DIR: writes networks as `faunae export` writes them, with a fixed input
// and what the C++ networks compute on it, so that tests/python/test_torch_net.py can check that
// python/faunae/torch_net.py rebuilds them exactly.
//
// One subfolder of OUT_DIR per case, each holding:
//   network.json  {"space": ..., "data": ..., "architecture": ...}, the format of export_run
//                 (examples/faunae/main.cpp): the space and data sections from config_to_json (the
//                 program's own function), the architecture as faunae::architecture_summary_to_json writes it
//   weights.pt    save_weights of the standalone network (what `faunae train` saves and export copies),
//                 with every BatchNorm's affine parameters and running statistics moved off their
//                 initial values, so that a swapped or ignored entry changes the outputs
//   input.pt      {"input": N×C×H×W float32}
//   output.pt     {"features": the eval-mode forward (pooled features),
//                  "stage.<i>": the eval-mode feature map at the end of stage i,
//                  "train_features": the train-mode forward (batch statistics), run after the above,
//                  "after_train.<buffer>": every BatchNorm buffer after that train-mode forward}
//
// The cases cover every op of both spaces: all seven ResNet ops (split attention with both kernels and
// radices, at stride 1 and 2), the three ResNet stems, and every DARTS op on normal and reduction edges
// (skip_connect as identity and as FactorizedReduce), including a node whose edges are all "none".
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <faunae/core/atomic_file.hpp>
#include <faunae/torch.hpp>

#include "config.hpp"         // examples/faunae/config.hpp
#include "library_options.hpp"  // examples/faunae/library_options.hpp: the config as the torch backend's options

namespace ft = faunae::torch_backend;
namespace fs = std::filesystem;
using faunae::Architecture;
using faunae::program::Config;
using faunae::program::darts_options;
using faunae::program::input_size;
using faunae::program::resnet_options;
using faunae::program::stem_of;

namespace {

// --- what examples/faunae/main.cpp does (architecture_summary_to_json's fields; the options come from library_options.hpp) ---

template <class Net>
nlohmann::json architecture_summary(const Net& net, const std::vector<std::string>& names, const Architecture& a) {
  return {{"architecture", a.ops()}, {"ops", names}, {"params", net->parameters(a)}, {"flops", net->flops(a)}};
}

// --- the reference outputs ---------------------------------------------------------------------------

/// Moves every BatchNorm off its initial state: affine weight in [0.5, 1.5], bias and running mean
/// small and random, running variance in [0.5, 2]. (The running statistics then move again with the
/// train-mode forwards of warm_up.)
void perturb_batch_norms(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (const auto& m : net.modules()) {
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0.0, 0.1);
      bn->running_mean.normal_(0.0, 0.1);
      bn->running_var.uniform_(0.5, 2.0);
    }
  }
}

/// A few train-mode forwards on random batches: the running statistics and num_batches_tracked become
/// those of real batches.
template <class Net>
void warm_up(Net& net, const std::vector<std::int64_t>& shape) {
  torch::NoGradGuard no_grad;
  net->train();
  for (int i = 0; i < 3; ++i) net->forward(torch::randn(shape) * 0.5 + 0.25);
}

/// Every buffer of `net` (running_mean, running_var, num_batches_tracked), prefixed.
std::vector<std::pair<std::string, torch::Tensor>> buffers(const torch::nn::Module& net, const std::string& prefix) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& b : net.named_buffers()) out.emplace_back(prefix + b.key(), b.value().clone());
  return out;
}

/// The eval-mode feature map at the end of each stage of a ResNet network, by the steps of
/// ResNetSupernetImpl::forward (stem, then each block's forward with its op).
std::vector<torch::Tensor> resnet_stages(ft::ResNetSupernet& net, const Architecture& a, const torch::Tensor& x) {
  auto y = torch::relu(net->stem_bn(net->stem_conv(x)));
  if (net->options().stem == ft::Stem::imagenet224) y = torch::max_pool2d(y, 3, 2, 1);
  std::vector<torch::Tensor> stages;
  for (std::size_t b = 0; b < net->num_blocks(); ++b) {
    y = net->blocks->ptr<ft::SearchBlockImpl>(b)->forward(y, net->op_names(b)[a[b]]);
    if (b + 1 == net->num_blocks() || net->geometry(b + 1).stage != net->geometry(b).stage) stages.push_back(y);
  }
  return stages;
}

/// The eval-mode output of the last cell before each reduction cell, and of the last cell, by the steps
/// of DartsSupernetImpl::forward.
std::vector<torch::Tensor> darts_stages(ft::DartsSupernet& net, const Architecture& a, const torch::Tensor& x) {
  constexpr std::size_t edges = ft::DartsSupernetImpl::kEdges;
  std::vector<const std::string*> normal(edges), reduce(edges);
  for (std::size_t e = 0; e < edges; ++e) {
    normal[e] = &ft::darts_ops()[a[e]];
    reduce[e] = &ft::darts_ops()[a[edges + e]];
  }
  auto s0 = net->stem_bn(net->stem_conv(x));
  auto s1 = s0;
  std::vector<torch::Tensor> stages;
  const auto cells = static_cast<std::int64_t>(net->cells->size());
  for (std::int64_t i = 0; i < cells; ++i) {
    auto cell = net->cells->ptr<ft::DartsCellImpl>(static_cast<std::size_t>(i));
    auto out = cell->forward(s0, s1, cell->reduction ? reduce : normal);
    s0 = s1;
    s1 = out;
    if (i + 1 == cells || net->is_reduction(i + 1)) stages.push_back(out);
  }
  return stages;
}

/// The op indices of `names` in the space of `options`, as the program's search.json records them (a
/// ResNet block's indices skip identity where the block cannot be skipped).
template <class Net, class Options>
Architecture op_indices(const Options& options, const std::vector<std::string>& names, const std::string& name) {
  Architecture a(std::vector<faunae::OpIndex>(names.size(), 0));
  if constexpr (std::is_same_v<Net, ft::ResNetSupernet>) {
    const Net probe(options);
    if (names.size() != probe->num_blocks())
      throw faunae::InvalidArgument(fmt::format("export_reference: case {} has {} op names, its space {} blocks", name, names.size(),
                                                probe->num_blocks()));
    for (std::size_t b = 0; b < names.size(); ++b) a[b] = probe->op_index(b, names[b], "export_reference");
  } else {
    if (names.size() != 2 * ft::DartsSupernetImpl::kEdges)
      throw faunae::InvalidArgument(fmt::format("export_reference: case {} has {} op names, the DARTS space 28 blocks", name, names.size()));
    const auto& ops = ft::darts_ops();
    for (std::size_t b = 0; b < names.size(); ++b) {
      const auto it = std::find(ops.begin(), ops.end(), names[b]);
      if (it == ops.end()) throw faunae::InvalidArgument(fmt::format("export_reference: case {}: unknown DARTS op '{}'", name, names[b]));
      a[b] = static_cast<faunae::OpIndex>(it - ops.begin());
    }
  }
  return a;
}

/// Writes one case: the standalone network of `names` (op names, block by block) in the space and data
/// of `c`, seeded with `seed`, and its outputs on a batch of `batch` images.
template <class Net>
void write_case(const fs::path& out, const std::string& name, const Config& c, const std::vector<std::string>& names,
                std::int64_t batch, std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const auto stem = stem_of(c);
  const auto options = [&] {
    if constexpr (std::is_same_v<Net, ft::ResNetSupernet>) return resnet_options(c);
    else return darts_options(c);
  }();
  const Architecture a = op_indices<Net>(options, names, name);
  Net net(options, a);
  const std::vector<std::int64_t> shape{batch, ft::stem_channels(stem), input_size(stem), input_size(stem)};
  perturb_batch_norms(*net);
  warm_up(net, shape);

  const fs::path dir = out / name;
  fs::create_directories(dir);
  ft::save_weights(*net, dir / "weights.pt");
  const auto config = faunae::program::config_to_json(c);
  const nlohmann::json network = {{"space", config["space"]}, {"data", config["data"]}, {"architecture", architecture_summary(net, names, a)}};
  faunae::write_file_atomically(dir / "network.json", network.dump(2) + "\n");

  const auto input = torch::randn(shape);
  ft::detail::save_tensor_dict({{"input", input}}, dir / "input.pt");

  std::vector<std::pair<std::string, torch::Tensor>> outputs;
  std::size_t stage_count = 0;
  {
    torch::NoGradGuard no_grad;
    net->eval();
    const auto features = net->forward(input);
    outputs.emplace_back("features", features);
    const auto stages = [&] {
      if constexpr (std::is_same_v<Net, ft::ResNetSupernet>) return resnet_stages(net, a, input);
      else return darts_stages(net, a, input);
    }();
    // The stages end where the forward pools: the same numbers, or the stage code is wrong.
    if (!torch::equal(torch::adaptive_avg_pool2d(stages.back(), {1, 1}).flatten(1), features))
      throw faunae::InvalidArgument(fmt::format("export_reference: case {}: the last stage does not pool to the forward's features", name));
    for (std::size_t s = 0; s < stages.size(); ++s) outputs.emplace_back(fmt::format("stage.{}", s), stages[s]);
    stage_count = stages.size();
    net->train();
    outputs.emplace_back("train_features", net->forward(input));
    for (auto& entry : buffers(*net, "after_train.")) outputs.push_back(std::move(entry));
  }
  ft::detail::save_tensor_dict(outputs, dir / "output.pt");
  std::printf("%s: %zu blocks, %lld parameters, %zu stages\n", name.c_str(), names.size(),
              static_cast<long long>(net->parameters(a)), stage_count);
}

/// The data section of a run on `kind`. As in the program, data.channels and data.size keep their
/// defaults (3 and 32) for fashion-mnist and cifar10, whose stem the kind decides: network.json of a
/// Fashion-MNIST run says "channels": 3, "size": 32 and the network takes 1×28×28 images.
Config data_config(const std::string& kind, std::int64_t folder_channels = 3, std::int64_t folder_size = 32) {
  Config c;
  c.data.kind = kind;
  if (kind == "cifar10") c.data.path = "/usr/share/datasets/cifar10";
  if (kind == "folder") {
    c.data.path = "images";
    c.data.channels = folder_channels;
    c.data.size = folder_size;
  }
  return c;
}

Config resnet_config(Config c, std::vector<std::int64_t> blocks, double width, std::vector<std::string> ops) {
  c.space.kind = "resnet";
  c.space.blocks_per_stage = std::move(blocks);
  c.space.width = width;
  c.space.ops = std::move(ops);
  return c;
}

Config darts_config(Config c, std::int64_t layers, std::int64_t width) {
  c.space.kind = "darts";
  c.space.darts_layers = layers;
  c.space.darts_channels = width;
  return c;
}

void write_all(const fs::path& out) {
  const std::vector<std::string> all_resnet_ops{"conv3", "conv5", "sa_k3r2", "sa_k3r4", "sa_k5r2", "sa_k5r4", "identity"};
  // Fashion-MNIST: 1×28×28, 4 stages (28 → 14 → 7 → 4: stride 2 on an odd size), every op, width 0.2
  // (ResNet's widths rounded up to multiples of 8: 16, 32, 56, 104).
  write_case<ft::ResNetSupernet>(out, "resnet_gray28", resnet_config(data_config("fashion-mnist"), {2, 2, 2, 2}, 0.2, all_resnet_ops),
                                 {"conv3", "identity", "sa_k5r4", "conv5", "sa_k3r4", "sa_k5r2", "sa_k3r2", "identity"},
                                 /*batch=*/3, /*seed=*/11);
  // CIFAR-10: 3×32×32, 3 stages, the ops in another order (the indices of network.json differ from the
  // first case's), split attention at stride 1 and 2 with both kernels and radices.
  write_case<ft::ResNetSupernet>(out, "resnet_color32",
                                 resnet_config(data_config("cifar10"), {1, 3, 2}, 0.125,
                                               {"sa_k5r4", "conv3", "identity", "sa_k3r2", "conv5", "sa_k5r2", "sa_k3r4"}),
                                 {"sa_k5r4", "sa_k3r4", "identity", "sa_k5r2", "sa_k3r2", "conv5"}, /*batch=*/2, /*seed=*/12);
  // A folder of 3×224×224 images: ResNet's 7×7 stride-2 stem and max pool. Width 0.135: 64 · 0.135 =
  // 8.64 rounds to 9, hence 16 channels (truncated, 8 would make 8).
  write_case<ft::ResNetSupernet>(out, "resnet_imagenet224", resnet_config(data_config("folder", 3, 224), {2, 1}, 0.135, {"conv3", "identity", "sa_k3r2"}),
                                 {"conv3", "identity", "sa_k3r2"}, /*batch=*/2, /*seed=*/13);
  // DARTS on CIFAR-10, 5 cells (N R N R N): every op on a normal edge, and on a reduction edge from the
  // cell's inputs (stride 2: skip_connect is FactorizedReduce) and from its nodes (stride 1).
  std::vector<std::string> normal, reduce;
  for (std::size_t e = 0; e < 14; ++e) normal.push_back(ft::darts_ops()[e % 8]);
  // Reduction edges from the inputs: 0, 1, 2, 3, 5, 6, 9, 10; from the nodes: 4, 7, 8, 11, 12, 13.
  reduce = {"skip_connect", "none",         "conv_3x3",     "conv_5x5",     "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
            "max_pool_3x3", "avg_pool_3x3", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3", "none",         "conv_5x5"};
  std::vector<std::string> darts_a = normal;
  darts_a.insert(darts_a.end(), reduce.begin(), reduce.end());
  write_case<ft::DartsSupernet>(out, "darts_color32", darts_config(data_config("cifar10"), 5, 4), darts_a, /*batch=*/2, /*seed=*/14);
  // DARTS on Fashion-MNIST, 3 cells (N R R; 28 → 14 → 7), a normal node and a reduction node whose
  // edges are all "none" (the node is zeros of the right shape).
  std::vector<std::string> darts_b{
      // normal: node 0 (edges 0, 1) all none
      "none", "none", "sep_conv_3x3", "skip_connect", "avg_pool_3x3", "conv_3x3", "none", "max_pool_3x3", "skip_connect",
      "sep_conv_5x5", "none", "conv_5x5", "skip_connect", "none",
      // reduction: node 1 (edges 2, 3, 4) all none
      "conv_3x3", "skip_connect", "none", "none", "none", "max_pool_3x3", "sep_conv_3x3", "skip_connect", "avg_pool_3x3",
      "skip_connect", "conv_5x5", "none", "sep_conv_5x5", "max_pool_3x3"};
  write_case<ft::DartsSupernet>(out, "darts_gray28", darts_config(data_config("fashion-mnist"), 3, 6), darts_b, /*batch=*/3, /*seed=*/15);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n  writes reference networks as `faunae export` does, with inputs and C++ outputs\n", argv[0]);
    return 2;
  }
  try {
    torch::set_num_threads(1);  // the same reduction order on every machine
    write_all(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faunae_export_reference: %s\n", e.what());
    return 1;
  }
  return 0;
}

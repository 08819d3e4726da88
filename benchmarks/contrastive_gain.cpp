// Does the teacher–student training learn anything? On Fashion-MNIST, the kNN monitor and the
// linear evaluation of a network of fixed architecture, randomly initialised, then after N epochs
// of contrastive training (train_contrastive, no labels) — the same network, the same features code.
//
//   ./build/benchmarks/contrastive_gain                       # defaults: a few CPU minutes
//   ./build/benchmarks/contrastive_gain --epochs 20 --train-images 60000 --device cuda
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <faunae/torch.hpp>
#include <faunae/torch/evaluation.hpp>

namespace ft = faunae::torch_backend;

namespace {

struct Scores {
  double knn = 0.0, linear = 0.0, seconds = 0.0;
};

Scores score(ft::ResNetSupernet& net, const ft::ImageDataset& train, const ft::ImageDataset& test, const ft::AugmentOptions& aug,
             const ft::LinearEvalOptions& linear, torch::Device device) {
  const auto start = std::chrono::steady_clock::now();
  net->eval();
  const auto backbone = [&](const torch::Tensor& x) { return net->forward(x); };
  const auto f_train = ft::extract_features(backbone, train, aug.mean, aug.stddev, 512, device);
  const auto f_test = ft::extract_features(backbone, test, aug.mean, aug.stddev, 512, device);
  Scores s;
  s.knn = ft::knn_accuracy(f_train, train.labels, f_test, test.labels, /*k=*/200, /*t=*/0.1);
  s.linear = ft::linear_evaluation(f_train.to(device), train.labels.to(device), f_test.to(device), test.labels.to(device), linear).test_accuracy;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Contrastive training vs random initialisation on Fashion-MNIST: kNN and linear accuracy");
  std::vector<std::int64_t> blocks{1, 1, 1, 1};
  std::string data_dir = "/usr/share/datasets/fashion-mnist", op = "conv3", device_name = "cpu", json_path;
  std::int64_t train_images = 10000, test_images = 2000, epochs = 8, batch = 256, threads = 2, linear_epochs = 100;
  double width = 0.25;
  std::uint64_t seed = 0;
  bool raw_features = false;
  app.add_option("--data", data_dir, "Fashion-MNIST folder (gzipped IDX)");
  app.add_option("--train-images", train_images, "first N training images (contrastive training, kNN bank, linear training)");
  app.add_option("--test-images", test_images, "first N test images (kNN and linear test accuracy)");
  app.add_option("--epochs", epochs, "contrastive training epochs");
  app.add_option("--batch", batch, "images per contrastive step");
  app.add_option("--blocks", blocks, "search blocks per stage, e.g. 1,1,1,1")->delimiter(',');
  app.add_option("--width", width, "width multiplier of ResNet-50's bottleneck widths");
  app.add_option("--op", op, "the op of every block (conv3, conv5, sa_k3r2, ...)");
  app.add_option("--linear-epochs", linear_epochs, "epochs of the linear classifier (MoCo: 100, steps at 60% and 80%)");
  app.add_flag("--raw-features", raw_features,
               "train the linear classifier on raw pooled features (MoCo's lr 30 diverges on a random network's); default: standardised");
  app.add_option("--threads", threads, "torch threads");
  app.add_option("--device", device_name, "cpu or cuda");
  app.add_option("--seed", seed, "seed of weights, augmentations and batches");
  app.add_option("--json", json_path, "write the results there");
  CLI11_PARSE(app, argc, argv);
  try {
    torch::set_num_threads(static_cast<int>(threads));
    faunae::torch_backend::keep_freed_cpu_memory();  // no page faults on every step's tensors (cpu_memory.hpp)
    const torch::Device device = ft::parse_device(device_name);
    const auto train = ft::take(ft::load_fashion_mnist(data_dir, /*train=*/true), train_images);
    const auto test = ft::take(ft::load_fashion_mnist(data_dir, /*train=*/false), test_images);
    ft::ResNetSpaceOptions space;
    space.stem = ft::Stem::gray28;
    space.blocks_per_stage = blocks;
    space.width = width;
    space.ops = {op};
    const faunae::Architecture a(std::vector<faunae::OpIndex>(
        [&] {
          std::size_t n = 0;
          for (auto b : space.blocks_per_stage) n += static_cast<std::size_t>(b);
          return n;
        }(),
        0));
    torch::manual_seed(seed);
    ft::ResNetSupernet net(space, a);
    net->to(device);
    const auto aug = ft::default_augment_options(space.stem);
    ft::LinearEvalOptions linear;
    linear.epochs = linear_epochs;
    linear.milestones = {linear_epochs * 6 / 10, linear_epochs * 8 / 10};
    linear.seed = seed;
    linear.standardize = !raw_features;
    fmt::print("network: blocks {} width {} op {}: {:.2f} M parameters, {:.1f} M MACs per image\n", fmt::join(blocks, ","), width, op,
               static_cast<double>(net->parameters(a)) / 1e6, static_cast<double>(net->flops(a)) / 1e6);
    fmt::print("data: {} training images (labels used only by kNN and the linear classifier), {} test images\n", train.size(), test.size());

    const Scores before = score(net, train, test, aug, linear, device);
    fmt::print("random init:  kNN {:.2f}%  linear {:.2f}%  ({:.1f} s)\n", 100 * before.knn, 100 * before.linear, before.seconds);

    ft::MocoOptions moco;
    moco.batch_size = batch;
    moco.queue_size = std::max<std::int64_t>(batch, 4096 / batch * batch);
    moco.device = device;
    moco.seed = seed;
    ft::ImageDataset unlabelled = train;
    unlabelled.labels = torch::Tensor();  // the training never sees a label
    const auto start = std::chrono::steady_clock::now();
    auto learner = ft::train_contrastive(net, unlabelled, aug, moco, epochs, [&](const ft::EpochReport& r) {
      fmt::print("epoch {:3d}: InfoNCE {:.4f}  lr {:.4f}  {:.1f} s  {:.0f} images/s\n", r.epoch, r.loss, r.learning_rate, r.seconds,
                 static_cast<double>(r.images) / r.seconds);
    });
    const double training_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Scores after = score(learner.student(), train, test, aug, linear, device);
    fmt::print("after {} epochs ({:.0f} s): kNN {:.2f}%  linear {:.2f}%  ({:.1f} s)\n", epochs, training_seconds, 100 * after.knn,
               100 * after.linear, after.seconds);
    fmt::print("gain: kNN {:+.2f} points, linear {:+.2f} points\n", 100 * (after.knn - before.knn), 100 * (after.linear - before.linear));
    if (!json_path.empty()) {
      const nlohmann::json j = {{"blocks", fmt::format("{}", fmt::join(blocks, ","))},          {"width", width},
                                {"op", op},                  {"train_images", train.size()},
                                {"test_images", test.size()}, {"epochs", epochs},
                                {"batch", batch},            {"threads", threads},
                                {"device", device_name},     {"seed", seed},
                                {"training_seconds", training_seconds},
                                {"random_init", {{"knn", before.knn}, {"linear", before.linear}}},
                                {"trained", {{"knn", after.knn}, {"linear", after.linear}}}};
      std::ofstream(json_path) << j.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "contrastive_gain: {}\n", e.what());
    return 1;
  }
  return 0;
}

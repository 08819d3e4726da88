// Small shared fixtures of the Torch backend's tests and test workers (no Catch2 here, so that the
// distributed worker can use them too): a tiny supernet space, its evaluator options, random images,
// a temporary folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <faunae/torch/data.hpp>
#include <faunae/torch/augment.hpp>
#include <faunae/torch/contrastive_evaluator.hpp>
#include <faunae/torch/resnet_space.hpp>

namespace faunae_test {

/// Three blocks of a two-stage ResNet-block space at width 0.125: fast enough for any test.
inline faunae::torch_backend::ResNetSpaceOptions tiny_space() {
  faunae::torch_backend::ResNetSpaceOptions space;
  space.blocks_per_stage = {1, 2};
  space.width = 0.125;
  space.ops = {"conv3", "sa_k3r2", "identity"};
  return space;
}

/// n random 1×28×28 uint8 images from a seeded generator (unlabeled).
inline faunae::torch_backend::ImageDataset random_images(std::int64_t n, std::uint64_t seed) {
  auto gen = faunae::torch_backend::make_generator(seed);
  faunae::torch_backend::ImageDataset d;
  d.images = torch::randint(0, 256, {n, 1, 28, 28}, gen, torch::kLong).to(torch::kUInt8);
  d.name = "random";
  return d;
}

/// Evaluator (and MocoLearner) options for tiny_space(): 2 steps of 4 images, a queue of 8.
inline faunae::torch_backend::ContrastiveEvaluatorOptions tiny_evaluator_options() {
  faunae::torch_backend::ContrastiveEvaluatorOptions o;
  o.steps = 2;
  o.batch_size = 4;
  o.queue_size = 8;
  o.shuffle_groups = 2;
  o.head_hidden = 16;
  o.head_out = 8;
  o.m = 0.9;
  o.validation_batch_size = 4;
  return o;
}

/// A folder under the system's temp dir, emptied on creation and removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) : path(std::filesystem::temp_directory_path() / name) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace faunae_test

// The backend on a GPU: MocoLearner and ContrastiveEvaluator on CUDA in fp32, bf16 and fp16 with
// channels-last, agreement of fp32 CUDA with the CPU, save on the GPU / load on the CPU, pinned
// transfers. Without CUDA each case says so and passes (CI has no GPU; scripts/gpu-check.sh runs
// them on one).
#include <faunae/torch/contrastive_evaluator.hpp>

#include <cmath>
#include <filesystem>

#include "catch_torch.hpp"
#include "fixtures.hpp"

using namespace faunae::torch_backend;

using faunae_test::random_images;
using faunae_test::TempDir;
using faunae_test::tiny_space;

namespace {

bool have_cuda() {
  if (torch::cuda::is_available()) return true;
  WARN("no CUDA device: this case checks nothing here (scripts/gpu-check.sh runs it on a GPU)");
  return false;
}

ContrastiveEvaluatorOptions tiny_options(torch::Device device) {
  ContrastiveEvaluatorOptions o;
  o.steps = 2;
  o.batch_size = 8;
  o.queue_size = 16;
  o.shuffle_groups = 2;
  o.head_hidden = 32;
  o.head_out = 16;
  o.m = 0.9;
  o.validation_batch_size = 8;
  o.device = device;
  return o;
}

}  // namespace

TEST_CASE("cuda: fp32 training step agrees with the CPU", "[cuda]") {
  if (!have_cuda()) return;
  const faunae::Architecture a({1, 0, 2});
  const auto data = random_images(8, 1);
  const auto aug = default_augment_options(Stem::gray28);
  torch::manual_seed(3);
  MocoLearner cpu(ResNetSupernet(tiny_space()), static_cast<MocoOptions>(tiny_options(torch::kCPU)));
  torch::manual_seed(3);
  MocoLearner gpu(ResNetSupernet(tiny_space()), static_cast<MocoOptions>(tiny_options(torch::Device("cuda"))));
  CHECK(gpu.student()->stem_conv->weight.is_cuda());
  CHECK(gpu.queue().keys().is_cuda());
  for (int step = 0; step < 2; ++step) {
    const double l_cpu = cpu.train_step(data.images, a, aug).item<double>();
    const double l_gpu = gpu.train_step(data.images, a, aug).item<double>();
    CHECK(l_gpu == Approx(l_cpu).epsilon(2e-3));
  }
  CHECK(torch::allclose(gpu.student()->stem_conv->weight.cpu(), cpu.student()->stem_conv->weight, 1e-3, 1e-4));
  CHECK(gpu.validation_loss(data, a, aug, 4, 8) == Approx(cpu.validation_loss(data, a, aug, 4, 8)).epsilon(2e-3));
}

TEST_CASE("cuda: bf16 and fp16 autocast with channels-last train and stay finite", "[cuda]") {
  if (!have_cuda()) return;
  const faunae::Architecture a({0, 1, 2});
  const auto data = random_images(8, 2);
  const auto aug = default_augment_options(Stem::gray28);
  for (const auto precision : {Precision::bf16, Precision::fp16}) {
    INFO("precision " << to_string(precision));
    MocoOptions o = tiny_options(torch::Device("cuda"));
    o.precision = precision;
    o.channels_last = true;
    MocoLearner learner(ResNetSupernet(tiny_space()), o);
    const auto before = learner.student()->stem_conv->weight.clone();
    for (int step = 0; step < 3; ++step) CHECK(std::isfinite(learner.train_step(data.images, a, aug).item<double>()));
    CHECK_FALSE(torch::equal(before, learner.student()->stem_conv->weight));
    CHECK(learner.student()->stem_conv->weight.scalar_type() == torch::kFloat32);  // master weights stay fp32
    CHECK(std::isfinite(learner.validation_loss(data, a, aug, 1, 8)));
  }
}

TEST_CASE("cuda: state saved on the GPU loads on the CPU and back; pinned transfer", "[cuda]") {
  if (!have_cuda()) return;
  const auto dir = std::filesystem::temp_directory_path() / "faunae-cuda-test";
  std::filesystem::remove_all(dir);
  const faunae::Architecture a({1, 1, 0});
  const auto data = random_images(8, 3);
  const auto aug = default_augment_options(Stem::gray28);
  MocoLearner gpu(ResNetSupernet(tiny_space()), static_cast<MocoOptions>(tiny_options(torch::Device("cuda"))));
  gpu.train_step(data.images, a, aug);
  gpu.save(dir / "gpu.pt");
  MocoLearner cpu(ResNetSupernet(tiny_space()), static_cast<MocoOptions>(tiny_options(torch::kCPU)));
  cpu.load(dir / "gpu.pt");
  CHECK(torch::equal(cpu.student()->stem_conv->weight, gpu.student()->stem_conv->weight.cpu()));
  CHECK(torch::equal(cpu.queue().keys(), gpu.queue().keys().cpu()));
  CHECK(cpu.steps() == 1);

  const auto x = data.images.narrow(0, 0, 4);
  const auto on_gpu = to_device(x, torch::Device("cuda"));
  CHECK(on_gpu.is_cuda());
  CHECK(torch::equal(on_gpu.cpu(), x));
  std::filesystem::remove_all(dir);
}

TEST_CASE("cuda: the contrastive evaluator searches on the GPU and resumes exactly", "[cuda]") {
  if (!have_cuda()) return;
  const auto dir = std::filesystem::temp_directory_path() / "faunae-cuda-evaluator-test";
  std::filesystem::remove_all(dir);
  auto o = tiny_options(torch::Device("cuda"));
  o.state_directory = dir;
  const auto train = random_images(32, 4), validation = random_images(16, 5);
  ContrastiveEvaluator e(tiny_space(), train, validation, default_augment_options(Stem::gray28), o);
  CHECK(std::isfinite(e.evaluate(faunae::Architecture({0, 0, 2})).loss));
  const auto saved = e.state();
  const double next = e.evaluate(faunae::Architecture({1, 1, 1})).loss;
  ContrastiveEvaluator resumed(tiny_space(), train, validation, default_augment_options(Stem::gray28), o);
  resumed.restore(saved);
  CHECK(resumed.evaluate(faunae::Architecture({1, 1, 1})).loss == Approx(next).epsilon(1e-5));
  std::filesystem::remove_all(dir);
}

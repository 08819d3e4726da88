// Faults and bounds of the Torch backend: training that diverges (NaN weights) stops the search at
// the last good epoch, whose checkpoint holds finite weights and resumes to the uninterrupted
// result; a key queue larger than memory is refused, naming the option and the bytes, before it is
// allocated.
#include <faunae/torch/contrastive_evaluator.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>

#include <faunae/search/search.hpp>

#include "catch_torch.hpp"
#include "fixtures.hpp"
#include "what_matcher.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::What;

namespace {

ContrastiveEvaluatorOptions fault_options(const std::filesystem::path& state_directory) {
  ContrastiveEvaluatorOptions o = faunae_test::tiny_evaluator_options();
  o.state_directory = state_directory;
  return o;
}

/// The ContrastiveEvaluator whose training diverges at its `at`-th evaluation (0-based): a NaN is
/// written into the student's weights before the k training steps, as an exploding gradient does.
struct DivergingEvaluator {
  ContrastiveEvaluator& inner;
  std::size_t at;
  std::size_t calls = 0;
  faunae::Evaluation evaluate(const faunae::Architecture& a) {
    if (calls++ == at) {
      torch::NoGradGuard no_grad;
      static_cast<torch::nn::Module&>(*inner.student()).parameters().front().view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
    }
    return inner.evaluate(a);
  }
  nlohmann::json state() const { return inner.state(); }
  void restore(const nlohmann::json& j) { inner.restore(j); }
};

std::string text_if_exists(const std::filesystem::path& path) {
  return std::filesystem::exists(path) ? faunae::read_file(path, "test") : std::string();
}

bool all_finite(const ContrastiveEvaluator& e) {
  for (const auto& [name, t] : const_cast<ContrastiveEvaluator&>(e).learner().state())
    if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>()) return false;
  return true;
}

}  // namespace

TEST_CASE("diverging training (NaN weights) stops the search at the last good epoch, whose checkpoint resumes to the uninterrupted result",
          "[fault]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "faunae-torch-fault-test";
  std::filesystem::remove_all(dir);
  const auto train = faunae_test::random_images(16, 7), validation = faunae_test::random_images(4, 8);
  const ResNetSupernet probe(faunae_test::tiny_space());
  const auto space = probe->space(faunae::Architecture({0, 0, 0}));
  const auto options = [&](const std::filesystem::path& checkpoint) {
    faunae::SearchOptions so;
    so.seed = 3;
    so.max_epochs = 5;
    so.checkpoint = checkpoint;
    return so;
  };
  const auto evaluator = [&](const std::filesystem::path& state_dir) {
    torch::manual_seed(1);
    return ContrastiveEvaluator(faunae_test::tiny_space(), train, validation, default_augment_options(Stem::gray28), fault_options(state_dir));
  };
  const auto without_seconds = [](nlohmann::json state) {
    for (auto& epoch : state["history"]) epoch["metrics"].erase(2);  // wall-clock seconds differ
    return state;
  };

  ContrastiveEvaluator clean = evaluator(dir / "whole");
  faunae::FaUNAE<faunae::BlockSpace> whole(space, options(dir / "whole" / "search.json"), faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
  whole.run(clean);
  const auto expected = without_seconds(whole.to_json()["state"]);

  // Diverges at epoch 3: epochs 0–2 are checkpointed.
  const auto checkpoint = dir / "diverged" / "search.json";
  ContrastiveEvaluator e = evaluator(dir / "diverged");
  DivergingEvaluator diverging{e, 3};
  faunae::FaUNAE<faunae::BlockSpace> search(space, options(checkpoint), faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
  std::string before;
  REQUIRE_THROWS_MATCHES(
      [&] {
        while (true) {
          before = text_if_exists(checkpoint);
          search.step(diverging);
        }
      }(),
      faunae::EvaluationError,
      What(Contains("training diverged") && Contains("non-finite loss (nan)") && Contains("at epoch 3") &&
           Contains("kept at epoch 2")));
  CHECK(search.state().epoch == 2);
  CHECK_FALSE(all_finite(e));  // the evaluator in memory is poisoned ...
  CHECK(text_if_exists(checkpoint) == before);  // ... the checkpoint is not

  ContrastiveEvaluator fresh = evaluator(dir / "diverged");
  faunae::FaUNAE<faunae::BlockSpace> resumed(space, options(checkpoint), faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
  resumed.load(checkpoint, fresh);
  CHECK(resumed.state().epoch == 2);
  CHECK(all_finite(fresh));
  resumed.run(fresh);
  CHECK(without_seconds(resumed.to_json()["state"]) == expected);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a key queue larger than memory is refused before it is allocated, naming the option and the bytes", "[fault][bounds]") {
  const std::uint64_t memory = faunae::physical_memory_bytes();
  if (memory == 0) {
    WARN("the system does not tell its physical memory: nothing to check");
    return;
  }
  // 2⁴⁰ keys of 128 floats: 512 TiB.
  const std::int64_t huge = std::int64_t{1} << 40;
  MocoOptions o;
  o.queue_size = huge;
  CHECK_THROWS_MATCHES(o.check("test"), faunae::InvalidArgument,
                       What(Contains("MocoOptions::queue_size = 1099511627776 keys of head_out = 128 floats need 562949953421312 bytes") &&
                            Contains(fmt::format("more than the {} bytes of physical memory", memory))));
  CHECK_THROWS_MATCHES(KeyQueue(huge, 128), faunae::InvalidArgument,
                       What(Contains("K = 1099511627776 keys of dimension D = 128 needs 562949953421312 bytes")));
  // K·D·4 beyond 64 bits saturates instead of wrapping around to a small number.
  CHECK(KeyQueue::queue_bytes(std::numeric_limits<std::int64_t>::max(), 1 << 20) == ~std::uint64_t{0});
  CHECK_THROWS_AS(KeyQueue(std::numeric_limits<std::int64_t>::max(), 1 << 20), faunae::InvalidArgument);
  // Through the evaluator: nothing is built.
  auto eo = fault_options({});
  eo.batch_size = 4;
  eo.queue_size = huge;
  CHECK_THROWS_MATCHES(ContrastiveEvaluator(faunae_test::tiny_space(), faunae_test::random_images(8, 1), faunae_test::random_images(4, 2), default_augment_options(Stem::gray28), eo),
                       faunae::InvalidArgument, What(Contains("MocoOptions::queue_size")));
}

TEST_CASE("a ResNet space of 10^9 blocks is refused before any block is built", "[fault][bounds]") {
  auto o = faunae_test::tiny_space();
  o.blocks_per_stage = {1, 1'000'000'000};
  CHECK_THROWS_MATCHES(ResNetSupernet(o), faunae::InvalidArgument, What(Contains("blocks_per_stage[1] must be in [1, 64], got 1000000000")));
}

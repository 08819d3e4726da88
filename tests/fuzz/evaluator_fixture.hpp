// The fixture of the evaluator_state and pickle fuzz targets: a ContrastiveEvaluator over a tiny
// ResNet supernet whose state() has written a valid learner file and .order file into a folder of
// this process, and a valid weights file of its student.
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "faunae/torch/contrastive_evaluator.hpp"
#include "faunae/torch/export.hpp"
#include "fuzz_support.hpp"

namespace faunae_fuzz {

namespace fb = faunae::torch_backend;

struct Fixture {
  std::filesystem::path dir = faunae_fuzz::scratch_dir() / "state";
  std::optional<fb::ContrastiveEvaluator> evaluator;
  std::string name;  // the file state() wrote
  std::string learner_bytes, order_bytes, weights_bytes;
  std::vector<std::pair<std::string, torch::Tensor>> snapshot;

  Fixture() {
    torch::set_num_threads(1);
    fb::ResNetSpaceOptions space;
    space.blocks_per_stage = {1};
    space.width = 0.0625;
    space.ops = {"conv3", "identity"};
    auto images = [](std::int64_t n, std::uint64_t seed) {
      auto gen = fb::make_generator(seed);
      fb::ImageDataset d;
      d.images = torch::randint(0, 256, {n, 1, 28, 28}, gen, torch::kLong).to(torch::kUInt8);
      d.name = "random";
      return d;
    };
    fb::ContrastiveEvaluatorOptions o;
    o.steps = 1;
    o.batch_size = 4;
    o.queue_size = 4;
    o.shuffle_groups = 2;
    o.head_hidden = 4;
    o.head_out = 4;
    o.validation_batch_size = 4;
    o.state_directory = dir;
    auto augment = fb::default_augment_options(fb::Stem::gray28);
    augment.output_size = 16;
    evaluator.emplace(space, images(8, 1), images(4, 2), augment, o);
    evaluator->evaluate(faunae::Architecture({0}));  // non-trivial momentum, queue and step count
    name = evaluator->state()["file"].get<std::string>();
    learner_bytes = faunae::read_file(dir / name, "fuzz");
    order_bytes = faunae::read_file(dir / (name + ".order"), "fuzz");
    fb::save_weights(*evaluator->student(), dir / "weights.pt");
    weights_bytes = faunae::read_file(dir / "weights.pt", "fuzz");
    snapshot = copy_state();
  }

  /// Copies (state() returns the learner's live tensors).
  std::vector<std::pair<std::string, torch::Tensor>> copy_state() {
    auto state = evaluator->learner().state();
    for (auto& [n, t] : state) t = t.detach().clone();
    return state;
  }

  bool unchanged() {
    const auto now = evaluator->learner().state();
    if (now.size() != snapshot.size()) return false;
    for (std::size_t i = 0; i < now.size(); ++i)
      if (now[i].first != snapshot[i].first || !same_bytes(now[i].second, snapshot[i].second)) return false;
    return true;
  }

  /// Bit for bit (an accepted fuzzed file may hold NaNs, which equal() finds unequal to themselves).
  static bool same_bytes(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.scalar_type() != b.scalar_type() || !a.sizes().equals(b.sizes())) return false;
    const torch::Tensor x = a.detach().contiguous(), y = b.detach().contiguous();
    return std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
  }

  /// Runs `load` (a restore or load_weights): the library's documented errors are expected, and a
  /// failed load must leave the learner as it was.
  template <class F>
  void expect_strong_guarantee(F&& load) {
    if (expect_documented_errors(load))
      snapshot = copy_state();  // what an accepted file holds is the new reference
    else if (!unchanged())
      fail("a failed restore or load_weights changed the learner");
  }
};

inline Fixture& fixture() {
  static Fixture f;
  return f;
}

}  // namespace faunae_fuzz

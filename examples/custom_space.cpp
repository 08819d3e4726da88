// How a user plugs in their own search space and evaluator: two plain structs, no base classes.
// The space: 6 blocks, each choosing a layer width (or skipping the block); the "evaluator" is a
// stand-in for training: a loss that prefers width 64 in early blocks and 256 in late ones.
#include <cmath>
#include <iostream>
#include <optional>
#include <string>

#include <faunae/faunae.hpp>

struct WidthSpace {  // satisfies faunae::SearchSpace
  static constexpr int widths[] = {0, 64, 128, 256};  // 0 = skip the block (identity)
  static int width(std::size_t b, std::size_t k) { return widths[b == 0 ? k + 1 : k]; }  // block 0 can't skip
  std::size_t num_blocks() const { return 6; }
  std::size_t num_ops(std::size_t b) const { return b == 0 ? 3 : 4; }
  std::string op_name(std::size_t b, std::size_t k) const { return width(b, k) ? fmt::format("w{}", width(b, k)) : "skip"; }
  double op_size(std::size_t b, std::size_t k) const { return width(b, k) * width(b, k) * 9.0; }  // conv3 params
  std::optional<faunae::OpIndex> identity_op(std::size_t b) const { return b == 0 ? std::nullopt : std::optional<faunae::OpIndex>(0); }
  faunae::Architecture initial_architecture() const { return {1, 2, 2, 2, 2, 2}; }  // all width 128
  bool is_valid(const faunae::Architecture&) const { return true; }  // no rule across blocks
};

struct ToyEvaluator {  // satisfies faunae::Evaluator
  faunae::Rng noise{42};
  faunae::Evaluation evaluate(const faunae::Architecture& a) {
    double loss = 0.0;
    for (std::size_t b = 0; b < a.size(); ++b) {
      const double want = b < 3 ? 64.0 : 256.0;
      const int w = WidthSpace::width(b, a[b]);
      loss += w == 0 ? 0.5 : std::abs(std::log2(w / want));
    }
    return {loss + 0.05 * noise.uniform(), {{"first_width", double(WidthSpace::width(0, a[0]))}}};
  }
};

int main() {
  WidthSpace space;
  ToyEvaluator evaluator;
  faunae::FaUNAE<WidthSpace> search(space, {.seed = 1}, faunae::FaunaeMutation({.epsilon = 0.3}));
  faunae::ProgressDisplay progress(search.planned_epochs());
  const faunae::SearchResult found = search.run(evaluator, progress);

  std::cout << "found after " << found.evaluations << " evaluations:\n"
            << faunae::architecture_to_json(space, found.architecture).dump(2) << '\n';
}

// A user's program on faunae::torch: a small ResNet-block supernet, one architecture's forward, its
// extraction as a standalone network with the supernet's weights, and weights saved and loaded back.
#include <cstdio>
#include <filesystem>

#include <faunae/torch.hpp>

namespace ft = faunae::torch_backend;

int main() {
  torch::manual_seed(0);
  ft::ResNetSpaceOptions options;
  options.stem = ft::Stem::gray28;
  options.blocks_per_stage = {1, 1, 1, 1};
  options.width = 0.125;
  options.ops = {"conv3", "sa_k3r2", "identity"};
  static_assert(ft::Supernet<ft::ResNetSupernet>);
  ft::ResNetSupernet supernet(options);
  supernet->eval();
  const faunae::Architecture a(std::vector<faunae::OpIndex>(supernet->num_blocks(), 0));
  const torch::Tensor x = torch::rand({2, 1, 28, 28});
  const torch::Tensor through_supernet = supernet->forward(x, a);
  ft::ResNetSupernet standalone = ft::extract(supernet, a);
  standalone->eval();
  const auto path = std::filesystem::temp_directory_path() / "faunae-torch-consumer.pt";
  ft::save_weights(*standalone, path);
  ft::ResNetSupernet reloaded(options, a);
  ft::load_weights(*reloaded, path);
  reloaded->eval();
  std::filesystem::remove(path);
  const bool ok = through_supernet.size(0) == 2 && through_supernet.size(1) == supernet->feature_dim() &&
                  torch::allclose(through_supernet, reloaded->forward(x), 1e-5, 1e-6);
  std::puts(ok ? "consumer: OK" : "consumer: FAILED");
  return ok ? 0 : 1;
}

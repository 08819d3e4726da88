// Fuzzes the CIFAR-10 binary reader: load_cifar10 (backends/torch/include/faunae/torch/data.hpp) on
// a folder whose test_batch.bin holds the input (first byte: bit 0 puts it in cifar-10-batches-bin/,
// the layout of the archive), with tight ReadLimits. A data set it returns must be N×3×32×32 with
// N labels in [0, 10).
#include <cstdint>

#include "faunae/torch/data.hpp"
#include "fuzz_support.hpp"

namespace fb = faunae::torch_backend;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool nested = data[0] & 1;
  const auto dir = faunae_fuzz::scratch_dir() / "cifar";
  std::filesystem::remove_all(dir);
  const auto folder = nested ? dir / "cifar-10-batches-bin" : dir;
  std::filesystem::create_directories(folder);
  faunae_fuzz::write_bytes(folder / "test_batch.bin", faunae_fuzz::as_text(data + 1, size - 1));
  const fb::ReadLimits limits{.max_images = 64, .max_bytes = 64 * 3072};
  fb::ImageDataset d;
  if (!faunae_fuzz::expect_documented_errors([&] { d = fb::load_cifar10(dir, /*train=*/false, limits); })) return 0;
  if (d.images.dim() != 4 || d.size() < 1 || d.channels() != 3 || d.height() != 32 || d.width() != 32 || !d.labelled() ||
      d.labels.size(0) != d.size() || d.labels.min().item<std::int64_t>() < 0 || d.labels.max().item<std::int64_t>() >= 10)
    faunae_fuzz::fail("load_cifar10 returned a data set that breaks its documented shape or label range");
  return 0;
}

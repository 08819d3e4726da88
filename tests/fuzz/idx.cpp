// Fuzzes the IDX reader (MNIST, Fashion-MNIST): read_idx_images and read_idx_labels
// (backends/torch/include/faunae/torch/data.hpp) on a file holding the input, with tight ReadLimits.
// The first byte picks the mode: bit 0 images (0) or labels (1); bit 1 gzips the rest before writing
// it, so the IDX parser behind zlib's checksums is reached as well as zlib's own framing (a seed
// that is already gzipped, with bit 1 clear, fuzzes the compressed stream). A tensor it returns
// must match its header's shape.
#include <cstdint>
#include <string>

#include <zlib.h>

#include "faunae/torch/data.hpp"
#include "fuzz_support.hpp"

namespace fb = faunae::torch_backend;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool labels = data[0] & 1, gzip = data[0] & 2;
  const std::string_view rest = faunae_fuzz::as_text(data + 1, size - 1);
  const auto path = faunae_fuzz::scratch_dir() / (gzip ? "input.gz" : "input");
  if (gzip) {
    gzFile out = gzopen(path.c_str(), "wb");
    if (!out || (!rest.empty() && gzwrite(out, rest.data(), static_cast<unsigned>(rest.size())) != static_cast<int>(rest.size())) ||
        gzclose(out) != Z_OK)
      faunae_fuzz::fail("cannot write the gzipped input");
  } else {
    faunae_fuzz::write_bytes(path, rest);
  }
  const fb::ReadLimits limits{.max_images = 4096, .max_bytes = 1 << 20};
  torch::Tensor t;
  if (!faunae_fuzz::expect_documented_errors([&] { t = labels ? fb::read_idx_labels(path, limits) : fb::read_idx_images(path, limits); }))
    return 0;
  if (t.dim() != (labels ? 1 : 4) || t.size(0) < 1 || static_cast<std::uint64_t>(t.size(0)) > limits.max_images ||
      static_cast<std::uint64_t>(t.numel()) > limits.max_bytes)
    faunae_fuzz::fail("read_idx returned a tensor of shape " + c10::str(t.sizes()) + " outside the limits");
  return 0;
}

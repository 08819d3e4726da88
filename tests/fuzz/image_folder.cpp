// Fuzzes the image folder loader: load_image_folder (backends/torch/include/faunae/torch/data.hpp) on
// a folder holding one file with the input, decoded by stb_image. The first byte picks the call:
// bit 0 channels 1 or 3; bits 1–2 the file name (image.png, image.jpg, photo.JPEG, or notes.txt,
// which must be refused); bit 3 the output size, 8 (shrinking: antialiased) or 40 (enlarging). Tight
// ReadLimits bound what a header may ask for. A data set it returns must be 1×C×size×size.
//
// stb_image is compiled into this target from Debian's stb_image.h (stb_image_impl.cpp) with the same
// sanitizers and coverage, so the decoder itself is fuzzed and checked, not only faunae's code around
// it; the library links Debian's libstb, built from the same header.
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
  const std::int64_t channels = data[0] & 1 ? 3 : 1, side = data[0] & 8 ? 40 : 8;
  static constexpr const char* names[] = {"image.png", "image.jpg", "photo.JPEG", "notes.txt"};
  const char* name = names[(data[0] >> 1) & 3];
  const auto dir = faunae_fuzz::scratch_dir() / "images";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  faunae_fuzz::write_bytes(dir / name, faunae_fuzz::as_text(data + 1, size - 1));
  const fb::ReadLimits limits{.max_images = 16, .max_bytes = 1 << 18};
  fb::ImageDataset d;
  if (!faunae_fuzz::expect_documented_errors([&] { d = fb::load_image_folder(dir, channels, side, limits); })) return 0;
  if (std::string_view(name) == "notes.txt") faunae_fuzz::fail("load_image_folder accepted a .txt file");
  if (d.images.dim() != 4 || d.size() != 1 || d.channels() != channels || d.height() != side || d.width() != side || d.labelled())
    faunae_fuzz::fail("load_image_folder returned a data set of shape " + c10::str(d.images.sizes()));
  return 0;
}

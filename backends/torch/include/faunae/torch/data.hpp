// Image data sets as uint8 tensors: decode once, keep the bytes, turn them into floats only batch by
// batch (augment.hpp). Labels are read when the format has them and are used by nothing but the
// linear evaluation; the search itself is unsupervised.
//
//   auto train = faunae::torch_backend::load_fashion_mnist("/usr/share/datasets/fashion-mnist", true);
//   auto [fit, val] = faunae::torch_backend::split(train, /*train_fraction=*/0.9, /*seed=*/1);
//   auto cifar = faunae::torch_backend::load_cifar10("cifar-10-batches-bin", false);
//   auto folder = faunae::torch_backend::load_image_folder("photos", /*channels=*/3, /*size=*/256);
//
// Readers check what they read against the format (magic numbers, dimensions, sizes, label ranges)
// and refuse absurd headers before allocating anything (ReadLimits). Every error is an IoError (the
// file is wrong) or an InvalidArgument (the call is wrong) that names the function, the file and the
// offending value.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stb_image.h>
#include <torch/torch.h>
#include <zlib.h>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"

namespace faunae::torch_backend {

/// Images (and, for labelled formats, their labels) held in memory as decoded bytes.
struct ImageDataset {
  torch::Tensor images;  ///< uint8, N×C×H×W, contiguous, on the CPU
  torch::Tensor labels;  ///< int64, N; undefined for unlabelled data (image folders)
  std::string name;      ///< for logs: "fashion-mnist/train", "cifar10/test", a folder's path, ...

  std::int64_t size() const { return images.defined() ? images.size(0) : 0; }
  std::int64_t channels() const { return images.size(1); }
  std::int64_t height() const { return images.size(2); }
  std::int64_t width() const { return images.size(3); }
  bool labelled() const { return labels.defined(); }

  /// Throws InvalidArgument (prefixed by `where`) unless the fields keep the invariants above.
  void check(std::string_view where) const {
    if (!images.defined() || images.dim() != 4 || images.scalar_type() != torch::kUInt8)
      throw InvalidArgument(fmt::format("{}: dataset '{}': images must be a uint8 tensor N×C×H×W, got {}", where, name,
                                        images.defined() ? fmt::format("{} of shape {}", std::string(c10::toString(images.scalar_type())),
                                                                       images.sizes().vec())
                                                         : std::string("an undefined tensor")));
    if (labels.defined() && (labels.dim() != 1 || labels.scalar_type() != torch::kInt64 || labels.size(0) != images.size(0)))
      throw InvalidArgument(fmt::format("{}: dataset '{}': labels must be an int64 tensor of {} entries (one per image), got {} of shape {}",
                                        where, name, images.size(0), std::string(c10::toString(labels.scalar_type())),
                                        labels.sizes().vec()));
  }
};

/// Bounds a reader checks against a file's header before it allocates: a corrupt or hostile header
/// must not turn into a huge allocation.
struct ReadLimits {
  std::uint64_t max_images = 100'000'000;  ///< images (or labels) in one data set
  std::uint64_t max_bytes = 8ULL << 30;    ///< decoded pixel bytes of one data set (8 GiB)
};

// --- subsets ------------------------------------------------------------------------------------

/// The images (and labels) at `indices` (int64, 1-D, each in [0, size)), in that order, copied.
inline ImageDataset subset(const ImageDataset& d, const torch::Tensor& indices, std::string name = {}) {
  constexpr std::string_view where = "faunae::torch_backend::subset()";
  d.check(where);
  if (!indices.defined() || indices.dim() != 1 || indices.scalar_type() != torch::kInt64)
    throw InvalidArgument(fmt::format("{}: indices must be a 1-D int64 tensor, got {}", where,
                                      indices.defined() ? fmt::format("{} of shape {}", std::string(c10::toString(indices.scalar_type())),
                                                                      indices.sizes().vec())
                                                        : std::string("an undefined tensor")));
  const torch::Tensor idx = indices.to(torch::kCPU);
  if (idx.numel() > 0) {
    const auto lo = idx.min().item<std::int64_t>(), hi = idx.max().item<std::int64_t>();
    if (lo < 0 || hi >= d.size())
      throw InvalidArgument(fmt::format("{}: index {} is outside [0, {}) of dataset '{}'", where, lo < 0 ? lo : hi, d.size(), d.name));
  }
  ImageDataset out;
  out.images = d.images.index_select(0, idx).contiguous();
  if (d.labelled()) out.labels = d.labels.index_select(0, idx).contiguous();
  out.name = name.empty() ? d.name + ":subset" : std::move(name);
  return out;
}

/// The first `n` images (0 ≤ n ≤ size), copied: a quick way to run on less data.
inline ImageDataset take(const ImageDataset& d, std::int64_t n) {
  if (n < 0 || n > d.size())
    throw InvalidArgument(fmt::format("faunae::torch_backend::take(): n must be in [0, {}] for dataset '{}', got {}", d.size(), d.name, n));
  return subset(d, torch::arange(n, torch::kInt64), fmt::format("{}:first{}", d.name, n));
}

struct DatasetSplit {
  ImageDataset train, validation;
};

/// Splits `d` into a training part of round(train_fraction · N) images and a validation part of
/// the rest, by a permutation drawn from faunae::Rng(seed) (Fisher–Yates), so the split is the same
/// on every platform and LibTorch version. Each part keeps the original order of its images.
inline DatasetSplit split(const ImageDataset& d, double train_fraction, std::uint64_t seed) {
  constexpr std::string_view where = "faunae::torch_backend::split()";
  d.check(where);
  if (!(train_fraction > 0.0 && train_fraction < 1.0))
    throw InvalidArgument(fmt::format("{}: train_fraction must be in (0, 1), got {}", where, train_fraction));
  const std::int64_t n = d.size();
  const auto n_train = static_cast<std::int64_t>(std::llround(train_fraction * static_cast<double>(n)));
  if (n_train == 0 || n_train == n)
    throw InvalidArgument(fmt::format("{}: a fraction of {} of the {} images of '{}' leaves the {} part empty", where,
                                      train_fraction, n, d.name, n_train == 0 ? "training" : "validation"));
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) perm[static_cast<std::size_t>(i)] = i;
  Rng rng(seed);
  for (std::size_t i = perm.size() - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  std::vector<std::int64_t> train(perm.begin(), perm.begin() + n_train), validation(perm.begin() + n_train, perm.end());
  std::sort(train.begin(), train.end());
  std::sort(validation.begin(), validation.end());
  return {subset(d, torch::tensor(train, torch::kInt64), d.name + ":train"),
          subset(d, torch::tensor(validation, torch::kInt64), d.name + ":validation")};
}

/// The images of `d` at `size`×`size` pixels by area interpolation (the mean of the pixels each
/// output pixel covers; exact for an integer factor such as 28 → 14), rounded back to uint8; labels
/// and name (with " at S×S" added) kept. `d` itself, unchanged, when it already has that size.
inline ImageDataset resized(const ImageDataset& d, std::int64_t size) {
  constexpr std::string_view where = "faunae::torch_backend::resized()";
  d.check(where);
  if (size < 1) throw InvalidArgument(fmt::format("{}: size must be positive, got {}", where, size));
  if (d.height() == size && d.width() == size) return d;
  namespace F = torch::nn::functional;
  ImageDataset out = d;
  out.images = F::interpolate(d.images.to(torch::kFloat32), F::InterpolateFuncOptions().size(std::vector<std::int64_t>{size, size}).mode(torch::kArea))
                   .round_()
                   .clamp_(0, 255)
                   .to(torch::kUInt8)
                   .contiguous();
  out.name = fmt::format("{} at {}x{}", d.name, size, size);
  return out;
}

// --- pretext tasks -------------------------------------------------------------------------------

/// The rotation pretext task (Gidaris et al., ICLR 2018; a label-free proxy of UnNAS, Liu et al.,
/// ECCV 2020): every image of `d` four times, turned by 0°, 90°, 180° and 270° (counter-clockwise,
/// torch::rot90 over H×W), labelled 0, 1, 2, 3. Image i's four turns are rows 4i … 4i + 3. The labels
/// of `d`, if any, are not used: the task needs none, so a SupervisedEvaluator (or train_standalone)
/// on it is a label-free score of an architecture. The images must be square (a turn keeps H×W).
inline ImageDataset rotation_task(const ImageDataset& d) {
  constexpr std::string_view where = "faunae::torch_backend::rotation_task()";
  d.check(where);
  if (d.size() < 1) throw InvalidArgument(fmt::format("{}: dataset '{}' is empty", where, d.name));
  if (d.height() != d.width())
    throw InvalidArgument(fmt::format("{}: dataset '{}': a quarter turn needs square images, got {}×{} (H×W)", where, d.name, d.height(),
                                      d.width()));
  std::vector<torch::Tensor> turns;
  for (std::int64_t k = 0; k < 4; ++k) turns.push_back(torch::rot90(d.images, k, {2, 3}));
  // N×4×C×H×W → 4N×C×H×W: the four turns of an image next to each other
  ImageDataset out;
  out.images = torch::stack(turns, 1).reshape({4 * d.size(), d.channels(), d.height(), d.width()}).contiguous();
  out.labels = torch::arange(4, torch::kInt64).repeat({d.size()});
  out.name = d.name + ":rotations";
  return out;
}

// --- IDX (MNIST, Fashion-MNIST) ---------------------------------------------------------------

namespace detail {

/// Reads a gzipped or a plain file through zlib (gzread passes plain files through unchanged).
class GzFile {
 public:
  GzFile(const std::filesystem::path& path, std::string where) : path_(path), where_(std::move(where)) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw IoError(fmt::format("{}: no such file '{}'", where_, path.string()));
    if (!std::filesystem::is_regular_file(path, ec)) throw IoError(fmt::format("{}: '{}' is not a regular file", where_, path.string()));
    errno = 0;
    file_ = gzopen(path.string().c_str(), "rb");
    if (file_ == nullptr)
      throw IoError(fmt::format("{}: cannot open '{}': {}", where_, path.string(), errno ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_, 1U << 20);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() { gzclose(file_); }

  /// Reads `n` bytes into `out` (decompressed); throws naming `what` if the file ends sooner.
  void read_exactly(void* out, std::uint64_t n, std::string_view what) {
    auto* p = static_cast<unsigned char*>(out);
    std::uint64_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(n - done, 1U << 30));
      const int got = gzread(file_, p + done, chunk);
      if (got < 0) throw IoError(fmt::format("{}: '{}' is corrupt: {}", where_, path_.string(), zlib_error()));
      done += static_cast<std::uint64_t>(got);
      if (got == 0 || static_cast<unsigned>(got) < chunk) {
        if (done == n) break;
        const std::string reason = zlib_error();
        throw IoError(fmt::format("{}: '{}' is truncated: {} needs {} bytes, the file has only {}{}", where_, path_.string(), what, n,
                                  done, reason.empty() ? std::string() : " (" + reason + ")"));
      }
    }
  }

  /// Throws if anything follows what was read: a file of the wrong size is a corrupt file.
  void expect_end(std::string_view after) {
    unsigned char extra[4096];
    std::uint64_t count = 0;
    for (int got; (got = gzread(file_, extra, sizeof extra)) > 0;) count += static_cast<std::uint64_t>(got);
    if (count > 0)
      throw IoError(fmt::format("{}: '{}' has {} trailing bytes after {} (corrupt, or the header undercounts)", where_,
                                path_.string(), count, after));
    if (const std::string reason = zlib_error(); !reason.empty())
      throw IoError(fmt::format("{}: '{}' is corrupt after {}: {}", where_, path_.string(), after, reason));
  }

 private:
  std::string zlib_error() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_OK || code == Z_STREAM_END) return {};
    if (code == Z_ERRNO) return std::strerror(errno);
    return message ? message : "zlib error";
  }

  std::filesystem::path path_;
  std::string where_;
  gzFile file_ = nullptr;
};

inline std::uint32_t big_endian_u32(const unsigned char* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
}

/// Reads the magic number and the `dims` sizes of an IDX header of unsigned bytes.
template <std::size_t Dims>
std::array<std::uint32_t, Dims> read_idx_header(GzFile& file, const std::filesystem::path& path, std::string_view where,
                                                std::string_view kind) {
  constexpr std::uint32_t expected = 0x00000800U | Dims;  // 0x08: unsigned byte; then the dimension count
  unsigned char raw[4 + 4 * Dims];
  file.read_exactly(raw, 4, "the IDX magic number");  // first, so that a label file read as images says so
  const std::uint32_t magic = big_endian_u32(raw);
  if (magic != expected)
    throw IoError(fmt::format("{}: '{}' has magic number {:#010x}, expected {:#010x} (IDX {}: unsigned bytes, {} dimension{}){}", where,
                              path.string(), magic, expected, kind, Dims, Dims == 1 ? "" : "s",
                              magic == 0x00000801U   ? "; this is a label file"
                              : magic == 0x00000803U ? "; this is an image file"
                                                     : ""));
  file.read_exactly(raw + 4, 4 * Dims, "the IDX header");
  std::array<std::uint32_t, Dims> sizes{};
  for (std::size_t i = 0; i < Dims; ++i) sizes[i] = big_endian_u32(raw + 4 + 4 * i);
  return sizes;
}

inline void check_count(std::uint64_t n, const ReadLimits& limits, const std::filesystem::path& path, std::string_view where,
                        std::string_view field) {
  if (n == 0) throw IoError(fmt::format("{}: '{}': the header's {} is 0 (an empty data set)", where, path.string(), field));
  if (n > limits.max_images)
    throw IoError(fmt::format("{}: '{}': the header's {} is {}, more than ReadLimits::max_images = {} (corrupt header?)", where,
                              path.string(), field, n, limits.max_images));
}

}  // namespace detail

/// Reads an IDX file of images (magic 0x00000803: unsigned bytes, N × rows × columns), gzipped or
/// plain, into a uint8 tensor N×1×rows×columns. The file must hold exactly what its header says.
inline torch::Tensor read_idx_images(const std::filesystem::path& path, const ReadLimits& limits = {}) {
  const std::string where = "faunae::torch_backend::read_idx_images()";
  detail::GzFile file(path, where);
  const auto [n, rows, cols] = detail::read_idx_header<3>(file, path, where, "images");
  detail::check_count(n, limits, path, where, "number of images");
  if (rows == 0 || cols == 0)
    throw IoError(fmt::format("{}: '{}': the header's image size is {}×{} (rows × columns); both must be positive", where,
                              path.string(), rows, cols));
  const std::uint64_t pixels = std::uint64_t{rows} * cols;
  if (pixels > limits.max_bytes / n)
    throw IoError(fmt::format("{}: '{}': the header's {} images of {}×{} pixels need more than ReadLimits::max_bytes = {} bytes "
                              "(corrupt header?)",
                              where, path.string(), n, rows, cols, limits.max_bytes));
  torch::Tensor images = torch::empty({n, 1, rows, cols}, torch::kUInt8);
  file.read_exactly(images.data_ptr<std::uint8_t>(), n * pixels, fmt::format("{} images of {}×{} pixels", n, rows, cols));
  file.expect_end("the pixels");
  return images;
}

/// Reads an IDX file of labels (magic 0x00000801: unsigned bytes, N), gzipped or plain, into an
/// int64 tensor of N entries. The file must hold exactly what its header says.
inline torch::Tensor read_idx_labels(const std::filesystem::path& path, const ReadLimits& limits = {}) {
  const std::string where = "faunae::torch_backend::read_idx_labels()";
  detail::GzFile file(path, where);
  const auto [n] = detail::read_idx_header<1>(file, path, where, "labels");
  detail::check_count(n, limits, path, where, "number of labels");
  torch::Tensor bytes = torch::empty({n}, torch::kUInt8);
  file.read_exactly(bytes.data_ptr<std::uint8_t>(), n, fmt::format("{} labels", n));
  file.expect_end("the labels");
  return bytes.to(torch::kInt64);
}

namespace detail {

inline void check_folder(const std::filesystem::path& dir, std::string_view where) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) throw IoError(fmt::format("{}: no such folder '{}'", where, dir.string()));
  if (!std::filesystem::is_directory(dir, ec)) throw IoError(fmt::format("{}: '{}' is not a folder", where, dir.string()));
}

/// Throws naming the first label outside [0, classes).
inline void check_labels(const torch::Tensor& labels, std::int64_t classes, const std::filesystem::path& path, std::string_view where) {
  const torch::Tensor bad = ((labels < 0) | (labels >= classes)).nonzero();
  if (bad.size(0) > 0) {
    const std::int64_t i = bad[0][0].item<std::int64_t>();
    throw IoError(fmt::format("{}: '{}': label {} of entry {} is outside [0, {})", where, path.string(), labels[i].item<std::int64_t>(), i,
                              classes));
  }
}

}  // namespace detail

/// Fashion-MNIST (Xiao et al. 2017) from `dir`, as its authors distribute it and Debian's
/// dataset-fashion-mnist installs it (/usr/share/datasets/fashion-mnist): train-images-idx3-ubyte.gz
/// and train-labels-idx1-ubyte.gz (60000 images) or t10k-* (10000), each gzipped or not. Images
/// are 1×28×28, labels in [0, 10).
inline ImageDataset load_fashion_mnist(const std::filesystem::path& dir, bool train, const ReadLimits& limits = {}) {
  const std::string where = "faunae::torch_backend::load_fashion_mnist()";
  detail::check_folder(dir, where);
  const std::string prefix = train ? "train" : "t10k";
  const auto find = [&](const std::string& stem) {
    for (const std::string& name : {stem + ".gz", stem})
      if (std::error_code ec; std::filesystem::exists(dir / name, ec)) return dir / name;
    throw IoError(fmt::format("{}: neither '{}' nor '{}' exists", where, (dir / (stem + ".gz")).string(), (dir / stem).string()));
  };
  const auto images_path = find(prefix + "-images-idx3-ubyte"), labels_path = find(prefix + "-labels-idx1-ubyte");
  ImageDataset d;
  d.images = read_idx_images(images_path, limits);
  d.labels = read_idx_labels(labels_path, limits);
  d.name = train ? "fashion-mnist/train" : "fashion-mnist/test";
  if (d.height() != 28 || d.width() != 28)
    throw IoError(fmt::format("{}: '{}' holds images of {}×{} pixels; Fashion-MNIST's are 28×28", where, images_path.string(), d.height(),
                              d.width()));
  if (d.labels.size(0) != d.size())
    throw IoError(fmt::format("{}: '{}' has {} images but '{}' has {} labels", where, images_path.string(), d.size(), labels_path.string(),
                              d.labels.size(0)));
  detail::check_labels(d.labels, 10, labels_path, where);
  return d;
}

// --- CIFAR-10 ---------------------------------------------------------------------------------

/// CIFAR-10 (Krizhevsky 2009), binary version (cifar-10-binary.tar.gz), from `dir` (the folder that
/// holds the .bin files, or its parent with cifar-10-batches-bin/ in it): data_batch_1..5.bin for
/// training, test_batch.bin for testing. Each record is 1 label byte (0..9) and 3072 bytes of a
/// 32×32 image, red, green then blue planes, row by row; images come out 3×32×32.
inline ImageDataset load_cifar10(const std::filesystem::path& dir, bool train, const ReadLimits& limits = {}) {
  const std::string where = "faunae::torch_backend::load_cifar10()";
  constexpr std::uint64_t record = 1 + 3 * 32 * 32;
  detail::check_folder(dir, where);
  std::filesystem::path folder = dir;
  if (std::error_code ec; !std::filesystem::exists(dir / "test_batch.bin", ec) && std::filesystem::is_directory(dir / "cifar-10-batches-bin", ec))
    folder = dir / "cifar-10-batches-bin";
  std::vector<std::filesystem::path> files;
  if (train)
    for (int i = 1; i <= 5; ++i) files.push_back(folder / fmt::format("data_batch_{}.bin", i));
  else
    files.push_back(folder / "test_batch.bin");

  std::vector<std::uint64_t> records;
  std::uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f, ec)) {
      const bool python = std::filesystem::exists(f.parent_path() / f.stem(), ec);
      throw IoError(fmt::format("{}: no such file '{}'{}", where, f.string(),
                                python ? " (this folder holds the Python version of CIFAR-10; faunae reads the binary version, "
                                         "cifar-10-binary.tar.gz)"
                                       : ""));
    }
    const std::uint64_t size = std::filesystem::file_size(f, ec);
    if (ec) throw IoError(fmt::format("{}: cannot read the size of '{}': {}", where, f.string(), ec.message()));
    if (size == 0 || size % record != 0)
      throw IoError(fmt::format("{}: '{}' has {} bytes, not a positive multiple of the record size {} (truncated or corrupt)", where,
                                f.string(), size, record));
    records.push_back(size / record);
    total += size / record;
  }
  if (total > limits.max_images || total * (record - 1) > limits.max_bytes)
    throw IoError(fmt::format("{}: the files in '{}' hold {} images ({} bytes), more than ReadLimits allows ({} images, {} bytes)", where,
                              folder.string(), total, total * (record - 1), limits.max_images, limits.max_bytes));

  torch::Tensor raw = torch::empty({static_cast<std::int64_t>(total), static_cast<std::int64_t>(record)}, torch::kUInt8);
  auto* p = reinterpret_cast<char*>(raw.data_ptr<std::uint8_t>());
  std::int64_t first = 0;
  for (std::size_t k = 0; k < files.size(); ++k) {
    std::ifstream in(files[k], std::ios::binary);
    const auto bytes = static_cast<std::streamsize>(records[k] * record);
    if (!in || !in.read(p + first * static_cast<std::int64_t>(record), bytes))
      throw IoError(fmt::format("{}: reading '{}' failed", where, files[k].string()));
    const auto n = static_cast<std::int64_t>(records[k]);
    const torch::Tensor labels = raw.narrow(0, first, n).select(1, 0).to(torch::kInt64);
    detail::check_labels(labels, 10, files[k], where);
    first += n;
  }
  ImageDataset d;
  d.labels = raw.select(1, 0).to(torch::kInt64);
  d.images = raw.narrow(1, 1, static_cast<std::int64_t>(record - 1)).reshape({static_cast<std::int64_t>(total), 3, 32, 32}).contiguous();
  d.name = train ? "cifar10/train" : "cifar10/test";
  return d;
}

// --- folders of PNG / JPEG images -------------------------------------------------------------

namespace detail {

inline bool has_image_extension(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

/// Why `bytes` must not reach stb_image, or "" if they may. Only PNG and JPEG content is decoded
/// (stb_image sniffs many more formats, whatever the extension; the others are not promised and
/// widen what a hostile file can reach). And Debian 12's stb_image (2.27) writes past a JPEG Huffman
/// table when a DHT segment's 16 code counts add up to more than the 256 symbols a table holds
/// (nothings/stb#1289, fixed after 2.27; found by tests/fuzz/image_folder): every DHT segment is
/// checked first, walking the segments as stb_image does (by their lengths; byte by byte through
/// entropy-coded data, where it also looks for the next marker; zeros past the end). Likewise a scan
/// (SOS) that names a Huffman table no DHT before it defined: stb_image 2.27 then decodes with a
/// table it never initialised and, depending on what that heap memory held, fails an assert and
/// aborts the program (stb_image.h:2115; found by tests/fuzz/image_folder; libjpeg calls this
/// "Huffman table was not defined"). Which tables a scan needs is stb_image's rule: a sequential
/// scan both of each component's; a progressive one the DC table in a first DC scan (Ss = 0,
/// Ah = 0), the AC table in an AC scan (Ss > 0), none in a DC refinement.
inline std::string image_content_problem(std::string_view bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  if (n >= 8 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return {};
  if (n < 2 || b[0] != 0xFF || b[1] != 0xD8) return "its content is neither PNG nor JPEG";
  const auto at = [&](std::size_t i) -> std::size_t { return i < n ? b[i] : 0; };
  bool defined[2][4] = {};  // [class: 0 DC, 1 AC][table id], by the DHT segments read so far
  bool progressive = false;
  for (std::size_t i = 2; i + 1 < n;) {
    if (b[i] != 0xFF || b[i + 1] == 0xFF) {  // entropy-coded data, or fill bytes before a marker
      ++i;
      continue;
    }
    const unsigned marker = b[i + 1];
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9)) {  // no length: stuffed 0, TEM, RSTn, SOI, EOI
      i += 2;
      continue;
    }
    const std::size_t length = at(i + 2) << 8 | at(i + 3);  // counts its own two bytes
    if (marker == 0xC4) {  // DHT: tables of one class/id byte, 16 code counts and their symbols
      for (std::size_t p = i + 4, end = i + 2 + length; p < end;) {
        std::size_t symbols = 0;
        for (std::size_t k = 1; k <= 16; ++k) symbols += at(p + k);
        if (symbols > 256) return fmt::format("a JPEG Huffman table (DHT) at byte {} holds {} symbols, more than 256", i, symbols);
        const std::size_t table_class = at(p) >> 4, table_id = at(p) & 15;
        if (table_class <= 1 && table_id <= 3) defined[table_class][table_id] = true;  // stb_image rejects the others
        p += 17 + symbols;
      }
    } else if (marker == 0xC2) {  // SOF2: progressive
      progressive = true;
    } else if (marker == 0xDA) {  // SOS: components, each with its DC and AC table ids, then Ss, Se, Ah/Al
      const std::size_t components = at(i + 4);
      const std::size_t ss = at(i + 5 + 2 * components), ah = at(i + 7 + 2 * components) >> 4;
      const bool needs_dc = !progressive || (ss == 0 && ah == 0), needs_ac = !progressive || ss > 0;
      for (std::size_t c = 0; c < components; ++c) {
        const std::size_t tables = at(i + 6 + 2 * c), dc = tables >> 4, ac = tables & 15;
        const auto undefined = [&](std::size_t table_class, std::size_t id) { return id <= 3 && !defined[table_class][id]; };
        if ((needs_dc && undefined(0, dc)) || (needs_ac && undefined(1, ac)))
          return fmt::format("the JPEG scan (SOS) at byte {} uses Huffman table {} {}, which no DHT before it defines", i,
                             needs_dc && undefined(0, dc) ? "DC" : "AC", needs_dc && undefined(0, dc) ? dc : ac);
      }
    }
    i += 2 + length;
  }
  return {};
}

/// Frees what stb_image returns.
struct StbFree {
  void operator()(unsigned char* p) const noexcept { stbi_image_free(p); }
};

}  // namespace detail

/// Every PNG and JPEG file under `dir` (recursively; .png, .jpg, .jpeg in any case), in the order
/// of their sorted paths, decoded by stb_image, converted to `channels` (1: luminance, 3: RGB;
/// alpha is dropped), resized to `size`×`size` (bilinear, antialiased when shrinking, as Pillow),
/// unlabelled. Files and folders whose name starts with '.' are skipped; any other file is an
/// error, so that nothing is left out silently.
inline ImageDataset load_image_folder(const std::filesystem::path& dir, std::int64_t channels, std::int64_t size,
                                      const ReadLimits& limits = {}) {
  const std::string where = "faunae::torch_backend::load_image_folder()";
  if (channels != 1 && channels != 3) throw InvalidArgument(fmt::format("{}: channels must be 1 or 3, got {}", where, channels));
  if (size < 1 || size > 16384) throw InvalidArgument(fmt::format("{}: size must be in [1, 16384], got {}", where, size));
  detail::check_folder(dir, where);

  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, std::filesystem::directory_options::follow_directory_symlink, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    std::error_code type_ec;
    const bool is_folder = it->is_directory(type_ec);
    if (p.filename().string().starts_with(".")) {
      if (is_folder) it.disable_recursion_pending();
      continue;
    }
    if (is_folder) continue;
    if (!it->is_regular_file(type_ec) || !detail::has_image_extension(p))
      throw IoError(fmt::format("{}: '{}' is not a PNG or JPEG file (.png, .jpg, .jpeg); remove it or hide it with a leading '.'", where,
                                p.string()));
    paths.push_back(p);
  }
  if (ec) throw IoError(fmt::format("{}: listing '{}' failed: {}", where, dir.string(), ec.message()));
  if (paths.empty()) throw IoError(fmt::format("{}: '{}' holds no PNG or JPEG file", where, dir.string()));
  std::sort(paths.begin(), paths.end());
  const auto n = static_cast<std::uint64_t>(paths.size());
  const auto per_image = static_cast<std::uint64_t>(channels * size * size);
  if (n > limits.max_images || per_image > limits.max_bytes / n)
    throw IoError(fmt::format("{}: {} images of {}×{}×{} bytes are more than ReadLimits allows ({} images, {} bytes)", where, n, channels,
                              size, size, limits.max_images, limits.max_bytes));

  torch::Tensor images = torch::empty({static_cast<std::int64_t>(n), channels, size, size}, torch::kUInt8);
  namespace F = torch::nn::functional;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::string bytes = read_file(paths[i], where);
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
      throw IoError(fmt::format("{}: '{}' has {} bytes, more than stb_image reads", where, paths[i].string(), bytes.size()));
    if (const std::string problem = detail::image_content_problem(bytes); !problem.empty())
      throw IoError(fmt::format("{}: '{}' is not an image faunae decodes: {}", where, paths[i].string(), problem));
    const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int length = static_cast<int>(bytes.size());
    int w = 0, h = 0, in_file = 0;
    if (!stbi_info_from_memory(data, length, &w, &h, &in_file))
      // The same words as a failed decode below: stb_image versions differ in which of the two steps
      // refuses a damaged file (Debian 13's already reads no header from a PNG cut short).
      throw IoError(fmt::format("{}: '{}' cannot be decoded (no image header: {})", where, paths[i].string(), stbi_failure_reason()));
    if (static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h) * static_cast<std::uint64_t>(channels) > limits.max_bytes)
      throw IoError(fmt::format("{}: '{}' is {}×{} pixels, more than ReadLimits::max_bytes = {} bytes", where, paths[i].string(), w, h,
                                limits.max_bytes));
    std::unique_ptr<unsigned char, detail::StbFree> pixels(
        stbi_load_from_memory(data, length, &w, &h, &in_file, static_cast<int>(channels)));
    if (!pixels) throw IoError(fmt::format("{}: '{}' cannot be decoded: {}", where, paths[i].string(), stbi_failure_reason()));
    const torch::Tensor hwc = torch::from_blob(pixels.get(), {h, w, channels}, torch::kUInt8);
    torch::Tensor chw = hwc.permute({2, 0, 1});
    if (h != size || w != size) {
      const auto resized = F::interpolate(chw.unsqueeze(0).to(torch::kFloat32), F::InterpolateFuncOptions()
                                                                                     .size(std::vector<std::int64_t>{size, size})
                                                                                     .mode(torch::kBilinear)
                                                                                     .align_corners(false)
                                                                                     .antialias(h > size || w > size));
      chw = resized.squeeze(0).round_().clamp_(0, 255).to(torch::kUInt8);
    }
    images[static_cast<std::int64_t>(i)].copy_(chw);
  }
  ImageDataset d;
  d.images = std::move(images);
  d.name = dir.string();
  return d;
}

}  // namespace faunae::torch_backend

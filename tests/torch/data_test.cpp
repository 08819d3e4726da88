// Data readers: IDX (plain and gzipped), CIFAR-10's binary batches, folders of PNG/JPEG files, the
// real Fashion-MNIST files, splits and subsets. Small files are written by the tests themselves.
#include "catch_torch.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <stb_image_write.h>
#include <unistd.h>
#include <zlib.h>

#include <faunae/torch/data.hpp>

#include "what_matcher.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::What;

namespace {

/// A fresh folder under the system's temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    for (;;) {
      path_ = std::filesystem::temp_directory_path() /
              ("faunae-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gzip(const std::filesystem::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string big_endian(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

/// An IDX file: magic, sizes, payload.
std::string idx(std::uint32_t magic, const std::vector<std::uint32_t>& sizes, const std::string& payload) {
  std::string out = big_endian(magic);
  for (auto s : sizes) out += big_endian(s);
  return out + payload;
}

/// n images of rows×cols whose pixel (i, r, c) is (i·31 + r·7 + c) mod 256, and labels i mod 10.
std::string pixels(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  std::string out;
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t r = 0; r < rows; ++r)
      for (std::uint32_t c = 0; c < cols; ++c) out += static_cast<char>((i * 31 + r * 7 + c) % 256);
  return out;
}
std::string labels(std::uint32_t n) {
  std::string out;
  for (std::uint32_t i = 0; i < n; ++i) out += static_cast<char>(i % 10);
  return out;
}

void check_pixels(const torch::Tensor& images, std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  REQUIRE(images.sizes() == torch::IntArrayRef({n, 1, rows, cols}));
  CHECK(images.scalar_type() == torch::kUInt8);
  CHECK(images.is_contiguous());
  const std::string expected = pixels(n, rows, cols);
  CHECK(std::memcmp(images.data_ptr<std::uint8_t>(), expected.data(), expected.size()) == 0);
}

}  // namespace

// --- IDX ----------------------------------------------------------------------------------------

TEST_CASE("IDX images and labels are read from plain and gzipped files", "[data]") {
  TempDir dir;
  const std::string images = idx(0x803, {3, 4, 5}, pixels(3, 4, 5)), label_bytes = idx(0x801, {3}, labels(3));
  write_bytes(dir / "images", images);
  write_gzip(dir / "images.gz", images);
  write_bytes(dir / "labels", label_bytes);
  write_gzip(dir / "labels.gz", label_bytes);
  check_pixels(read_idx_images(dir / "images"), 3, 4, 5);
  check_pixels(read_idx_images(dir / "images.gz"), 3, 4, 5);
  for (const auto* name : {"labels", "labels.gz"}) {
    const auto l = read_idx_labels(dir / name);
    CHECK(l.scalar_type() == torch::kInt64);
    CHECK(torch::equal(l, torch::tensor({0, 1, 2}, torch::kInt64)));
  }
}

TEST_CASE("IDX files with the wrong magic number are refused", "[data]") {
  TempDir dir;
  write_gzip(dir / "labels.gz", idx(0x801, {3}, labels(3)));
  write_bytes(dir / "images", idx(0x803, {1, 2, 2}, pixels(1, 2, 2)));
  write_bytes(dir / "floats", idx(0x0d03, {1, 2, 2}, std::string(16, '\0')));  // 0x0d: float data
  CHECK_THROWS_MATCHES(read_idx_images(dir / "labels.gz"), faunae::IoError,
                       What(Contains("magic number 0x00000801, expected 0x00000803") && Contains("label file") && Contains("labels.gz")));
  CHECK_THROWS_MATCHES(read_idx_labels(dir / "images"), faunae::IoError,
                       What(Contains("magic number 0x00000803, expected 0x00000801") && Contains("image file")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "floats"), faunae::IoError, What(Contains("magic number 0x00000d03")));
}

TEST_CASE("truncated, overlong and corrupt IDX files are refused", "[data]") {
  TempDir dir;
  const std::string good = idx(0x803, {3, 4, 5}, pixels(3, 4, 5));
  write_bytes(dir / "short", good.substr(0, good.size() - 1));
  write_bytes(dir / "header-only", good.substr(0, 10));
  write_bytes(dir / "long", good + "x");
  write_gzip(dir / "long.gz", good + "xyz");
  write_bytes(dir / "empty", "");
  CHECK_THROWS_MATCHES(read_idx_images(dir / "short"), faunae::IoError,
                       What(Contains("'" + (dir / "short").string() + "' is truncated") && Contains("needs 60 bytes") &&
                            Contains("has only 59")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "header-only"), faunae::IoError, What(Contains("truncated") && Contains("IDX header")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "empty"), faunae::IoError, What(Contains("truncated")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "long"), faunae::IoError, What(Contains("1 trailing bytes")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "long.gz"), faunae::IoError, What(Contains("3 trailing bytes")));

  // A gzip stream cut in the middle, and one whose compressed bytes are damaged.
  write_gzip(dir / "full.gz", idx(0x803, {50, 28, 28}, pixels(50, 28, 28)));
  std::string gz;
  {
    std::ifstream in(dir / "full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  write_bytes(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  std::string damaged = gz;
  for (std::size_t i = 20; i < 60 && i < damaged.size(); ++i) damaged[i] = static_cast<char>(~damaged[i]);
  write_bytes(dir / "damaged.gz", damaged);
  CHECK_THROWS_MATCHES(read_idx_images(dir / "cut.gz"), faunae::IoError, What(Contains("cut.gz") && Contains("truncated")));
  CHECK_THROWS_AS(read_idx_images(dir / "damaged.gz"), faunae::IoError);
}

TEST_CASE("absurd IDX headers are refused before anything is allocated", "[data]") {
  TempDir dir;
  // 4·10⁹ images: more than max_images (the count field has 32 bits, so 10¹² images cannot be written).
  write_bytes(dir / "many", idx(0x803, {4'000'000'000U, 28, 28}, ""));
  // 10⁶ images of 1000×1000: 10¹² bytes, far more than max_bytes.
  write_bytes(dir / "huge", idx(0x803, {1'000'000U, 1000, 1000}, ""));
  write_bytes(dir / "many-labels", idx(0x801, {4'000'000'000U}, ""));
  write_bytes(dir / "zero", idx(0x803, {0, 28, 28}, ""));
  write_bytes(dir / "flat", idx(0x803, {5, 0, 28}, ""));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "many"), faunae::IoError,
                       What(Contains("number of images is 4000000000") && Contains("max_images = 100000000") && Contains("many")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "huge"), faunae::IoError,
                       What(Contains("1000000 images of 1000×1000") && Contains("max_bytes = 8589934592")));
  CHECK_THROWS_MATCHES(read_idx_labels(dir / "many-labels"), faunae::IoError, What(Contains("number of labels is 4000000000")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "zero"), faunae::IoError, What(Contains("number of images is 0")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "flat"), faunae::IoError, What(Contains("0×28")));

  // The limits are the caller's.
  write_bytes(dir / "small", idx(0x803, {3, 4, 5}, pixels(3, 4, 5)));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "small", ReadLimits{.max_images = 2}), faunae::IoError, What(Contains("max_images = 2")));
  CHECK_THROWS_MATCHES(read_idx_images(dir / "small", ReadLimits{.max_bytes = 59}), faunae::IoError, What(Contains("max_bytes = 59")));
  CHECK_NOTHROW(read_idx_images(dir / "small", ReadLimits{.max_images = 3, .max_bytes = 60}));
}

TEST_CASE("missing IDX files and folders are named", "[data]") {
  TempDir dir;
  CHECK_THROWS_MATCHES(read_idx_images(dir / "nope"), faunae::IoError, What(Contains("no such file") && Contains("nope")));
  CHECK_THROWS_MATCHES(read_idx_labels(dir.path()), faunae::IoError, What(Contains("not a regular file")));
  CHECK_THROWS_MATCHES(load_fashion_mnist(dir / "absent", true), faunae::IoError,
                       What(Contains("no such folder") && Contains("absent")));
  CHECK_THROWS_MATCHES(load_fashion_mnist(dir.path(), false), faunae::IoError,
                       What(Contains("t10k-images-idx3-ubyte.gz") && Contains("neither")));
}

TEST_CASE("Fashion-MNIST from plain files: shapes, counts and labels are checked", "[data]") {
  TempDir dir;
  write_bytes(dir / "t10k-images-idx3-ubyte", idx(0x803, {12, 28, 28}, pixels(12, 28, 28)));
  write_bytes(dir / "t10k-labels-idx1-ubyte", idx(0x801, {12}, labels(12)));
  const auto d = load_fashion_mnist(dir.path(), /*train=*/false);
  CHECK(d.size() == 12);
  CHECK(d.name == "fashion-mnist/test");
  CHECK(d.labels[11].item<std::int64_t>() == 1);

  write_bytes(dir / "t10k-labels-idx1-ubyte", idx(0x801, {11}, labels(11)));
  CHECK_THROWS_MATCHES(load_fashion_mnist(dir.path(), false), faunae::IoError, What(Contains("12 images") && Contains("11 labels")));
  write_bytes(dir / "t10k-labels-idx1-ubyte", idx(0x801, {12}, labels(11) + std::string(1, '\x0a')));
  CHECK_THROWS_MATCHES(load_fashion_mnist(dir.path(), false), faunae::IoError,
                       What(Contains("label 10 of entry 11 is outside [0, 10)")));
  write_bytes(dir / "t10k-images-idx3-ubyte", idx(0x803, {12, 32, 32}, pixels(12, 32, 32)));
  CHECK_THROWS_MATCHES(load_fashion_mnist(dir.path(), false), faunae::IoError, What(Contains("32×32") && Contains("28×28")));
}

TEST_CASE("Fashion-MNIST: the installed files load whole", "[data]") {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  INFO("installed by scripts/setup-debian.sh (Debian's dataset-fashion-mnist)");
  REQUIRE(std::filesystem::exists(dir / "train-images-idx3-ubyte.gz"));
  const auto train = load_fashion_mnist(dir, true), test = load_fashion_mnist(dir, false);
  CHECK(train.images.sizes() == torch::IntArrayRef({60000, 1, 28, 28}));
  CHECK(test.images.sizes() == torch::IntArrayRef({10000, 1, 28, 28}));
  CHECK(train.labels.sizes() == torch::IntArrayRef({60000}));
  CHECK(test.labels.sizes() == torch::IntArrayRef({10000}));
  for (const auto* d : {&train, &test}) {
    CHECK(d->labels.min().item<std::int64_t>() == 0);
    CHECK(d->labels.max().item<std::int64_t>() == 9);
    // Fashion-MNIST is balanced: 6000 (train) and 1000 (test) images per class.
    CHECK(torch::equal(torch::bincount(d->labels), torch::full({10}, d->size() / 10, torch::kInt64)));
    CHECK(d->images.max().item<int>() == 255);
  }
  const auto [fit, validation] = split(train, 0.9, /*seed=*/0);
  CHECK(fit.size() == 54000);
  CHECK(validation.size() == 6000);
}

// --- CIFAR-10 -----------------------------------------------------------------------------------

namespace {

/// n CIFAR records; record k has label (k + offset) mod 10 and pixel (channel, y, x) = (k + 7·channel + y + x) mod 256.
std::string cifar_records(int n, int offset) {
  std::string out;
  for (int k = 0; k < n; ++k) {
    out += static_cast<char>((k + offset) % 10);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) out += static_cast<char>((k + 7 * c + y + x) % 256);
  }
  return out;
}

}  // namespace

TEST_CASE("CIFAR-10: binary batches are read as planar RGB with their labels", "[data]") {
  TempDir dir;
  for (int i = 1; i <= 5; ++i) write_bytes(dir / ("data_batch_" + std::to_string(i) + ".bin"), cifar_records(i, i));
  write_bytes(dir / "test_batch.bin", cifar_records(4, 0));
  const auto train = load_cifar10(dir.path(), true), test = load_cifar10(dir.path(), false);
  CHECK(train.images.sizes() == torch::IntArrayRef({15, 3, 32, 32}));
  CHECK(train.images.is_contiguous());
  CHECK(train.name == "cifar10/train");
  CHECK(test.images.sizes() == torch::IntArrayRef({4, 3, 32, 32}));
  CHECK(torch::equal(test.labels, torch::tensor({0, 1, 2, 3}, torch::kInt64)));
  // Record 1 of data_batch_2 is image 2 of the training set (batch 1 has one record).
  CHECK(train.labels[2].item<std::int64_t>() == 3);
  CHECK(train.images[2][2][5][9].item<int>() == (1 + 14 + 5 + 9));
  CHECK(test.images[3][1][31][0].item<int>() == (3 + 7 + 31));
  // The parent of cifar-10-batches-bin/ works too (where the archive unpacks).
  TempDir parent;
  write_bytes(parent / "cifar-10-batches-bin/test_batch.bin", cifar_records(2, 0));
  CHECK(load_cifar10(parent.path(), false).size() == 2);
}

TEST_CASE("CIFAR-10: wrong sizes, labels, missing files and folders are refused", "[data]") {
  TempDir dir;
  CHECK_THROWS_MATCHES(load_cifar10(dir / "nowhere", false), faunae::IoError, What(Contains("no such folder") && Contains("nowhere")));
  CHECK_THROWS_MATCHES(load_cifar10(dir.path(), false), faunae::IoError, What(Contains("no such file") && Contains("test_batch.bin")));
  write_bytes(dir / "test_batch.bin", cifar_records(2, 0) + "x");
  CHECK_THROWS_MATCHES(load_cifar10(dir.path(), false), faunae::IoError,
                       What(Contains("6147 bytes") && Contains("multiple of the record size 3073")));
  write_bytes(dir / "test_batch.bin", "");
  CHECK_THROWS_MATCHES(load_cifar10(dir.path(), false), faunae::IoError, What(Contains("0 bytes")));
  write_bytes(dir / "test_batch.bin", cifar_records(3, 0));
  write_bytes(dir / "test_batch.bin", [] {
    auto r = cifar_records(3, 0);
    r[2 * 3073] = 10;
    return r;
  }());
  CHECK_THROWS_MATCHES(load_cifar10(dir.path(), false), faunae::IoError,
                       What(Contains("test_batch.bin") && Contains("label 10 of entry 2 is outside [0, 10)")));
  CHECK_THROWS_MATCHES(load_cifar10(dir.path(), false, ReadLimits{.max_images = 2}), faunae::IoError, What(Contains("3 images")));
  for (int i = 1; i <= 4; ++i) write_bytes(dir / ("data_batch_" + std::to_string(i) + ".bin"), cifar_records(1, 0));
  CHECK_THROWS_MATCHES(load_cifar10(dir.path(), true), faunae::IoError, What(Contains("data_batch_5.bin")));
  write_bytes(dir / "data_batch_5", "python pickle");
  CHECK_THROWS_MATCHES(load_cifar10(dir.path(), true), faunae::IoError, What(Contains("binary version")));
}

// --- image folders ------------------------------------------------------------------------------

namespace {

/// A w×h image of `c` channels whose every pixel is `value` (per channel).
void write_png(const std::filesystem::path& p, int w, int h, std::vector<unsigned char> value) {
  std::filesystem::create_directories(p.parent_path());
  const int c = static_cast<int>(value.size());
  std::vector<unsigned char> data;
  for (int i = 0; i < w * h; ++i) data.insert(data.end(), value.begin(), value.end());
  REQUIRE(stbi_write_png(p.string().c_str(), w, h, c, data.data(), w * c) != 0);
}

}  // namespace

TEST_CASE("image folders: PNG and JPEG files, sorted, converted and resized", "[data]") {
  TempDir dir;
  write_png(dir / "b/red.png", 40, 30, {255, 0, 0});
  write_png(dir / "a/gray.PNG", 8, 8, {100});
  write_png(dir / "c.png", 16, 16, {10, 20, 30, 128});  // RGBA: alpha dropped
  std::vector<unsigned char> blue(24 * 24 * 3);
  for (std::size_t i = 0; i < blue.size(); i += 3) blue[i + 2] = 255;
  REQUIRE(stbi_write_jpg((dir / "d.jpg").string().c_str(), 24, 24, 3, blue.data(), /*quality=*/95) != 0);
  write_png(dir / ".hidden/skipped.png", 4, 4, {0});
  write_bytes(dir / ".DS_Store", "junk");

  const auto rgb = load_image_folder(dir.path(), 3, 16);
  REQUIRE(rgb.images.sizes() == torch::IntArrayRef({4, 3, 16, 16}));
  CHECK(rgb.images.scalar_type() == torch::kUInt8);
  CHECK_FALSE(rgb.labelled());
  // Sorted paths: a/gray.PNG, b/red.png, c.png, d.jpg; constant images stay constant when resized.
  const auto colour = [&](int i) { return rgb.images[i].to(torch::kFloat32).mean({1, 2}); };
  CHECK(torch::equal(rgb.images[0], torch::full({3, 16, 16}, 100, torch::kUInt8)));
  CHECK(torch::equal(rgb.images[1][0], torch::full({16, 16}, 255, torch::kUInt8)));
  CHECK(rgb.images[1].narrow(0, 1, 2).max().item<int>() == 0);
  CHECK(torch::equal(rgb.images[2].select(0, 2), torch::full({16, 16}, 30, torch::kUInt8)));
  CHECK(colour(3)[2].item<float>() > 240.0f);  // JPEG: nearly pure blue
  CHECK(colour(3)[0].item<float>() < 15.0f);

  const auto gray = load_image_folder(dir.path(), 1, 8);
  REQUIRE(gray.images.sizes() == torch::IntArrayRef({4, 1, 8, 8}));
  CHECK(gray.images[0].min().item<int>() == 100);
  CHECK(std::abs(gray.images[1].to(torch::kFloat32).mean().item<float>() - 0.299f * 255) < 2.0f);  // luminance of red
}

TEST_CASE("image folders: empty, missing, corrupt and foreign files are named", "[data]") {
  TempDir dir;
  CHECK_THROWS_MATCHES(load_image_folder(dir / "missing", 3, 8), faunae::IoError, What(Contains("no such folder") && Contains("missing")));
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError, What(Contains("holds no PNG or JPEG file")));
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 2, 8), faunae::InvalidArgument, What(Contains("channels must be 1 or 3, got 2")));
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 0), faunae::InvalidArgument, What(Contains("size must be in [1, 16384], got 0")));
  write_png(dir / "good.png", 4, 4, {1, 2, 3});
  write_bytes(dir / "notes.txt", "hello");
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError, What(Contains("notes.txt") && Contains("not a PNG or JPEG")));
  std::filesystem::remove(dir / "notes.txt");
  write_bytes(dir / "broken.png", "\x89PNG\r\n\x1a\n not really");
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError, What(Contains("broken.png")));
  std::filesystem::remove(dir / "broken.png");
  // A PNG cut short: the header is there, the pixels are not.
  write_png(dir / "cut-source.png", 64, 64, {9, 8, 7});
  std::string png;
  {
    std::ifstream in(dir / "cut-source.png", std::ios::binary);
    png.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::remove(dir / "cut-source.png");
  write_bytes(dir / "cut.png", png.substr(0, 40));
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError, What(Contains("cut.png") && Contains("cannot be decoded")));
  std::filesystem::remove(dir / "cut.png");
  // Content other than PNG or JPEG, whatever its name (stb_image would decode this BMP header).
  write_bytes(dir / "bitmap.png", std::string("BM") + std::string(60, '\0'));
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError, What(Contains("bitmap.png") && Contains("neither PNG nor JPEG")));
  std::filesystem::remove(dir / "bitmap.png");
  // Found by tests/fuzz/image_folder: a JPEG Huffman table whose 16 code counts add up to more than
  // 256 symbols; Debian 12's stb_image writes past the table (nothings/stb#1289).
  const std::vector<unsigned char> gray(8 * 8 * 3, 77);
  REQUIRE(stbi_write_jpg((dir / "source.jpg").string().c_str(), 8, 8, 3, gray.data(), /*quality=*/90) != 0);
  std::string jpg;
  {
    std::ifstream in(dir / "source.jpg", std::ios::binary);
    jpg.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::remove(dir / "source.jpg");
  const auto dht = jpg.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  for (std::size_t k = 0; k < 16; ++k) jpg[dht + 5 + k] = '\xFF';  // after the marker, the length and the class/id byte
  write_bytes(dir / "huffman.jpg", jpg);
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError,
                       What(Contains("huffman.jpg") && Contains("Huffman table") && Contains("more than 256")));
  std::filesystem::remove(dir / "huffman.jpg");
  // Found by tests/fuzz/image_folder: a scan that names a Huffman table no DHT defined. Debian 12's
  // stb_image decodes with uninitialised memory and, depending on what it held, aborts on an assert.
  std::string scan_source;
  REQUIRE(stbi_write_jpg((dir / "source.jpg").string().c_str(), 8, 8, 3, gray.data(), /*quality=*/90) != 0);
  {
    std::ifstream in(dir / "source.jpg", std::ios::binary);
    scan_source.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::remove(dir / "source.jpg");
  const auto sos = scan_source.find("\xFF\xDA");
  REQUIRE(sos != std::string::npos);
  std::string ac_undefined = scan_source, dc_undefined = scan_source;
  ac_undefined[sos + 5 + 1 + 2] = '\x13';  // the second component: DC table 1, AC table 3 (stb_image_write defines 0 and 1)
  dc_undefined[sos + 5 + 1] = '\x20';      // the first component: DC table 2, AC table 0
  write_bytes(dir / "scan.jpg", ac_undefined);
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError,
                       What(Contains("scan.jpg") && Contains("Huffman table AC 3") && Contains("no DHT before it defines")));
  write_bytes(dir / "scan.jpg", dc_undefined);
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8), faunae::IoError, What(Contains("scan.jpg") && Contains("Huffman table DC 2")));
  write_bytes(dir / "scan.jpg", scan_source);  // the untouched file decodes
  CHECK(load_image_folder(dir.path(), 3, 8).size() == 2);
  std::filesystem::remove(dir / "scan.jpg");
  CHECK(load_image_folder(dir.path(), 3, 8).size() == 1);
  CHECK_THROWS_MATCHES(load_image_folder(dir.path(), 3, 8, ReadLimits{.max_bytes = 100}), faunae::IoError, What(Contains("ReadLimits")));
}

// --- splits and subsets -------------------------------------------------------------------------

TEST_CASE("split is seeded, disjoint and complete, and subsets keep labels with their images", "[data]") {
  ImageDataset d;
  d.images = torch::arange(100, torch::kInt64).to(torch::kUInt8).view({100, 1, 1, 1}).repeat({1, 1, 2, 2}).contiguous();
  d.labels = torch::arange(100, torch::kInt64);
  d.name = "toy";
  const auto a = split(d, 0.9, 7), b = split(d, 0.9, 7), c = split(d, 0.9, 8);
  CHECK(a.train.size() == 90);
  CHECK(a.validation.size() == 10);
  CHECK(a.train.name == "toy:train");
  CHECK(torch::equal(a.validation.labels, b.validation.labels));
  CHECK_FALSE(torch::equal(a.validation.labels, c.validation.labels));
  const auto all = torch::cat({a.train.labels, a.validation.labels});
  CHECK(torch::equal(std::get<0>(all.sort()), torch::arange(100, torch::kInt64)));
  CHECK(torch::equal(a.train.images.select(1, 0).select(1, 1).select(1, 1).to(torch::kInt64), a.train.labels));
  CHECK(torch::equal(std::get<0>(a.train.labels.sort()), a.train.labels));  // original order kept

  const auto s = subset(d, torch::tensor({5, 3, 5}, torch::kInt64));
  CHECK(torch::equal(s.labels, torch::tensor({5, 3, 5}, torch::kInt64)));
  CHECK(s.images[1].max().item<int>() == 3);
  CHECK(take(d, 4).size() == 4);
  d.labels = torch::Tensor();
  CHECK_FALSE(subset(d, torch::tensor({1}, torch::kInt64)).labelled());

  CHECK_THROWS_MATCHES(split(d, 1.0, 0), faunae::InvalidArgument, What(Contains("train_fraction must be in (0, 1), got 1")));
  CHECK_THROWS_MATCHES(split(d, 0.001, 0), faunae::InvalidArgument, What(Contains("training part empty")));
  CHECK_THROWS_MATCHES(subset(d, torch::tensor({100}, torch::kInt64)), faunae::InvalidArgument, What(Contains("index 100 is outside [0, 100)")));
  CHECK_THROWS_MATCHES(subset(d, torch::tensor({1.0})), faunae::InvalidArgument, What(Contains("1-D int64")));
  CHECK_THROWS_MATCHES(take(d, 101), faunae::InvalidArgument, What(Contains("got 101")));
}

TEST_CASE("rotation_task: four quarter turns of every image, labelled by the turn", "[data]") {
  ImageDataset d;
  // two 1×2×2 images: [[1, 2], [3, 4]] and the same plus 10; labels that the task must not keep
  d.images = torch::tensor({1, 2, 3, 4, 11, 12, 13, 14}, torch::kUInt8).view({2, 1, 2, 2});
  d.labels = torch::tensor({7, 9}, torch::kInt64);
  d.name = "toy";
  const auto r = rotation_task(d);
  r.check("test");
  REQUIRE(r.size() == 8);
  CHECK(r.name == "toy:rotations");
  CHECK(torch::equal(r.labels, torch::tensor({0, 1, 2, 3, 0, 1, 2, 3}, torch::kInt64)));
  CHECK(torch::equal(r.images[0], d.images[0]));
  // counter-clockwise quarter turn of [[1, 2], [3, 4]] is [[2, 4], [1, 3]]; half turn [[4, 3], [2, 1]]
  CHECK(torch::equal(r.images[1].flatten(), torch::tensor({2, 4, 1, 3}, torch::kUInt8)));
  CHECK(torch::equal(r.images[2].flatten(), torch::tensor({4, 3, 2, 1}, torch::kUInt8)));
  CHECK(torch::equal(r.images[3].flatten(), torch::tensor({3, 1, 4, 2}, torch::kUInt8)));
  CHECK(torch::equal(r.images[6].flatten(), torch::tensor({14, 13, 12, 11}, torch::kUInt8)));
  d.labels = torch::Tensor();
  CHECK(rotation_task(d).labelled());  // unlabelled data gets the turn labels

  ImageDataset wide;
  wide.images = torch::zeros({1, 1, 2, 3}, torch::kUInt8);
  wide.name = "wide";
  CHECK_THROWS_MATCHES(rotation_task(wide), faunae::InvalidArgument, What(Contains("square images") && Contains("2×3")));
  ImageDataset empty;
  empty.images = torch::zeros({0, 1, 2, 2}, torch::kUInt8);
  empty.name = "none";
  CHECK_THROWS_MATCHES(rotation_task(empty), faunae::InvalidArgument, What(Contains("'none' is empty")));
}

TEST_CASE("resized: area interpolation to a square size, labels kept", "[data]") {
  ImageDataset d;
  // one 1×4×4 image whose 2×2 quarters hold 0, 10, 20, 30 (+1 in one pixel of the last: mean 30.25)
  d.images = torch::tensor({0, 0, 10, 10, 0, 0, 10, 10, 20, 20, 30, 30, 20, 20, 30, 31}, torch::kUInt8).view({1, 1, 4, 4});
  d.labels = torch::tensor({3}, torch::kInt64);
  d.name = "toy";
  const auto r = resized(d, 2);
  r.check("test");
  CHECK(torch::equal(r.images.flatten(), torch::tensor({0, 10, 20, 30}, torch::kUInt8)));
  CHECK(torch::equal(r.labels, d.labels));
  CHECK(r.name == "toy at 2x2");
  CHECK(resized(d, 4).images.data_ptr() == d.images.data_ptr());  // already that size: unchanged
  CHECK(resized(d, 8).images.sizes().vec() == std::vector<std::int64_t>{1, 1, 8, 8});
  CHECK_THROWS_MATCHES(resized(d, 0), faunae::InvalidArgument, What(Contains("size must be positive, got 0")));
}

// MoCo v2 augmentations: shapes, ranges, dtype and device; repetition under a seed; and the defining
// property of each transform.
#include "catch_torch.hpp"

#include <cmath>
#include <vector>

#include <faunae/torch/augment.hpp>

#include "what_matcher.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::What;

namespace {

/// n random uint8 images c×h×w.
torch::Tensor random_images(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::uint64_t seed = 0) {
  auto gen = make_generator(seed);
  return torch::randint(0, 256, {n, c, h, w}, gen, torch::TensorOptions().dtype(torch::kUInt8));
}

float max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<float>(); }

}  // namespace

TEST_CASE("augment keeps shape, range, dtype and device", "[augment]") {
  const auto colour = random_images(6, 3, 40, 36);
  auto o = default_augment_options(Stem::color32);
  o.blur_p = 0.5;  // every transform on
  auto gen = make_generator(1);
  const auto raw = augment(colour, o, gen, /*normalise=*/false);
  CHECK(raw.sizes() == torch::IntArrayRef({6, 3, 32, 32}));
  CHECK(raw.scalar_type() == torch::kFloat32);
  CHECK(raw.device() == colour.device());
  CHECK(raw.min().item<float>() >= 0.0f);
  CHECK(raw.max().item<float>() <= 1.0f);

  // Normalisation is the last step: the same draws, then (x − mean) / std.
  auto again = make_generator(1);
  const auto normalised = augment(colour, o, again);
  const auto mean = torch::tensor({0.4914, 0.4822, 0.4465}, torch::kFloat32).view({1, 3, 1, 1});
  const auto stddev = torch::tensor({0.2470, 0.2435, 0.2616}, torch::kFloat32).view({1, 3, 1, 1});
  CHECK(max_abs_difference(normalised, (raw - mean) / stddev) < 1e-5f);

  // Gray 28×28, float input in [0, 1], a batch of one, an empty batch.
  const auto gray = random_images(5, 1, 28, 28).to(torch::kFloat64).div(255.0);
  const auto g = augment(gray, default_augment_options(Stem::gray28), gen, false);
  CHECK(g.sizes() == torch::IntArrayRef({5, 1, 28, 28}));
  CHECK(g.scalar_type() == torch::kFloat32);
  CHECK((g.min().item<float>() >= 0.0f && g.max().item<float>() <= 1.0f));
  CHECK(augment(random_images(1, 3, 8, 8), default_augment_options(Stem::imagenet224), gen).sizes() ==
        torch::IntArrayRef({1, 3, 224, 224}));
  CHECK(augment(random_images(0, 3, 8, 8), o, gen).sizes() == torch::IntArrayRef({0, 3, 32, 32}));
}

TEST_CASE("augment repeats under the same seed and differs under another", "[augment]") {
  const auto x = random_images(4, 3, 32, 32);
  auto o = default_augment_options(Stem::color32);
  o.blur_p = 0.5;
  auto a = make_generator(42), b = make_generator(42), c = make_generator(43);
  const auto first = augment(x, o, a);
  CHECK(torch::equal(first, augment(x, o, b)));
  CHECK_FALSE(torch::equal(first, augment(x, o, c)));
  CHECK_FALSE(torch::equal(first, augment(x, o, a)));  // the second view of the batch

  // Each image gets its own parameters: one image repeated gives different views.
  const auto same = random_images(1, 3, 32, 32).repeat({8, 1, 1, 1});
  const auto views = augment(same, o, a);
  int distinct = 0;
  for (int i = 1; i < 8; ++i) distinct += torch::equal(views[0], views[i]) ? 0 : 1;
  CHECK(distinct == 7);
}

TEST_CASE("augment: a changed probability does not shift the later draws", "[augment]") {
  const auto x = random_images(8, 3, 16, 16);
  auto o = default_augment_options(Stem::color32);
  o.jitter_p = 0.0;
  o.grayscale_p = 0.0;
  auto a = make_generator(5), b = make_generator(5);
  auto with_flip = o, without_flip = o;
  without_flip.flip_p = 0.0;
  // Crops are drawn first and the generator advances by the same amount whatever p is:
  // the flipped views mirror the unflipped ones or equal them.
  const auto y = augment(x, with_flip, a, false), z = augment(x, without_flip, b, false);
  for (int i = 0; i < 8; ++i) CHECK((torch::equal(y[i], z[i]) || torch::equal(y[i], z[i].flip({2}))));
}

TEST_CASE("horizontal flip: a flip of a flip is the identity", "[augment]") {
  const auto x = to_unit_float(random_images(6, 3, 5, 7));
  const auto mask = torch::tensor({true, false, true, true, false, false});
  const auto once = horizontal_flip(x, mask);
  CHECK(torch::equal(horizontal_flip(once, mask), x));
  CHECK(torch::equal(once[0], x[0].flip({2})));
  CHECK(torch::equal(once[1], x[1]));
  CHECK(torch::equal(once[0].select(2, 0), x[0].select(2, 6)));
  auto gen = make_generator(0);
  CHECK(torch::equal(random_horizontal_flip(x, 1.0, gen), x.flip({3})));
  CHECK(torch::equal(random_horizontal_flip(x, 0.0, gen), x));
  CHECK_THROWS_MATCHES(random_horizontal_flip(x, 1.5, gen), faunae::InvalidArgument, What(Contains("p must be in [0, 1], got 1.5")));
}

TEST_CASE("grayscale: every channel holds the luma", "[augment]") {
  const auto x = to_unit_float(random_images(4, 3, 6, 6));
  const auto g = grayscale(x);
  CHECK(g.sizes() == x.sizes());
  CHECK(torch::equal(g.select(1, 0), g.select(1, 1)));
  CHECK(torch::equal(g.select(1, 0), g.select(1, 2)));
  const auto luma = 0.299 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.114 * x.select(1, 2);
  CHECK(max_abs_difference(g.select(1, 0), luma) < 1e-6f);
  auto gen = make_generator(3);
  const auto all = random_grayscale(x, 1.0, gen);
  CHECK(torch::equal(all.select(1, 0), all.select(1, 2)));
  CHECK(torch::equal(random_grayscale(x, 0.0, gen), x));
  const auto one = to_unit_float(random_images(2, 1, 6, 6));
  CHECK(torch::equal(grayscale(one), one));
  CHECK_THROWS_AS(grayscale(torch::zeros({1, 2, 4, 4})), faunae::InvalidArgument);
}

TEST_CASE("Gaussian blur preserves the mean of a constant image and smooths noise", "[augment]") {
  const auto constant = torch::full({3, 3, 10, 12}, 0.37f);
  const auto blurred = gaussian_blur(constant, {0.5, 1.0, 2.0});
  CHECK(blurred.sizes() == constant.sizes());
  CHECK(max_abs_difference(blurred, constant) < 1e-6f);
  const auto noise = to_unit_float(random_images(2, 3, 32, 32));
  const auto smooth = gaussian_blur(noise, {2.0, 0.1});
  CHECK(smooth.select(0, 0).std().item<float>() < 0.5f * noise.select(0, 0).std().item<float>());
  CHECK(max_abs_difference(smooth.select(0, 1), noise.select(0, 1)) < 1e-6f);  // σ = 0.1: weights e^-50 off the centre
  CHECK(std::abs(smooth.select(0, 0).mean().item<float>() - noise.select(0, 0).mean().item<float>()) < 0.01f);
  auto gen = make_generator(9);
  CHECK(torch::equal(random_gaussian_blur(noise, {0.1, 2.0}, 0.0, gen), noise));
  // Radius at most min(H, W) − 1 (reflection needs it): tiny images work.
  CHECK(max_abs_difference(gaussian_blur(torch::full({1, 1, 2, 3}, 0.5f), {2.0}), torch::full({1, 1, 2, 3}, 0.5f)) < 1e-6f);
}

TEST_CASE("random resized crop: scale (1, 1) and ratio (1, 1) is the identity", "[augment]") {
  const auto x = to_unit_float(random_images(3, 3, 20, 20));
  auto gen = make_generator(0);
  CHECK(max_abs_difference(random_resized_crop(x, 20, {1.0, 1.0}, {1.0, 1.0}, gen), x) < 1e-5f);
  // A box of pixels [4, 12) × [2, 10) at its own size is exactly those pixels.
  const auto part = resized_crop(x, std::vector<CropBox>(3, CropBox{4, 2, 8, 8}), 8);
  CHECK(max_abs_difference(part, x.narrow(2, 2, 8).narrow(3, 4, 8)) < 1e-5f);
  // Drawn boxes: inside the image, area and aspect ratio in range (up to rounding to whole pixels).
  const auto boxes = random_crop_boxes(200, 20, 30, {0.2, 1.0}, {0.75, 4.0 / 3.0}, gen);
  for (const auto& b : boxes) {
    const double area = b.width * b.height / (20.0 * 30.0), r = b.width / b.height;
    CHECK((area >= 0.2 - 0.03 && area <= 1.0));
    CHECK((r >= 0.75 * 0.9 && r <= 4.0 / 3.0 * 1.1));
    CHECK((b.left >= 0 && b.top >= 0 && b.left + b.width <= 30 && b.top + b.height <= 20));
  }
  const auto y = random_resized_crop(random_images(4, 3, 50, 40), 16, {0.2, 1.0}, {0.75, 4.0 / 3.0}, gen);
  CHECK(y.sizes() == torch::IntArrayRef({4, 3, 16, 16}));
  CHECK((y.min().item<float>() >= 0.0f && y.max().item<float>() <= 1.0f));
}

TEST_CASE("colour jitter: each adjustment does what its factor says", "[augment]") {
  const auto x = to_unit_float(random_images(3, 3, 8, 8));
  const auto ones = torch::ones({3});
  for (auto* adjust : {adjust_brightness, adjust_contrast, adjust_saturation})
    CHECK(max_abs_difference(adjust(x, ones), x) < 1e-6f);
  CHECK(max_abs_difference(adjust_hue(x, torch::zeros({3})), x) < 1e-5f);
  CHECK(adjust_brightness(x, torch::zeros({3})).max().item<float>() == 0.0f);
  const auto flat = adjust_contrast(x, torch::zeros({3}));  // every pixel the image's mean luma
  CHECK(max_abs_difference(flat, flat.mean({1, 2, 3}, true).expand_as(flat)) < 1e-6f);
  CHECK(max_abs_difference(adjust_saturation(x, torch::zeros({3})), grayscale(x)) < 1e-6f);
  // A third of a turn of hue: red → green → blue.
  const auto red = torch::tensor({1.0f, 0.0f, 0.0f}).view({1, 3, 1, 1});
  CHECK(max_abs_difference(adjust_hue(red, torch::tensor({1.0 / 3})), torch::tensor({0.0f, 1.0f, 0.0f}).view({1, 3, 1, 1})) < 1e-5f);
  CHECK(max_abs_difference(adjust_hue(red, torch::tensor({-1.0 / 3})), torch::tensor({0.0f, 0.0f, 1.0f}).view({1, 3, 1, 1})) < 1e-5f);

  auto o = default_augment_options(Stem::color32);
  auto gen = make_generator(11);
  o.jitter_p = 0.0;
  CHECK(torch::equal(color_jitter(x, o, gen), x));
  o.jitter_p = 1.0;
  const auto j = color_jitter(x, o, gen);
  CHECK_FALSE(torch::equal(j, x));
  CHECK((j.min().item<float>() >= 0.0f && j.max().item<float>() <= 1.0f));
  // Gray images: brightness and contrast only.
  const auto gray = to_unit_float(random_images(3, 1, 8, 8));
  CHECK(color_jitter(gray, default_augment_options(Stem::gray28), gen).sizes() == gray.sizes());
}

TEST_CASE("augment: bad options and inputs are refused with the value", "[augment]") {
  const auto x = random_images(2, 3, 8, 8);
  auto gen = make_generator(0);
  auto o = default_augment_options(Stem::color32);
  const auto refused = [&](const AugmentOptions& bad, const std::string& text) {
    CHECK_THROWS_MATCHES(augment(x, bad, gen), faunae::InvalidArgument, What(Contains(text)));
  };
  auto bad = o;
  bad.scale = {0.0, 1.0};
  refused(bad, "AugmentOptions::scale must be 0 < low <= high <= 1, got (0, 1)");
  bad = o;
  bad.jitter_p = 1.2;
  refused(bad, "AugmentOptions::jitter_p must be a probability in [0, 1], got 1.2");
  bad = o;
  bad.hue = 0.7;
  refused(bad, "AugmentOptions::hue must be in [0, 0.5], got 0.7");
  bad = o;
  bad.mean = {0.5};
  refused(bad, "mean and stddev must have one entry per channel, got 1 and 3");
  bad = default_augment_options(Stem::gray28);
  refused(bad, "the images have 3 channels but AugmentOptions::mean and stddev have 1 entries");
  CHECK_THROWS_MATCHES(augment(torch::zeros({3, 8, 8}), o, gen), faunae::InvalidArgument,
                       What(Contains("N×C×H×W")));
  CHECK_THROWS_AS(augment(torch::zeros({1, 3, 8, 8}, torch::kInt32), o, gen), faunae::InvalidArgument);
}

TEST_CASE("augment on CUDA matches the CPU", "[augment]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device: the device check is skipped");
    return;
  }
  const auto x = random_images(4, 3, 32, 32);
  auto o = default_augment_options(Stem::color32);
  o.blur_p = 0.5;
  auto a = make_generator(2), b = make_generator(2);
  const auto cpu = augment(x, o, a);
  const auto gpu = augment(x.to(torch::kCUDA), o, b);
  CHECK(gpu.device().is_cuda());
  CHECK(max_abs_difference(gpu.cpu(), cpu) < 1e-3f);
}

// MoCo v2's augmentations (Chen et al. 2020, "Improved Baselines with Momentum Contrastive
// Learning"), batched on tensors:
//
//   RandomResizedCrop(size, scale = (0.2, 1), ratio = (3/4, 4/3))
//   RandomApply(ColorJitter(brightness 0.4, contrast 0.4, saturation 0.4, hue 0.1), p = 0.8)
//   RandomGrayscale(p = 0.2)
//   RandomApply(GaussianBlur(sigma in [0.1, 2]), p = 0.5)
//   RandomHorizontalFlip(p = 0.5)
//   Normalize(mean, std)
//
//   auto gen = faunae::torch_backend::make_generator(/*seed=*/42);
//   auto options = faunae::torch_backend::default_augment_options(faunae::torch_backend::Stem::color32);
//   torch::Tensor query = augment(batch.images, options, gen), key = augment(batch.images, options, gen);
//
// Input: N×C×H×W, uint8 (0..255) or floating point (taken to be in [0, 1]), on any device. Output:
// float32 N×C×size×size on the input's device. Each image gets its own parameters, drawn on the
// host from the caller's CPU torch::Generator (one torch::rand per transform and batch); the pixel
// work is batched tensor ops (grid_sample with per-image affine grids, per-image factors as N×1×1×1
// tensors, a grouped depth-wise convolution with per-image kernels), run only on the images a
// transform selects.
//
// Reproducibility: the same seed, input and LibTorch version give the same parameters on every
// machine and device (they are drawn on the host), hence the same output, bit for bit on the same
// device and thread count; elsewhere the same crops, flips and factors, with pixel values equal up
// to float rounding. The generator's stream advances by a fixed amount per
// call, whatever the probabilities, so a change of p does not shift the later draws.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "faunae/core/error.hpp"
#include "faunae/torch/seeding.hpp"
#include "faunae/torch/stem.hpp"

namespace faunae::torch_backend {

/// The recipe's parameters. The defaults are MoCo v2's for 224×224 ImageNet images; see
/// default_augment_options for the other input formats.
struct AugmentOptions {
  std::int64_t output_size = 224;
  /// Random resized crop: area of the crop as a fraction of the image's, and its aspect ratio w/h
  /// (drawn log-uniformly), as torchvision's RandomResizedCrop.
  std::array<double, 2> scale{0.2, 1.0};
  std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};
  /// Colour jitter: factors drawn uniformly in [max(0, 1 − b), 1 + b] (brightness, contrast,
  /// saturation) and [−hue, hue]; 0 leaves the property alone. Applied in a random order per image.
  double brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1;
  double jitter_p = 0.8;
  double grayscale_p = 0.2;
  /// Gaussian blur, σ in pixels of the output, drawn uniformly; the kernel has radius ⌈3 σ_max⌉.
  std::array<double, 2> blur_sigma{0.1, 2.0};
  double blur_p = 0.5;
  double flip_p = 0.5;
  /// Normalisation per channel, after everything else: (x − mean) / stddev.
  std::vector<double> mean{0.485, 0.456, 0.406};
  std::vector<double> stddev{0.229, 0.224, 0.225};

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("output_size", self.output_size), f("scale", self.scale), f("ratio", self.ratio), f("brightness", self.brightness),
        f("contrast", self.contrast), f("saturation", self.saturation), f("hue", self.hue), f("jitter_p", self.jitter_p),
        f("grayscale_p", self.grayscale_p), f("blur_sigma", self.blur_sigma), f("blur_p", self.blur_p),
        f("flip_p", self.flip_p), f("mean", self.mean), f("stddev", self.stddev);
  }

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of its range.
  void check(std::string_view where) const {
    const auto fail = [&](std::string_view option, const auto& value, std::string_view rule) {
      throw InvalidArgument(fmt::format("{}: AugmentOptions::{} must be {}, got {}", where, option, rule, value));
    };
    if (output_size < 1 || output_size > 16384) fail("output_size", output_size, "in [1, 16384]");
    if (!(scale[0] > 0.0 && scale[0] <= scale[1] && scale[1] <= 1.0)) fail("scale", fmt::format("({}, {})", scale[0], scale[1]), "0 < low <= high <= 1");
    if (!(ratio[0] > 0.0 && ratio[0] <= ratio[1] && std::isfinite(ratio[1]))) fail("ratio", fmt::format("({}, {})", ratio[0], ratio[1]), "0 < low <= high");
    for (const auto& [name, v] : {std::pair{"brightness", brightness}, std::pair{"contrast", contrast}, std::pair{"saturation", saturation}})
      if (!(v >= 0.0 && std::isfinite(v))) fail(name, v, "finite and >= 0");
    if (!(hue >= 0.0 && hue <= 0.5)) fail("hue", hue, "in [0, 0.5]");
    for (const auto& [name, v] : {std::pair{"jitter_p", jitter_p}, std::pair{"grayscale_p", grayscale_p}, std::pair{"blur_p", blur_p},
                                  std::pair{"flip_p", flip_p}})
      if (!(v >= 0.0 && v <= 1.0)) fail(name, v, "a probability in [0, 1]");
    if (!(blur_sigma[0] > 0.0 && blur_sigma[0] <= blur_sigma[1] && std::isfinite(blur_sigma[1])))
      fail("blur_sigma", fmt::format("({}, {})", blur_sigma[0], blur_sigma[1]), "0 < low <= high");
    if (mean.empty() || mean.size() != stddev.size())
      throw InvalidArgument(fmt::format("{}: AugmentOptions::mean and stddev must have one entry per channel, got {} and {}", where,
                                        mean.size(), stddev.size()));
    for (double s : stddev)
      if (!(s > 0.0 && std::isfinite(s))) fail("stddev", fmt::format("{}", stddev), "positive");
  }
};

/// The recipe per input format.
/// - Stem::gray28 (Fashion-MNIST): 28×28; no saturation, hue or grayscale (one channel has none);
///   no blur: σ up to 2 pixels wipes out most of a 28-pixel image, and SimCLR (Chen et al. 2020,
///   appendix B.9) leaves blur out at this scale; mean 0.2860, std 0.3530.
/// - Stem::color32 (CIFAR-10): 32×32, the full colour recipe without blur (same reason); CIFAR-10's
///   mean (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616).
/// - Stem::imagenet224: MoCo v2 as published, ImageNet's mean and std.
/// Set blur_p = 0.5 to have the blur at 28 and 32 pixels too.
inline AugmentOptions default_augment_options(Stem stem) {
  AugmentOptions o;
  switch (stem) {
    case Stem::gray28:
      o.output_size = 28;
      o.saturation = 0.0;
      o.hue = 0.0;
      o.grayscale_p = 0.0;
      o.blur_p = 0.0;
      // assign(1, x), not = {x}: g++ 14 at -O3 warns (-Warray-bounds, a false positive) on assigning
      // a one-element list over the three ImageNet values.
      o.mean.assign(1, 0.2860);
      o.stddev.assign(1, 0.3530);
      break;
    case Stem::color32:
      o.output_size = 32;
      o.blur_p = 0.0;
      o.mean = {0.4914, 0.4822, 0.4465};
      o.stddev = {0.2470, 0.2435, 0.2616};
      break;
    case Stem::imagenet224:
      break;
  }
  return o;
}

// make_generator(seed) (seeding.hpp): the source of all the randomness of the functions below.

// --- building blocks ----------------------------------------------------------------------------

namespace detail {

inline void check_images(const torch::Tensor& x, std::string_view where) {
  if (!x.defined() || x.dim() != 4)
    throw InvalidArgument(fmt::format("{}: images must be a tensor N×C×H×W, got {}", where,
                                      x.defined() ? fmt::format("shape {}", x.sizes().vec()) : std::string("an undefined tensor")));
  if (x.scalar_type() != torch::kUInt8 && !x.is_floating_point())
    throw InvalidArgument(fmt::format("{}: images must be uint8 or floating point, got {}", where, std::string(c10::toString(x.scalar_type()))));
  if (x.size(2) < 1 || x.size(3) < 1) throw InvalidArgument(fmt::format("{}: images have no pixels: shape {}", where, x.sizes().vec()));
}

inline void check_generator(const torch::Generator& gen, std::string_view where) {
  if (!gen.defined() || !gen.device().is_cpu())
    throw InvalidArgument(fmt::format("{}: the generator must be a CPU generator (make_generator(seed)); parameters are drawn on the host",
                                      where));
}

inline void check_probability(double p, std::string_view where) {
  if (!(p >= 0.0 && p <= 1.0)) throw InvalidArgument(fmt::format("{}: p must be in [0, 1], got {}", where, p));
}

/// N×k uniforms in [0, 1) from `gen`, on the host.
inline torch::Tensor uniforms(torch::Generator& gen, std::int64_t n, std::int64_t k) {
  return torch::rand({n, k}, gen, torch::TensorOptions().dtype(torch::kFloat64));
}

/// Per-image values (host) as an n×1×1×1 float tensor on `device`.
inline torch::Tensor per_image(const std::vector<double>& values, torch::Device device) {
  return torch::tensor(values, torch::kFloat32).view({-1, 1, 1, 1}).to(device);
}

/// y with f applied to the images at `rows` (host indices): f(subset, rows) runs on those only.
template <class F>
torch::Tensor apply_to_rows(const torch::Tensor& y, const std::vector<std::int64_t>& rows, F&& f) {
  if (rows.empty()) return y;
  if (static_cast<std::int64_t>(rows.size()) == y.size(0)) return f(y, rows);
  const torch::Tensor index = torch::tensor(rows, torch::kInt64).to(y.device());
  return y.index_copy(0, index, f(y.index_select(0, index), rows));
}

/// Values of `all` at `rows`.
inline std::vector<double> pick(const std::vector<double>& all, const std::vector<std::int64_t>& rows) {
  std::vector<double> out;
  out.reserve(rows.size());
  for (std::int64_t r : rows) out.push_back(all[static_cast<std::size_t>(r)]);
  return out;
}

/// Images drawn with probability p: u < p for the column `column` of `u`.
inline std::vector<std::int64_t> chosen(const torch::Tensor& u, std::int64_t column, double p) {
  const auto a = u.accessor<double, 2>();
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < u.size(0); ++i)
    if (a[i][column] < p) rows.push_back(i);
  return rows;
}

inline void check_colour(const torch::Tensor& x, std::string_view where) {
  if (x.size(1) != 1 && x.size(1) != 3)
    throw InvalidArgument(fmt::format("{}: needs 1 (gray) or 3 (RGB) channels, got {}", where, x.size(1)));
}

/// ITU-R 601 luma as torchvision's rgb_to_grayscale: N×1×H×W.
inline torch::Tensor luma(const torch::Tensor& x) {
  if (x.size(1) == 1) return x;
  return 0.299 * x.select(1, 0).unsqueeze(1) + 0.587 * x.select(1, 1).unsqueeze(1) + 0.114 * x.select(1, 2).unsqueeze(1);
}

}  // namespace detail

/// uint8 0..255 → float32 0..1; floating point → float32 as it is (no copy when already float32).
inline torch::Tensor to_unit_float(const torch::Tensor& x) {
  detail::check_images(x, "faunae::torch_backend::to_unit_float()");
  if (x.scalar_type() == torch::kUInt8) return x.to(torch::kFloat32).div(255.0);
  return x.to(torch::kFloat32);
}

/// A crop box in pixels of the input: left, top, width, height.
struct CropBox {
  double left = 0, top = 0, width = 0, height = 0;
};

/// Each image i cropped to boxes[i] and resized to size×size, bilinearly (grid_sample with the
/// per-image affine map from the output's pixel centres to the box's; borders replicated). A box
/// covering the whole image at its own size is the identity.
inline torch::Tensor resized_crop(const torch::Tensor& images, const std::vector<CropBox>& boxes, std::int64_t size) {
  constexpr std::string_view where = "faunae::torch_backend::resized_crop()";
  const torch::Tensor x = to_unit_float(images);
  if (static_cast<std::int64_t>(boxes.size()) != x.size(0))
    throw InvalidArgument(fmt::format("{}: one box per image: {} boxes for {} images", where, boxes.size(), x.size(0)));
  if (size < 1) throw InvalidArgument(fmt::format("{}: size must be positive, got {}", where, size));
  if (x.size(0) == 0) return x.new_empty({0, x.size(1), size, size});
  const double h = static_cast<double>(x.size(2)), w = static_cast<double>(x.size(3));
  // With align_corners = false, output pixel k sits at u = (2k + 1)/size − 1 and input pixel x at
  // (2x + 1)/W − 1; sampling the box's pixel centres left + (k + ½)·width/size − ½ gives
  // u_in = (width/W)·u_out + (2·left + width)/W − 1, and likewise for rows.
  torch::Tensor theta = torch::zeros({x.size(0), 2, 3}, torch::kFloat64);
  auto t = theta.accessor<double, 3>();
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const auto& b = boxes[i];
    if (!(b.width > 0 && b.height > 0))
      throw InvalidArgument(fmt::format("{}: box {} has size {}×{}; both must be positive", where, i, b.width, b.height));
    const auto n = static_cast<std::int64_t>(i);
    t[n][0][0] = b.width / w;
    t[n][0][2] = (2.0 * b.left + b.width) / w - 1.0;
    t[n][1][1] = b.height / h;
    t[n][1][2] = (2.0 * b.top + b.height) / h - 1.0;
  }
  namespace F = torch::nn::functional;
  const torch::Tensor grid = F::affine_grid(theta.to(x.device(), torch::kFloat32), {x.size(0), x.size(1), size, size}, /*align_corners=*/false);
  return F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

/// torchvision's RandomResizedCrop.get_params for every image: up to 10 draws of an area fraction
/// in `scale` and a log-uniform ratio in `ratio` until the box fits, else the central crop with the
/// ratio clamped. Boxes are whole pixels.
inline std::vector<CropBox> random_crop_boxes(std::int64_t n, std::int64_t height, std::int64_t width, std::array<double, 2> scale,
                                              std::array<double, 2> ratio, torch::Generator& gen) {
  constexpr int attempts = 10;
  const torch::Tensor u = detail::uniforms(gen, n, 4 * attempts);
  const auto a = u.accessor<double, 2>();
  const double area = static_cast<double>(height * width), log_r0 = std::log(ratio[0]), log_r1 = std::log(ratio[1]);
  std::vector<CropBox> boxes(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    auto& box = boxes[static_cast<std::size_t>(i)];
    bool found = false;
    for (int k = 0; k < attempts && !found; ++k) {
      const double target = area * (scale[0] + (scale[1] - scale[0]) * a[i][4 * k]);
      const double aspect = std::exp(log_r0 + (log_r1 - log_r0) * a[i][4 * k + 1]);
      const auto w = static_cast<std::int64_t>(std::llround(std::sqrt(target * aspect)));
      const auto h = static_cast<std::int64_t>(std::llround(std::sqrt(target / aspect)));
      if (0 < w && w <= width && 0 < h && h <= height) {
        const auto top = std::min(static_cast<std::int64_t>(a[i][4 * k + 2] * static_cast<double>(height - h + 1)), height - h);
        const auto left = std::min(static_cast<std::int64_t>(a[i][4 * k + 3] * static_cast<double>(width - w + 1)), width - w);
        box = {static_cast<double>(left), static_cast<double>(top), static_cast<double>(w), static_cast<double>(h)};
        found = true;
      }
    }
    if (!found) {
      const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
      double w = static_cast<double>(width), h = static_cast<double>(height);
      if (in_ratio < ratio[0])
        h = std::round(w / ratio[0]);
      else if (in_ratio > ratio[1])
        w = std::round(h * ratio[1]);
      box = {std::floor((static_cast<double>(width) - w) / 2), std::floor((static_cast<double>(height) - h) / 2), w, h};
    }
  }
  return boxes;
}

/// Random resized crop of every image to size×size (boxes from random_crop_boxes).
inline torch::Tensor random_resized_crop(const torch::Tensor& images, std::int64_t size, std::array<double, 2> scale,
                                         std::array<double, 2> ratio, torch::Generator& gen) {
  constexpr std::string_view where = "faunae::torch_backend::random_resized_crop()";
  detail::check_images(images, where);
  detail::check_generator(gen, where);
  if (!(scale[0] > 0.0 && scale[0] <= scale[1] && scale[1] <= 1.0))
    throw InvalidArgument(fmt::format("{}: scale must satisfy 0 < low <= high <= 1, got ({}, {})", where, scale[0], scale[1]));
  if (!(ratio[0] > 0.0 && ratio[0] <= ratio[1]))
    throw InvalidArgument(fmt::format("{}: ratio must satisfy 0 < low <= high, got ({}, {})", where, ratio[0], ratio[1]));
  return resized_crop(images, random_crop_boxes(images.size(0), images.size(2), images.size(3), scale, ratio, gen), size);
}

/// Mirrors (left ↔ right) the images whose entry of `mask` (bool, N, any device) is true.
inline torch::Tensor horizontal_flip(const torch::Tensor& images, const torch::Tensor& mask) {
  const torch::Tensor x = to_unit_float(images);
  if (!mask.defined() || mask.dim() != 1 || mask.size(0) != x.size(0) || mask.scalar_type() != torch::kBool)
    throw InvalidArgument(fmt::format("faunae::torch_backend::horizontal_flip(): mask must be a bool tensor of {} entries, got shape {}",
                                      x.size(0), mask.defined() ? mask.sizes().vec() : std::vector<std::int64_t>{}));
  return torch::where(mask.to(x.device()).view({-1, 1, 1, 1}), x.flip({3}), x);
}

inline torch::Tensor random_horizontal_flip(const torch::Tensor& images, double p, torch::Generator& gen) {
  constexpr std::string_view where = "faunae::torch_backend::random_horizontal_flip()";
  detail::check_images(images, where);
  detail::check_generator(gen, where);
  detail::check_probability(p, where);
  return horizontal_flip(images, detail::uniforms(gen, images.size(0), 1).select(1, 0) < p);
}

/// Luma (0.299 R + 0.587 G + 0.114 B) in every channel: the shape is kept, as RandomGrayscale does.
/// Gray (1-channel) images are returned as they are.
inline torch::Tensor grayscale(const torch::Tensor& images) {
  const torch::Tensor x = to_unit_float(images);
  detail::check_colour(x, "faunae::torch_backend::grayscale()");
  return detail::luma(x).expand_as(x).contiguous();
}

inline torch::Tensor random_grayscale(const torch::Tensor& images, double p, torch::Generator& gen) {
  constexpr std::string_view where = "faunae::torch_backend::random_grayscale()";
  detail::check_images(images, where);
  detail::check_generator(gen, where);
  detail::check_probability(p, where);
  const auto rows = detail::chosen(detail::uniforms(gen, images.size(0), 1), 0, p);
  const torch::Tensor x = to_unit_float(images);
  if (x.size(1) == 1) return x;
  return detail::apply_to_rows(x, rows, [](const torch::Tensor& sub, const auto&) { return grayscale(sub); });
}

// --- colour jitter (torchvision's adjust_* on float images in [0, 1]) ---------------------------

namespace detail {

inline torch::Tensor factors_of(const torch::Tensor& factor, const torch::Tensor& x, std::string_view where) {
  if (!factor.defined() || factor.numel() != x.size(0))
    throw InvalidArgument(fmt::format("{}: one factor per image: {} factors for {} images", where, factor.defined() ? factor.numel() : 0,
                                      x.size(0)));
  return factor.to(x.device(), torch::kFloat32).reshape({-1, 1, 1, 1});
}

/// RGB → HSV as torchvision's _rgb2hsv: N×3×H×W with h in [0, 1).
inline torch::Tensor rgb_to_hsv(const torch::Tensor& x) {
  const auto r = x.select(1, 0), g = x.select(1, 1), b = x.select(1, 2);
  const auto maxc = std::get<0>(x.max(1)), minc = std::get<0>(x.min(1));
  const auto equal = maxc == minc;
  const auto cr = maxc - minc;
  const auto ones = torch::ones_like(maxc);
  const auto s = cr / torch::where(equal, ones, maxc);
  const auto divisor = torch::where(equal, ones, cr);
  const auto rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor;
  const auto hr = (maxc == r).to(x.scalar_type()) * (bc - gc);
  const auto hg = ((maxc == g) & (maxc != r)).to(x.scalar_type()) * (2.0 + rc - bc);
  const auto hb = ((maxc != g) & (maxc != r)).to(x.scalar_type()) * (4.0 + gc - rc);
  const auto h = torch::remainder((hr + hg + hb) / 6.0 + 1.0, 1.0);
  return torch::stack({h, s, maxc}, 1);
}

/// HSV → RGB as torchvision's _hsv2rgb.
inline torch::Tensor hsv_to_rgb(const torch::Tensor& hsv) {
  const auto h = hsv.select(1, 0), s = hsv.select(1, 1), v = hsv.select(1, 2);
  const auto i = torch::floor(h * 6.0);
  const auto f = h * 6.0 - i;
  const auto sector = torch::remainder(i, 6.0).to(torch::kInt64).unsqueeze(1);
  const auto p = (v * (1.0 - s)).clamp(0.0, 1.0);
  const auto q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
  const auto t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
  const auto channel = [&](std::initializer_list<torch::Tensor> by_sector) {
    return torch::stack(std::vector<torch::Tensor>(by_sector), 1).gather(1, sector);
  };
  return torch::cat({channel({v, q, p, p, t, v}), channel({t, v, v, q, p, p}), channel({p, p, t, v, v, q})}, 1);
}

}  // namespace detail

/// x · factor, clamped to [0, 1]; one factor per image.
inline torch::Tensor adjust_brightness(const torch::Tensor& images, const torch::Tensor& factor) {
  const torch::Tensor x = to_unit_float(images);
  return (x * detail::factors_of(factor, x, "faunae::torch_backend::adjust_brightness()")).clamp(0.0, 1.0);
}

/// Blend with the image's mean luma: factor · x + (1 − factor) · mean, clamped to [0, 1].
inline torch::Tensor adjust_contrast(const torch::Tensor& images, const torch::Tensor& factor) {
  const torch::Tensor x = to_unit_float(images);
  detail::check_colour(x, "faunae::torch_backend::adjust_contrast()");
  const auto f = detail::factors_of(factor, x, "faunae::torch_backend::adjust_contrast()");
  const auto mean = detail::luma(x).mean({1, 2, 3}, /*keepdim=*/true);
  return (f * x + (1.0 - f) * mean).clamp(0.0, 1.0);
}

/// Blend with the image's luma, pixel by pixel: factor · x + (1 − factor) · luma(x), clamped.
/// Gray images are returned as they are.
inline torch::Tensor adjust_saturation(const torch::Tensor& images, const torch::Tensor& factor) {
  const torch::Tensor x = to_unit_float(images);
  detail::check_colour(x, "faunae::torch_backend::adjust_saturation()");
  const auto f = detail::factors_of(factor, x, "faunae::torch_backend::adjust_saturation()");
  if (x.size(1) == 1) return x;
  return (f * x + (1.0 - f) * detail::luma(x)).clamp(0.0, 1.0);
}

/// Shifts the hue by factor ∈ [−0.5, 0.5] turns (through HSV). Gray images are returned as they are.
inline torch::Tensor adjust_hue(const torch::Tensor& images, const torch::Tensor& factor) {
  const torch::Tensor x = to_unit_float(images);
  detail::check_colour(x, "faunae::torch_backend::adjust_hue()");
  const auto f = detail::factors_of(factor, x, "faunae::torch_backend::adjust_hue()");
  if (x.size(1) == 1) return x;
  auto hsv = detail::rgb_to_hsv(x);
  const auto h = torch::remainder(hsv.select(1, 0).unsqueeze(1) + f, 1.0);
  return detail::hsv_to_rgb(torch::cat({h, hsv.narrow(1, 1, 2)}, 1));
}

/// RandomApply(ColorJitter(brightness, contrast, saturation, hue), p = jitter_p) of `o`: each chosen
/// image gets its own factors and its own order of the four adjustments (as torchvision draws them
/// per image). Adjustments whose strength is 0 are not run.
inline torch::Tensor color_jitter(const torch::Tensor& images, const AugmentOptions& o, torch::Generator& gen) {
  constexpr std::string_view where = "faunae::torch_backend::color_jitter()";
  detail::check_images(images, where);
  detail::check_generator(gen, where);
  o.check(where);
  const std::int64_t n = images.size(0);
  const torch::Tensor u = detail::uniforms(gen, n, 9);  // apply, 4 factors, 4 keys of the order
  const auto a = u.accessor<double, 2>();
  const std::array<double, 4> strength{o.brightness, o.contrast, o.saturation, o.hue};
  std::array<std::vector<double>, 4> factor;
  for (std::int64_t i = 0; i < n; ++i)
    for (int k = 0; k < 4; ++k) {
      const double lo = k == 3 ? -o.hue : std::max(0.0, 1.0 - strength[k]), hi = k == 3 ? o.hue : 1.0 + strength[k];
      factor[k].push_back(lo + (hi - lo) * a[i][1 + k]);
    }
  torch::Tensor x = to_unit_float(images);
  detail::check_colour(x, where);
  // rows[step][op]: the images whose step-th adjustment is op.
  std::array<std::array<std::vector<std::int64_t>, 4>, 4> rows;
  for (std::int64_t i : detail::chosen(u, 0, o.jitter_p)) {
    std::array<int, 4> order{0, 1, 2, 3};
    std::sort(order.begin(), order.end(), [&](int l, int r) { return a[i][5 + l] < a[i][5 + r]; });
    for (int step = 0; step < 4; ++step) rows[step][order[step]].push_back(i);
  }
  using Adjust = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&);
  const std::array<Adjust, 4> adjust{adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue};
  for (int step = 0; step < 4; ++step)
    for (int op = 0; op < 4; ++op) {
      if (strength[op] == 0.0 || (op >= 2 && x.size(1) == 1)) continue;
      x = detail::apply_to_rows(x, rows[step][op], [&](const torch::Tensor& sub, const std::vector<std::int64_t>& r) {
        return adjust[op](sub, torch::tensor(detail::pick(factor[op], r), torch::kFloat32));
      });
    }
  return x;
}

// --- Gaussian blur ------------------------------------------------------------------------------

/// Blurs image i with a Gaussian of standard deviation sigma[i] pixels: a separable depth-wise
/// convolution (one group per image and channel) with kernels of radius `radius` (default
/// ⌈3 max σ⌉, at most min(H, W) − 1), normalised to sum 1, reflecting at the borders — so a
/// constant image stays constant.
inline torch::Tensor gaussian_blur(const torch::Tensor& images, const std::vector<double>& sigma, std::int64_t radius = -1) {
  constexpr std::string_view where = "faunae::torch_backend::gaussian_blur()";
  const torch::Tensor x = to_unit_float(images);
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (static_cast<std::int64_t>(sigma.size()) != n)
    throw InvalidArgument(fmt::format("{}: one sigma per image: {} for {} images", where, sigma.size(), n));
  if (n == 0) return x;
  for (double s : sigma)
    if (!(s > 0.0 && std::isfinite(s))) throw InvalidArgument(fmt::format("{}: sigma must be positive, got {}", where, s));
  if (radius < 0) radius = static_cast<std::int64_t>(std::ceil(3.0 * *std::max_element(sigma.begin(), sigma.end())));
  radius = std::min({radius, h - 1, w - 1});
  if (radius == 0) return x;
  const std::int64_t k = 2 * radius + 1;
  torch::Tensor kernels = torch::empty({n, k}, torch::kFloat64);
  auto kk = kernels.accessor<double, 2>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double s = sigma[static_cast<std::size_t>(i)];
    double total = 0.0;
    for (std::int64_t j = 0; j < k; ++j) total += kk[i][j] = std::exp(-0.5 * std::pow(static_cast<double>(j - radius) / s, 2));
    for (std::int64_t j = 0; j < k; ++j) kk[i][j] /= total;
  }
  const auto weight = kernels.to(x.device(), torch::kFloat32).repeat_interleave(c, 0);  // (n·c)×k, image-major as x's channels
  namespace F = torch::nn::functional;
  auto y = x.reshape({1, n * c, h, w});
  y = F::pad(y, F::PadFuncOptions({radius, radius, 0, 0}).mode(torch::kReflect));
  y = F::conv2d(y, weight.view({n * c, 1, 1, k}), F::Conv2dFuncOptions().groups(n * c));
  y = F::pad(y, F::PadFuncOptions({0, 0, radius, radius}).mode(torch::kReflect));
  y = F::conv2d(y, weight.view({n * c, 1, k, 1}), F::Conv2dFuncOptions().groups(n * c));
  return y.view({n, c, h, w});
}

/// RandomApply(GaussianBlur, p): σ uniform in `sigma`; the radius is ⌈3 · sigma[1]⌉ for the batch.
inline torch::Tensor random_gaussian_blur(const torch::Tensor& images, std::array<double, 2> sigma, double p, torch::Generator& gen) {
  constexpr std::string_view where = "faunae::torch_backend::random_gaussian_blur()";
  detail::check_images(images, where);
  detail::check_generator(gen, where);
  detail::check_probability(p, where);
  if (!(sigma[0] > 0.0 && sigma[0] <= sigma[1] && std::isfinite(sigma[1])))
    throw InvalidArgument(fmt::format("{}: sigma must satisfy 0 < low <= high, got ({}, {})", where, sigma[0], sigma[1]));
  const torch::Tensor u = detail::uniforms(gen, images.size(0), 2);  // apply, sigma
  const auto a = u.accessor<double, 2>();
  std::vector<double> all(static_cast<std::size_t>(images.size(0)));
  for (std::int64_t i = 0; i < images.size(0); ++i) all[static_cast<std::size_t>(i)] = sigma[0] + (sigma[1] - sigma[0]) * a[i][1];
  const auto radius = static_cast<std::int64_t>(std::ceil(3.0 * sigma[1]));
  return detail::apply_to_rows(to_unit_float(images), detail::chosen(u, 0, p), [&](const torch::Tensor& sub, const auto& rows) {
    return gaussian_blur(sub, detail::pick(all, rows), radius);
  });
}

// --- the recipe -------------------------------------------------------------------------------

/// (x − mean) / stddev per channel (one entry per channel).
inline torch::Tensor normalize(const torch::Tensor& images, const std::vector<double>& mean, const std::vector<double>& stddev) {
  const torch::Tensor x = to_unit_float(images);
  if (static_cast<std::int64_t>(mean.size()) != x.size(1) || static_cast<std::int64_t>(stddev.size()) != x.size(1))
    throw InvalidArgument(fmt::format("faunae::torch_backend::normalize(): {} channels need {} means and stddevs, got {} and {}", x.size(1),
                                      x.size(1), mean.size(), stddev.size()));
  const auto m = torch::tensor(mean, torch::kFloat32).view({1, -1, 1, 1}).to(x.device());
  const auto s = torch::tensor(stddev, torch::kFloat32).view({1, -1, 1, 1}).to(x.device());
  return (x - m) / s;
}

/// MoCo v2's recipe (top of this file) with the options `o`, its randomness from `gen`: crop → jitter
/// → grayscale → blur → flip → normalise. Two calls give the two views of a batch. With
/// `normalise = false`, the output stays in [0, 1] (for inspection and tests).
inline torch::Tensor augment(const torch::Tensor& images, const AugmentOptions& o, torch::Generator& gen, bool normalise = true) {
  constexpr std::string_view where = "faunae::torch_backend::augment()";
  detail::check_images(images, where);
  detail::check_generator(gen, where);
  o.check(where);
  if (normalise && static_cast<std::int64_t>(o.mean.size()) != images.size(1))
    throw InvalidArgument(fmt::format("{}: the images have {} channels but AugmentOptions::mean and stddev have {} entries", where,
                                      images.size(1), o.mean.size()));
  auto y = random_resized_crop(images, o.output_size, o.scale, o.ratio, gen);
  y = color_jitter(y, o, gen);
  y = random_grayscale(y, o.grayscale_p, gen);
  y = random_gaussian_blur(y, o.blur_sigma, o.blur_p, gen);
  y = random_horizontal_flip(y, o.flip_p, gen).clamp(0.0, 1.0);
  return normalise ? normalize(y, o.mean, o.stddev) : y;
}

}  // namespace faunae::torch_backend

// Stem: the input formats of the torch backend (which stem a supernet builds, which augmentation
// recipe the data gets). Its own header, so that augment.hpp need not include a search space.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "faunae/core/error.hpp"
#include "faunae/core/options_reader.hpp"

namespace faunae::torch_backend {

/// Input formats and their stems.
enum class Stem {
  gray28,      ///< 1×28×28 (Fashion-MNIST): 3×3 conv, stride 1
  color32,     ///< 3×32×32 (CIFAR-10): 3×3 conv, stride 1
  imagenet224  ///< 3×224×224: 7×7 conv stride 2, 3×3 max pool stride 2 (ResNet's)
};

/// The channels of a stem's input images: 1 for gray28, 3 for the colour stems.
constexpr std::int64_t stem_channels(Stem stem) noexcept { return stem == Stem::gray28 ? 1 : 3; }

/// The stems' names, in the enum's order.
inline constexpr std::array<std::string_view, 3> kStems = {"gray28", "color32", "imagenet224"};

}  // namespace faunae::torch_backend

namespace faunae {
/// A stem in options' JSON: gray28, color32 or imagenet224.
template <>
struct OptionCodec<torch_backend::Stem> {
  static torch_backend::Stem from_json(const nlohmann::json& v, std::string_view key) {
    for (std::size_t i = 0; i < torch_backend::kStems.size(); ++i)
      if (v.is_string() && v.get<std::string>() == torch_backend::kStems[i]) return static_cast<torch_backend::Stem>(i);
    throw InvalidArgument(fmt::format("'{}' must be one of {}, got {}", key, fmt::join(torch_backend::kStems, ", "), v.dump()));
  }
  static nlohmann::json to_json(torch_backend::Stem s) { return std::string(torch_backend::kStems.at(static_cast<std::size_t>(s))); }
};
}  // namespace faunae

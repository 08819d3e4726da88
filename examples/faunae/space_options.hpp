// The configuration's networks (config.hpp's "space" and "data") as the torch backend's options: the
// stem the data decides, and the options of the ResNet-block and DARTS supernets. Shared by the program
// (main.cpp) and the test that writes reference networks as `faunae export` does
// (tests/python/export_reference.cpp).
#pragma once

#include <cstdint>
#include <type_traits>

#include <fmt/format.h>

#include <faunae/core/error.hpp>
#include <faunae/torch.hpp>

#include "config.hpp"

namespace faunae::program {

namespace ft = faunae::torch_backend;

/// The stem of the configuration's images: Fashion-MNIST and CIFAR-10 decide it, a folder's channels
/// and size choose it.
inline ft::Stem stem_of(const Config& c) {
  if (c.data.kind == "fashion-mnist") return ft::Stem::gray28;
  if (c.data.kind == "cifar10") return ft::Stem::color32;
  if (c.data.channels == 1 && c.data.size == 28) return ft::Stem::gray28;
  if (c.data.channels == 3 && c.data.size == 32) return ft::Stem::color32;
  if (c.data.channels == 3 && c.data.size == 224) return ft::Stem::imagenet224;
  throw faunae::InvalidArgument(fmt::format("config: a folder of {}-channel {}×{} images has no stem; use channels 1 with size 28, "
                                            "or channels 3 with size 32 or 224",
                                            c.data.channels, c.data.size, c.data.size));
}

inline ft::ResNetSpaceOptions resnet_options(const Config& c) {
  ft::ResNetSpaceOptions o;
  o.stem = stem_of(c);
  o.blocks_per_stage = c.space.blocks_per_stage;
  o.width = c.space.width;
  o.ops = c.space.ops;
  return o;
}

/// The image channels and side length a stem takes.
inline std::int64_t input_channels(ft::Stem stem) { return stem == ft::Stem::gray28 ? 1 : 3; }
inline std::int64_t input_size(ft::Stem stem) { return stem == ft::Stem::gray28 ? 28 : stem == ft::Stem::color32 ? 32 : 224; }

inline ft::DartsSpaceOptions darts_options(const Config& c) {
  ft::DartsSpaceOptions o;
  const auto stem = stem_of(c);
  o.layers = c.space.darts_layers;
  o.channels = c.space.darts_channels;
  o.in_channels = input_channels(stem);
  o.input_size = input_size(stem);
  return o;
}

/// The space options of the configuration for Net: overloads by the supernet type (ft::Supernet).
inline ft::ResNetSpaceOptions space_options(const Config& c, std::type_identity<ft::ResNetSupernet>) { return resnet_options(c); }
inline ft::DartsSpaceOptions space_options(const Config& c, std::type_identity<ft::DartsSupernet>) { return darts_options(c); }
template <ft::Supernet Net>
ft::SupernetOptions<Net> options_of(const Config& c) {
  return space_options(c, std::type_identity<Net>{});
}

}  // namespace faunae::program

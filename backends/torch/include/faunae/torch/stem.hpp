// Stem: the input formats of the torch backend (which stem a supernet builds, which augmentation
// recipe the data gets). Its own header, so that augment.hpp need not include a search space.
#pragma once

namespace faunae::torch_backend {

/// Input formats and their stems.
enum class Stem {
  gray28,      ///< 1×28×28 (Fashion-MNIST): 3×3 conv, stride 1
  color32,     ///< 3×32×32 (CIFAR-10): 3×3 conv, stride 1
  imagenet224  ///< 3×224×224: 7×7 conv stride 2, 3×3 max pool stride 2 (ResNet's)
};

}  // namespace faunae::torch_backend

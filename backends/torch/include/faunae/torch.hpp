// faunae::torch: the LibTorch backend (single-path supernet, candidate ops, export).
#pragma once

#include "faunae/torch/contrastive.hpp"
#include "faunae/torch/darts_space.hpp"
#include "faunae/torch/export.hpp"
#include "faunae/torch/ops.hpp"
#include "faunae/torch/resnet_space.hpp"

// faunae::torch: the LibTorch backend (single-path supernet, candidate ops, export).
#pragma once

#include "faunae/torch/augment.hpp"
#include "faunae/torch/collective.hpp"
#include "faunae/torch/contrastive.hpp"
#include "faunae/torch/contrastive_evaluator.hpp"
#include "faunae/torch/data.hpp"
#include "faunae/torch/device.hpp"
#include "faunae/torch/error_text.hpp"
#include "faunae/torch/evaluation.hpp"
#include "faunae/torch/darts_space.hpp"
#include "faunae/torch/export.hpp"
#include "faunae/torch/moco.hpp"
#include "faunae/torch/ops.hpp"
#include "faunae/torch/resnet_space.hpp"
#include "faunae/torch/standalone.hpp"
#include "faunae/torch/supernet.hpp"
#include "faunae/torch/zero_cost.hpp"

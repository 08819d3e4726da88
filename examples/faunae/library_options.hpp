// The configuration (config.hpp) as the torch backend's options, written once: the networks ("space"
// and "data": the stem the data decides, the ResNet-block and DARTS supernets' options), the search's
// evaluator, the final training and the linear probe. check_library_options() checks them all with
// the options' own check(), so a bad value is refused before a command touches the run folder. Shared
// by the program's commands and the test that writes reference networks as `faunae export` does
// (tests/python/export_reference.cpp).
#pragma once

#include <cstdint>
#include <type_traits>

#include <fmt/format.h>

#include <faunae/core/error.hpp>
#include <faunae/core/rng.hpp>
#include <faunae/torch.hpp>
#include <faunae/torch/evaluation.hpp>

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

/// The image side length a stem takes.
inline std::int64_t input_size(ft::Stem stem) { return stem == ft::Stem::gray28 ? 28 : stem == ft::Stem::color32 ? 32 : 224; }

inline ft::DartsSpaceOptions darts_options(const Config& c) {
  ft::DartsSpaceOptions o;
  const auto stem = stem_of(c);
  o.layers = c.space.darts_layers;
  o.channels = c.space.darts_channels;
  o.in_channels = ft::stem_channels(stem);
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

/// The contrastive recipe of a configuration section (search or train) in library options
/// (ContrastiveEvaluatorOptions, MocoOptions): the fields the two sections and the two structs share,
/// and the run's device and precision.
template <class Options, class Section>
void set_contrastive_recipe(Options& o, const Section& s, const Config& c) {
  o.batch_size = s.batch_size;
  o.queue_size = s.queue_size;
  o.lr = s.lr;
  o.m = s.m;
  o.head_hidden = s.head_hidden;
  o.head_out = s.head_out;
  o.device = ft::parse_device(c.device);
  o.precision = ft::parse_precision(c.precision);
}

/// search.evaluator = contrastive: the evaluator's options (the search sets state_directory).
inline ft::ContrastiveEvaluatorOptions contrastive_evaluator_options(const Config& c) {
  ft::ContrastiveEvaluatorOptions o;
  set_contrastive_recipe(o, c.search, c);
  o.steps = c.search.steps;
  o.shuffle_groups = c.search.shuffle_groups;
  o.momentum = c.search.momentum;
  o.weight_decay = c.search.weight_decay;
  o.tau = c.search.tau;
  o.seed = faunae::stream_seed(c.seed, "program.evaluator");
  o.validation_batch_size = 256;
  return o;
}

/// search.evaluator = a zero-cost proxy: each α's untrained network, initialised from the seed, scored
/// on a fixed minibatch of search.batch_size training images (naswot, snip).
inline ft::ZeroCostOptions zero_cost_options(const Config& c) {
  ft::ZeroCostOptions o;
  o.proxy = ft::parse_zero_cost_proxy(c.search.evaluator);
  o.seed = faunae::stream_seed(c.seed, "program.zero_cost");
  o.batch_size = c.search.batch_size;
  o.tau = c.search.tau;
  o.device = ft::parse_device(c.device);
  return o;
}

static_assert(kRotationScores == ft::kRotationScores, "search.rotation_score takes RotationScore's names");

/// search.evaluator = rotation: a fresh network per α, initialised from the seed, trained
/// search.rotation_steps steps of search.rotation_batch_size rotated images at search.rotation_lr
/// (RotationEvaluator's SGD), shrunk by search.rotation_downsample, scored by search.rotation_score,
/// averaged over search.rotation_repeats fresh networks.
inline ft::RotationEvaluatorOptions rotation_evaluator_options(const Config& c) {
  ft::RotationEvaluatorOptions o;
  o.steps = c.search.rotation_steps;
  o.batch_size = c.search.rotation_batch_size;
  o.lr = c.search.rotation_lr;
  o.downsample = c.search.rotation_downsample;
  o.repeats = c.search.rotation_repeats;
  o.score = ft::parse_rotation_score(c.search.rotation_score);  // one of kRotationScores (SearchConfig::check)
  o.seed = faunae::stream_seed(c.seed, "program.rotation");
  return o;
}

/// `faunae train`: the recipe of the final unsupervised training.
inline ft::MocoOptions train_options(const Config& c) {
  ft::MocoOptions o;
  set_contrastive_recipe(o, c.train, c);
  o.seed = faunae::stream_seed(c.seed, "program.train");
  return o;
}

/// `faunae probe`: the linear classifier (MoCo's protocol: lr steps at 60% and 80% of the epochs).
inline ft::LinearEvalOptions linear_probe_options(const Config& c) {
  ft::LinearEvalOptions o;
  o.epochs = c.probe.epochs;
  o.lr = c.probe.lr;
  o.milestones = {c.probe.epochs * 6 / 10, c.probe.epochs * 8 / 10};
  o.standardize = c.probe.standardize;
  o.seed = faunae::stream_seed(c.seed, "program.probe");
  return o;
}

/// Checks every option the configuration gives the torch backend with that option's own check(): the
/// message names the section, the options struct, the option and the value, e.g. "config 'search'
/// (ContrastiveEvaluatorOptions): MocoOptions::tau must be positive and finite, got -1".
inline void check_library_options(const Config& c) {
  if (c.space.kind == "darts") darts_options(c).check("config 'space' (DartsSpaceOptions: layers = darts_layers, channels = darts_channels)");
  else resnet_options(c).check("config 'space' (ResNetSpaceOptions)");
  if (c.search.evaluator == "contrastive") {
    contrastive_evaluator_options(c).check("config 'search' (ContrastiveEvaluatorOptions)");
  } else if (c.search.evaluator == "rotation") {
    if (c.space.kind != "resnet")
      throw faunae::InvalidArgument(fmt::format("config: search.evaluator = 'rotation' needs space.kind = 'resnet', got '{}'", c.space.kind));
    if (c.device.starts_with("cuda"))  // RotationEvaluator trains on the CPU: no silent fallback
      throw faunae::InvalidArgument(fmt::format("config: search.evaluator = 'rotation' runs on the CPU, got device = '{}'; use device = "
                                                "'cpu', or search.evaluator = 'contrastive' on the GPU",
                                                c.device));
    rotation_evaluator_options(c).check("config 'search' (RotationEvaluatorOptions: steps = rotation_steps, batch_size = rotation_batch_size, lr = rotation_lr, downsample = rotation_downsample, repeats = rotation_repeats)");
  } else {
    zero_cost_options(c).check("config 'search' (ZeroCostOptions)");
  }
  train_options(c).check("config 'train' (MocoOptions)");
  linear_probe_options(c).check("config 'probe' (LinearEvalOptions)");
}

}  // namespace faunae::program

// What the `faunae` program's commands share on the torch side: the images of the configuration, α0,
// the run's space (with search.max_params as a budget), the architectures that train and probe
// compare, and the dispatch from space.kind to the supernet type (ft::Supernet).
#pragma once

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <faunae/core/atomic_file.hpp>
#include <faunae/core/run_record.hpp>
#include <faunae/faunae.hpp>
#include <faunae/torch.hpp>

#include "config.hpp"
#include "library_options.hpp"

namespace faunae::program {

namespace ft = faunae::torch_backend;
using faunae::Architecture;

// --- data -------------------------------------------------------------------------------------------

/// The training images of the configuration (the first data.images).
inline ft::ImageDataset load_training_images(const Config& c) {
  ft::ImageDataset d;
  if (c.data.kind == "fashion-mnist") d = ft::load_fashion_mnist(c.data.path, /*train=*/true);
  else if (c.data.kind == "cifar10") d = ft::load_cifar10(c.data.path, /*train=*/true);
  else d = ft::load_image_folder(c.data.path, c.data.channels, c.data.size);
  if (c.data.images > 0 && c.data.images < d.size()) d = ft::take(d, c.data.images);
  return d;
}

/// The labelled test images of the configuration (the first data.test_images); none for a folder.
inline std::optional<ft::ImageDataset> load_test_images(const Config& c) {
  if (c.data.kind == "folder") return std::nullopt;  // a folder has no labels
  auto d = c.data.kind == "fashion-mnist" ? ft::load_fashion_mnist(c.data.path, false) : ft::load_cifar10(c.data.path, false);
  if (c.data.test_images > 0 && c.data.test_images < d.size()) d = ft::take(d, c.data.test_images);
  return d;
}

/// The images alone: what the search and the unsupervised training may see.
inline ft::ImageDataset without_labels(ft::ImageDataset d) {
  d.labels = torch::Tensor();
  return d;
}

/// The plain network of a space: conv3 in every ResNet block (the first non-identity op where conv3
/// is not offered), sep_conv_3x3 on every DARTS edge.
inline Architecture plain_architecture(const ft::ResNetSupernet& supernet) {
  Architecture a(std::vector<faunae::OpIndex>(supernet->num_blocks(), 0));
  for (std::size_t b = 0; b < a.size(); ++b) {
    const auto& names = supernet->op_names(b);
    const auto conv3 = std::find(names.begin(), names.end(), "conv3");
    const auto first = std::find_if(names.begin(), names.end(), [](const std::string& n) { return n != "identity"; });
    a[b] = static_cast<faunae::OpIndex>((conv3 != names.end() ? conv3 : first) - names.begin());
  }
  return a;
}
inline Architecture plain_architecture(const ft::DartsSupernet&) {
  const auto& ops = ft::darts_ops();
  const auto k = static_cast<faunae::OpIndex>(std::find(ops.begin(), ops.end(), "sep_conv_3x3") - ops.begin());
  return Architecture(std::vector<faunae::OpIndex>(2 * ft::darts_edges().size(), k));
}

/// α0 of the configuration: plain (the space's plain network), resnet50, random, or a JSON file.
template <ft::Supernet Net>
Architecture initial_architecture(const Config& c, const Net& supernet) {
  const auto any = supernet->space(plain_architecture(supernet));
  if (c.initial == "plain") return plain_architecture(supernet);
  if (c.initial == "resnet50") {
    if constexpr (requires { supernet->resnet50(); }) return supernet->resnet50();  // a space that has ResNet-50
    throw faunae::InvalidArgument("config: 'initial' = resnet50 needs space.kind = resnet");
  }
  if (c.initial == "random") {
    faunae::Rng rng(faunae::stream_seed(c.seed, "program.initial"));
    try {
      return faunae::random_architecture(any, rng);
    } catch (const faunae::InvalidArgument& e) {
      throw faunae::InvalidArgument(fmt::format("config: initial = random: {}", e.what()));
    }
  }
  const auto text = faunae::read_file(c.initial, fmt::format("config: 'initial' = '{}'", c.initial),
                                      faunae::architecture_file_limit(any.num_blocks()));
  try {
    return faunae::architecture_from_json(any, nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    throw faunae::InvalidArgument(fmt::format("config: 'initial' = '{}' is not an architecture JSON: {}", c.initial, e.what()));
  }
}

// --- architectures ----------------------------------------------------------------------------------

/// An architecture's summary for the run record: its ops, parameters and FLOPs in `net`'s space.
template <ft::Supernet Net>
faunae::ArchitectureSummary architecture_summary(const Net& net, const Architecture& a) {
  return {a, static_cast<double>(net->parameters(a)), static_cast<double>(net->flops(a))};
}

/// The space of the run: the supernet's blocks and ops, α0, and search.max_params as a model-size
/// budget on Σ of the ops' parameters (the network's parameters minus the fixed stem and cell parts).
template <ft::Supernet Net>
faunae::BlockSpace run_space(const Config& c, const Net& net, const Architecture& alpha0) {
  const faunae::BlockSpace space = net->space(alpha0);
  const MaxParams& max_params = c.search.max_params;
  if (max_params.kind() == MaxParams::Kind::none) return space;
  // parameters(a) = fixed + Σ_b op_size(b, a_b): the op sizes are the blocks' parameter counts.
  const double fixed = static_cast<double>(net->parameters(alpha0)) - space.size_of(alpha0);
  const Architecture first(std::vector<faunae::OpIndex>(space.num_blocks(), 0));
  if (space.is_valid(first) && static_cast<double>(net->parameters(first)) - space.size_of(first) != fixed)
    throw std::logic_error("faunae: the space's op sizes do not add up to the network's parameters; search.max_params cannot be used");
  const double budget = max_params.kind() == MaxParams::Kind::alpha0 ? static_cast<double>(net->parameters(alpha0)) : max_params.count();
  if (budget < fixed)
    throw faunae::InvalidArgument(fmt::format("config: 'search.max_params' = {} is below the {} parameters that every network "
                                              "of this space has (stem and fixed parts)",
                                              max_params.to_string(), fixed));
  try {
    return space.with_max_size(budget - fixed);
  } catch (const faunae::InvalidArgument& e) {
    throw faunae::InvalidArgument(fmt::format("config: 'search.max_params' = {} ({} parameters): {}", max_params.to_string(),
                                              budget, e.what()));
  }
}

/// The architectures a run compares: evolved (found), alpha0, random (same space, uniform, seeded).
template <ft::Supernet Net>
std::vector<std::pair<std::string, Architecture>> compared_architectures(const Config& c, const std::filesystem::path& run,
                                                                         const Net& probe, const std::vector<std::string>& which) {
  const faunae::RunRecord record = faunae::read_run_record(run / "search.json", "faunae", "run `faunae search` first");
  // The random architecture obeys the same budget as the search (search.max_params).
  const auto space = run_space(c, probe, record.initial.architecture);
  std::vector<std::pair<std::string, Architecture>> out;
  for (const auto& name : which) {
    if (name == "evolved") out.emplace_back(name, record.found.architecture);
    else if (name == "alpha0") out.emplace_back(name, record.initial.architecture);
    else if (name == "random") {
      faunae::Rng rng(faunae::stream_seed(c.seed, "program.random_architecture"));
      try {
        out.emplace_back(name, faunae::random_architecture(space, rng));
      } catch (const faunae::InvalidArgument& e) {
        throw faunae::InvalidArgument(fmt::format("faunae: the random architecture: {}", e.what()));
      }
    } else {
      throw faunae::InvalidArgument(fmt::format("--which: '{}' is not one of evolved, alpha0, random", name));
    }
  }
  return out;
}

/// Calls f with a null handle of the configuration's supernet type (space.kind): f's body is the
/// command for that Net.
template <class F>
int with_space(const Config& c, F&& f) {
  if (c.space.kind == "darts") return f(ft::DartsSupernet(nullptr));
  return f(ft::ResNetSupernet(nullptr));
}

}  // namespace faunae::program

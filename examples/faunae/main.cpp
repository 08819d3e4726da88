// faunae: the paper's whole pipeline on unlabeled images, without writing C++ — and, for C++ users,
// the example of how the library's pieces fit:
//
//   search   evolve α0 on unlabeled images (Algorithm 1: FaunaeMutation + UcbElimination, scored by
//            the ContrastiveEvaluator, or by a zero-cost proxy: search.evaluator), checkpointed every
//            epoch, resumable (--resume); search.method picks a variant (faunae-ts, faunae-r) or a
//            baseline (random, rea, local) instead, all of them faunae::Search objects run by the
//            same run_search
//   train    final unsupervised training of the found architecture (and of α0 and a random one, at
//            the same budget, for comparison)
//   probe    linear evaluation and kNN accuracy of the trained networks (the labels' only use)
//   export   the trained weights (Python: torch.load) and the architecture JSON
//   report   one self-contained HTML page of the run
//   pipeline all of the above, in order (the README's demo)
//
// Everything of a run lives in its folder (--run DIR): config.json, checkpoint.json and evaluator/
// (search state), log.jsonl, search.json, weights/, train.json, probe.json, report.html.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <faunae/core/run_folder.hpp>
#include <faunae/faunae.hpp>
#include <faunae/torch.hpp>
#include <faunae/torch/evaluation.hpp>

#include "config.hpp"
#include "space_options.hpp"
#include "report.hpp"

namespace fs = std::filesystem;
namespace ft = faunae::torch_backend;
using faunae::Architecture;
using faunae::program::Config;
using faunae::program::options_of;
using faunae::program::stem_of;

namespace {

// --- Ctrl-C: finish the epoch, checkpoint, stop -------------------------------------------------

std::atomic<bool> interrupted{false};

struct StopOnSignal {
  bool on_epoch(const faunae::EpochRecord&, const faunae::SearchState&) const { return interrupted.load(); }
};

// --- the run folder: one run, one writer ----------------------------------------------------------
//
// Every command holds the folder's lock (faunae::RunFolderLock, `.lock`) while it runs, so a second
// process on the same folder stops at once. A run has an id (config.json's "run_id", 16 hex digits),
// copied into search.json, train.json and probe.json; train, probe, export and report refuse files of
// another run. A new search refuses a folder that holds a run: --resume continues it, --overwrite
// moves it aside to the sibling folder `<DIR>.replaced-<UTC time>` first (nothing is deleted).

/// The files that make a folder hold a run (".lock" alone does not).
constexpr std::array<std::string_view, 11> kRunFiles = {"config.json", "checkpoint.json", "evaluator", "log.jsonl", "search.json",
                                                        "found.json",  "weights",         "train.json", "probe.json", "report.html",
                                                        "checkpoint.json.tmp"};

/// The run id recorded in a run file's JSON ("" for files written before run ids existed).
std::string run_id_in(const nlohmann::json& j) {
  return j.is_object() && j.contains("run_id") && j["run_id"].is_string() ? j["run_id"].get<std::string>() : std::string();
}

/// The id of the run in `run` (config.json's "run_id"; "" if none or no config.json).
std::string folder_run_id(const fs::path& run) {
  try {
    if (fs::exists(run / "config.json")) return run_id_in(faunae::program::read_config_file(run / "config.json"));
  } catch (const std::exception&) {
  }
  return "";
}

/// What `run` holds, for the refusal of a new search: "" if no run, else e.g. "run 3f2a9c0d1e4b5a67:
/// a finished search of 19 epochs (search.json), checkpoint.json at epoch 19, train.json, probe.json".
std::string describe_run(const fs::path& run) {
  std::vector<std::string> parts;
  for (const auto name : kRunFiles) {
    const auto path = run / std::string(name);
    if (!fs::exists(path)) continue;
    std::string part(name);
    try {
      if (name == "search.json") {
        const auto j = faunae::read_json_file(path, "faunae");
        part = fmt::format("a {} search of {} epochs (search.json)", j.value("finished", false) ? "finished" : "stopped",
                           j.contains("history") ? j["history"].size() : 0);
      } else if (name == "checkpoint.json") {
        const auto j = faunae::read_json_file(path, "faunae");
        part = fmt::format("checkpoint.json at epoch {}", j.at("payload").at("state").at("epoch").dump());
      }
    } catch (const std::exception&) {
    }
    parts.push_back(part);
  }
  if (parts.empty()) return "";
  const std::string id = folder_run_id(run);
  return fmt::format("{}: {}", id.empty() ? std::string("a run") : "run " + id, fmt::join(parts, ", "));
}

/// Writes the run's config.json: the resolved configuration and the run's id.
void write_config(const fs::path& run, const Config& c, const std::string& run_id) {
  auto j = faunae::program::config_to_json(c);
  j["run_id"] = run_id;
  faunae::write_file_atomically(run / "config.json", j.dump(2) + "\n");
}

/// Refuses to go on when a file of `files` in `run` belongs to another run than the folder's
/// (config.json's `run_id`): `command` would mix two runs.
void check_same_run(const fs::path& run, const std::string& run_id, std::initializer_list<std::string_view> files, std::string_view command) {
  for (const auto name : files) {
    const auto path = run / std::string(name);
    if (!fs::exists(path)) continue;
    const std::string id = run_id_in(faunae::read_json_file(path, fmt::format("faunae {}", command)));
    if (id != run_id)
      throw faunae::InvalidArgument(fmt::format(
          "faunae {}: '{}' belongs to run {}, but the run folder '{}' holds run {} (config.json): its files come from two runs; "
          "start again with `faunae search --run {} --overwrite` (or restore the file)",
          command, path.string(), id.empty() ? std::string("<none>") : id, run.string(), run_id.empty() ? std::string("<none>") : run_id,
          run.string()));
  }
}

/// The sibling folder that --overwrite moves `run` to: `<run>.replaced-<UTC time>` (then -2, -3, ...
/// if that exists).
fs::path aside_folder(const fs::path& run) {
  fs::path base = fs::absolute(run).lexically_normal();
  if (base.filename().empty()) base = base.parent_path();
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  fs::path aside = base.parent_path() / fmt::format("{}.replaced-{}", base.filename().string(), stamp);
  for (int n = 2; fs::exists(aside); ++n) aside = base.parent_path() / fmt::format("{}.replaced-{}-{}", base.filename().string(), stamp, n);
  return aside;
}

// --- data -----------------------------------------------------------------------------------------


ft::ImageDataset load_training_images(const Config& c) {
  ft::ImageDataset d;
  if (c.data.kind == "fashion-mnist") d = ft::load_fashion_mnist(c.data.path, /*train=*/true);
  else if (c.data.kind == "cifar10") d = ft::load_cifar10(c.data.path, /*train=*/true);
  else d = ft::load_image_folder(c.data.path, c.data.channels, c.data.size);
  if (c.data.images > 0 && c.data.images < d.size()) d = ft::take(d, c.data.images);
  return d;
}

std::optional<ft::ImageDataset> load_test_images(const Config& c) {
  if (c.data.kind == "folder") return std::nullopt;  // a folder has no labels
  auto d = c.data.kind == "fashion-mnist" ? ft::load_fashion_mnist(c.data.path, false) : ft::load_cifar10(c.data.path, false);
  if (c.data.test_images > 0 && c.data.test_images < d.size()) d = ft::take(d, c.data.test_images);
  return d;
}

ft::ImageDataset without_labels(ft::ImageDataset d) {
  d.labels = torch::Tensor();
  return d;
}

/// The plain network of a space: conv3 in every ResNet block (the first non-identity op where conv3
/// is not offered), sep_conv_3x3 on every DARTS edge.
Architecture plain_architecture(const ft::ResNetSupernet& supernet) {
  Architecture a(std::vector<faunae::OpIndex>(supernet->num_blocks(), 0));
  for (std::size_t b = 0; b < a.size(); ++b) {
    const auto& names = supernet->op_names(b);
    const auto conv3 = std::find(names.begin(), names.end(), "conv3");
    const auto first = std::find_if(names.begin(), names.end(), [](const std::string& n) { return n != "identity"; });
    a[b] = static_cast<faunae::OpIndex>((conv3 != names.end() ? conv3 : first) - names.begin());
  }
  return a;
}
Architecture plain_architecture(const ft::DartsSupernet&) {
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

// --- search -------------------------------------------------------------------------------------

faunae::ArchitectureSummary architecture_summary(const auto& net, const Architecture& a) {
  return {a, static_cast<double>(net->parameters(a)), static_cast<double>(net->flops(a))};
}

/// The run record's space: the blocks of `space`, and for a DARTS space which block each cell edge is.
faunae::RunSpace run_record_space(const Config& c, const faunae::BlockSpace& space) {
  faunae::RunSpace out = faunae::RunSpace::of(space, c.space.kind);
  if (c.space.kind == "darts") {
    const auto& edges = ft::darts_edges();
    for (std::size_t e = 0; e < edges.size(); ++e) {
      out.normal_cell.push_back({static_cast<std::size_t>(edges[e].node), static_cast<std::size_t>(edges[e].from), e});
      out.reduction_cell.push_back({static_cast<std::size_t>(edges[e].node), static_cast<std::size_t>(edges[e].from), edges.size() + e});
    }
  }
  return out;
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

/// The space of the run: the supernet's blocks and ops, α0, and search.max_params as a model-size
/// budget on Σ of the ops' parameters (the network's parameters minus the fixed stem and cell parts).
template <ft::Supernet Net>
faunae::BlockSpace run_space(const Config& c, const Net& net, const Architecture& alpha0) {
  const faunae::BlockSpace space = net->space(alpha0);
  using faunae::program::MaxParams;
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

/// What run_search needs of the run besides the search and the evaluator.
struct SearchRun {
  const Config& c;
  fs::path run;
  bool resume = false, quiet = false;
  const faunae::BlockSpace& space;
  const Architecture& alpha0;
  std::size_t train_images = 0, validation_images = 0;
  std::chrono::steady_clock::time_point start;
  std::string run_id;  ///< config.json's, recorded in search.json
};

/// A checkpoint's payload (Search::to_json()), or null if the file cannot be read as one.
nlohmann::json checkpoint_payload(const fs::path& checkpoint) {
  try {
    return faunae::read_json_file(checkpoint, "faunae").at("payload");
  } catch (const std::exception&) {
    return nullptr;
  }
}

/// The search.method a checkpoint's policy configuration belongs to (the policies' names in
/// Search::to_json()["config"]), or "" if none.
std::string method_of_checkpoint(const nlohmann::json& payload) {
  try {
    const auto& config = payload.at("config");
    const auto policy = [&](const char* key) {
      return config.contains(key) ? config.at(key).value("policy", std::string()) : std::string();
    };
    const std::string mutation = policy("mutation"), elimination = policy("elimination"), acceptance = policy("acceptance");
    if (mutation == "FaunaeMutation" && elimination == "UcbElimination" && acceptance.empty()) return "faunae";
    if (mutation == "ThompsonMutation" && elimination == "PosteriorElimination") return "faunae-ts";
    if (mutation == "FaunaeMutation" && elimination == "RegressionElimination") return "faunae-r";
    if (mutation == "RandomMutation") return "random";
    if (mutation == "RegularizedEvolutionMutation") return "rea";
    if (mutation == "LocalSearchMutation") return "local";
  } catch (const std::exception&) {
  }
  return "";
}

/// The search.evaluator a checkpoint's evaluator state belongs to (contrastive, or the zero-cost
/// proxy's name), or "" if none.
std::string evaluator_of_checkpoint(const nlohmann::json& payload) {
  try {
    const auto& state = payload.at("evaluator");
    const std::string kind = state.value("kind", std::string());
    if (kind == "contrastive") return kind;
    if (kind == "zero_cost") return state.value("proxy", std::string());
  } catch (const std::exception&) {
  }
  return "";
}

/// Runs one search of any method (a faunae::Search with any policies) through the same evaluator,
/// checkpoint (--resume), JSON-lines log, progress display and search.json / found.json.
template <ft::Supernet Net, class Search, class Evaluator>
int run_search(const SearchRun& r, const Net& probe, Search& search, Evaluator& evaluator) {
  const Config& c = r.c;
  const fs::path checkpoint = search.options().checkpoint;
  if (r.resume && fs::exists(checkpoint)) {
    try {
      search.load(checkpoint, evaluator);
    } catch (const faunae::IoError& e) {
      // Say which key differs: "was written by search.method = 'rea', it cannot continue as ...".
      const auto refuse_other = [&](std::string_view key, const std::string& written, const std::string& wanted,
                                    std::string_view written_word, std::string_view continue_word) {
        if (written.empty() || written == wanted) return;
        throw faunae::InvalidArgument(fmt::format(
            "--resume: the checkpoint in {} was written {} {} = '{}', it cannot continue {} {} = '{}'; "
            "resume with --set {}={} (or start another run in a new --run folder)",
            r.run.string(), written_word, key, written, continue_word, key, wanted, key, written));
      };
      const nlohmann::json payload = checkpoint_payload(checkpoint);
      // The checkpoint records the policies: a run cannot continue under another search.method, ...
      refuse_other("search.method", method_of_checkpoint(payload), c.search.method, "by", "as");
      // ... nor with another search.evaluator: the evaluator's state in it is of another kind.
      refuse_other("search.evaluator", evaluator_of_checkpoint(payload), c.search.evaluator, "with", "with");
      throw;
    }
    // Only now: a refused resume leaves the run's config.json as it was.
    write_config(r.run, c, r.run_id);
    fmt::print(stderr, "[faunae] resumed from {} at epoch {}\n", checkpoint.string(), search.state().epoch);
  } else if (r.resume) {
    fmt::print(stderr, "[faunae] --resume: no checkpoint in {} yet, starting\n", r.run.string());
  }
  if constexpr (requires { evaluator.warm_up(r.alpha0, c.search.warmup_steps); }) {  // zero-cost evaluators train nothing
    if (!search.state().started() && c.search.warmup_steps > 0) {
      // Not on resume: the checkpoint holds the evaluator after its warm-up.
      const double loss = evaluator.warm_up(r.alpha0, c.search.warmup_steps);
      fmt::print(stderr, "[faunae] warm-up: {} steps on α0, training InfoNCE {:.4f}\n", c.search.warmup_steps, loss);
    }
  }
  fmt::print(stderr, "[faunae] search ({}, evaluator {}): {} blocks, {} training / {} validation images, α0 = {}, {} epochs planned\n",
             c.search.method, c.search.evaluator, r.space.num_blocks(), r.train_images, r.validation_images, r.alpha0.to_string(), search.planned_epochs());

  faunae::JsonLinesLogger log(r.run / "log.jsonl");
  faunae::ProgressDisplay progress(search.planned_epochs());
  StopOnSignal stop;
  const auto result = r.quiet ? search.run(evaluator, log, stop) : search.run(evaluator, log, progress, stop);
  if (!result.finished && interrupted.load()) {
    fmt::print(stderr, "[faunae] interrupted at epoch {}; the checkpoint is saved: continue with --resume\n", result.epochs);
    return 130;
  }

  faunae::RunRecord record;
  record.run_id = r.run_id;
  record.method = c.search.method;
  record.space = run_record_space(c, r.space);
  record.initial = architecture_summary(probe, r.alpha0);
  record.found = architecture_summary(probe, result.architecture);
  record.evaluated = result.evaluated;
  record.finished = result.finished;
  record.history = search.state().history;
  for (std::size_t b = 0; b < r.space.num_blocks(); ++b) {
    std::vector<bool> alive;
    for (faunae::OpIndex k = 0; k < r.space.num_ops(b); ++k) alive.push_back(search.state().stats.is_alive(b, k));
    record.alive.push_back(std::move(alive));
  }
  record.evaluations = result.evaluations;
  record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
  record.seed = c.seed;
  record.config = faunae::program::config_to_json(c);
  faunae::write_file_atomically(r.run / "search.json", faunae::run_record_to_json(record).dump(1) + "\n");
  faunae::write_file_atomically(r.run / "found.json", faunae::architecture_to_json(r.space, result.architecture).dump(2) + "\n");
  const auto line = [&](const faunae::ArchitectureSummary& a) {
    return fmt::format("{}  params {:.3f} M  FLOPs {:.1f} M", fmt::join(faunae::op_names(record.space, a.architecture), " "),
                       a.params.value_or(0) / 1e6, a.flops.value_or(0) / 1e6);
  };
  fmt::print("alpha0: {}\n", line(record.initial));
  fmt::print("found:  {}{}\n", line(record.found), result.evaluated ? "" : "  (never evaluated itself)");
  fmt::print("search ({}): {} evaluations, {:.0f} s; written {}\n", c.search.method, result.evaluations, *record.seconds,
             (r.run / "search.json").string());
  return 0;
}

/// Builds the Search of search.method and hands it to f (the one place that knows every method).
/// The faunae methods take the program's SearchOptions; the baselines the same seed, α0 and checkpoint,
/// with as many evaluations as the faithful FaUNAE plans for this space and E (max_epochs included).
template <class F>
int with_method(const Config& c, const faunae::BlockSpace& space, const faunae::SearchOptions& so, F&& f) {
  using faunae::BlockSpace;
  const auto E = static_cast<std::size_t>(c.search.epochs_per_op);
  const std::string& method = c.search.method;
  if (method == "faunae") {
    faunae::FaUNAE<BlockSpace> search(space, so, faunae::FaunaeMutation({.epsilon = c.search.epsilon, .lambda1 = c.search.lambda1}),
                                      faunae::UcbElimination({.epochs_per_op = E}));
    return f(search);
  }
  if (method == "faunae-ts") {
    faunae::FaUNAETS<BlockSpace> search(space, so, faunae::ThompsonMutation(), faunae::PosteriorElimination({.epochs_per_op = E}));
    return f(search);
  }
  if (method == "faunae-r") {
    faunae::FaUNAER<BlockSpace> search(space, so, faunae::FaunaeMutation({.epsilon = c.search.epsilon, .lambda1 = c.search.lambda1}),
                                       faunae::RegressionElimination({.epochs_per_op = E}));
    return f(search);
  }
  faunae::BaselineOptions bo;
  bo.evaluations = faunae::planned_evaluations(space, faunae::UcbElimination({.epochs_per_op = E}), so.max_epochs);
  bo.seed = so.seed;
  bo.initial = so.initial;
  bo.checkpoint = so.checkpoint;
  bo.run_id = so.run_id;
  if (method == "random") {
    auto search = faunae::random_search(space, bo);
    return f(search);
  }
  if (method == "rea") {
    auto search = faunae::regularized_evolution(space, bo,
                                                {.population = static_cast<std::size_t>(c.search.rea_population),
                                                 .sample = static_cast<std::size_t>(c.search.rea_sample)});
    return f(search);
  }
  if (method == "local") {
    auto search = faunae::local_search(space, bo);
    return f(search);
  }
  throw std::logic_error(fmt::format("faunae: search.method '{}' passed validation but has no search", method));
}

template <ft::Supernet Net>
int search(const Config& c, const fs::path& run, bool resume, bool quiet, const std::string& run_id) {
  const auto net_options = options_of<Net>(c);
  const auto start = std::chrono::steady_clock::now();
  const Net probe(net_options);  // for the space's shape only: its weights are never used
  const Architecture alpha0 = initial_architecture(c, probe);
  const faunae::BlockSpace space = run_space(c, probe, alpha0);

  // Unlabeled images: 90/10 (data.validation_fraction) into training and held-out validation.
  const auto images = without_labels(load_training_images(c));
  auto [train, validation] = ft::split(images, 1.0 - c.data.validation_fraction, faunae::stream_seed(c.seed, "program.split"));
  if (c.search.validation_images > 0 && c.search.validation_images < validation.size())
    validation = ft::take(validation, c.search.validation_images);

  faunae::SearchOptions so;
  so.seed = c.seed;
  so.lambda2 = c.search.lambda2;
  so.max_epochs = static_cast<std::size_t>(c.search.max_epochs);
  so.checkpoint = run / "checkpoint.json";
  so.initial = alpha0;
  so.run_id = run_id;  // recorded in the checkpoint: a checkpoint of another run is refused on --resume
  const SearchRun r{c, run, resume, quiet, space, alpha0, static_cast<std::size_t>(train.size()),
                    static_cast<std::size_t>(validation.size()), start, run_id};

  if (c.search.evaluator != "contrastive") {
    // A zero-cost proxy (zero_cost.hpp): each α's untrained network, initialised from the seed, scored
    // on a fixed minibatch of search.batch_size training images (naswot, snip); no training state.
    ft::ZeroCostOptions zo;
    zo.proxy = ft::parse_zero_cost_proxy(c.search.evaluator);
    zo.seed = faunae::stream_seed(c.seed, "program.zero_cost");
    zo.batch_size = c.search.batch_size;
    zo.tau = c.search.tau;
    zo.device = ft::parse_device(c.device);
    ft::BasicZeroCostEvaluator<Net> evaluator(net_options, train, ft::default_augment_options(stem_of(c)), zo);
    return with_method(c, space, so, [&](auto& search) { return run_search(r, probe, search, evaluator); });
  }

  ft::ContrastiveEvaluatorOptions eo;
  set_contrastive_recipe(eo, c.search, c);
  eo.steps = c.search.steps;
  eo.shuffle_groups = c.search.shuffle_groups;
  eo.momentum = c.search.momentum;
  eo.weight_decay = c.search.weight_decay;
  eo.tau = c.search.tau;
  eo.seed = faunae::stream_seed(c.seed, "program.evaluator");
  eo.validation_batch_size = 256;
  eo.state_directory = run / "evaluator";
  ft::BasicContrastiveEvaluator<Net> evaluator(net_options, train, validation, ft::default_augment_options(stem_of(c)), eo);
  return with_method(c, space, so, [&](auto& search) { return run_search(r, probe, search, evaluator); });
}

// --- train, probe, export ---------------------------------------------------------------------------

/// The architectures a run compares: evolved (found), alpha0, random (same space, uniform, seeded).
template <ft::Supernet Net>
std::vector<std::pair<std::string, Architecture>> compared_architectures(const Config& c, const fs::path& run, const Net& probe,
                                                                         const std::vector<std::string>& which) {
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

template <ft::Supernet Net>
int train(const Config& c, const fs::path& run, const std::vector<std::string>& which) {
  const auto net_options = options_of<Net>(c);
  const Net probe(net_options);
  const std::string run_id = folder_run_id(run);
  check_same_run(run, run_id, {"search.json", "train.json"}, "train");
  const auto images = without_labels(load_training_images(c));
  nlohmann::json log = fs::exists(run / "train.json") ? faunae::read_json_file(run / "train.json", "faunae")
                                                      : nlohmann::json{{"run_id", run_id}, {"architectures", nlohmann::json::array()}};
  fs::create_directories(run / "weights");
  for (const auto& [name, a] : compared_architectures(c, run, probe, which)) {
    // The same initialisation stream for every architecture.
    Net net = ft::construct_seeded(faunae::stream_seed(c.seed, "program.train.network"), [&] { return Net(net_options, a); });
    ft::MocoOptions o;
    set_contrastive_recipe(o, c.train, c);
    o.seed = faunae::stream_seed(c.seed, "program.train");
    fmt::print(stderr, "[faunae] train {}: {} params, {} epochs of {} images\n", name, net->parameters(a), c.train.epochs, images.size());
    nlohmann::json epochs = nlohmann::json::array();
    double elapsed = 0.0;
    auto learner = ft::train_contrastive(net, images, ft::default_augment_options(stem_of(c)), o, c.train.epochs, [&](const ft::EpochReport& r) {
      elapsed += r.seconds;
      const double left = elapsed / static_cast<double>(r.epoch) * static_cast<double>(c.train.epochs - r.epoch);
      fmt::print(stderr, "[faunae] train {} | epoch {}/{} | InfoNCE {:.4f} | lr {:.4f} | {:.0f} images/s | {} elapsed, {} left\n", name,
                 r.epoch, c.train.epochs, r.loss, r.learning_rate, static_cast<double>(r.images) / r.seconds,
                 faunae::ProgressDisplay::format_seconds(elapsed), faunae::ProgressDisplay::format_seconds(left));
      epochs.push_back({{"epoch", r.epoch}, {"loss", r.loss}, {"seconds", r.seconds}});
      return interrupted.load() ? faunae::Flow::stop : faunae::Flow::proceed;
    });
    if (interrupted.load()) return 130;
    ft::save_weights(*learner.student(), run / "weights" / (name + ".pt"));
    auto& list = log["architectures"];
    for (auto it = list.begin(); it != list.end();) it = (*it)["name"] == name ? list.erase(it) : it + 1;
    list.push_back({{"name", name}, {"architecture", a.ops()}, {"epochs", epochs}});
    faunae::write_file_atomically(run / "train.json", log.dump(1) + "\n");
  }
  return 0;
}

template <ft::Supernet Net>
int probe(const Config& c, const fs::path& run, const std::vector<std::string>& which) {
  const auto net_options = options_of<Net>(c);
  const std::string run_id = folder_run_id(run);
  check_same_run(run, run_id, {"search.json", "train.json"}, "probe");
  const Net supernet(net_options);
  const auto test = load_test_images(c);
  if (!test) throw faunae::InvalidArgument("probe: a folder of images has no labels; linear evaluation needs fashion-mnist or cifar10");
  const auto train = load_training_images(c);
  const auto aug = ft::default_augment_options(stem_of(c));
  const torch::Device device = ft::parse_device(c.device);
  ft::LinearEvalOptions lo;
  lo.epochs = c.probe.epochs;
  lo.lr = c.probe.lr;
  lo.milestones = {c.probe.epochs * 6 / 10, c.probe.epochs * 8 / 10};
  lo.standardize = c.probe.standardize;
  lo.seed = faunae::stream_seed(c.seed, "program.probe");
  const auto trained = faunae::read_json_file(run / "train.json", "faunae", "run `faunae train` first");
  nlohmann::json results = nlohmann::json::array();
  fmt::print("{:<8} {:>10} {:>10} {:>9} {:>9}  architecture\n", "network", "params", "MFLOPs", "linear", "kNN");
  for (const auto& [name, a] : compared_architectures(c, run, supernet, which)) {
    const auto weights = run / "weights" / (name + ".pt");
    Net net(net_options, a);
    ft::load_weights(*net, weights);
    net->to(device);
    net->eval();
    const auto backbone = [&](const torch::Tensor& x) { return net->forward(x); };
    const auto f_train = ft::extract_features(backbone, train, aug.mean, aug.stddev, 512, device);
    const auto f_test = ft::extract_features(backbone, *test, aug.mean, aug.stddev, 512, device);
    const double knn = ft::knn_accuracy(f_train, train.labels, f_test, test->labels, c.probe.knn_k, c.probe.knn_t);
    const double linear = ft::linear_evaluation(f_train, train.labels, f_test, test->labels, lo).test_accuracy;
    results.push_back({{"name", name}, {"architecture", a.ops()}, {"params", net->parameters(a)}, {"flops", net->flops(a)},
                       {"linear", linear}, {"knn", knn}});
    fmt::print("{:<8} {:>10} {:>10.1f} {:>8.2f}% {:>8.2f}%  {}\n", name, net->parameters(a), static_cast<double>(net->flops(a)) / 1e6,
               100 * linear, 100 * knn, a.to_string());
  }
  const nlohmann::json out = {{"run_id", run_id},
                              {"budget", {{"epochs", c.train.epochs}, {"train_images", train.size()}, {"test_images", test->size()}}},
                              {"trained", trained},
                              {"architectures", results}};
  faunae::write_file_atomically(run / "probe.json", out.dump(1) + "\n");
  return 0;
}

int export_run(const fs::path& run, const fs::path& out, const std::string& name) {
  const auto weights = run / "weights" / (name + ".pt");
  if (!fs::exists(weights)) throw faunae::IoError(fmt::format("export: {} is missing: run `faunae train --which {}` first", weights.string(), name));
  check_same_run(run, folder_run_id(run), {"search.json", "train.json"}, "export");
  const faunae::RunRecord record = faunae::read_run_record(run / "search.json", "faunae export", "run `faunae search` first");
  if (!record.config.is_object() || !record.config.contains("space") || !record.config.contains("data"))
    throw faunae::InvalidArgument(fmt::format("faunae export: {}: 'config' must hold the run's 'space' and 'data' sections",
                                              (run / "search.json").string()));
  fs::create_directories(out);
  fs::copy_file(weights, out / "weights.pt", fs::copy_options::overwrite_existing);
  const faunae::ArchitectureSummary& a = name == "evolved" ? record.found : record.initial;
  const nlohmann::json network = {{"space", record.config["space"]}, {"data", record.config["data"]}, {"architecture", faunae::architecture_summary_to_json(record.space, a)}};
  faunae::write_file_atomically(out / "network.json", network.dump(2) + "\n");
  fmt::print("exported {} to {}: weights.pt (Python: torch.load(...) gives a dict name → tensor), network.json\n", name, out.string());
  return 0;
}

// --- configuration --------------------------------------------------------------------------------

Config resolve_config(const fs::path& run, const std::string& file, const std::vector<std::string>& sets, bool fresh) {
  nlohmann::json j = nlohmann::json::object();
  const auto saved = run / "config.json";
  if (!fresh && fs::exists(saved)) j = faunae::program::read_config_file(saved);
  else if (!file.empty()) j = faunae::program::read_config_file(file);
  // The run's id is no configuration: config.json records it (write_config), and another run's
  // config.json given as --config lends its keys, not its id.
  if (j.is_object()) j.erase("run_id");
  for (const auto& s : sets) faunae::program::apply_override(j, s);
  return faunae::program::config_from_json(j);
}

template <class F>
int with_space(const Config& c, F&& f) {
  if (c.space.kind == "darts") return f(ft::DartsSupernet(nullptr));
  return f(ft::ResNetSupernet(nullptr));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"faunae: Fast and Unsupervised Neural Architecture Evolution (Xue et al., IEEE CIM 2021).\n"
               "Evolves an architecture on unlabeled images, trains it, and judges it by linear evaluation.\n"
               "Start with `faunae pipeline` (Fashion-MNIST from Debian's dataset-fashion-mnist, a few CPU minutes)."};
  app.require_subcommand(1);
  std::string run_dir = "runs/default", config_file;
  std::vector<std::string> sets, which{"evolved", "alpha0", "random"};
  bool quiet = false, overwrite = false;
  std::string resume_mode;  // "" (not given), "on" (--resume), "auto" (--resume=auto)
  std::string export_out, export_which = "evolved", report_out;
  const auto common = [&](CLI::App* sub) {
    sub->add_option("--run", run_dir, "the run's folder (created; holds config, checkpoints, logs, weights, report)")->capture_default_str();
    sub->add_option("--config", config_file, "a JSON configuration (docs/program.md lists every key)");
    sub->add_option("--set", sets, "override one key, e.g. --set search.epochs_per_op=3 --set device=cuda")->take_all();
  };
  auto* search_cmd = app.add_subcommand("search", "evolve α0 on unlabeled images (checkpoint every epoch)");
  common(search_cmd);
  search_cmd->add_flag("--resume{on}", resume_mode,
                       "continue the run in --run from its last checkpoint; --resume=auto: the same, and start a new run if the folder "
                       "holds none (for restarting launchers: torchrun --max-restarts, Slurm --requeue)");
  search_cmd->add_flag("--overwrite", overwrite, "the folder holds a run: move it aside to <run>.replaced-<UTC time>, then start");
  search_cmd->add_flag("--quiet,-q", quiet, "no progress line");
  auto* train_cmd = app.add_subcommand("train", "train the evolved (and α0, random) architecture without labels");
  common(train_cmd);
  train_cmd->add_option("--which", which, "evolved, alpha0, random")->delimiter(',')->capture_default_str();
  auto* probe_cmd = app.add_subcommand("probe", "linear evaluation and kNN of the trained networks (uses labels)");
  common(probe_cmd);
  probe_cmd->add_option("--which", which, "evolved, alpha0, random")->delimiter(',')->capture_default_str();
  auto* export_cmd = app.add_subcommand("export", "write the trained weights and the architecture JSON");
  common(export_cmd);
  export_cmd->add_option("--out", export_out, "folder to write")->required();
  export_cmd->add_option("--which", export_which, "evolved or alpha0")->capture_default_str();
  auto* report_cmd = app.add_subcommand("report", "write the run's HTML report");
  common(report_cmd);
  report_cmd->add_option("--out", report_out, "the HTML file (default: <run>/report.html)");
  auto* pipeline_cmd = app.add_subcommand("pipeline", "search, train, probe and report in one go (the README demo)");
  common(pipeline_cmd);
  pipeline_cmd->add_flag("--resume{on}", resume_mode, "continue an interrupted search (--resume=auto: or start if there is none)");
  pipeline_cmd->add_flag("--overwrite", overwrite, "the folder holds a run: move it aside to <run>.replaced-<UTC time>, then start");
  pipeline_cmd->add_flag("--quiet,-q", quiet, "no progress line");
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, [](int) { interrupted.store(true); });
  std::signal(SIGTERM, [](int) { interrupted.store(true); });
  try {
    if (!resume_mode.empty() && resume_mode != "on" && resume_mode != "auto")
      throw faunae::InvalidArgument(fmt::format("--resume: takes no value or 'auto', got '{}'", resume_mode));
    const bool resume = !resume_mode.empty();
    const bool starts = search_cmd->parsed() || pipeline_cmd->parsed();
    const std::string command = search_cmd->parsed() ? "search" : "pipeline";
    if (overwrite && resume)
      throw faunae::InvalidArgument(fmt::format("faunae {}: --overwrite and --resume exclude each other: --resume continues the run in "
                                                "'{}', --overwrite moves it aside and starts a new one",
                                                command, run_dir));
    const fs::path run(run_dir);
    // One process in a run folder at a time, whatever the command: a second one stops here, at once.
    faunae::RunFolderLock lock(run);
    const bool fresh = starts ? !resume : false;
    // The configuration first: a bad --set or --config must leave the folder as it is (--overwrite
    // moves nothing then). A fresh run reads nothing from the folder.
    const Config c = resolve_config(run, config_file, sets, fresh);
    if (starts && !resume) {
      // Never a new run over (or mixed into) another one.
      if (const std::string held = describe_run(run); !held.empty()) {
        if (!overwrite)
          throw faunae::InvalidArgument(fmt::format(
              "faunae {}: the run folder '{}' already holds {}; continue it with --resume, start over with --overwrite (which moves it "
              "to '{}.replaced-<UTC time>' first), or choose another --run",
              command, run.string(), held, run.string()));
        const fs::path aside = aside_folder(run);
        std::error_code ec;
        fs::rename(run, aside, ec);  // the locked .lock moves along: nobody can take the old run meanwhile
        if (ec)
          throw faunae::IoError(fmt::format("faunae {} --overwrite: cannot move '{}' to '{}': {}", command, run.string(), aside.string(),
                                            ec.message()));
        lock = faunae::RunFolderLock(run);
        fmt::print(stderr, "[faunae] --overwrite: moved {} from {} to {}\n", held, run.string(), aside.string());
      }
    }
    // The run's id: kept on resume, new for a new run (legacy runs resumed keep none).
    std::string run_id = starts && resume ? folder_run_id(run) : std::string();
    if (starts && run_id.empty() && !(resume && fs::exists(run / "checkpoint.json"))) run_id = faunae::new_run_id();
    // A resume from a checkpoint writes config.json once the checkpoint accepts it (run_search), so a
    // refused --resume --set ... leaves the run as it was.
    if (starts && !(resume && fs::exists(run / "checkpoint.json"))) write_config(run, c, run_id);
    torch::set_num_threads(static_cast<int>(c.threads));
    torch::set_num_interop_threads(1);
    const auto report = [&] {
      const fs::path out = report_out.empty() ? run / "report.html" : fs::path(report_out);
      check_same_run(run, folder_run_id(run), {"search.json", "train.json", "probe.json"}, "report");
      faunae::report::write_report(run, out);
      fmt::print("report: {}\n", out.string());
      return 0;
    };
    return with_space(c, [&](auto kind) {
      using Net = decltype(kind);
      if (search_cmd->parsed()) return search<Net>(c, run, resume, quiet, run_id);
      if (train_cmd->parsed()) return train<Net>(c, run, which);
      if (probe_cmd->parsed()) return probe<Net>(c, run, which);
      if (export_cmd->parsed()) return export_run(run, export_out, export_which);
      if (report_cmd->parsed()) return report();
      // pipeline
      if (const int rc = search<Net>(c, run, resume, quiet, run_id); rc != 0) return rc;
      if (const int rc = train<Net>(c, run, which); rc != 0) return rc;
      if (const int rc = probe<Net>(c, run, which); rc != 0) return rc;
      return report();
    });
  } catch (const std::exception& e) {
    fmt::print(stderr, "faunae: error: {}\n", faunae::torch_backend::error_text(e, 2000));
    return 1;
  }
}

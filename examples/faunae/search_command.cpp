// `faunae search` (commands.hpp): Algorithm 1, a variant or a baseline (search.method) scored by the
// ContrastiveEvaluator, a zero-cost proxy or the RotationEvaluator (search.evaluator), all of them faunae::Search objects run
// by the same run_search: checkpoint (--resume), JSON-lines log, progress line, search.json.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <faunae/core/atomic_file.hpp>
#include <faunae/core/run_record.hpp>
#include <faunae/faunae.hpp>
#include <faunae/torch.hpp>

#include "commands.hpp"
#include "library_options.hpp"
#include "run_folder.hpp"
#include "run_setup.hpp"

namespace faunae::program {

namespace fs = std::filesystem;

namespace {

/// Ctrl-C: the search finishes the epoch, checkpoints and stops.
struct StopOnSignal {
  faunae::Flow on_epoch(const faunae::EpochRecord&, const faunae::SearchState&) const {
    return interrupted.load() ? faunae::Flow::stop : faunae::Flow::proceed;
  }
};

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
    if (mutation == "ThompsonMutation" && elimination == "PosteriorElimination")
      return config.at("mutation").value("scan_base_neighbourhood", false) ? "faunae-lt" : "faunae-ts";
    if (mutation == "FaunaeMutation" && elimination == "RegressionElimination") return "faunae-r";
    if (mutation == "RandomMutation") return "random";
    if (mutation == "RegularizedEvolutionMutation") return "rea";
    if (mutation == "LocalSearchMutation") return "local";
  } catch (const std::exception&) {
  }
  return "";
}

/// The search.evaluator a checkpoint's evaluator state belongs to (contrastive, rotation, or the
/// zero-cost proxy's name), or "" if none.
std::string evaluator_of_checkpoint(const nlohmann::json& payload) {
  try {
    const auto& state = payload.at("evaluator");
    const std::string kind = state.value("kind", std::string());
    if (kind == "contrastive") return kind;
    if (kind == "zero_cost") return state.value("proxy", std::string());
    if (kind == "rotation") return kind;
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
  if (method == "faunae-lt") {
    auto search = faunae::faunae_lt(space, so, E);
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

  if (c.search.evaluator == "rotation") {
    // The rotation pretext task (pretext_evaluator.hpp): a fresh network per α on the held-out quarter
    // turns; the labels are never read. ResNet space only (config check).
    if constexpr (std::is_same_v<Net, ft::ResNetSupernet>) {
      ft::RotationEvaluator evaluator(net_options, train, validation, ft::default_augment_options(stem_of(c)), rotation_evaluator_options(c));
      return with_method(c, space, so, [&](auto& search) { return run_search(r, probe, search, evaluator); });
    } else {
      throw faunae::InvalidArgument("search.evaluator = 'rotation' needs space.kind = 'resnet'");
    }
  }
  if (c.search.evaluator != "contrastive") {
    // A zero-cost proxy (zero_cost.hpp): each α's untrained network, initialised from the seed, scored
    // on a fixed minibatch of search.batch_size training images (naswot, snip); no training state.
    ft::BasicZeroCostEvaluator<Net> evaluator(net_options, train, ft::default_augment_options(stem_of(c)), zero_cost_options(c));
    return with_method(c, space, so, [&](auto& search) { return run_search(r, probe, search, evaluator); });
  }

  ft::ContrastiveEvaluatorOptions eo = contrastive_evaluator_options(c);
  eo.state_directory = run / "evaluator";
  ft::BasicContrastiveEvaluator<Net> evaluator(net_options, train, validation, ft::default_augment_options(stem_of(c)), eo);
  return with_method(c, space, so, [&](auto& search) { return run_search(r, probe, search, evaluator); });
}

}  // namespace

int search_command(const Config& c, const fs::path& run, bool resume, bool quiet, const std::string& run_id) {
  return with_space(c, [&](auto kind) { return search<decltype(kind)>(c, run, resume, quiet, run_id); });
}

}  // namespace faunae::program

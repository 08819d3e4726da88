// Does a label-free score rank architectures? Every architecture of a ground-truth table (written by
// ground_truth.cpp: stand-alone supervised test accuracy, several training seeds) is scored by each
// evaluator, and the scores are compared with the truth by Kendall's τ_b and Spearman's ρ, with
// percentile-bootstrap 95% intervals over the architectures, and the seconds each evaluator spends
// per architecture (docs/benchmarks.md, "Evaluator fidelity").
//
//   ./build/benchmarks/evaluator_fidelity --table benchmarks/data/fashion-mnist/ground-truth.json
//   ./build/benchmarks/evaluator_fidelity --table T --evaluators synflow,naswot,snip,params,flops
//
// The evaluators (score = −loss, so higher is better for all):
//   contrastive-search    the program's ContrastiveEvaluator with its default search options, after
//                         the search's warm-up on α0 and a search-like schedule (--schedule evaluations
//                         of uniformly drawn architectures); then each table architecture is scored
//                         by evaluate(α) as a search would, one after the other (weights carry over:
//                         the drift a search sees is included)
//   contrastive-snapshot  the same, but every architecture is scored from the same state (the state
//                         after the schedule is restored before each): paired scoring, no drift
//   contrastive-standalone  a fresh evaluator per architecture, trained --standalone-steps steps on it,
//                         then evaluate(α): the same loss for the stand-alone network after a short training
//   Each contrastive-* evaluator gives two more rows from the same evaluations: "<name>:instance-accuracy",
//   the held-out instance-discrimination accuracy (the share of queries whose positive key beats every
//   key of the queue; MocoLearner::validation_score) instead of the InfoNCE, and "<name>:train-loss",
//   −(the mean training InfoNCE of the evaluation's k steps): how fast α learns.
//   rotation-short        label-free, the rotation pretext task (UnNAS): RotationEvaluator
//                         (pretext_evaluator.hpp), a fresh network per α trained --rotation-steps
//                         steps at --rotation-lr to tell the quarter turns apart, scored by
//                         --rotation-score: −(the mean training cross-entropy of the steps; the
//                         default) or its held-out rotation accuracy; the other numbers as more rows
//                         ("rotation-short:accuracy", ":validation-loss" by −(held-out cross-entropy),
//                         ":train-loss")
//   synflow, naswot, snip, params, flops   the zero-cost proxies (zero_cost.hpp)
//   supervised-short      for reference, with labels: SupervisedEvaluator trained --supervised-steps
//                         steps on α from scratch, scored by the cross-entropy on held-out training images
//                         (and "supervised-short:accuracy", "supervised-short:train-loss" likewise)
// Besides, the ceiling: τ and ρ between the table's first two training seeds, and the split-half τ
// of the table's seeds (even against odd positions) when it has four or more.
//
// The images are at the table's resolution (its recipe's "resolution": ground_truth --resolution), or
// --resolution's, except for the zero-cost proxies, which score at the network's nominal 28×28.
// --budget-only keeps the architectures the provenance marks within α0's budget.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <faunae/faunae.hpp>
#include <faunae/torch.hpp>
#include <faunae/torch/evaluation.hpp>
#include <faunae/torch/zero_cost.hpp>

namespace ft = faunae::torch_backend;
namespace fs = std::filesystem;

namespace {

struct Row {
  std::string key;
  faunae::Architecture arch;
  std::vector<double> runs;
  double truth = 0.0;
};

struct Result {
  std::string evaluator;
  std::vector<double> scores;  // per row, higher = better
  double seconds_per_arch = 0.0;
  // More scores of the same evaluations, from their metrics ("<evaluator>:instance-accuracy", ...):
  // name and per-architecture scores, higher = better.
  std::vector<std::pair<std::string, std::vector<double>>> more;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Evaluator fidelity: Kendall τ and Spearman ρ of each label-free evaluator against a ground-truth table");
  std::string table_path, data_dir = "/usr/share/datasets/fashion-mnist";
  std::vector<std::string> evaluators{"contrastive-search", "contrastive-snapshot", "contrastive-standalone", "rotation-short", "synflow",
                                      "naswot", "snip", "params", "flops", "supervised-short"};
  std::string json_path, provenance_path;
  std::int64_t images = 10000, validation_images = 512, schedule = 20, warmup_steps = 48, contrastive_steps = 5, standalone_steps = 40,
               supervised_steps = 30, rotation_steps = 30, threads = 2, resamples = 2000, resolution = -1;
  bool budget_only = false;
  std::uint64_t seed = 0;
  app.add_option("--table", table_path, "ground-truth table (ground_truth.cpp); its .provenance.json gives the space")->required();
  app.add_option("--data", data_dir, "Fashion-MNIST folder");
  app.add_option("--evaluators", evaluators, "comma-separated, from the list at the top of evaluator_fidelity.cpp")->delimiter(',');
  app.add_option("--images", images, "first N training images, split 90/10 as the program does (data.images)");
  app.add_option("--validation-images", validation_images, "held-out images scored per evaluation (search.validation_images)");
  app.add_option("--schedule", schedule, "contrastive-*: evaluations of random architectures after the warm-up, before scoring");
  app.add_option("--standalone-steps", standalone_steps, "contrastive-standalone: training steps before evaluate()");
  app.add_option("--warmup-steps", warmup_steps, "contrastive-search, -snapshot: the search's warm-up, training steps on α0 before the schedule")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--contrastive-steps", contrastive_steps,
                 "contrastive-*: training steps on α in each evaluation (ContrastiveEvaluatorOptions::steps, the search's k; the schedule's too)")
      ->check(CLI::PositiveNumber);
  app.add_option("--supervised-steps", supervised_steps, "supervised-short: training steps");
  app.add_option("--rotation-steps", rotation_steps, "rotation-short: training steps (batch 128 of rotated images)");
  double rotation_lr = ft::RotationEvaluatorOptions{}.lr;
  app.add_option("--rotation-lr", rotation_lr, "rotation-short: SGD learning rate (RotationEvaluatorOptions::lr)");
  std::int64_t rotation_downsample = 1;
  app.add_option("--rotation-downsample", rotation_downsample,
                 "rotation-short: shrink the images by this factor first (RotationEvaluatorOptions::downsample; 1: the table's resolution)");
  std::int64_t rotation_repeats = ft::RotationEvaluatorOptions{}.repeats;
  app.add_option("--rotation-repeats", rotation_repeats, "rotation-short: fresh networks per architecture, their mean (RotationEvaluatorOptions::repeats)");
  std::string rotation_score(ft::to_string(ft::RotationEvaluatorOptions{}.score));
  app.add_option("--rotation-score", rotation_score, "rotation-short: training-loss or held-out-error (RotationEvaluatorOptions::score)")
      ->check(CLI::IsMember({"training-loss", "held-out-error"}));
  app.add_option("--resolution", resolution, "images at R×R pixels (area interpolation); -1: the table's recipe's; 0: as they are");
  app.add_flag("--budget-only", budget_only, "only the architectures the provenance marks within alpha0's budget");
  app.add_option("--seed", seed, "seed of every evaluator (the program's seed)");
  app.add_option("--resamples", resamples, "bootstrap resamples for the 95% intervals");
  app.add_option("--threads", threads, "torch threads");
  std::string device_name = "cpu";
  app.add_option("--device", device_name, "cpu, cuda or cuda:N (contrastive-* and zero-cost evaluators)");
  app.add_option("--json", json_path, "write every score and statistic here");
  CLI11_PARSE(app, argc, argv);
  try {
    torch::set_num_threads(static_cast<int>(threads));
    faunae::torch_backend::keep_freed_cpu_memory();  // no page faults on every step's tensors (cpu_memory.hpp)
    provenance_path = table_path + ".provenance.json";
    const auto provenance = nlohmann::json::parse(faunae::read_file(provenance_path, provenance_path));
    const auto& recipe = provenance.at("recipe");
    if (resolution < -1) throw faunae::InvalidArgument(fmt::format("evaluator_fidelity: --resolution must be -1, 0 or positive, got {}", resolution));
    if (resolution == -1) resolution = recipe.value("resolution", std::int64_t{0});
    ft::ResNetSpaceOptions so;
    so.stem = ft::Stem::gray28;
    so.blocks_per_stage = recipe.at("blocks_per_stage").get<std::vector<std::int64_t>>();
    so.width = recipe.at("width").get<double>();
    so.ops = recipe.at("ops").get<std::vector<std::string>>();
    const ft::ResNetSupernet probe(so);

    // The table: key characters are indices into the op list; map them to each block's op index.
    const auto table = nlohmann::json::parse(faunae::read_file(table_path, table_path));
    const faunae::BlockSpace unbounded = probe->space(faunae::Architecture(std::vector<faunae::OpIndex>(probe->num_blocks(), 0)));
    std::vector<Row> rows;
    for (const auto& [key, entry] : table.items()) {
      if (key.size() != unbounded.num_blocks())
        throw faunae::InvalidArgument(fmt::format("evaluator_fidelity: key '{}' has {} characters, the space {} blocks", key, key.size(),
                                                  unbounded.num_blocks()));
      faunae::Architecture a(std::vector<faunae::OpIndex>(key.size(), 0));
      for (std::size_t b = 0; b < key.size(); ++b) {
        const auto op = static_cast<std::size_t>(key[b] - '0');
        const auto& ops = unbounded.blocks()[b].ops;
        const auto it = std::find_if(ops.begin(), ops.end(), [&](const faunae::Op& o) { return op < so.ops.size() && o.name == so.ops[op]; });
        if (it == ops.end())
          throw faunae::InvalidArgument(fmt::format("evaluator_fidelity: key '{}' block {}: op '{}' is not offered there", key, b, key[b]));
        a[b] = static_cast<faunae::OpIndex>(it - ops.begin());
      }
      if (budget_only) {
        const auto& within = provenance.at("within_budget");
        if (!within.contains(key))
          throw faunae::InvalidArgument(fmt::format("evaluator_fidelity: --budget-only: the provenance's within_budget map lacks '{}'", key));
        if (!within.at(key).get<bool>()) continue;
      }
      rows.push_back({key, a, entry.at("test_acc").get<std::vector<double>>(), entry.at("mean_acc").get<double>()});
    }
    if (rows.size() < 3) throw faunae::InvalidArgument(fmt::format("evaluator_fidelity: {} holds {} architectures; at least 3 are needed", table_path, rows.size()));
    std::vector<double> truth;
    for (const auto& r : rows) truth.push_back(r.truth);

    // The program's data: the first N training images, 90/10, the held-out part cut to validation_images.
    // The zero-cost proxies score at the network's nominal input (ZeroCostEvaluator requires it): the
    // images as they are, 28×28.
    // The split is drawn once; resizing acts image by image, so it commutes with the split.
    const auto nominal = ft::split(ft::take(ft::load_fashion_mnist(data_dir, /*train=*/true), images), 0.9, seed);
    const auto at_resolution = [&](const ft::ImageDataset& d) { return resolution > 0 ? ft::resized(d, resolution) : d; };
    auto train_l = at_resolution(nominal.train), validation_l = at_resolution(nominal.validation);
    if (validation_images > 0 && validation_images < validation_l.size()) validation_l = ft::take(validation_l, validation_images);
    const auto unlabel = [](ft::ImageDataset d) {
      d.labels = torch::Tensor();
      return d;
    };
    const ft::ImageDataset train = unlabel(train_l), validation = unlabel(validation_l), nominal_train = unlabel(nominal.train);
    auto aug = ft::default_augment_options(so.stem);
    if (resolution > 0) aug.output_size = resolution;
    const faunae::Architecture alpha0(std::vector<faunae::OpIndex>(probe->num_blocks(), 0));

    // The program's default search options (examples/faunae/config.hpp).
    ft::ContrastiveEvaluatorOptions eo;
    eo.steps = contrastive_steps;
    eo.batch_size = 64;
    eo.queue_size = 1024;
    eo.shuffle_groups = 8;
    eo.lr = 0.03;
    eo.momentum = 0.9;
    eo.weight_decay = 1e-4;
    eo.tau = 0.2;
    eo.m = 0.99;
    eo.head_hidden = 512;
    eo.head_out = 128;
    eo.seed = seed;
    eo.validation_batch_size = 256;
    eo.device = ft::parse_device(device_name);
    const fs::path state_dir = fs::temp_directory_path() / fmt::format("faunae-fidelity-{}", ::getpid());
    fs::create_directories(state_dir);
    eo.state_directory = state_dir;

    // contrastive-search and contrastive-snapshot share the warm-up and the schedule: the state after
    // them is made once (the first time either is asked for) and restored before each.
    std::optional<nlohmann::json> after_schedule;
    std::unique_ptr<ft::ContrastiveEvaluator> shared;
    double schedule_seconds = 0.0;
    std::vector<Result> results;
    // The score of an evaluation (−loss), and each of its metrics `more` as a row of its own: the
    // metric's value when higher is better (accuracies), its negative for a loss (names ending in
    // "loss": the mean training loss of the evaluation's steps, how fast α learns).
    const auto record = [](Result& res, const faunae::Evaluation& e, std::initializer_list<std::string_view> more) {
      res.scores.push_back(-e.loss);
      std::size_t i = 0;
      for (const std::string_view name : more) {
        const auto m = std::find_if(e.metrics.begin(), e.metrics.end(), [&](const auto& kv) { return kv.first == name; });
        if (m == e.metrics.end())
          throw faunae::InvalidArgument(fmt::format("evaluator_fidelity: {} reported no '{}' metric", res.evaluator, name));
        std::string row(name);
        std::replace(row.begin(), row.end(), '_', '-');
        if (res.more.size() <= i) res.more.push_back({fmt::format("{}:{}", res.evaluator, row), {}});
        const bool is_loss = name.ends_with("loss");
        res.more[i++].second.push_back(is_loss ? -m->second : m->second);
      }
    };
    for (const auto& name : evaluators) {
      Result res{name, {}, 0.0};
      const auto start = std::chrono::steady_clock::now();
      double scoring_seconds = 0.0;
      if (name == "contrastive-search" || name == "contrastive-snapshot") {
        if (!after_schedule) {
          const auto t = std::chrono::steady_clock::now();
          torch::manual_seed(seed);
          shared = std::make_unique<ft::ContrastiveEvaluator>(so, train, validation, aug, eo);
          shared->warm_up(alpha0, warmup_steps);
          faunae::Rng rng(seed ^ 0x5c4ed01eULL);
          const auto space = probe->space(alpha0).with_max_size(unbounded.size_of(alpha0));
          for (std::int64_t i = 0; i < schedule; ++i) shared->evaluate(faunae::random_architecture(space, rng));
          after_schedule = shared->state();
          schedule_seconds = seconds_since(t);
          fmt::print("warm-up ({} steps on alpha0) and schedule ({} evaluations): {:.1f} s\n", warmup_steps, schedule, schedule_seconds);
          std::fflush(stdout);
        }
        auto& ev = *shared;
        ev.restore(*after_schedule);
        const auto t = std::chrono::steady_clock::now();
        for (const auto& r : rows) {
          if (name == "contrastive-snapshot") ev.restore(*after_schedule);
          record(res, ev.evaluate(r.arch), {"instance_accuracy", "train_loss"});
        }
        scoring_seconds = seconds_since(t);
      } else if (name == "contrastive-standalone") {
        const auto t = std::chrono::steady_clock::now();
        for (const auto& r : rows) {
          torch::manual_seed(seed);
          ft::ContrastiveEvaluatorOptions o = eo;
          o.state_directory.clear();
          ft::ContrastiveEvaluator ev(so, train, validation, aug, o);
          ev.warm_up(r.arch, standalone_steps);
          record(res, ev.evaluate(r.arch), {"instance_accuracy", "train_loss"});
        }
        scoring_seconds = seconds_since(t);
      } else if (name == "supervised-short") {
        const auto t = std::chrono::steady_clock::now();
        for (const auto& r : rows) {
          ft::SupervisedEvaluatorOptions o;
          o.steps = supervised_steps;
          o.batch_size = 128;
          o.seed = seed;
          o.augment = false;
          ft::SupervisedEvaluator ev(so, train_l, validation_l, aug, o);
          record(res, ev.evaluate(r.arch), {"accuracy", "train_loss"});
        }
        scoring_seconds = seconds_since(t);
      } else if (name == "rotation-short") {
        // Label-free (pretext_evaluator.hpp): the labels are the quarter turns, never the classes.
        const auto score = ft::parse_rotation_score(rotation_score);
        ft::RotationEvaluator ev(so, train, validation, aug, {.steps = rotation_steps, .batch_size = 128, .lr = rotation_lr, .seed = seed, .score = score,
                                                           .downsample = rotation_downsample, .repeats = rotation_repeats});
        const auto t = std::chrono::steady_clock::now();
        for (const auto& r : rows)  // the other scores as rows of their own
          record(res, ev.evaluate(r.arch),
                 score == ft::RotationScore::training_loss ? std::initializer_list<std::string_view>{"accuracy", "validation_loss"}
                                                           : std::initializer_list<std::string_view>{"validation_loss", "train_loss"});
        scoring_seconds = seconds_since(t);
      } else {
        ft::ZeroCostOptions zo;
        zo.proxy = ft::parse_zero_cost_proxy(name);
        zo.seed = seed;
        zo.batch_size = eo.batch_size;
        zo.tau = eo.tau;
        zo.device = eo.device;
        ft::ZeroCostEvaluator ev(so, nominal_train, ft::default_augment_options(so.stem), zo);
        const auto t = std::chrono::steady_clock::now();
        for (const auto& r : rows) res.scores.push_back(-ev.evaluate(r.arch).loss);
        scoring_seconds = seconds_since(t);
      }
      res.seconds_per_arch = scoring_seconds / static_cast<double>(rows.size());
      fmt::print("{}: {} architectures in {:.1f} s ({:.2f} s each; {:.1f} s in all with set-up)\n", name, rows.size(), scoring_seconds,
                 res.seconds_per_arch, seconds_since(start));
      std::fflush(stdout);
      results.push_back(std::move(res));
    }
    fs::remove_all(state_dir);

    // The table: τ and ρ with bootstrap intervals, and the seed-to-seed ceiling.
    nlohmann::json out = {{"table", table_path}, {"architectures", rows.size()}, {"seed", seed}, {"images", images},
                          {"validation_images", validation_images}, {"schedule", schedule}, {"warmup_steps", warmup_steps}, {"contrastive_steps", contrastive_steps}, {"standalone_steps", standalone_steps},
                          {"supervised_steps", supervised_steps}, {"rotation_steps", rotation_steps}, {"rotation_lr", rotation_lr}, {"rotation_score", rotation_score}, {"rotation_downsample", rotation_downsample}, {"rotation_repeats", rotation_repeats}, {"resolution", resolution},
                          {"budget_only", budget_only}, {"resamples", resamples}, {"schedule_seconds", schedule_seconds}};
    const auto line = [&](const std::string& what, const std::vector<double>& x, const std::vector<double>& y, double seconds) {
      faunae::Rng boot(seed ^ 0xb0075ULL);
      const double tau = faunae::kendall_tau_b(x, y), rho = faunae::spearman_rho(x, y);
      const auto tau_ci = faunae::bootstrap_interval(x, y, faunae::kendall_tau_b, static_cast<std::size_t>(resamples), 0.95, boot);
      const auto rho_ci = faunae::bootstrap_interval(x, y, faunae::spearman_rho, static_cast<std::size_t>(resamples), 0.95, boot);
      fmt::print("| {} | {:+.3f} [{:+.3f}, {:+.3f}] | {:+.3f} [{:+.3f}, {:+.3f}] | {} |\n", what, tau, tau_ci.low, tau_ci.high, rho, rho_ci.low,
                 rho_ci.high, seconds < 0 ? std::string("—") : fmt::format("{:.3f}", seconds));
      out["rows"].push_back({{"evaluator", what}, {"tau", tau}, {"tau_ci", {tau_ci.low, tau_ci.high}}, {"rho", rho},
                             {"rho_ci", {rho_ci.low, rho_ci.high}}, {"seconds_per_arch", seconds}, {"scores", x}});
    };
    fmt::print("\n{} architectures of {}; truth: mean test accuracy over {} training seeds. 95% percentile-bootstrap intervals ({} resamples).\n\n",
               rows.size(), table_path, rows.front().runs.size(), resamples);
    fmt::print("| Evaluator | Kendall τ [95%] | Spearman ρ [95%] | s / architecture |\n|---|---:|---:|---:|\n");
    if (std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.runs.size() >= 2; })) {
      std::vector<double> s0, s1;
      for (const auto& r : rows) {
        s0.push_back(r.runs[0]);
        s1.push_back(r.runs[1]);
      }
      line("ceiling: training seed 0 vs seed 1", s0, s1, -1.0);
    }
    if (std::all_of(rows.begin(), rows.end(), [&](const Row& r) { return r.runs.size() == rows.front().runs.size(); }) &&
        rows.front().runs.size() >= 4) {
      // Split-half: the means of the seeds at even positions against those at odd positions.
      std::vector<double> even, odd;
      for (const auto& r : rows) {
        double e = 0.0, o = 0.0;
        for (std::size_t i = 0; i < r.runs.size(); ++i) (i % 2 == 0 ? e : o) += r.runs[i];
        even.push_back(e);
        odd.push_back(o);
      }
      line(fmt::format("ceiling: split-half, {} seeds against {}", (rows.front().runs.size() + 1) / 2, rows.front().runs.size() / 2), even, odd,
           -1.0);
    }
    for (const auto& r : results) {
      line(r.evaluator, r.scores, truth, r.seconds_per_arch);
      for (const auto& [what, scores] : r.more) line(what, scores, truth, r.seconds_per_arch);
    }
    out["keys"] = nlohmann::json::array();
    for (const auto& r : rows) out["keys"].push_back(r.key);
    out["truth"] = truth;
    if (!json_path.empty()) faunae::write_file_atomically(json_path, out.dump(1) + "\n");
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "evaluator_fidelity: {}\n", e.what());
    return 1;
  }
}

// Ground truth for the program's default space on Fashion-MNIST: architectures drawn uniformly within
// α0's parameter budget (plus α0 and hand-picked extremes; --sample budget) or from the whole space
// (--sample whole: uniform draws only, no budget), each trained stand-alone, supervised, from
// scratch with one recipe (train_standalone, standalone.hpp) under several training seeds, and scored
// by top-1 on the test images. Writes a table in the tabular backend's format, with a provenance file
// beside it (docs/benchmarks.md, "Ground truth on Fashion-MNIST").
//
//   ./build/benchmarks/ground_truth --runs runs.jsonl --table table.json      # resumable
//
// Every finished (architecture, seed) run is appended to --runs at once, one JSON object per line; a
// rerun with the same options skips what is there (the options are checked against the first line),
// so an interrupted run loses at most the run in progress. --table is (re)written from --runs at the
// end: {"<key>": {"test_acc": [per seed], "mean_acc": mean, "params": p, "flops": f}} with one
// character per block, the op's index in --ops ('0' = the first op).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <faunae/faunae.hpp>
#include <faunae/torch.hpp>
#include <faunae/torch/standalone.hpp>

namespace ft = faunae::torch_backend;
namespace fs = std::filesystem;

namespace {

/// One character per block: the index of the block's op in the global op list.
std::string key_of(const faunae::BlockSpace& space, const faunae::Architecture& a, const std::vector<std::string>& ops) {
  std::string key;
  for (std::size_t b = 0; b < space.num_blocks(); ++b) {
    const auto& name = space.blocks()[b].ops[a[b]].name;
    key.push_back(static_cast<char>('0' + (std::find(ops.begin(), ops.end(), name) - ops.begin())));
  }
  return key;
}

/// The images at resolution×resolution (resized(): area interpolation); `d` itself when resolution is 0.
ft::ImageDataset at_resolution(const ft::ImageDataset& d, std::int64_t resolution) { return resolution == 0 ? d : ft::resized(d, resolution); }

/// The op of block b called `name`, if the block offers it.
std::optional<faunae::OpIndex> op_named(const faunae::BlockSpace& space, std::size_t b, std::string_view name) {
  const auto& ops = space.blocks()[b].ops;
  for (std::size_t k = 0; k < ops.size(); ++k)
    if (ops[k].name == name) return static_cast<faunae::OpIndex>(k);
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Ground truth on Fashion-MNIST: stand-alone supervised training of sampled architectures");
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::vector<std::int64_t> blocks{2, 2, 2, 2}, seeds{0, 1};
  std::vector<std::string> ops{"conv3", "conv5", "sa_k3r2", "identity"};
  std::string runs_path = "ground_truth_runs.jsonl", table_path, alpha0_op = "conv3", sample = "budget";
  std::int64_t archs = 60, train_images = 0, test_images = 0, threads = 2, resolution = 0;
  std::uint64_t sample_seed = 2026;
  double width = 0.25;
  ft::StandaloneTrainingOptions recipe;
  app.add_option("--data", data_dir, "Fashion-MNIST folder (gzipped IDX)");
  app.add_option("--blocks", blocks, "search blocks per stage (the program's space.blocks_per_stage), comma-separated")->delimiter(',');
  app.add_option("--width", width, "width multiplier (space.width)");
  app.add_option("--ops", ops, "candidate ops (space.ops), comma-separated; the table's key characters are their indices")->delimiter(',');
  app.add_option("--alpha0-op", alpha0_op, "α0 uses this op in every block (the program's 'plain' α0: conv3); its parameters are the budget");
  app.add_option("--archs", archs, "architectures drawn uniformly (within α0's budget: besides α0 and the extremes)");
  app.add_option("--sample", sample,
                 "budget: α0, the extremes and uniform draws within α0's parameters; whole: uniform draws from the whole space")
      ->check(CLI::IsMember({"budget", "whole"}));
  std::vector<std::string> keys;
  app.add_option("--keys", keys,
                 "train exactly these architectures instead of a sample (comma-separated keys, one character per block, the op's index "
                 "in --ops): the truth of architectures a search found; the runs file records sample = keys")
      ->delimiter(',');
  app.add_option("--resolution", resolution, "train and test at R×R pixels (area interpolation of the 28×28 images; 0 = as they are)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--sample-seed", sample_seed, "seed of the architecture draw");
  app.add_option("--seeds", seeds, "training seeds, comma-separated")->delimiter(',');
  app.add_option("--train-images", train_images, "first N training images (0 = all 60000)");
  app.add_option("--test-images", test_images, "first N test images (0 = all 10000)");
  app.add_option("--epochs", recipe.epochs, "training epochs");
  app.add_option("--batch", recipe.batch_size, "images per SGD step");
  app.add_option("--lr", recipe.lr, "initial learning rate (cosine to 0)");
  app.add_option("--weight-decay", recipe.weight_decay, "SGD weight decay");
  app.add_flag("--augment", recipe.augment, "random resized crop and flip while training");
  app.add_option("--bn-recalibration", recipe.bn_recalibration_images,
                 "after training, BatchNorm statistics = exact means over the first N training images (0 = training's running averages)");
  app.add_option("--weight-averaging", recipe.weight_averaging_fraction,
                 "score the mean of the weights after each of the last fraction of steps (0 = final weights; needs --bn-recalibration)");
  app.add_flag("--score-plain-too", recipe.score_plain_too,
               "also record the final weights' score with training's BatchNorm statistics (plain_test_acc): pilots of the two options");
  app.add_option("--threads", threads, "torch threads");
  std::string device_name = "cpu", conv_backward = "automatic";
  app.add_option("--cpu-conv-backward", conv_backward, "CPU convolution kernels of the backward: automatic, native or onednn (cpu_convolution.hpp)")
      ->check(CLI::IsMember({"automatic", "native", "onednn"}));
  app.add_option("--device", device_name, "cpu, cuda or cuda:N (the recipe is the same; the numbers differ by device in the last digits)");
  app.add_option("--runs", runs_path, "append each finished run here (JSON lines); reruns skip what is there");
  app.add_option("--table", table_path, "write the table here (tabular backend format) and <table>.provenance.json beside it");
  bool table_only = false;
  std::size_t limit = 0;
  app.add_option("--limit", limit, "train only the first N architectures of the list (0 = all): pilots of a recipe");
  app.add_flag("--table-only", table_only, "train nothing: write --table from what --runs holds (architectures with every seed done)");
  CLI11_PARSE(app, argc, argv);
  try {
    torch::set_num_threads(static_cast<int>(threads));
    ft::keep_freed_cpu_memory();  // cpu_memory.hpp: 4x faster here (no page faults on every step's tensors)
    ft::set_cpu_convolution_backward(ft::parse_cpu_convolution_backward(conv_backward));
    ft::ResNetSpaceOptions so;
    so.stem = ft::Stem::gray28;
    so.blocks_per_stage = blocks;
    so.width = width;
    so.ops = ops;

    // The program's space: α0 = alpha0_op everywhere, budget = α0's parameters (search.max_params = alpha0).
    ft::ResNetSupernet probe(so);
    const faunae::Architecture first(std::vector<faunae::OpIndex>(probe->num_blocks(), 0));
    const faunae::BlockSpace unbounded = probe->space(first);
    faunae::Architecture alpha0 = first;
    for (std::size_t b = 0; b < unbounded.num_blocks(); ++b) {
      const auto k = op_named(unbounded, b, alpha0_op);
      if (!k) throw faunae::InvalidArgument(fmt::format("ground_truth: --alpha0-op '{}' is not among --ops '{}'", alpha0_op, fmt::join(ops, ",")));
      alpha0[b] = *k;
    }
    const double fixed = static_cast<double>(probe->parameters(alpha0)) - unbounded.size_of(alpha0);
    const faunae::BlockSpace budgeted = probe->space(alpha0).with_max_size(unbounded.size_of(alpha0));
    if (!keys.empty()) sample = "keys";
    const faunae::BlockSpace& space = sample == "budget" ? budgeted : unbounded;

    // The architectures: α0, the extremes, then uniform draws within the budget (distinct).
    std::vector<std::pair<faunae::Architecture, std::string>> list;
    std::set<faunae::Architecture> seen;
    const auto add = [&](const faunae::Architecture& a, std::string why) {
      if (space.within_max_size(a) && seen.insert(a).second) list.emplace_back(a, std::move(why));
    };
    if (sample == "budget") add(alpha0, "alpha0");
    if (sample == "budget") {
      faunae::Architecture smallest = alpha0;  // identity wherever a block may skip, else its smallest op
      for (std::size_t b = 0; b < space.num_blocks(); ++b)
        for (std::size_t k = 0; k < space.num_ops(b); ++k)
          if (space.op_size(b, static_cast<faunae::OpIndex>(k)) < space.op_size(b, smallest[b])) smallest[b] = static_cast<faunae::OpIndex>(k);
      add(smallest, "smallest");
      for (const auto& name : so.ops) {  // every block the same op (where offered), if within the budget
        faunae::Architecture same = alpha0;
        for (std::size_t b = 0; b < space.num_blocks(); ++b)
          if (const auto k = op_named(space, b, name)) same[b] = *k;
        add(same, "all-" + name);
      }
    }
    faunae::Rng rng(sample_seed);
    if (sample == "budget") {
      faunae::Architecture largest = alpha0;  // the largest of many uniform draws, other than α0
      faunae::Rng probe_rng(sample_seed ^ 0x1a59e57ULL);
      for (int i = 0; i < 20000; ++i) {
        const auto a = faunae::random_architecture(space, probe_rng);
        if (a != alpha0 && (largest == alpha0 || space.size_of(a) > space.size_of(largest))) largest = a;
      }
      add(largest, "largest-of-20000-draws");
    }
    for (const auto& key : keys) {  // --keys: the architectures named, in the order given (whatever their size)
      if (key.size() != space.num_blocks())
        throw faunae::InvalidArgument(fmt::format("ground_truth: --keys '{}' has {} characters, the space has {} blocks (one character per block)",
                                                  key, key.size(), space.num_blocks()));
      faunae::Architecture a = alpha0;
      for (std::size_t b = 0; b < space.num_blocks(); ++b) {
        const auto index = static_cast<std::size_t>(key[b] - '0');
        const auto k = key[b] >= '0' && index < ops.size() ? op_named(space, b, ops[index]) : std::nullopt;
        if (!k)
          throw faunae::InvalidArgument(fmt::format("ground_truth: --keys '{}': character {} ('{}') is not the index in --ops '{}' of an op "
                                                    "block {} offers",
                                                    key, b, key[b], fmt::join(ops, ","), b));
        a[b] = *k;
      }
      add(a, "given");
    }
    const std::size_t hand_picked = list.size();
    for (int guard = 0; keys.empty() && list.size() < hand_picked + static_cast<std::size_t>(archs) && guard < 1000000; ++guard)
      add(faunae::random_architecture(space, rng), sample == "budget" ? "uniform" : "uniform-whole-space");

    // The recipe, as the runs file's first line records it.
    nlohmann::json recipe_json = {{"data", data_dir}, {"train_images", train_images}, {"test_images", test_images},
                                  {"blocks_per_stage", so.blocks_per_stage}, {"width", width}, {"ops", so.ops},
                                  {"alpha0_op", alpha0_op}, {"archs", archs}, {"sample", sample}, {"sample_seed", sample_seed},
                                  {"resolution", resolution},
                                  {"epochs", recipe.epochs}, {"batch_size", recipe.batch_size}, {"lr", recipe.lr},
                                  {"momentum", recipe.momentum}, {"weight_decay", recipe.weight_decay}, {"augment", recipe.augment},
                                  {"bn_recalibration_images", recipe.bn_recalibration_images},
                                  {"weight_averaging_fraction", recipe.weight_averaging_fraction},
                                  {"schedule", "cosine to 0, per step"}, {"threads", threads}, {"device", device_name}};
    std::map<std::pair<std::string, std::int64_t>, nlohmann::json> done;
    if (fs::exists(runs_path)) {
      std::ifstream in(runs_path);
      std::string line;
      bool header = true;
      for (int number = 1; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          // A line cut short by an interruption is the last one; anything else is damage.
          if (in.peek() == std::char_traits<char>::eof()) break;
          throw faunae::InvalidArgument(fmt::format("ground_truth: {} line {} is not JSON ({})", runs_path, number, e.what()));
        }
        if (header) {
          // Keys added later have their old meaning where a file lacks them.
          const nlohmann::json defaults = {{"sample", "budget"}, {"resolution", 0}, {"sample_seed", 2026},
                                                   {"bn_recalibration_images", 0}, {"weight_averaging_fraction", 0.0}};
          for (const char* k : {"data", "train_images", "test_images", "blocks_per_stage", "width", "ops", "alpha0_op", "epochs",
                                "batch_size", "lr", "momentum", "weight_decay", "augment", "sample", "sample_seed", "resolution",
                                "bn_recalibration_images", "weight_averaging_fraction"})
            if (j.at("recipe").value(k, defaults.value(k, nlohmann::json())) != recipe_json.at(k))
              throw faunae::InvalidArgument(fmt::format("ground_truth: {} was written with {} = {}, this run has {}; use another --runs file",
                                                        runs_path, k, j.at("recipe").value(k, defaults.value(k, nlohmann::json())).dump(),
                                                        recipe_json.at(k).dump()));
          header = false;
          continue;
        }
        done[{j.at("key").get<std::string>(), j.at("seed").get<std::int64_t>()}] = j;
      }
    }
    std::ofstream runs(runs_path, std::ios::app);
    if (!runs) throw faunae::InvalidArgument(fmt::format("ground_truth: cannot append to {}", runs_path));
    if (fs::file_size(runs_path) == 0) {
      nlohmann::json header = {{"recipe", recipe_json}};
      runs << header.dump() << '\n' << std::flush;
    }

    if (table_only && table_path.empty()) throw faunae::InvalidArgument("ground_truth: --table-only needs --table");
    const auto train = ft::load_fashion_mnist(data_dir, /*train=*/true);
    const auto test = ft::load_fashion_mnist(data_dir, /*train=*/false);
    const auto train_set = at_resolution(train_images > 0 ? ft::take(train, train_images) : train, resolution);
    const auto test_set = at_resolution(test_images > 0 ? ft::take(test, test_images) : test, resolution);
    const auto aug = ft::default_augment_options(ft::Stem::gray28);
    fmt::print("ground_truth: {} architectures ({} hand-picked) x {} seeds, {} training / {} test images, {} epochs\n", list.size(),
               hand_picked, seeds.size(), train_set.size(), test_set.size(), recipe.epochs);
    std::size_t index = 0;
    for (const auto& [a, why] : list) {
      if (limit > 0 && index == limit) break;
      ++index;
      const std::string key = key_of(space, a, so.ops);
      for (const auto seed : seeds) {
        if (table_only || done.contains({key, seed})) continue;
        ft::StandaloneTrainingOptions o = recipe;
        o.seed = static_cast<std::uint64_t>(seed);
        const auto r = ft::train_standalone(so, a, train_set, test_set, aug, o, ft::parse_device(device_name));
        nlohmann::json j = {{"key", key}, {"seed", seed}, {"why", why}, {"device", device_name}, {"test_acc", 100.0 * r.test_accuracy},
                            {"test_loss", r.test_loss}, {"train_loss", r.train_loss}, {"params", r.parameters},
                            {"flops", probe->flops(a)}, {"seconds", r.seconds}};
        if (recipe.score_plain_too) {
          j["plain_test_acc"] = 100.0 * r.plain_test_accuracy;
          j["plain_test_loss"] = r.plain_test_loss;
          if (!std::isnan(r.recalibrated_final_test_accuracy)) j["recalibrated_final_test_acc"] = 100.0 * r.recalibrated_final_test_accuracy;
        }
        runs << j.dump() << '\n' << std::flush;
        done[{key, seed}] = j;
        fmt::print("[{}/{}] {} seed {} ({}): test {:.2f}%  train loss {:.3f}  {:.1f} s\n", index, list.size(), key, seed, why,
                   100.0 * r.test_accuracy, r.train_loss, r.seconds);
        std::fflush(stdout);
      }
    }

    if (!table_path.empty()) {
      nlohmann::json table = nlohmann::json::object(), entries = nlohmann::json::array();
      double seconds = 0.0;
      std::size_t incomplete = 0;
      for (const auto& [a, why] : list) {
        const std::string key = key_of(space, a, so.ops);
        if (!std::all_of(seeds.begin(), seeds.end(), [&](std::int64_t seed) { return done.contains({key, seed}); })) {
          ++incomplete;
          continue;
        }
        nlohmann::json accs = nlohmann::json::array();
        double sum = 0.0;
        nlohmann::json last;
        for (const auto seed : seeds) {
          const auto& j = done.at({key, seed});
          accs.push_back(j.at("test_acc"));
          sum += j.at("test_acc").get<double>();
          seconds += j.at("seconds").get<double>();
          last = j;
        }
        table[key] = {{"test_acc", accs}, {"mean_acc", sum / static_cast<double>(seeds.size())},
                      {"params", last.at("params")}, {"flops", last.at("flops")}};
        entries.push_back({{"key", key}, {"why", why}});
      }
      faunae::write_file_atomically(table_path, table.dump(1) + "\n");
      const std::time_t now = std::time(nullptr);
      char stamp[32];
      std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
      nlohmann::json provenance = {
          {"what", "stand-alone supervised training from scratch, top-1 on the test images (benchmarks/ground_truth.cpp)"},
          {"recipe", recipe_json},
          {"seeds", seeds},
          {"key", fmt::format("one character per block, the op's index in {}; '0' everywhere = alpha0 when alpha0_op is the first op", so.ops)},
          {"architectures", entries},
          {"architectures_planned", list.size()},
          {"architectures_not_yet_trained", incomplete},
          {"budget_parameters", fixed + budgeted.size_of(alpha0)},
          {"within_budget", [&] {
             nlohmann::json w = nlohmann::json::object();
             for (const auto& [a, why] : list) w[key_of(space, a, so.ops)] = budgeted.within_max_size(a);
             return w;
           }()},
          {"total_training_seconds", seconds},
          {"written", stamp},
          {"libtorch", fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH)}};
      faunae::write_file_atomically(table_path + ".provenance.json", provenance.dump(1) + "\n");
      fmt::print("wrote {} ({} of {} architectures; {} not yet trained under every seed) and {}.provenance.json\n", table_path,
                 entries.size(), list.size(), incomplete, table_path);
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ground_truth: {}\n", e.what());
    return 1;
  }
}

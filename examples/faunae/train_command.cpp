// `faunae train` and `faunae probe` (commands.hpp): the final unsupervised training of the compared
// architectures (evolved, alpha0, random), then their linear evaluation and kNN accuracy.
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <faunae/core/atomic_file.hpp>
#include <faunae/core/json_reader.hpp>
#include <faunae/hooks/hooks.hpp>
#include <faunae/torch.hpp>
#include <faunae/torch/evaluation.hpp>

#include "commands.hpp"
#include "library_options.hpp"
#include "run_folder.hpp"
#include "run_setup.hpp"

namespace faunae::program {

namespace fs = std::filesystem;

namespace {

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
    const ft::MocoOptions o = train_options(c);
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
  const ft::LinearEvalOptions lo = linear_probe_options(c);
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

}  // namespace

int train_command(const Config& c, const fs::path& run, const std::vector<std::string>& which) {
  return with_space(c, [&](auto kind) { return train<decltype(kind)>(c, run, which); });
}

int probe_command(const Config& c, const fs::path& run, const std::vector<std::string>& which) {
  return with_space(c, [&](auto kind) { return probe<decltype(kind)>(c, run, which); });
}

}  // namespace faunae::program

// MocoLearner and ContrastiveEvaluator: the SGD equals PyTorch's, the cosine schedule, k steps move
// student and teacher, exact save / load and evaluator state / restore, final training, errors.
#include <faunae/torch/contrastive_evaluator.hpp>  // first: the header stands alone

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <numbers>
#include <vector>

#include <faunae/search/search.hpp>

#include "catch_torch.hpp"
#include "what_matcher.hpp"
#include "fixtures.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::What;

using faunae_test::random_images;
using faunae_test::TempDir;
using faunae_test::tiny_evaluator_options;
using faunae_test::tiny_space;

namespace {

bool same_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& a, const std::vector<std::pair<std::string, torch::Tensor>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || !torch::equal(a[i].second, b[i].second)) return false;
  return true;
}

}  // namespace

TEST_CASE("MomentumSgd: the same steps as torch::optim::SGD, skipping parameters without a gradient", "[moco]") {
  torch::manual_seed(1);
  auto w = torch::randn({3, 2}, torch::requires_grad()), unused = torch::randn({2}, torch::requires_grad());
  auto w_ref = w.detach().clone().requires_grad_(true);
  MomentumSgd sgd({{"w", w}, {"unused", unused}}, 0.1, 0.9, 0.01);
  torch::optim::SGD ref({w_ref}, torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
  const auto unused_before = unused.detach().clone();
  for (int step = 0; step < 3; ++step) {
    const auto x = torch::randn({5, 3});
    sgd.zero_grad();
    x.mm(w).pow(2).sum().backward();
    sgd.step(0.1);
    ref.zero_grad();
    x.mm(w_ref).pow(2).sum().backward();
    ref.step();
    CHECK(torch::allclose(w, w_ref, 1e-6, 1e-6));
  }
  CHECK(torch::equal(unused, unused_before));  // no gradient: no decay, no step
  REQUIRE(sgd.state().size() == 1);
  CHECK(sgd.state()[0].first == "w");
  CHECK_THROWS_MATCHES(MomentumSgd({}, 0.1, 1.0, 0.0), faunae::InvalidArgument, What(Contains("momentum")));
  CHECK_THROWS_MATCHES(sgd.restore({{"nope", torch::zeros({3, 2})}}), faunae::IoError, What(Contains("'nope'")));
}

TEST_CASE("MocoLearner: cosine schedule, k steps move student and teacher, queue filled", "[moco]") {
  MocoOptions o = tiny_evaluator_options();
  o.lr = 0.2;
  o.schedule_steps = 4;
  MocoLearner learner(ResNetSupernet(tiny_space()), o);
  CHECK(learner.learning_rate() == Approx(0.2));
  CHECK(torch::equal(learner.student()->torch::nn::Module::parameters()[0], learner.teacher()->torch::nn::Module::parameters()[0]));
  const auto student_before = learner.student()->torch::nn::Module::parameters()[0].clone();
  const auto teacher_before = learner.teacher()->torch::nn::Module::parameters()[0].clone();
  const faunae::Architecture a({0, 1, 2});
  const auto data = random_images(8, 3);
  const auto loss = learner.train_step(data.images.narrow(0, 0, 4), a, default_augment_options(Stem::gray28));
  CHECK(std::isfinite(loss.item<double>()));
  CHECK(learner.learning_rate() == Approx(0.2 * 0.5 * (1 + std::cos(std::numbers::pi / 4))));
  learner.train_step(data.images.narrow(0, 4, 4), a, default_augment_options(Stem::gray28));
  CHECK(learner.queue().pointer() == 0);  // two batches of 4 filled the queue of 8
  CHECK_FALSE(torch::equal(learner.student()->torch::nn::Module::parameters()[0], student_before));
  CHECK_FALSE(torch::equal(learner.teacher()->torch::nn::Module::parameters()[0], teacher_before));
  learner.train_step(data.images.narrow(0, 0, 4), a, default_augment_options(Stem::gray28));
  learner.train_step(data.images.narrow(0, 0, 4), a, default_augment_options(Stem::gray28));
  CHECK(learner.learning_rate() == Approx(0.0).margin(1e-12));  // end of the schedule
  const double v = learner.validation_loss(data, a, default_augment_options(Stem::gray28), 5, 3);
  CHECK(std::isfinite(v));
  CHECK(v == learner.validation_loss(data, a, default_augment_options(Stem::gray28), 5, 3));  // same views, no training
  const auto score = learner.validation_score(data, a, default_augment_options(Stem::gray28), 5, 3);
  CHECK(score.loss == v);  // validation_loss is validation_score's loss, bit for bit
  // 8 images: the share of hits is a multiple of 1/8
  CHECK(score.instance_accuracy >= 0.0);
  CHECK(score.instance_accuracy <= 1.0);
  CHECK(score.instance_accuracy * 8 == Approx(std::round(score.instance_accuracy * 8)).margin(1e-9));
  CHECK_THROWS_MATCHES(learner.train_step(data.images, a, default_augment_options(Stem::gray28)), faunae::InvalidArgument,
                       What(Contains("batch of 4")));
  CHECK_THROWS_AS(learner.train_step(data.images.narrow(0, 0, 4), faunae::Architecture({0, 0}), default_augment_options(Stem::gray28)),
                  faunae::InvalidArchitecture);
}

TEST_CASE("MocoLearner: options are checked with the rule and the value", "[moco]") {
  MocoOptions o = tiny_evaluator_options();
  o.queue_size = 6;
  CHECK_THROWS_MATCHES(MocoLearner(ResNetSupernet(tiny_space()), o), faunae::InvalidArgument, What(Contains("K = 6") && Contains("batch of 4")));
  o = tiny_evaluator_options();
  o.shuffle_groups = 3;
  CHECK_THROWS_MATCHES(MocoLearner(ResNetSupernet(tiny_space()), o), faunae::InvalidArgument, What(Contains("shuffle_groups, got 3")));
  o = tiny_evaluator_options();
  o.precision = Precision::bf16;
  CHECK_THROWS_MATCHES(MocoLearner(ResNetSupernet(tiny_space()), o), faunae::InvalidArgument, What(Contains("needs a CUDA device")));
  o = tiny_evaluator_options();
  o.tau = 0.0;
  CHECK_THROWS_MATCHES(MocoLearner(ResNetSupernet(tiny_space()), o), faunae::InvalidArgument, What(Contains("tau")));
  CHECK_THROWS_MATCHES(parse_device("tpu"), faunae::InvalidArgument, What(Contains("'tpu'")));
  CHECK(parse_device("cpu").is_cpu());
  CHECK(parse_precision("bf16") == Precision::bf16);
  CHECK_THROWS_MATCHES(parse_precision("fp8"), faunae::InvalidArgument, What(Contains("'fp8'")));
}

TEST_CASE("error_text: LibTorch's message without its backtrace, any other exception's what()", "[moco]") {
  try {
    TORCH_CHECK(false, "the archive is damaged");
    FAIL("TORCH_CHECK did not throw");
  } catch (const c10::Error& e) {
    CHECK(std::string(e.what()).find("Exception raised from") != std::string::npos);  // what LibTorch gives
    CHECK(error_text(e) == "the archive is damaged");
    CHECK(error_text(e, 7) == "the arc…");
  }
  CHECK(error_text(std::runtime_error("plain\n")) == "plain");
}

TEST_CASE("MocoLearner: save then load continues exactly; a damaged file changes nothing", "[moco]") {
  TempDir dir("faunae-moco-save-test");
  const MocoOptions o = tiny_evaluator_options();
  const faunae::Architecture a({1, 0, 2});
  const auto data = random_images(8, 4);
  const auto aug = default_augment_options(Stem::gray28);
  torch::manual_seed(11);
  MocoLearner first(ResNetSupernet(tiny_space()), o);
  first.train_step(data.images.narrow(0, 0, 4), a, aug);
  first.save(dir.path / "learner.pt");
  first.train_step(data.images.narrow(0, 4, 4), a, aug);
  first.train_step(data.images.narrow(0, 0, 4), a, aug);

  torch::manual_seed(12);  // other initial weights: all must come from the file
  MocoLearner second(ResNetSupernet(tiny_space()), o);
  second.load(dir.path / "learner.pt");
  CHECK(second.steps() == 1);
  second.train_step(data.images.narrow(0, 4, 4), a, aug);
  second.train_step(data.images.narrow(0, 0, 4), a, aug);
  CHECK(same_tensors(first.state(), second.state()));

  // A state file of an earlier faunae (torch::pickle_save: the dict carries a type tag) still loads.
  {
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [n, t] : first.state()) dict.insert(n, t.detach().contiguous());
    const std::vector<char> bytes = torch::pickle_save(dict);
    std::ofstream(dir.path / "tagged.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    MocoLearner tagged(ResNetSupernet(tiny_space()), o);
    tagged.load(dir.path / "tagged.pt");
    CHECK(same_tensors(first.state(), tagged.state()));
  }

  // A learner of another shape, a truncated file, a missing file: clear errors, learner untouched.
  const auto before = second.state();
  MocoOptions other = o;
  other.head_out = 4;
  MocoLearner third(ResNetSupernet(tiny_space()), other);
  CHECK_THROWS_MATCHES(third.load(dir.path / "learner.pt"), faunae::IoError, What(Contains("queue has shape")));
  {
    std::ifstream in(dir.path / "learner.pt", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir.path / "cut.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  CHECK_THROWS_MATCHES(second.load(dir.path / "cut.pt"), faunae::IoError,
                       What(Contains("not a file written by MocoLearner::save") && !Contains("Exception raised from") &&
                            !Contains("frame #")));
  CHECK_THROWS_AS(second.load(dir.path / "missing.pt"), faunae::IoError);
  CHECK(same_tensors(before, second.state()));

  // Found by tests/fuzz/evaluator_state: entries with the right names and the wrong content are an
  // IoError naming the entry (item() of an empty tensor threw c10::Error; a scaler of another shape
  // failed after the networks had been overwritten), and change nothing.
  for (const auto& [name, bad] : {std::pair<std::string, torch::Tensor>{"queue.pointer", torch::zeros({0}, torch::kLong)},
                                  {"steps", torch::tensor({1.5})},
                                  {"scaler.scale", torch::ones({3})}}) {
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [n, t] : first.state()) dict.insert(n, n == name ? bad : t.detach().contiguous());
    const std::vector<char> bytes = torch::pickle_save(dict);
    std::ofstream(dir.path / "bad.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    CHECK_THROWS_MATCHES(second.load(dir.path / "bad.pt"), faunae::IoError, What(Contains("'" + name + "'")));
  }
  CHECK(same_tensors(before, second.state()));
}

TEST_CASE("ContrastiveEvaluator: a finite validation InfoNCE; state and restore resume exactly", "[moco]") {
  static_assert(faunae::StatefulEvaluator<ContrastiveEvaluator>);
  static_assert(faunae::Evaluator<DartsContrastiveEvaluator>);
  TempDir dir("faunae-contrastive-state-test");
  auto o = tiny_evaluator_options();
  o.state_directory = dir.path;
  const auto train = random_images(16, 5), validation = random_images(6, 6);
  const faunae::Architecture a({0, 1, 2}), b({1, 1, 0});
  torch::manual_seed(0);
  ContrastiveEvaluator e(tiny_space(), train, validation, default_augment_options(Stem::gray28), o);
  const auto first = e.evaluate(a);
  CHECK(std::isfinite(first.loss));
  CHECK(first.loss > 0.0);
  REQUIRE(first.metrics.size() == 4);
  CHECK(first.metrics[0].first == "train_loss");
  CHECK(first.metrics[3].first == "instance_accuracy");
  CHECK(first.metrics[3].second >= 0.0);
  CHECK(first.metrics[3].second <= 1.0);
  const auto saved = e.state();
  CHECK(std::filesystem::exists(dir.path / saved["file"].get<std::string>()));
  const double next = e.evaluate(b).loss;

  torch::manual_seed(99);
  ContrastiveEvaluator resumed(tiny_space(), train, validation, default_augment_options(Stem::gray28), o);
  resumed.restore(saved);
  CHECK(resumed.evaluate(b).loss == next);  // bit for bit

  // Old files are removed: only the last two states stay.
  e.state();
  e.evaluate(a);
  e.state();
  e.evaluate(a);
  e.state();
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    if (entry.path().extension() == ".pt") ++files;
  CHECK(files == 2);

  CHECK_THROWS_MATCHES(resumed.restore(nlohmann::json{{"kind", "contrastive"}, {"file", "../etc/passwd"}}), faunae::IoError,
                       What(Contains("plain name")));
  CHECK_THROWS_AS(resumed.restore(nlohmann::json{{"kind", "tabular"}}), faunae::IoError);
  auto no_dir = tiny_evaluator_options();
  ContrastiveEvaluator without(tiny_space(), train, validation, default_augment_options(Stem::gray28), no_dir);
  CHECK_THROWS_MATCHES(without.state(), faunae::InvalidArgument, What(Contains("state_directory")));
  CHECK_THROWS_MATCHES(ContrastiveEvaluator(tiny_space(), random_images(3, 1), validation, default_augment_options(Stem::gray28), o),
                       faunae::InvalidArgument, What(Contains("fewer than a batch of 4")));
}

TEST_CASE("ContrastiveEvaluator in a search: a resumed search ends where an uninterrupted one does", "[moco]") {
  TempDir dir("faunae-contrastive-search-test");
  const auto train = random_images(16, 7), validation = random_images(4, 8);
  const ResNetSupernet probe(tiny_space());
  const auto space = probe->space(faunae::Architecture({0, 0, 0}));
  faunae::SearchOptions so;
  so.seed = 3;
  so.max_epochs = 4;
  const auto run = [&](const std::filesystem::path& state_dir, std::int64_t stop_after, const std::filesystem::path* resume) {
    auto o = tiny_evaluator_options();
    o.state_directory = state_dir;
    torch::manual_seed(1);
    ContrastiveEvaluator e(tiny_space(), train, validation, default_augment_options(Stem::gray28), o);
    faunae::FaUNAE<faunae::BlockSpace> search(space, so, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
    if (resume) search.load(*resume, e);
    while (!search.finished() && static_cast<std::int64_t>(search.state().history.size()) < stop_after &&
           search.state().epoch < so.max_epochs)
      search.step(e);
    search.save(state_dir / "search.json", e);
    auto state = search.to_json()["state"];
    for (auto& epoch : state["history"]) epoch["metrics"].erase(2);  // wall-clock seconds differ
    return state;
  };
  const auto whole = run(dir.path / "whole", 100, nullptr);
  run(dir.path / "part", 2, nullptr);
  const auto part = dir.path / "part" / "search.json";
  const auto resumed = run(dir.path / "part", 100, &part);
  CHECK(whole == resumed);
}

TEST_CASE("train_contrastive: final training of a standalone network, epoch reports, early stop", "[moco]") {
  const auto data = random_images(12, 9);
  const faunae::Architecture a({1, 1, 2});
  const ResNetSupernet supernet(tiny_space());
  auto o = static_cast<MocoOptions>(tiny_evaluator_options());
  std::vector<EpochReport> reports;
  auto learner = train_contrastive(extract(supernet, a), data, default_augment_options(Stem::gray28), o, 3, [&](const EpochReport& r) {
    reports.push_back(r);
    return r.epoch < 2 ? faunae::Flow::proceed : faunae::Flow::stop;
  });
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].epoch == 1);
  CHECK(reports[0].images == 12);
  CHECK(std::isfinite(reports[1].loss));
  CHECK(learner.steps() == 6);
  CHECK(learner.learning_rate() < o.lr);
  CHECK_THROWS_MATCHES(train_contrastive(ResNetSupernet(tiny_space()), data, default_augment_options(Stem::gray28), o, 1),
                       faunae::InvalidArgument, What(Contains("standalone network")));
  CHECK_THROWS_MATCHES(train_contrastive(extract(supernet, a), data, default_augment_options(Stem::gray28), o, 0), faunae::InvalidArgument,
                       What(Contains("epochs must be positive")));
}

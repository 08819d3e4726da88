// Zero-cost proxies: synflow, NASWOT, snip and the label-free InfoNCE against hand computations on
// tiny linear/ReLU networks with fixed weights; the evaluators: −ln S, params and FLOPs from the
// supernet, determinism by seed, the caller's random stream untouched, checkpoint identity, option
// errors, and a few epochs of a FaUNAE search with each proxy.
#include <faunae/torch/zero_cost.hpp>  // first: the header stands alone

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <faunae/faunae.hpp>

#include "catch_torch.hpp"
#include "fixtures.hpp"
#include "what_matcher.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::random_images;
using faunae_test::tiny_space;
using faunae_test::What;

namespace {

// x → W1 x → ReLU → W2 · → (ReLU when `second_relu`); no biases. Both ReLUs go through
// observed_relu, as every ReLU of the backend's networks does.
struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl(std::vector<float> w1, std::vector<float> w2, std::int64_t hidden, std::int64_t out, bool second_relu = false)
      : second_relu(second_relu) {
    l1 = register_module("l1", torch::nn::Linear(torch::nn::LinearOptions(2, hidden).bias(false)));
    l2 = register_module("l2", torch::nn::Linear(torch::nn::LinearOptions(hidden, out).bias(false)));
    torch::NoGradGuard no_grad;
    l1->weight.copy_(torch::tensor(w1).reshape({hidden, 2}));
    l2->weight.copy_(torch::tensor(w2).reshape({out, hidden}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = l2(observed_relu(l1(x)));
    return second_relu ? observed_relu(y) : y;
  }
  bool second_relu;
  torch::nn::Linear l1{nullptr}, l2{nullptr};
};
TORCH_MODULE(TinyNet);

// W1 = [[1, −2], [3, 0.5]] and W2 = [[−1, 2]]: used by synflow and snip.
TinyNet two_layer() { return TinyNet(std::vector<float>{1, -2, 3, 0.5f}, std::vector<float>{-1, 2}, 2, 1); }

ZeroCostOptions options_for(ZeroCostProxy proxy, std::uint64_t seed = 1) {
  ZeroCostOptions o;
  o.proxy = proxy;
  o.seed = seed;
  o.batch_size = 8;
  return o;
}

}  // namespace

TEST_CASE("synflow: S = Σ|θ ⊙ ∂R/∂θ| with R = 1ᵀ|W2||W1|1, computed by hand; the network is put back", "[zero_cost]") {
  torch::set_num_threads(1);
  auto net = two_layer();
  // With |θ| and an input of ones every unit is positive, so the ReLU passes everything:
  //   R = Σ_k |W2_k| Σ_j |W1_kj| = 1·(1 + 2) + 2·(3 + 0.5) = 10.
  // ∂R/∂W1_kj = |W2_k|, so Σ_kj |W1_kj|·|W2_k| = R; ∂R/∂W2_k = Σ_j |W1_kj|, so Σ_k |W2_k|·Σ_j|W1_kj| = R.
  // S = 2R = 20 (synflow's layer-wise conservation: each layer carries R).
  const auto w1 = net->l1->weight.clone(), w2 = net->l2->weight.clone();
  net->train();
  const double s = synflow_score(*net, [&](const torch::Tensor& x) { return net->forward(x); }, {2});
  CHECK(s == Approx(20.0).epsilon(1e-12));
  CHECK(torch::equal(net->l1->weight, w1));  // signs back, float32 again
  CHECK(net->l1->weight.scalar_type() == torch::kFloat32);
  CHECK(torch::equal(net->l2->weight, w2));
  CHECK(net->is_training());
  CHECK_FALSE(net->l1->weight.grad().defined());

  // BatchNorm in eval mode with fresh statistics is the identity up to (1 + eps)^−½ on the path.
  torch::nn::Sequential with_bn(torch::nn::Linear(torch::nn::LinearOptions(2, 2).bias(false)), torch::nn::BatchNorm1d(2),
                                torch::nn::Functional(observed_relu), torch::nn::Linear(torch::nn::LinearOptions(2, 1).bias(false)));
  {
    torch::NoGradGuard no_grad;
    with_bn->named_parameters()["0.weight"].copy_(w1);
    with_bn->named_parameters()["3.weight"].copy_(w2);
  }
  const double s_bn = synflow_score(*with_bn, [&](const torch::Tensor& x) { return with_bn->forward(x); }, {2});
  CHECK(s_bn == Approx(20.0 / std::sqrt(1.0 + 1e-5)).epsilon(1e-12));
}

TEST_CASE("NASWOT: K_H = N_A − Hamming distance of the ReLU codes, ln|K_H| by hand", "[zero_cost]") {
  torch::set_num_threads(1);
  // W1 = [[1, −2], [3, 0.5]], W2 = [[1, 1], [−1, 1]], ReLU after both layers. Inputs:
  //   x1 = (1, 0): h = (1, 3)    → code 11; W2·relu(h) = (4, 2)     → code 11
  //   x2 = (0, 1): h = (−2, 0.5) → code 01; W2·(0, 0.5) = (0.5, 0.5) → code 11
  //   x3 = (−1, 0): h = (−1, −3) → code 00; W2·(0, 0) = (0, 0)      → code 00 (0 is not > 0)
  const TinyNet net(std::vector<float>{1, -2, 3, 0.5f}, std::vector<float>{1, 1, -1, 1}, 2, 2, /*second_relu=*/true);
  const auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 0.0f}).reshape({3, 2});
  // Each layer: K[i][j] = number of units where codes i and j agree (N_A = 2 per layer).
  const std::vector<std::vector<int>> codes1{{1, 1}, {0, 1}, {0, 0}}, codes2{{1, 1}, {1, 1}, {0, 0}};
  double k[3][3] = {};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int u = 0; u < 2; ++u) k[i][j] += (codes1[i][u] == codes1[j][u]) + (codes2[i][u] == codes2[j][u]);
  // K = [[4, 3, 0], [3, 4, 1], [0, 1, 4]], det = 4·15 − 3·12 + 0 = 24
  CHECK(k[0][1] == 3);
  CHECK(k[1][2] == 1);
  const double det = k[0][0] * (k[1][1] * k[2][2] - k[1][2] * k[2][1]) - k[0][1] * (k[1][0] * k[2][2] - k[1][2] * k[2][0]) +
                     k[0][2] * (k[1][0] * k[2][1] - k[1][1] * k[2][0]);
  REQUIRE(det == 24.0);
  auto m = net;
  CHECK(naswot_log_det([&](const torch::Tensor& in) { return m->forward(in); }, x) == Approx(std::log(24.0)).epsilon(1e-12));

  // Only the first layer: codes 11, 01, 00 → K = [[2, 1, 0], [1, 2, 1], [0, 1, 2]], det 4.
  const TinyNet one(std::vector<float>{1, -2, 3, 0.5f}, std::vector<float>{1, 1, -1, 1}, 2, 2, /*second_relu=*/false);
  auto o = one;
  CHECK(naswot_log_det([&](const torch::Tensor& in) { return o->forward(in); }, x) == Approx(std::log(4.0)).epsilon(1e-12));

  // Two inputs with the same codes: K_H is singular, ln|K_H| = −∞ (the evaluator floors it).
  const auto twins = torch::tensor({1.0f, 0.0f, 2.0f, 0.0f}).reshape({2, 2});
  CHECK(naswot_log_det([&](const torch::Tensor& in) { return o->forward(in); }, twins) == -std::numeric_limits<double>::infinity());
  CHECK(log_score(0.0) == Approx(-708.3964185).epsilon(1e-9));

  // A forward without observed ReLUs has no codes.
  CHECK_THROWS_MATCHES(naswot_log_det([](const torch::Tensor& in) { return in * 2; }, x), faunae::InvalidArgument,
                       What(Contains("no ReLU")));
}

TEST_CASE("snip: S = Σ|θ ⊙ ∂L/∂θ| by hand; the label-free InfoNCE by hand", "[zero_cost]") {
  torch::set_num_threads(1);
  auto net = two_layer();
  const auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 0.0f}).reshape({3, 2});
  // L = Σ_n W2·relu(W1 x_n). h = W1 x: (1, 3), (−2, 0.5), (−1, −3); relu: (1, 3), (0, 0.5), (0, 0).
  // ∂L/∂W2 = Σ_n relu(h_n) = (1, 3.5) → |−1·1| + |2·3.5| = 8.
  // ∂L/∂W1_k = W2_k Σ_{n: h_nk > 0} x_n: unit 1 (x1 only) −1·(1, 0) → |1·−1| + |−2·0| = 1;
  //                                   unit 2 (x1, x2) 2·(1, 1)  → |3·2| + |0.5·2| = 7.
  // S = 8 + 1 + 7 = 16.
  CHECK(snip_score(*net, [&] { return net->forward(x).sum(); }) == Approx(16.0).epsilon(1e-12));
  CHECK_FALSE(net->l1->weight.grad().defined());

  // InfoNCE with in-batch negatives: q = [(1, 0), (0, 1)], k = [(0.6, 0.8), (0, 1)], τ = 0.5.
  const auto q = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).reshape({2, 2});
  const auto k = torch::tensor({0.6f, 0.8f, 0.0f, 1.0f}).reshape({2, 2});
  const double tau = 0.5;
  const double l0 = -0.6 / tau + std::log(std::exp(0.6 / tau) + std::exp(0.0 / tau));
  const double l1 = -1.0 / tau + std::log(std::exp(0.8 / tau) + std::exp(1.0 / tau));
  CHECK(batch_info_nce(q, k, tau).item<double>() == Approx((l0 + l1) / 2).epsilon(1e-6));
  CHECK(batch_info_nce(q * 3, k * 2, tau).item<double>() == Approx((l0 + l1) / 2).epsilon(1e-6));  // rows are normalised
  CHECK_THROWS_MATCHES(batch_info_nce(q, k, 0.0), faunae::InvalidArgument, What(Contains("tau must be positive")));
}

TEST_CASE("ZeroCostEvaluator: loss = −ln S, params and FLOPs from the supernet, metrics", "[zero_cost]") {
  torch::set_num_threads(1);
  const auto images = random_images(12, 3);
  const auto aug = default_augment_options(Stem::gray28);
  const faunae::Architecture a({1, 0, 2});
  for (const auto proxy : {ZeroCostProxy::params, ZeroCostProxy::flops}) {
    ZeroCostEvaluator e(tiny_space(), faunae::torch_backend::ImageDataset{}, aug, options_for(proxy));  // no images needed
    const double expected = proxy == ZeroCostProxy::params ? static_cast<double>(e.supernet()->parameters(a))
                                                           : static_cast<double>(e.supernet()->flops(a));
    const auto r = e.evaluate(a);
    CHECK(r.loss == Approx(-std::log(expected)).epsilon(1e-12));
    REQUIRE(r.metrics.size() == 3);
    CHECK(r.metrics[0].first == "log_score");
    CHECK(r.metrics[1] == std::pair<std::string, double>{"score", expected});
    CHECK(r.metrics[2].first == "seconds");
  }
  {
    // synflow of the standalone network, rebuilt by hand with the same seeded initialisation
    ZeroCostEvaluator e(tiny_space(), images, aug, options_for(ZeroCostProxy::synflow));
    auto net = e.build(a);
    const double s = synflow_score(*net, [&](const torch::Tensor& x) { return net->forward(x); }, {1, 28, 28});
    const auto r = e.evaluate(a);
    CHECK(s > 0);
    CHECK(r.loss == Approx(-std::log(s)).epsilon(1e-12));
  }
  {
    ZeroCostEvaluator e(tiny_space(), images, aug, options_for(ZeroCostProxy::naswot));
    auto net = e.build(a);
    net->train();
    const double log_det = naswot_log_det([&](const torch::Tensor& x) { return net->forward(x); }, e.minibatch());
    const auto r = e.evaluate(a);
    CHECK(e.minibatch().sizes() == torch::IntArrayRef({8, 1, 28, 28}));
    CHECK(std::isfinite(r.loss));
    CHECK(r.loss == Approx(-log_det).epsilon(1e-12));
    CHECK(r.metrics.size() == 2);  // log_score, seconds: |K_H| itself overflows
    // K_H is an integer matrix: when it is not singular, |K_H| ≥ 1
    CHECK(-r.loss >= 0.0);
  }
  {
    ZeroCostEvaluator e(tiny_space(), images, aug, options_for(ZeroCostProxy::snip));
    const auto r = e.evaluate(a);
    CHECK(std::isfinite(r.loss));
    CHECK(r.metrics[1].first == "score");
    CHECK(r.metrics[1].second > 0.0);
  }
}

TEST_CASE("ZeroCostEvaluator: the same seed gives the same loss, another seed another; the caller's stream is untouched",
          "[zero_cost]") {
  torch::set_num_threads(1);
  const auto images = random_images(12, 4);
  const auto aug = default_augment_options(Stem::gray28);
  const faunae::Architecture a({0, 1, 0}), b({1, 1, 2});
  for (const auto proxy : {ZeroCostProxy::synflow, ZeroCostProxy::naswot, ZeroCostProxy::snip}) {
    INFO(to_string(proxy));
    torch::manual_seed(5);
    const auto expected = torch::rand({4});
    torch::manual_seed(5);
    ZeroCostEvaluator first(tiny_space(), images, aug, options_for(proxy, 1));
    const double la = first.evaluate(a).loss, lb = first.evaluate(b).loss;
    CHECK(torch::equal(torch::rand({4}), expected));  // construction and evaluations drew nothing from it
    ZeroCostEvaluator same(tiny_space(), images, aug, options_for(proxy, 1));
    CHECK(same.evaluate(b).loss == lb);  // in another order, by another object
    CHECK(same.evaluate(a).loss == la);
    CHECK(first.evaluate(a).loss == la);  // and again
    ZeroCostEvaluator other(tiny_space(), images, aug, options_for(proxy, 2));
    CHECK(other.evaluate(a).loss != la);
  }
}

TEST_CASE("ZeroCostEvaluator: state is its identity; restore refuses another evaluator's; bad options throw", "[zero_cost]") {
  torch::set_num_threads(1);
  const auto images = random_images(12, 5);
  const auto aug = default_augment_options(Stem::gray28);
  ZeroCostEvaluator e(tiny_space(), images, aug, options_for(ZeroCostProxy::naswot));
  CHECK(e.state() == nlohmann::json{{"kind", "zero_cost"}, {"proxy", "naswot"}, {"seed", 1}, {"batch_size", 8}});
  e.restore(e.state());
  ZeroCostEvaluator synflow(tiny_space(), images, aug, options_for(ZeroCostProxy::synflow));
  CHECK_THROWS_MATCHES(e.restore(synflow.state()), faunae::IoError, What(Contains("\"synflow\"") && Contains("\"naswot\"")));
  CHECK_THROWS_AS(e.restore(nlohmann::json{{"kind", "contrastive"}, {"file", "x.pt"}}), faunae::IoError);

  CHECK(parse_zero_cost_proxy("snip") == ZeroCostProxy::snip);
  CHECK(to_string(ZeroCostProxy::flops) == "flops");
  CHECK_THROWS_MATCHES(parse_zero_cost_proxy("grasp"), faunae::InvalidArgument,
                       What(Contains("'grasp'") && Contains("synflow, naswot, snip, params, flops")));
  auto o = options_for(ZeroCostProxy::naswot);
  o.batch_size = 1;
  CHECK_THROWS_MATCHES(ZeroCostEvaluator(tiny_space(), images, aug, o), faunae::InvalidArgument, What(Contains("batch_size must be >= 2, got 1")));
  o.batch_size = 13;
  CHECK_THROWS_MATCHES(ZeroCostEvaluator(tiny_space(), images, aug, o), faunae::InvalidArgument, What(Contains("fewer than a batch of 13")));
  CHECK_THROWS_MATCHES(ZeroCostEvaluator(tiny_space(), images, default_augment_options(Stem::color32), options_for(ZeroCostProxy::snip)),
                       faunae::InvalidArgument, What(Contains("AugmentOptions::mean has 3 entries")));
  CHECK_THROWS_MATCHES(e.evaluate(faunae::Architecture({0, 0, 5})), faunae::InvalidArchitecture, What(Contains("block 2")));
}

TEST_CASE("ZeroCostEvaluator: each proxy drives a FaUNAE search; DARTS networks too", "[zero_cost]") {
  torch::set_num_threads(1);
  const auto images = random_images(12, 6);
  const auto aug = default_augment_options(Stem::gray28);
  const ResNetSupernet probe(tiny_space());
  const auto space = probe->space(faunae::Architecture({0, 0, 0}));
  faunae::SearchOptions so;
  so.seed = 3;
  so.max_epochs = 3;
  faunae_test::TempDir dir("faunae-zero-cost-search-test");
  for (const auto name : kZeroCostProxies) {
    INFO(name);
    ZeroCostEvaluator e(tiny_space(), images, aug, options_for(parse_zero_cost_proxy(name)));
    faunae::FaUNAE<faunae::BlockSpace> search(space, so, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
    search.step(e);
    search.save(dir.path / "search.json", e);
    faunae::FaUNAE<faunae::BlockSpace> resumed(space, so, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
    resumed.load(dir.path / "search.json", e);
    const auto result = resumed.run(e);
    CHECK(result.epochs >= 2);
    CHECK(result.history.size() == result.epochs + 1);
    faunae::FaUNAE<faunae::BlockSpace> whole(space, so, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
    const auto uninterrupted = whole.run(e);
    CHECK(uninterrupted.architecture == result.architecture);
    REQUIRE(uninterrupted.history.size() == result.history.size());
    for (std::size_t i = 0; i < result.history.size(); ++i) CHECK(result.history[i].loss == uninterrupted.history[i].loss);
  }
  // A checkpoint of one proxy is not resumed with another.
  ZeroCostEvaluator naswot(tiny_space(), images, aug, options_for(ZeroCostProxy::naswot));
  faunae::FaUNAE<faunae::BlockSpace> other(space, so, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
  CHECK_THROWS_AS(other.load(dir.path / "search.json", naswot), faunae::IoError);

  DartsSpaceOptions darts;
  darts.layers = 3;
  darts.channels = 4;
  darts.in_channels = 1;
  darts.input_size = 28;
  faunae::Rng rng(2);
  const DartsSupernet darts_probe(darts);
  const auto arch = darts_probe->random_architecture(rng);
  for (const auto proxy : {ZeroCostProxy::synflow, ZeroCostProxy::naswot, ZeroCostProxy::snip, ZeroCostProxy::flops}) {
    INFO(to_string(proxy));
    DartsZeroCostEvaluator e(darts, images, aug, options_for(proxy));
    CHECK(std::isfinite(e.evaluate(arch).loss));
  }
}

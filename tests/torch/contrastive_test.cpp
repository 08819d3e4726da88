// Contrastive teacher–student pieces: InfoNCE (6) against a hand computation, the EMA (7), the key
// queue's FIFO order, the projection head's shapes and shuffled BN's round trip.
#include <faunae/torch/contrastive.hpp>  // first: the header stands alone

#include <cmath>
#include <vector>

#include <faunae/torch/augment.hpp>

#include "catch_torch.hpp"
#include "what_matcher.hpp"

using namespace faunae::torch_backend;
using faunae_test::Contains;
using faunae_test::What;

namespace {
torch::Tensor rows(std::vector<float> values, std::int64_t d) {
  const auto n = static_cast<std::int64_t>(values.size()) / d;
  return torch::tensor(values).reshape({n, d});
}
}  // namespace

TEST_CASE("InfoNCE equals eq. (6) computed by hand", "[moco]") {
  torch::set_num_threads(1);
  const auto q = rows({1, 0, 0, 1}, 2);
  const auto k = rows({0.6f, 0.8f, 0, 1}, 2);
  const auto queue = rows({0, 1, -1, 0}, 2);
  const double tau = 0.5;
  // query 0: s·t₊ = 0.6, s·t_n = 0, -1; query 1: s·t₊ = 1, s·t_n = 1, 0 (all divided by τ)
  const double l0 = -0.6 / tau + std::log(std::exp(0.6 / tau) + std::exp(0.0 / tau) + std::exp(-1.0 / tau));
  const double l1 = -1.0 / tau + std::log(std::exp(1.0 / tau) + std::exp(1.0 / tau) + std::exp(0.0 / tau));
  CHECK(info_nce(q, k, queue, tau).item<double>() == Approx((l0 + l1) / 2).epsilon(1e-6));
  // the default temperature is the paper's 0.2
  const double d0 = -0.6 / 0.2 + std::log(std::exp(0.6 / 0.2) + 1.0 + std::exp(-1.0 / 0.2));
  const double d1 = -1.0 / 0.2 + std::log(2 * std::exp(1.0 / 0.2) + 1.0);
  CHECK(info_nce(q, k, queue).item<double>() == Approx((d0 + d1) / 2).epsilon(1e-6));
}

TEST_CASE("InfoNCE: gradient reaches only the queries; bad arguments throw", "[moco]") {
  torch::set_num_threads(1);
  auto q = rows({1, 0, 0, 1}, 2).requires_grad_();
  auto k = rows({0.6f, 0.8f, 0, 1}, 2).requires_grad_();
  auto queue = rows({0, 1, -1, 0}, 2).requires_grad_();
  info_nce(q, k, queue).backward();
  CHECK(q.grad().defined());
  CHECK_FALSE(k.grad().defined());
  CHECK_FALSE(queue.grad().defined());
  torch::NoGradGuard no_grad;
  CHECK_THROWS_MATCHES(info_nce(q, k, queue, 0.0), faunae::InvalidArgument, What(Contains("tau must be positive") && Contains("got 0")));
  CHECK_THROWS_MATCHES(info_nce(q, k.narrow(0, 0, 1), queue), faunae::InvalidArgument, What(Contains("same shape")));
  CHECK_THROWS_MATCHES(info_nce(q, k, torch::zeros({2, 3})), faunae::InvalidArgument, What(Contains("D = 2") && Contains("got 3")));
  CHECK_THROWS_MATCHES(info_nce(q.flatten(), k, queue), faunae::InvalidArgument, What(Contains("q must be a 2-d tensor")));
}

TEST_CASE("Instance discrimination: a hit when the positive key beats every key of the bank", "[moco]") {
  torch::set_num_threads(1);
  // query 0: s·t₊ = 0.6 beats 0 and -1 (hit); query 1: s·t₊ = 1 ties the bank's 1 (a tie is a miss);
  // query 2: s·t₊ = 0 loses to 1 (miss)
  const auto q = rows({1, 0, 0, 1, 0, 1}, 2);
  const auto k = rows({0.6f, 0.8f, 0, 1, 1, 0}, 2);
  const auto queue = rows({0, 1, -1, 0}, 2);
  const auto hits = instance_discrimination_hits(q, k, queue);
  REQUIRE(hits.sizes().vec() == std::vector<std::int64_t>{3});
  CHECK(hits[0].item<bool>());
  CHECK_FALSE(hits[1].item<bool>());
  CHECK_FALSE(hits[2].item<bool>());
  // A hit is a row whose eq. (6) logits have the positive (class 0) as their argmax.
  const auto logits = torch::cat({(q * k).sum(1, true), q.mm(queue.t())}, 1);
  CHECK(torch::equal(hits.logical_and(logits.argmax(1) == 0), hits));
  CHECK_THROWS_MATCHES(instance_discrimination_hits(q, k.narrow(0, 0, 1), queue), faunae::InvalidArgument, What(Contains("same shape")));
  CHECK_THROWS_MATCHES(instance_discrimination_hits(q, k, torch::zeros({2, 3})), faunae::InvalidArgument,
                       What(Contains("D = 2") && Contains("got 3")));
  CHECK_THROWS_MATCHES(instance_discrimination_hits(q, k, torch::zeros({0, 2})), faunae::InvalidArgument, What(Contains("key bank is empty")));
}

TEST_CASE("EMA: eq. (7) on the parameters, buffers untouched", "[moco]") {
  torch::set_num_threads(1);
  torch::nn::Sequential student(torch::nn::Linear(2, 2), torch::nn::BatchNorm1d(2));
  auto teacher = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(student->clone());
  REQUIRE(teacher);
  std::vector<torch::Tensor> expected;
  {
    torch::NoGradGuard no_grad;
    const auto t = teacher->parameters(), s = student->parameters();
    for (std::size_t i = 0; i < t.size(); ++i) {
      t[i].copy_(torch::arange(t[i].numel(), torch::kFloat).reshape(t[i].sizes()));
      s[i].copy_(torch::arange(s[i].numel(), torch::kFloat).reshape(s[i].sizes()) * 10 + 1);
      expected.push_back(0.9 * t[i] + (1 - 0.9) * s[i]);
    }
    student->named_buffers()["1.running_mean"].fill_(5);
    teacher->named_buffers()["1.running_mean"].fill_(-3);
  }
  ema_update(*teacher, *student, 0.9);
  const auto t = teacher->parameters();
  REQUIRE(t.size() == expected.size());
  for (std::size_t i = 0; i < t.size(); ++i) CHECK(torch::allclose(t[i], expected[i], /*rtol=*/1e-6, /*atol=*/0));
  CHECK(torch::equal(teacher->named_buffers()["1.running_mean"], torch::full({2}, -3.0f)));
  CHECK(teacher->named_buffers()["1.running_var"].equal(torch::ones({2})));
  // the teacher's parameters are still the teacher's own trainable leaves
  CHECK(t[0].requires_grad());
  CHECK(t[0].data_ptr() != student->parameters()[0].data_ptr());
}

TEST_CASE("EMA: m = 0 copies, m = 1 keeps; m outside [0, 1] and mismatches throw", "[moco]") {
  torch::set_num_threads(1);
  std::vector<torch::Tensor> teacher{torch::tensor({1.0f, 2.0f}), torch::tensor({3.0f})};
  const std::vector<torch::Tensor> student{torch::tensor({5.0f, 7.0f}), torch::tensor({11.0f})};
  ema_update(teacher, student, 1.0);
  CHECK(torch::equal(teacher[0], torch::tensor({1.0f, 2.0f})));
  ema_update(teacher, student, 0.5);
  CHECK(torch::equal(teacher[0], torch::tensor({3.0f, 4.5f})));
  CHECK(torch::equal(teacher[1], torch::tensor({7.0f})));
  ema_update(teacher, student, 0.0);
  CHECK(torch::equal(teacher[0], student[0]));
  CHECK(torch::equal(teacher[1], student[1]));
  CHECK_THROWS_MATCHES(ema_update(teacher, student, 1.5), faunae::InvalidArgument, What(Contains("m must be in [0, 1], got 1.5")));
  CHECK_THROWS_MATCHES(ema_update(teacher, student, std::nan("")), faunae::InvalidArgument, What(Contains("m must be in [0, 1]")));
  CHECK_THROWS_MATCHES(ema_update(teacher, {student[0]}, 0.9), faunae::InvalidArgument, What(Contains("2 parameters, the student 1")));
  CHECK_THROWS_MATCHES(ema_update(teacher, {student[1], student[0]}, 0.9), faunae::InvalidArgument, What(Contains("parameter 0 has shape")));
}

TEST_CASE("key queue: random unit keys, FIFO with wrap-around, K a multiple of the batch", "[moco]") {
  torch::set_num_threads(1);
  KeyQueue queue(/*size=*/6, /*dim=*/2, make_generator(/*seed=*/1));
  CHECK(queue.size() == 6);
  CHECK(queue.dim() == 2);
  CHECK(queue.pointer() == 0);
  CHECK(torch::allclose(queue.keys().norm(2, /*dim=*/1), torch::ones({6}), /*rtol=*/1e-5, /*atol=*/1e-6));
  KeyQueue same(6, 2, make_generator(1));
  CHECK(torch::equal(queue.keys(), same.keys()));

  const auto batch = [](float v) { return torch::full({2, 2}, v); };
  queue.enqueue(batch(1));
  CHECK(queue.pointer() == 2);
  queue.enqueue(batch(2));
  queue.enqueue(batch(3));
  CHECK(queue.pointer() == 0);
  CHECK(torch::equal(queue.keys(), torch::cat({batch(1), batch(2), batch(3)})));
  queue.enqueue(batch(4));  // overwrites the oldest
  CHECK(queue.pointer() == 2);
  CHECK(torch::equal(queue.keys(), torch::cat({batch(4), batch(2), batch(3)})));
  queue.enqueue(torch::full({3, 2}, 5.0f).narrow(0, 0, 2));
  CHECK(torch::equal(queue.keys(), torch::cat({batch(4), batch(5), batch(3)})));

  CHECK_THROWS_MATCHES(queue.enqueue(torch::zeros({4, 2})), faunae::InvalidArgument,
                       What(Contains("K = 6") && Contains("multiple of the batch size") && Contains("batch of 4")));
  CHECK_THROWS_MATCHES(queue.enqueue(torch::zeros({2, 3})), faunae::InvalidArgument, What(Contains("D = 2, got 3")));
  CHECK(queue.pointer() == 4);  // a refused batch changes nothing
  CHECK_THROWS_MATCHES(KeyQueue(0, 2), faunae::InvalidArgument, What(Contains("K must be positive, got 0")));
}

TEST_CASE("contrastive head: pooled features to 128-d by default", "[moco]") {
  torch::set_num_threads(1);
  ContrastiveHead head(/*in_features=*/16);
  CHECK(head->options().hidden() == 2048);
  CHECK(head->forward(torch::randn({3, 16, 4, 4})).sizes() == torch::IntArrayRef({3, 128}));
  ContrastiveHead small(ContrastiveHeadOptions(16).hidden(32).out(8));
  CHECK(small->forward(torch::randn({3, 16})).sizes() == torch::IntArrayRef({3, 8}));
  std::int64_t count = 0;
  for (const auto& p : small->parameters()) count += p.numel();
  CHECK(count == 16 * 32 + 32 + 32 * 8 + 8);
  CHECK_THROWS_MATCHES(small->forward(torch::randn({3, 15})), faunae::InvalidArgument, What(Contains("N×16") && Contains("[3, 15]")));
  CHECK_THROWS_MATCHES(ContrastiveHead(ContrastiveHeadOptions(16).out(0)), faunae::InvalidArgument, What(Contains("out must be positive, got 0")));
}

TEST_CASE("shuffled BN: the un-permutation restores the order; each group has its own statistics", "[moco]") {
  torch::set_num_threads(1);
  const auto x = torch::arange(8, torch::kFloat).reshape({8, 1});
  auto gen = make_generator(/*seed=*/3);
  const auto shuffled = shuffle_batch(x, gen);
  CHECK_FALSE(torch::equal(shuffled.x, x));
  CHECK(torch::equal(std::get<0>(shuffled.x.sort(/*dim=*/0)), x));
  CHECK(torch::equal(unshuffle_batch(shuffled.x, shuffled.inverse), x));

  std::vector<std::int64_t> chunk_sizes;
  const auto doubled = shuffle_bn_forward(
      [&](const torch::Tensor& chunk) {
        chunk_sizes.push_back(chunk.size(0));
        return chunk * 2;
      },
      x, /*groups=*/4, gen);
  CHECK(torch::equal(doubled, x * 2));
  CHECK(chunk_sizes == std::vector<std::int64_t>{2, 2, 2, 2});

  torch::nn::BatchNorm1d bn(torch::nn::BatchNorm1dOptions(1).affine(false));
  bn->train();
  auto gen_a = make_generator(7), gen_b = make_generator(7);
  const auto keys = shuffle_bn_forward([&](const torch::Tensor& c) { return bn(c); }, x, /*groups=*/2, gen_a);
  const auto same = shuffle_batch(x, gen_b);  // the same permutation, by hand
  const auto halves = same.x.chunk(2);
  const auto expected = unshuffle_batch(torch::cat({bn(halves[0]), bn(halves[1])}), same.inverse);
  CHECK(torch::allclose(keys, expected));
  CHECK_FALSE(torch::allclose(keys, bn(x)));

  CHECK_THROWS_MATCHES(shuffle_bn_forward([](const torch::Tensor& c) { return c; }, x, 3, gen), faunae::InvalidArgument,
                       What(Contains("batch size 8") && Contains("groups = 3")));
}


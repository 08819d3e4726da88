// Candidate ops: output shapes and parameter counts against hand-computed values.
#include "catch_torch.hpp"
#include <faunae/torch/ops.hpp>

using namespace faunae::torch_backend;

namespace {
torch::Tensor input(std::int64_t c, std::int64_t hw = 8) {
  torch::manual_seed(0);
  return torch::randn({2, c, hw, hw});
}
}  // namespace

TEST_CASE("identity and zero keep or zero the input", "[ops]") {
  IdentityOp id;
  const auto x = input(4);
  CHECK(torch::equal(id->forward(x), x));
  CHECK(parameter_count(*id) == 0);
  ZeroOp zero(1), zero2(2);
  CHECK(zero->forward(x).sizes() == x.sizes());
  CHECK(zero->forward(x).abs().sum().item<float>() == 0.0f);
  CHECK(zero2->forward(x).sizes() == torch::IntArrayRef({2, 4, 4, 4}));
}

TEST_CASE("k x k convolutions: shape and parameters", "[ops]") {
  // conv k×k without bias + BN (weight, bias): k²·Cin·Cout + 2·Cout
  ConvBnRelu c3(16, 24, 3), c5s2(16, 24, 5, 2);
  CHECK(parameter_count(*c3) == 9 * 16 * 24 + 2 * 24);
  CHECK(parameter_count(*c5s2) == 25 * 16 * 24 + 2 * 24);
  CHECK(c3->forward(input(16)).sizes() == torch::IntArrayRef({2, 24, 8, 8}));
  CHECK(c5s2->forward(input(16)).sizes() == torch::IntArrayRef({2, 24, 4, 4}));
  CHECK((c3->forward(input(16)) >= 0).all().item<bool>());  // ReLU last
  ReluConvBn darts(16, 16, 3);
  CHECK(parameter_count(*darts) == 9 * 16 * 16 + 2 * 16);
}

TEST_CASE("depth-wise separable convolutions: shape and parameters", "[ops]") {
  // twice (dw k×k: k²·C, pw 1×1: C·C', BN: 2·C')
  SepConv s3(16, 16, 3), s5(16, 16, 5, 2);
  CHECK(parameter_count(*s3) == 2 * (9 * 16 + 16 * 16 + 2 * 16));
  CHECK(parameter_count(*s5) == 2 * (25 * 16 + 16 * 16 + 2 * 16));
  CHECK(s3->forward(input(16)).sizes() == torch::IntArrayRef({2, 16, 8, 8}));
  CHECK(s5->forward(input(16)).sizes() == torch::IntArrayRef({2, 16, 4, 4}));
}

TEST_CASE("pooling: shape, no parameters, average excludes padding", "[ops]") {
  PoolOp max(PoolKind::max), avg(PoolKind::average), avg2(PoolKind::average, 2);
  const auto ones = torch::ones({1, 1, 4, 4});
  CHECK(parameter_count(*max) == 0);
  CHECK(max->forward(input(3)).sizes() == torch::IntArrayRef({2, 3, 8, 8}));
  CHECK(avg2->forward(input(3)).sizes() == torch::IntArrayRef({2, 3, 4, 4}));
  CHECK(torch::allclose(avg->forward(ones), ones));  // count_include_pad = false: corners stay 1
}

TEST_CASE("factorized reduce halves the resolution", "[ops]") {
  FactorizedReduce fr(16, 32);
  CHECK(fr->forward(input(16)).sizes() == torch::IntArrayRef({2, 32, 4, 4}));
  CHECK(parameter_count(*fr) == 16 * 16 + 16 * 16 + 2 * 32);
}

TEST_CASE("SplAtConv2d matches ResNeSt's parameter formula", "[ops][splat]") {
  for (std::int64_t kernel : {3, 5})
    for (std::int64_t radix : {2, 4}) {
      const std::int64_t in = 64, c = 64, card = 1;
      SplAtConv2d sa(SplAtConv2dOptions(in, c, kernel).radix(radix));
      const std::int64_t inter = std::max<std::int64_t>(in * radix / 4, 32);
      const std::int64_t expected = in * c * radix * kernel * kernel / (card * radix)  // grouped conv
                                    + 2 * c * radix                                   // bn0
                                    + c * inter / card + inter                        // fc1 (+bias)
                                    + 2 * inter                                       // bn1
                                    + inter * c * radix / card + c * radix;           // fc2 (+bias)
      CAPTURE(kernel, radix);
      CHECK(sa->inter_channels == inter);
      CHECK(parameter_count(*sa) == expected);
      CHECK(sa->forward(input(in)).sizes() == torch::IntArrayRef({2, c, 8, 8}));
    }
  SplAtConv2d strided(SplAtConv2dOptions(32, 32, 3).radix(2).stride(2));
  CHECK(strided->forward(input(32)).sizes() == torch::IntArrayRef({2, 32, 4, 4}));
  // small inputs: inter channels never below 32
  CHECK(SplAtConv2d(SplAtConv2dOptions(8, 8, 3).radix(2))->inter_channels == 32);
}

TEST_CASE("SplAtConv2d's attention is a softmax over the radix", "[ops][splat]") {
  // Two equal splits: whatever the attention, Σ_r a_r·split = split iff Σ_r a_r = 1 (softmax).
  // groups = radix = 2: out channels 0–3 (split 0) read input 0–1, 4–7 (split 1) read input 2–3.
  SplAtConv2d sa(SplAtConv2dOptions(4, 4, 3).radix(2));
  sa->eval();  // BN with fresh running statistics: y = x / sqrt(1 + eps)
  torch::NoGradGuard no_grad;
  sa->conv->weight.zero_();
  for (std::int64_t o = 0; o < 4; ++o) {
    sa->conv->weight[o][o % 2][1][1] = 1.0;      // split 0, channel o ← input o % 2
    sa->conv->weight[o + 4][o % 2][1][1] = 1.0;  // split 1, channel o ← input 2 + o % 2
  }
  torch::manual_seed(3);
  const auto half = torch::rand({1, 2, 5, 5}) + 0.1;
  const auto x = torch::cat({half, half}, 1);  // input 2–3 equal input 0–1: equal splits
  const auto y = sa->forward(x);
  const auto split = torch::cat({half, half}, 1) / std::sqrt(1.0 + 1e-5);
  CHECK(torch::allclose(y, split, 1e-5, 1e-6));
  CHECK_THROWS_WITH(SplAtConv2d(SplAtConv2dOptions(6, 6, 3).radix(4)),
                    faunae_test::Contains("divisible by cardinality*radix"));
}

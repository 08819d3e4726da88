// The DARTS cell space: structure, single path, genotype, extraction, invalid architectures.
#include "catch_torch.hpp"

#include <faunae/core/architecture_json.hpp>
#include <faunae/core/options_reader.hpp>
#include <faunae/torch.hpp>

using namespace faunae::torch_backend;
using faunae_test::Contains;

namespace {
DartsSpaceOptions tiny() {
  DartsSpaceOptions o;
  o.layers = 3;
  o.channels = 4;
  o.in_channels = 1;
  o.input_size = 16;
  return o;
}
faunae::Architecture all(faunae::OpIndex op) { return faunae::Architecture(std::vector<faunae::OpIndex>(28, op)); }
}  // namespace

TEST_CASE("DARTS: 14 edges per cell, reductions at 1/3 and 2/3, channels doubling", "[darts]") {
  CHECK(darts_edges().size() == 14);
  DartsSpaceOptions o;
  o.layers = 6;
  DartsSupernet net(o);
  std::vector<bool> reductions;
  for (std::int64_t i = 0; i < 6; ++i) reductions.push_back(net->is_reduction(i));
  CHECK(reductions == std::vector<bool>{false, false, true, false, true, false});
  CHECK(net->feature_dim() == 4 * 16 * 4);  // 4 nodes × C doubled twice
  const auto y = net->forward(torch::randn({2, 3, 32, 32}), all(4));
  CHECK(y.sizes() == torch::IntArrayRef({2, net->feature_dim()}));
}

TEST_CASE("DARTS space: 28 blocks of the paper's 8 ops; sizes from the modules summed over cells", "[darts]") {
  DartsSupernet net(tiny());  // 3 layers: cells 0 normal, 1 and 2 reduction
  const auto space = net->space(all(4));
  REQUIRE(space.num_blocks() == 28);
  for (std::size_t b = 0; b < 28; ++b) {
    REQUIRE(space.num_ops(b) == 8);
    CHECK(space.op_size(b, 0) == 0.0);  // none
    CHECK(space.op_size(b, 6) == 0.0);  // max pool
  }
  // normal cell (C = 4, one cell): conv 3×3 = 9·4·4 + 2·4; sep conv 3×3 = 2·(9·4 + 4·4 + 2·4)
  CHECK(space.op_size(0, 2) == 9 * 4 * 4 + 2 * 4);
  CHECK(space.op_size(0, 4) == 2 * (9 * 4 + 4 * 4 + 2 * 4));
  // reduction edges from the inputs: skip is FactorizedReduce (C = 8 in cell 1, 16 in cell 2), no identity
  CHECK(space.op_size(14, 1) == (8 * 4 + 8 * 4 + 2 * 8) + (16 * 8 + 16 * 8 + 2 * 16));
  CHECK_FALSE(space.identity_op(14).has_value());
  CHECK(space.identity_op(0) == std::optional<faunae::OpIndex>(1));
  CHECK_FALSE(space.identity_op(14 + 2).has_value());                     // node 1 ← input 0: stride 2
  CHECK(space.identity_op(14 + 4) == std::optional<faunae::OpIndex>(1));  // node 1 ← node 0: stride 1
  CHECK(space.block_name(14) == "reduce.node0.from0");
}

TEST_CASE("DARTS single path: only the chosen ops run and get gradients; none edges compute nothing", "[darts]") {
  torch::manual_seed(0);
  DartsSupernet net(tiny());
  faunae::Rng rng(2);
  auto a = net->random_architecture(rng);
  a[0] = 0;  // a none edge
  net->forward(torch::randn({2, 1, 16, 16}), a).sum().backward();
  for (std::size_t i = 0; i < net->cells->size(); ++i) {
    auto cell = net->cells->ptr<DartsCellImpl>(i);
    for (std::size_t e = 0; e < 14; ++e) {
      const auto& chosen = darts_ops()[a[DartsSupernetImpl::block_of(cell->reduction, e)]];
      for (const auto& [name, module] : cell->edges->ptr<torch::nn::ModuleDictImpl>(e)->items()) {
        for (const auto& p : module->parameters()) {
          CAPTURE(i, e, name, chosen);
          CHECK(p.grad().defined() == (name == chosen));
        }
      }
    }
  }
  // all edges none: the cells output zeros of the right shape
  const auto y = net->forward(torch::randn({2, 1, 16, 16}), all(0));
  CHECK(y.sizes() == torch::IntArrayRef({2, net->feature_dim()}));
  CHECK(y.abs().sum().item<float>() == 0.0f);
}

TEST_CASE("DARTS: genotype as DARTS writes it", "[darts]") {
  DartsSupernet net(tiny());
  auto a = all(0);
  a[0] = 4;   // normal node 0 ← input 0: sep_conv_3x3
  a[1] = 1;   // normal node 0 ← input 1: skip_connect
  a[14 + 13] = 6;  // reduction node 3 ← node 2 (input 4): max pool
  CHECK(net->genotype(a) ==
        "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=range(2, 6), "
        "reduce=[('max_pool_3x3', 4)], reduce_concat=range(2, 6))");
}

TEST_CASE("DARTS: the extracted network holds only its ops and computes what the supernet does", "[darts][export]") {
  torch::manual_seed(1);
  DartsSupernet net(tiny());
  faunae::Rng rng(7);
  const auto a = net->random_architecture(rng);
  net->train();
  { torch::NoGradGuard g; net->forward(torch::randn({8, 1, 16, 16}), a); }
  net->eval();
  auto standalone = extract(net, a);
  standalone->eval();
  CHECK(parameter_count(*standalone) == net->parameters(a));
  CHECK(standalone->flops(a) == net->flops(a));
  const auto x = torch::randn({2, 1, 16, 16});
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(standalone->forward(x), net->forward(x, a), 1e-5, 1e-6));
}

TEST_CASE("DARTS: FLOPs of a hand-countable architecture", "[darts]") {
  DartsSpaceOptions o = tiny();
  o.layers = 1;  // one normal cell, no reduction
  DartsSupernet net(o);
  // stem 3×3: 1→12 at 16×16; preprocess 1×1: 12→4 twice; 14 edges conv_3x3 4→4 at 16×16
  const std::int64_t hw = 16 * 16;
  const std::int64_t expected = 9 * 1 * 12 * hw + 2 * (12 * 4 * hw) + 14 * (9 * 4 * 4 * hw);
  CHECK(net->flops(all(2)) == expected);
  CHECK(net->flops(all(0)) == 9 * 1 * 12 * hw + 2 * (12 * 4 * hw));
}

TEST_CASE("DARTS: invalid architectures and options are refused", "[darts]") {
  DartsSupernet net(tiny());
  CHECK_THROWS_WITH(net->check(faunae::Architecture{1, 2}, "here"), Contains("has 2 blocks, the DARTS space has 28"));
  auto bad = all(1);
  bad[3] = 8;
  CHECK_THROWS_WITH(net->check(bad, "here"), Contains("block 3 uses op index 8"));
  const auto space = net->space(all(1));
  auto j = faunae::architecture_to_json(space, all(1));
  j["blocks"][2]["op"] = "dil_conv_3x3";
  CHECK_THROWS_WITH(faunae::architecture_from_json(space, j), Contains("'dil_conv_3x3'"));
  CHECK_THROWS_WITH(DartsSupernet(DartsSpaceOptions{.channels = 3}), Contains("channels must be even"));
  CHECK_THROWS_WITH(DartsSupernet(DartsSpaceOptions{.layers = 0}), Contains("layers must be in [1, 100]"));
}

TEST_CASE("DARTS: the space options' JSON form reads back every field and is checked", "[darts]") {
  static_assert(faunae::ReflectedOptions<DartsSpaceOptions>);
  const DartsSpaceOptions o{.layers = 5, .channels = 8, .in_channels = 1, .input_size = 28, .stem_multiplier = 2};
  const auto back = faunae::options_from_json<DartsSpaceOptions>(faunae::options_to_json(o), "test");
  CHECK(back.layers == 5);
  CHECK(back.channels == 8);
  CHECK(back.in_channels == 1);
  CHECK(back.input_size == 28);
  CHECK(back.stem_multiplier == 2);
  CHECK_THROWS_WITH(faunae::options_from_json<DartsSpaceOptions>({{"channels", 7}}, "test"),
                    Contains("test: channels must be even and in [2, 4096], got 7"));
}

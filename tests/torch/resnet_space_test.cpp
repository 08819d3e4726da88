// The ResNet-block space as a single-path supernet: structure, ResNet-50 remap, weight sharing,
// extraction, export, invalid architectures.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "catch_torch.hpp"
#include <faunae/core/architecture_json.hpp>
#include <faunae/torch.hpp>

using namespace faunae::torch_backend;
using faunae_test::Contains;

namespace {
ResNetSpaceOptions small_options() {
  ResNetSpaceOptions o;
  o.blocks_per_stage = {3, 4, 6, 3};
  o.width = 0.25;
  return o;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("faunae_torch_test_" + std::to_string(::getpid()) + "_" + name);
}
}  // namespace

TEST_CASE("ResNet-50 remapped at full width has ResNet-50's parameters and FLOPs", "[resnet]") {
  ResNetSpaceOptions o;
  o.stem = Stem::imagenet224;
  o.width = 1.0;
  o.blocks_per_stage = {3, 4, 6, 3};
  ResNetSupernet net(o);
  const auto a = net->resnet50();
  // torchvision's resnet50 has 25,557,032 parameters; without the 2048×1000 (+1000) classifier:
  CHECK(net->parameters(a) == 25557032 - 2049000);
  CHECK(net->parameters(a) == parameter_count(*extract(net, a, /*copy_weights=*/false)));
  // 4.09 G multiply–accumulates for the whole network, 2.05 M of them in the classifier
  CHECK(net->flops(a) > 4.05e9);
  CHECK(net->flops(a) < 4.10e9);
  CHECK(net->feature_dim() == 2048);
}

TEST_CASE("ResNet-50 remap: conv3 in ResNet-50's blocks, identity in the extra ones", "[resnet]") {
  ResNetSpaceOptions o;  // default: {4, 6, 8, 4} blocks, width 0.5
  ResNetSupernet net(o);
  const auto a = net->resnet50();
  REQUIRE(a.size() == 22);
  const std::vector<std::int64_t> depth{3, 4, 6, 3};
  std::vector<std::int64_t> kept(4, 0), seen(4, 0);
  for (std::size_t b = 0; b < a.size(); ++b) {
    const auto& g = net->geometry(b);
    const auto& name = net->op_names(b)[a[b]];
    const bool expect_conv = seen[g.stage] < depth[g.stage];
    CHECK(name == (expect_conv ? "conv3" : "identity"));
    kept[g.stage] += name == "conv3";
    CHECK(g.stride == (seen[g.stage] == 0 && g.stage > 0 ? 2 : 1));
    CHECK(g.mid == (std::int64_t{32} << g.stage));  // half of ResNet-50's widths
    CHECK(g.out == 4 * g.mid);
    ++seen[g.stage];
  }
  CHECK(kept == depth);
  CHECK((seen == std::vector<std::int64_t>{4, 6, 8, 4}));
}

TEST_CASE("the space: 7 ops per block, identity only where the block keeps its shape, sizes from the modules", "[resnet]") {
  ResNetSupernet net(small_options());
  const auto space = net->space(net->resnet50());
  for (std::size_t b = 0; b < space.num_blocks(); ++b) {
    const auto& g = net->geometry(b);
    CAPTURE(b);
    CHECK(space.num_ops(b) == (g.can_skip() ? 7u : 6u));
    CHECK(space.identity_op(b).has_value() == g.can_skip());
    if (auto id = space.identity_op(b)) CHECK(space.op_size(b, *id) == 0.0);
    // conv3: 1×1 reduce + BN + 3×3 conv + BN + 1×1 expand + BN (+ 1×1 shortcut + BN)
    const auto k = net->op_index(b, "conv3", "test");
    double expected = g.in * g.mid + 2 * g.mid + 9 * g.mid * g.mid + 2 * g.mid + g.mid * g.out + 2 * g.out;
    if (!g.can_skip()) expected += g.in * g.out + 2 * g.out;
    CHECK(space.op_size(b, k) == Approx(expected));
    CHECK(space.op_size(b, net->op_index(b, "conv5", "test")) > space.op_size(b, k));
  }
  CHECK(space.block_name(0) == "stage1.block0");
}

TEST_CASE("stems: gray 28×28, colour 32×32 and 224×224 inputs", "[resnet]") {
  const std::vector<std::tuple<Stem, std::int64_t, std::int64_t>> stems{
      {Stem::gray28, 1, 28}, {Stem::color32, 3, 32}, {Stem::imagenet224, 3, 224}};
  for (const auto& [stem, c, hw] : stems) {
    auto o = small_options();
    o.stem = stem;
    o.blocks_per_stage = {1, 1, 1, 1};
    ResNetSupernet net(o);
    const auto y = net->forward(torch::randn({2, c, hw, hw}), faunae::Architecture(std::vector<faunae::OpIndex>(4, 0)));
    CHECK(y.sizes() == torch::IntArrayRef({2, net->feature_dim()}));
  }
}

TEST_CASE("single path: switching an op changes the output and keeps both ops' weights", "[resnet]") {
  torch::manual_seed(1);
  ResNetSupernet net(small_options());
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 1, 28, 28});
  auto a = net->resnet50();
  auto b = a;
  b[1] = net->op_index(1, "sa_k5r4", "test");
  const auto ya = net->forward(x, a);
  const auto yb = net->forward(x, b);
  CHECK_FALSE(torch::allclose(ya, yb));
  CHECK(torch::equal(net->forward(x, a), ya));  // back to a: the same weights, the same output
}

TEST_CASE("single path: only the selected ops get gradients", "[resnet]") {
  torch::manual_seed(2);
  ResNetSupernet net(small_options());
  auto a = net->resnet50();
  net->forward(torch::randn({2, 1, 28, 28}), a).sum().backward();
  for (std::size_t b = 0; b < a.size(); ++b) {
    const auto& chosen = net->op_names(b)[a[b]];
    auto block = net->blocks->ptr<SearchBlockImpl>(b);
    for (const auto& item : block->ops->items()) {
      CAPTURE(b, item.first);
      const bool has_grad = item.second->parameters()[0].grad().defined();
      CHECK(has_grad == (item.first == chosen));
    }
  }
}

TEST_CASE("an extracted network holds only its ops and computes what the supernet computes", "[resnet][export]") {
  torch::manual_seed(3);
  ResNetSupernet net(small_options());
  faunae::Rng rng(5);
  const auto a = net->random_architecture(rng);
  // give BN non-trivial statistics first
  net->train();
  { torch::NoGradGuard g; net->forward(torch::randn({8, 1, 28, 28}), a); }
  net->eval();
  auto standalone = extract(net, a);
  standalone->eval();
  CHECK(parameter_count(*standalone) == net->parameters(a));
  CHECK(parameter_count(*standalone) < parameter_count(*net));
  const auto x = torch::randn({2, 1, 28, 28});
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(standalone->forward(x), net->forward(x, a), 1e-5, 1e-6));
  auto fresh = extract(net, a, /*copy_weights=*/false);
  fresh->eval();
  CHECK_FALSE(torch::allclose(fresh->forward(x), net->forward(x, a)));
  CHECK_THROWS_WITH(net->forward(x), Contains("pass the architecture"));
}

TEST_CASE("saved weights load back in C++ and in Python", "[resnet][export]") {
  torch::manual_seed(4);
  ResNetSupernet net(small_options());
  const auto a = net->resnet50();
  auto standalone = extract(net, a);
  standalone->eval();
  const auto path = temp_path("weights.pt");
  save_weights(*standalone, path);
  ResNetSupernet loaded(net->options(), a);
  loaded->eval();
  load_weights(*loaded, path);
  const auto x = torch::randn({2, 1, 28, 28});
  torch::NoGradGuard no_grad;
  CHECK(torch::equal(loaded->forward(x), standalone->forward(x)));
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));

  // a network of another architecture refuses the file, naming the entry
  auto other = a;
  other[1] = net->op_index(1, "conv5", "test");
  ResNetSupernet wrong(net->options(), other);
  CHECK_THROWS_WITH(load_weights(*wrong, path), Contains("has no 'blocks.1.ops.conv5"));
  // a corrupt file is an IoError
  const auto bad = temp_path("bad.pt");
  std::ofstream(bad) << "not a pickle";
  CHECK_THROWS_AS(load_weights(*loaded, bad), faunae::IoError);
  // the reason in a sentence of ours, without LibTorch's C++ backtrace (error_text)
  CHECK_THROWS_WITH(load_weights(*loaded, bad), Contains("not a weights file written by torch.save") &&
                                                    !Contains("Exception raised from") && !Contains("frame #"));

  // No call of torch.jit._pickle.restore_type_tag (torch::pickle_save's tag on a typed dict), which
  // Python's torch.load refuses with weights_only=True, PyTorch 2.6's default.
  {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes.find("restore_type_tag") == std::string::npos);
    CHECK(bytes.find("stem_conv.weight") != std::string::npos);
  }
#ifdef FAUNAE_PYTHON_WITH_TORCH
  // weights_only=True: what PyTorch 2.6 and later do by default (the argument exists since 1.13).
  const std::string cmd = std::string(FAUNAE_PYTHON_WITH_TORCH) +
                          " -c \"import torch,sys; d=torch.load(sys.argv[1], weights_only=True); "
                          "assert isinstance(d, dict) and all(isinstance(v, torch.Tensor) for v in d.values()); "
                          "assert 'stem_conv.weight' in d and 'blocks.0.ops.conv3.conv.weight' in d; "
                          "print(len(d))\" " + path.string() + " > " + path.string() + ".count";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream count_file(path.string() + ".count");
  std::size_t count = 0;
  count_file >> count;
  CHECK(count == state_dict(*standalone).size());
  std::filesystem::remove(path.string() + ".count");
#endif
  std::filesystem::remove(path);
  std::filesystem::remove(bad);
}

TEST_CASE("invalid architectures are refused with a clear error", "[resnet]") {
  ResNetSupernet net(small_options());
  const auto space = net->space(net->resnet50());
  auto a = net->resnet50();
  CHECK_THROWS_WITH(net->check(faunae::Architecture{0, 1}, "here"), Contains("has 2 blocks, the ResNet space has 16"));
  auto bad = a;
  bad[0] = 6;  // block 0 strides/widens: no identity, only 6 ops
  CHECK_THROWS_WITH(net->check(bad, "here"), Contains("identity is not allowed there"));
  nlohmann::json j = faunae::architecture_to_json(space, a);
  j["blocks"][0]["op"] = "identity";
  CHECK_THROWS_WITH(faunae::architecture_from_json(space, j), Contains("does not have (allowed: conv3, conv5"));
  CHECK_THROWS_WITH(ResNetSupernet(ResNetSpaceOptions{.ops = {"conv3", "conv7"}}), Contains("unknown op 'conv7'"));
  CHECK_THROWS_WITH(ResNetSupernet(ResNetSpaceOptions{.blocks_per_stage = {}}), Contains("blocks_per_stage is empty"));
  CHECK_THROWS_WITH(ResNetSupernet(ResNetSpaceOptions{.width = 0.0}), Contains("width must be in (0, 8]"));
  ResNetSupernet shallow(ResNetSpaceOptions{.blocks_per_stage = {2, 4, 6, 3}});
  CHECK_THROWS_WITH(shallow->resnet50(), Contains("stage 1 has 2 blocks, ResNet-50 needs 3"));
}

// --- the Supernet concept (supernet.hpp): the shipped supernets satisfy it, near misses do not -----

namespace {
// Everything a Supernet has but check(a, where).
struct AlmostSupernetImpl : torch::nn::Module {
  explicit AlmostSupernetImpl(ResNetSpaceOptions o, std::optional<faunae::Architecture> only = std::nullopt)
      : options_(std::move(o)), only_(std::move(only)) {}
  torch::Tensor forward(const torch::Tensor& x, const faunae::Architecture&) { return x; }
  torch::Tensor forward(const torch::Tensor& x) { return x; }
  const ResNetSpaceOptions& options() const { return options_; }
  std::int64_t feature_dim() const { return 1; }
  const std::optional<faunae::Architecture>& fixed_architecture() const { return only_; }
  std::int64_t parameters(const faunae::Architecture&) const { return 0; }
  std::int64_t flops(const faunae::Architecture&) const { return 0; }
  ResNetSpaceOptions options_;
  std::optional<faunae::Architecture> only_;
};
TORCH_MODULE(AlmostSupernet);
// The same with check(): a Supernet.
struct CheckedSupernetImpl : AlmostSupernetImpl {
  using AlmostSupernetImpl::AlmostSupernetImpl;
  void check(const faunae::Architecture&, std::string_view) const {}
};
TORCH_MODULE(CheckedSupernet);
}  // namespace

TEST_CASE("the shipped supernets satisfy Supernet, and near misses do not", "[resnet][concepts]") {
  STATIC_REQUIRE(Supernet<ResNetSupernet>);
  STATIC_REQUIRE(Supernet<DartsSupernet>);
  STATIC_REQUIRE(Supernet<CheckedSupernet>);
  STATIC_REQUIRE_FALSE(Supernet<AlmostSupernet>);       // no check(a, where)
  STATIC_REQUIRE_FALSE(Supernet<ResNetSupernetImpl>);   // the module, not its holder
  STATIC_REQUIRE_FALSE(Supernet<ContrastiveHead>);      // a module holder, but no forward(x, a) and options
  STATIC_REQUIRE_FALSE(Supernet<torch::nn::Linear>);
  STATIC_REQUIRE(std::is_same_v<SupernetOptions<DartsSupernet>, DartsSpaceOptions>);
}

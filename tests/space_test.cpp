// BlockSpace (validation, snapshot of any SearchSpace, uniform_space) and the architecture JSON form.
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "catch.hpp"

#include "test_support.hpp"

using namespace faunae_test;
using faunae::InvalidArchitecture;
using faunae::InvalidArgument;
using faunae::OpIndex;

namespace {

std::vector<Block> two_blocks() {
  return {Block{"stem", {{"conv3", 9.0}, {"conv5", 25.0}, {"skip", 0.0}}, OpIndex{2}},
          Block{"head", {{"linear", 100.0}, {"mlp", 300.0}}, std::nullopt}};
}

/// A user-written space with no block names, of a configurable number of blocks.
struct PlainSpace {
  std::size_t blocks = 2;
  std::size_t num_blocks() const { return blocks; }
  std::size_t num_ops(std::size_t) const { return 2; }
  std::string op_name(std::size_t, std::size_t k) const { return k == 0 ? "x" : "y"; }
  double op_size(std::size_t, std::size_t k) const { return double(k); }
  std::optional<OpIndex> identity_op(std::size_t) const { return OpIndex{0}; }
  faunae::Architecture initial_architecture() const { return faunae::Architecture(std::vector<OpIndex>(blocks, 1)); }
  bool is_valid(const faunae::Architecture& a) const { return a.size() == blocks; }
};

}  // namespace

TEST_CASE("BlockSpace answers the SearchSpace questions", "[space]") {
  const BlockSpace space(two_blocks(), Architecture{0, 1});
  CHECK(space.num_blocks() == 2);
  CHECK(space.num_ops(0) == 3);
  CHECK(space.num_ops(1) == 2);
  CHECK(space.max_ops() == 3);
  CHECK(space.op_name(0, 1) == "conv5");
  CHECK(space.op_size(1, 1) == 300.0);
  CHECK(space.identity_op(0) == OpIndex{2});
  CHECK_FALSE(space.identity_op(1).has_value());
  CHECK(space.block_name(1) == "head");
  CHECK(space.find_op(0, "skip") == OpIndex{2});
  CHECK_FALSE(space.find_op(1, "skip").has_value());
  CHECK(space.initial_architecture() == Architecture{0, 1});
  CHECK(space.is_valid(Architecture{2, 0}));
  CHECK_FALSE(space.is_valid(Architecture{2, 2}));  // block 1 has 2 ops
  CHECK_FALSE(space.is_valid(Architecture{0}));
}

TEST_CASE("bad spaces are refused with a message naming the block and the value", "[space][errors]") {
  SECTION("no blocks") {
    REQUIRE_THROWS_MATCHES(BlockSpace({}, Architecture{}), InvalidArgument, What(Contains("no blocks")));
  }
  SECTION("a block with no ops") {
    auto blocks = two_blocks();
    blocks[1].ops.clear();
    REQUIRE_THROWS_MATCHES(BlockSpace(blocks, Architecture{0, 0}), InvalidArgument,
                           What(Contains("block 1 ('head')") && Contains("no candidate operations")));
  }
  SECTION("duplicate op names") {
    auto blocks = two_blocks();
    blocks[0].ops[2].name = "conv3";
    REQUIRE_THROWS_MATCHES(BlockSpace(blocks, Architecture{0, 0}), InvalidArgument,
                           What(Contains("block 0 ('stem')") && Contains("two ops named 'conv3'")));
  }
  SECTION("an empty op name") {
    auto blocks = two_blocks();
    blocks[1].ops[0].name = "";
    REQUIRE_THROWS_MATCHES(BlockSpace(blocks, Architecture{0, 0}), InvalidArgument, What(Contains("empty name")));
  }
  SECTION("a negative size") {
    auto blocks = two_blocks();
    blocks[0].ops[1].size = -3.0;
    REQUIRE_THROWS_MATCHES(BlockSpace(blocks, Architecture{0, 0}), InvalidArgument,
                           What(Contains("'conv5'") && Contains("finite and >= 0") && Contains("-3")));
  }
  SECTION("a NaN size") {
    auto blocks = two_blocks();
    blocks[1].ops[1].size = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_MATCHES(BlockSpace(blocks, Architecture{0, 0}), InvalidArgument,
                           What(Contains("'mlp'") && Contains("nan")));
  }
  SECTION("an infinite size") {
    auto blocks = two_blocks();
    blocks[1].ops[1].size = std::numeric_limits<double>::infinity();
    REQUIRE_THROWS_MATCHES(BlockSpace(blocks, Architecture{0, 0}), InvalidArgument,
                           What(Contains("'mlp'") && Contains("inf")));
  }
  SECTION("identity index out of range") {
    auto blocks = two_blocks();
    blocks[1].identity = OpIndex{2};
    REQUIRE_THROWS_MATCHES(BlockSpace(blocks, Architecture{0, 0}), InvalidArgument,
                           What(Contains("block 1 ('head')") && Contains("identity op index 2 is out of range")));
  }
  SECTION("alpha0 with the wrong number of blocks") {
    REQUIRE_THROWS_MATCHES(BlockSpace(two_blocks(), Architecture{0}), InvalidArchitecture,
                           What(Contains("initial architecture") && Contains("1 blocks") && Contains("has 2")));
  }
  SECTION("alpha0 with an op out of range") {
    REQUIRE_THROWS_MATCHES(BlockSpace(two_blocks(), Architecture{0, 5}), InvalidArchitecture,
                           What(Contains("block 1 ('head') uses op index 5")));
  }
  SECTION("alpha0 rejected by the validity rule") {
    REQUIRE_THROWS_MATCHES(BlockSpace(two_blocks(), Architecture{1, 1}, [](const Architecture& a) { return a[0] != 1; }),
                           InvalidArchitecture, What(Contains("[1, 1]") && Contains("is_valid")));
  }
  SECTION("uniform_space with an unknown identity") {
    REQUIRE_THROWS_MATCHES(faunae::uniform_space(2, {{"a", 1.0}}, Architecture{0, 0}, std::string("skip")),
                           InvalidArgument, What(Contains("identity op 'skip'")));
  }
  SECTION("an empty user space, through the search driver") {
    const PlainSpace empty{0};
    REQUIRE_THROWS_MATCHES(faunae::Search<PlainSpace>(empty), InvalidArgument,
                           What(Contains("no blocks") && Contains("num_blocks() == 0")));
  }
}

TEST_CASE("snapshot copies any SearchSpace and checks it the same way", "[space]") {
  const PlainSpace plain{3};
  const BlockSpace copy = BlockSpace::snapshot(plain);
  CHECK(copy.num_blocks() == 3);
  CHECK(copy.block_name(2) == "block2");  // no block_name(): generated
  CHECK(copy.op_name(1, 1) == "y");
  CHECK(copy.op_size(1, 1) == 1.0);
  CHECK(copy.identity_op(0) == OpIndex{0});
  CHECK(copy.initial_architecture() == Architecture{1, 1, 1});

  const faunae::tabular::TabularSpace tabular(nas_bench_macro(), "01201201");
  const BlockSpace t = BlockSpace::snapshot(tabular);
  CHECK(t.block_name(4) == "layer4");
  CHECK(t.op_name(4, 2) == "mb_k5_e6");
  CHECK(t.op_size(4, 2) == tabular.op_size(4, 2));
  CHECK(t.is_valid(Architecture{0, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(t.initial_architecture() == Architecture{0, 1, 2, 0, 1, 2, 0, 1});
}

TEST_CASE("uniform_space gives every block the same ops", "[space]") {
  const BlockSpace s = faunae::uniform_space(3, {{"skip", 0.0}, {"conv", 5.0}}, Architecture{1, 1, 0}, std::string("skip"));
  for (std::size_t b = 0; b < 3; ++b) {
    CHECK(s.block_name(b) == fmt::format("block{}", b));
    CHECK(s.num_ops(b) == 2);
    CHECK(s.identity_op(b) == OpIndex{0});
  }
  CHECK_FALSE(faunae::uniform_space(1, {{"a", 1.0}}, Architecture{0}).identity_op(0).has_value());
}

TEST_CASE("architecture JSON round-trips and names ops and blocks", "[space][json]") {
  const BlockSpace space(two_blocks(), Architecture{0, 1});
  const Architecture a{2, 1};
  const auto j = faunae::architecture_to_json(space, a);
  CHECK(j == nlohmann::json::parse(R"({"format": "faunae.architecture", "version": 1,
      "blocks": [{"block": "stem", "op": "skip"}, {"block": "head", "op": "mlp"}]})"));
  CHECK(faunae::architecture_from_json(space, j) == a);
  // short form: op names only; format and version optional
  CHECK(faunae::architecture_from_json(space, nlohmann::json::parse(R"({"blocks": ["conv5", "linear"]})")) ==
        Architecture{1, 0});
  // a space without block names writes generated ones and ignores names on reading
  const PlainSpace plain{2};
  const auto p = faunae::architecture_to_json(plain, Architecture{0, 1});
  CHECK(p["blocks"][1] == nlohmann::json({{"block", "block1"}, {"op", "y"}}));
  CHECK(faunae::architecture_from_json(plain, p) == Architecture{0, 1});

  TempDir dir;
  write_text(dir / "a.json", j.dump(2));
  CHECK(faunae::load_architecture(space, dir / "a.json") == a);
}

TEST_CASE("bad architecture JSON is refused with a message naming the problem", "[space][json][errors]") {
  const BlockSpace space(two_blocks(), Architecture{0, 1}, [](const Architecture& x) { return !(x[0] == 1 && x[1] == 1); });
  auto refused = [&](const std::string& text, const std::string& needle) {
    CAPTURE(text, needle);
    REQUIRE_THROWS_MATCHES(faunae::architecture_from_json(space, nlohmann::json::parse(text)), InvalidArchitecture,
                           What(Contains(needle)));
  };
  refused(R"({"blocks": ["conv7", "linear"]})",
          "blocks[0] names op 'conv7', which block 0 does not have (allowed: conv3, conv5, skip)");
  refused(R"({"blocks": ["conv3", "conv3"]})", "(allowed: linear, mlp)");
  refused(R"({"blocks": ["conv3"]})", "'blocks' has 1 entries, the search space has 2 blocks");
  refused(R"({"blocks": ["conv3", "linear", "mlp"]})", "'blocks' has 3 entries");
  refused(R"({"blocks": [{"block": "stem", "op": "conv3"}, {"block": "tail", "op": "mlp"}]})",
          "blocks[1] is named \"tail\", the search space calls block 1 'head'");
  refused(R"(["conv3", "linear"])", "expected a JSON object, got array");
  refused(R"("conv3")", "expected a JSON object, got string");
  refused(R"({"format": "faunae.checkpoint", "blocks": ["conv3", "linear"]})", "'format' must be \"faunae.architecture\"");
  refused(R"({"version": 2, "blocks": ["conv3", "linear"]})", "unsupported 'version' 2");
  refused(R"({"version": "1", "blocks": ["conv3", "linear"]})", "unsupported 'version' \"1\"");
  refused(R"({"ops": ["conv3", "linear"]})", "missing array 'blocks'");
  refused(R"({"blocks": [3, "linear"]})", "blocks[0] must be an op name");
  refused(R"({"blocks": [{"block": "stem"}, "linear"]})", "blocks[0] must be an op name");
  refused(R"({"blocks": ["conv5", "mlp"]})", "rejected by the search space's is_valid()");

  REQUIRE_THROWS_MATCHES(faunae::architecture_to_json(space, Architecture{0}), InvalidArchitecture,
                         What(Contains("1 blocks, the space 2")));
  REQUIRE_THROWS_MATCHES(faunae::architecture_to_json(space, Architecture{0, 2}), InvalidArchitecture,
                         What(Contains("block 1 uses op index 2")));

  TempDir dir;
  REQUIRE_THROWS_MATCHES(faunae::load_architecture(space, dir / "none.json"), faunae::IoError,
                         What(Contains("cannot open") && Contains("none.json")));
  write_text(dir / "bad.json", R"({"blocks": ["conv3", )");
  REQUIRE_THROWS_MATCHES(faunae::load_architecture(space, dir / "bad.json"), faunae::IoError,
                         What(Contains("not valid JSON") && Contains("bad.json")));
  write_text(dir / "huge.json", R"({"version": 1e999, "blocks": ["conv3", "linear"]})");
  REQUIRE_THROWS_MATCHES(faunae::load_architecture(space, dir / "huge.json"), faunae::IoError,
                         What(Contains("huge.json") && Contains("1e999")));
}

// BlockSpace: a search space given as data (blocks, op names, op sizes, identity), the SearchSpace
// most users need; also the validated snapshot that the search driver takes of any SearchSpace.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "faunae/concepts/search_space.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/error.hpp"

namespace faunae {

/// One candidate operation of a block.
struct Op {
  std::string name;
  double size = 0.0;  ///< model size MS of eq. (2), e.g. the parameter count
};

/// One block of the space: its candidate ops Ω^i and which of them (if any) is the identity.
struct Block {
  std::string name;
  std::vector<Op> ops;
  std::optional<OpIndex> identity;
};

class BlockSpace {
 public:
  using Validity = std::function<bool(const Architecture&)>;

  BlockSpace() : id_(next_id()) {}

  /// Builds and validates a space: at least one block, each with at least one op, unique op names
  /// within a block, finite non-negative sizes, identity index in range, a valid α0.
  BlockSpace(std::vector<Block> blocks, Architecture initial, Validity validity = {})
      : blocks_(std::move(blocks)), initial_(std::move(initial)), validity_(std::move(validity)), id_(next_id()) {
    check_structure();
    check_architecture(initial_, "faunae::BlockSpace: the initial architecture α0");
  }

  /// The same space with a model-size budget: an architecture is valid only if Σ_b MS(α_b) ≤
  /// `max_size` (MS = op_size, eq. 2). Throws InvalidArgument if the budget is not finite and ≥ 0,
  /// if no architecture fits (the smallest op of every block already exceeds it), or if α0 exceeds it.
  BlockSpace with_max_size(double max_size) const {
    BlockSpace out = *this;
    out.max_size_ = max_size;
    out.check_budget();
    out.check_architecture(out.initial_, "faunae::BlockSpace::with_max_size(): the initial architecture α0");
    return out;
  }

  /// Snapshot of any SearchSpace, checked the same way. `is_valid` is forwarded to `space`, which
  /// must therefore outlive the snapshot if it has cross-block rules (pass `keep_validity = false`
  /// to drop them). `initial`, if given, stands for space.initial_architecture() (which is then not
  /// called: a space may have no α0 of its own, e.g. tabular::TabularSpace(table)).
  template <SearchSpace S>
  static BlockSpace snapshot(const S& space, bool keep_validity = true, const std::optional<Architecture>& initial = {}) {
    const std::size_t n = space.num_blocks();
    if (n == 0) throw InvalidArgument("faunae::BlockSpace::snapshot(): the search space has no blocks (num_blocks() == 0)");
    std::vector<Block> blocks(n);
    for (std::size_t b = 0; b < n; ++b) {
      if constexpr (HasBlockNames<S>) blocks[b].name = std::string(space.block_name(b));
      else blocks[b].name = fmt::format("block{}", b);
      const std::size_t m = space.num_ops(b);
      blocks[b].ops.resize(m);
      for (std::size_t k = 0; k < m; ++k)
        blocks[b].ops[k] = Op{std::string(space.op_name(b, k)), static_cast<double>(space.op_size(b, k))};
      blocks[b].identity = space.identity_op(b);
    }
    Validity validity;
    if (keep_validity) validity = [&space](const Architecture& a) { return static_cast<bool>(space.is_valid(a)); };
    BlockSpace out(std::move(blocks), initial ? *initial : space.initial_architecture(), std::move(validity));
    if constexpr (HasSizeBudget<S>) {
      if (const std::optional<double> budget = space.max_size()) return out.with_max_size(*budget);
    }
    return out;
  }

  // --- SearchSpace ---------------------------------------------------------------------------
  std::size_t num_blocks() const noexcept { return blocks_.size(); }
  std::size_t num_ops(std::size_t b) const { return blocks_.at(b).ops.size(); }
  std::string_view op_name(std::size_t b, std::size_t k) const { return blocks_.at(b).ops.at(k).name; }
  double op_size(std::size_t b, std::size_t k) const { return blocks_.at(b).ops.at(k).size; }
  std::optional<OpIndex> identity_op(std::size_t b) const { return blocks_.at(b).identity; }
  Architecture initial_architecture() const { return initial_; }
  bool is_valid(const Architecture& a) const {
    if (a.size() != blocks_.size()) return false;
    for (std::size_t b = 0; b < a.size(); ++b)
      if (a[b] >= blocks_[b].ops.size()) return false;
    if (!within_max_size(a)) return false;
    return !validity_ || validity_(a);
  }
  std::string_view block_name(std::size_t b) const { return blocks_.at(b).name; }
  /// The model-size budget (see with_max_size), if any.
  std::optional<double> max_size() const noexcept { return max_size_; }
  /// Whether `a` (which must fit the space) is within the model-size budget; true without one.
  bool within_max_size(const Architecture& a) const { return !max_size_ || size_of(a) <= *max_size_; }

  // --- extras ----------------------------------------------------------------------------------
  /// Identifies the content: equal ids mean equal blocks, ops and sizes (copies keep the id; every
  /// constructed space gets a new one). Lets policies key caches on the space cheaply.
  std::uint64_t content_id() const noexcept { return id_; }
  const std::vector<Block>& blocks() const noexcept { return blocks_; }
  /// Σ_b MS(α_b): the model size of `a` as the sum of its ops' sizes (`a` must fit the space).
  double size_of(const Architecture& a) const {
    double total = 0.0;
    for (std::size_t b = 0; b < a.size(); ++b) total += blocks_.at(b).ops.at(a[b]).size;
    return total;
  }
  /// The largest |Ω^i| over all blocks (M of the paper when every block has the same ops).
  std::size_t max_ops() const noexcept {
    std::size_t m = 0;
    for (const auto& b : blocks_) m = std::max(m, b.ops.size());
    return m;
  }
  /// Index of the op called `name` in block b, or std::nullopt.
  std::optional<OpIndex> find_op(std::size_t b, std::string_view name) const {
    const auto& ops = blocks_.at(b).ops;
    for (std::size_t k = 0; k < ops.size(); ++k)
      if (ops[k].name == name) return k;
    return std::nullopt;
  }
  /// Throws InvalidArchitecture naming the block and the bad value unless `a` fits this space.
  void check_architecture(const Architecture& a, std::string_view where) const {
    if (a.size() != blocks_.size())
      throw InvalidArchitecture(fmt::format("{}: has {} blocks, the search space has {}", where, a.size(),
                                            blocks_.size()));
    for (std::size_t b = 0; b < a.size(); ++b)
      if (a[b] >= blocks_[b].ops.size())
        throw InvalidArchitecture(fmt::format("{}: block {} ('{}') uses op index {}, the block has {} ops", where,
                                              b, blocks_[b].name, a[b], blocks_[b].ops.size()));
    if (max_size_ && size_of(a) > *max_size_)
      throw InvalidArchitecture(fmt::format("{}: {} has model size {} (Σ of its ops' sizes), above the space's "
                                            "max_size {}",
                                            where, a.to_string(), size_of(a), *max_size_));
    if (validity_ && !validity_(a))
      throw InvalidArchitecture(fmt::format("{}: {} is rejected by the search space's is_valid()", where,
                                            a.to_string()));
  }

 private:
  void check_structure() const {
    if (blocks_.empty()) throw InvalidArgument("faunae::BlockSpace: the search space has no blocks");
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      const Block& block = blocks_[b];
      if (block.ops.empty())
        throw InvalidArgument(fmt::format("faunae::BlockSpace: block {} ('{}') has no candidate operations", b,
                                          block.name));
      for (std::size_t k = 0; k < block.ops.size(); ++k) {
        const Op& op = block.ops[k];
        if (op.name.empty())
          throw InvalidArgument(fmt::format("faunae::BlockSpace: block {} ('{}'), op {} has an empty name", b,
                                            block.name, k));
        if (!std::isfinite(op.size) || op.size < 0.0)
          throw InvalidArgument(fmt::format(
              "faunae::BlockSpace: block {} ('{}'), op '{}': model size must be finite and >= 0, got {}", b,
              block.name, op.name, op.size));
        for (std::size_t j = 0; j < k; ++j)
          if (block.ops[j].name == op.name)
            throw InvalidArgument(fmt::format("faunae::BlockSpace: block {} ('{}') has two ops named '{}'", b,
                                              block.name, op.name));
      }
      if (block.identity && *block.identity >= block.ops.size())
        throw InvalidArgument(fmt::format("faunae::BlockSpace: block {} ('{}'): identity op index {} is out of range "
                                          "(the block has {} ops)",
                                          b, block.name, *block.identity, block.ops.size()));
    }
  }

  void check_budget() const {
    if (!max_size_) return;
    if (!std::isfinite(*max_size_) || *max_size_ < 0.0)
      throw InvalidArgument(fmt::format("faunae::BlockSpace::with_max_size(): max_size must be finite and >= 0, got {}",
                                        *max_size_));
    double smallest = 0.0;
    for (const Block& block : blocks_) {
      double m = block.ops.front().size;
      for (const Op& op : block.ops) m = std::min(m, op.size);
      smallest += m;
    }
    if (smallest > *max_size_)
      throw InvalidArgument(fmt::format("faunae::BlockSpace::with_max_size(): no architecture fits max_size {}: the "
                                        "smallest op of every block already adds up to {}",
                                        *max_size_, smallest));
  }

  static std::uint64_t next_id() noexcept {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }

  std::vector<Block> blocks_;
  Architecture initial_;
  Validity validity_;
  std::optional<double> max_size_;
  std::uint64_t id_ = 0;
};

/// A space whose every block has the same candidate ops (the paper's ResNet-block space shape).
/// `identity` names the op that skips a block, if any.
inline BlockSpace uniform_space(std::size_t num_blocks, const std::vector<Op>& ops, Architecture initial,
                                std::optional<std::string> identity = std::nullopt) {
  std::optional<OpIndex> id;
  if (identity) {
    for (std::size_t k = 0; k < ops.size(); ++k)
      if (ops[k].name == *identity) id = k;
    if (!id) throw InvalidArgument(fmt::format("faunae::uniform_space(): identity op '{}' is not among the ops", *identity));
  }
  std::vector<Block> blocks(num_blocks);
  for (std::size_t b = 0; b < num_blocks; ++b) blocks[b] = Block{fmt::format("block{}", b), ops, id};
  return BlockSpace(std::move(blocks), std::move(initial));
}

static_assert(SearchSpace<BlockSpace>);

}  // namespace faunae

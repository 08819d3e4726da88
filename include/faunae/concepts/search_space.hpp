// The SearchSpace concept: what FaUNAE evolves an architecture in (paper III.A).
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <string_view>

#include "faunae/core/architecture.hpp"

namespace faunae {

/// SearchSpace: an ordered list of blocks, each with its own candidate operations.
///
/// Requirements, for `const S s`, block index `b < s.num_blocks()`, op index `k < s.num_ops(b)`
/// and an architecture `a`:
///  1. `s.num_blocks()` → the number of blocks ν (> 0), convertible to std::size_t;
///  2. `s.num_ops(b)`   → |Ω^b|, the number of candidate ops of block b (> 0);
///  3. `s.op_name(b, k)` → a name, convertible to std::string_view, unique within block b; names are
///     what the architecture JSON stores;
///  4. `s.op_size(b, k)` → the model size MS(o_k^b) of eq. (2), e.g. its parameter count (finite, ≥ 0);
///  5. `s.identity_op(b)` → std::optional<OpIndex>: the op that skips block b (depth mutation), or
///     std::nullopt where the block cannot be skipped;
///  6. `s.initial_architecture()` → the initial structure α0 (an `Architecture`);
///  7. `s.is_valid(a)` → whether `a` is allowed (for constraints across blocks; return true when
///     every combination of per-block ops is allowed).
///
/// Optional (detected): `s.block_name(b)` → a name for block b, used in JSON and logs;
/// `s.max_size()` → std::optional<double>, a model-size budget: only architectures with
/// Σ_b op_size(b, a_b) ≤ max_size are allowed, and the search's eliminations keep one reachable
/// (see faunae::BlockSpace::with_max_size).
///
/// Satisfied by: faunae::BlockSpace, faunae::tabular::TabularSpace. See docs/concepts.md.
template <class S>
concept SearchSpace = requires(const S& s, std::size_t block, std::size_t op, const Architecture& a) {
  { s.num_blocks() } -> std::convertible_to<std::size_t>;
  { s.num_ops(block) } -> std::convertible_to<std::size_t>;
  { s.op_name(block, op) } -> std::convertible_to<std::string_view>;
  { s.op_size(block, op) } -> std::convertible_to<double>;
  { s.identity_op(block) } -> std::same_as<std::optional<OpIndex>>;
  { s.initial_architecture() } -> std::same_as<Architecture>;
  { s.is_valid(a) } -> std::convertible_to<bool>;
};

/// Detects the optional `block_name(b)` of a SearchSpace.
template <class S>
concept HasBlockNames = requires(const S& s, std::size_t block) {
  { s.block_name(block) } -> std::convertible_to<std::string_view>;
};

/// Detects the optional `max_size()` (model-size budget) of a SearchSpace.
template <class S>
concept HasSizeBudget = requires(const S& s) {
  { s.max_size() } -> std::convertible_to<std::optional<double>>;
};

}  // namespace faunae

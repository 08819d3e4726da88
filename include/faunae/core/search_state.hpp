// The whole state of a FaUNAE search: per-block × per-op statistics (Eigen), the remaining ops,
// the current architecture, RNG, counters and history. Saving this state and loading it back
// resumes a search bit for bit.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "faunae/core/architecture.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/evaluated_index.hpp"
#include "faunae/core/rng.hpp"

namespace faunae {

/// Row-major block × op tables: row b is block b, column k its k-th op (padded to the widest block).
template <class T>
using BlockOpTable = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Per-(block, op) statistics of Algorithm 1.
struct OpStatistics {
  /// l(o_k^i) of eq. (4); NaN while the op has never been sampled.
  BlockOpTable<double> loss;
  /// sa_k^i of eqs. (1) and (9): how many evaluated architectures used op k in block i.
  BlockOpTable<std::int64_t> samples;
  /// Whether op k is still in Ω^i (eq. 10); false for padding columns too.
  BlockOpTable<bool> alive;

  OpStatistics() = default;
  explicit OpStatistics(const BlockSpace& space) { reset(space); }

  void reset(const BlockSpace& space) {
    const auto rows = static_cast<Eigen::Index>(space.num_blocks());
    const auto cols = static_cast<Eigen::Index>(space.max_ops());
    loss.setConstant(rows, cols, std::numeric_limits<double>::quiet_NaN());
    samples.setZero(rows, cols);
    alive.setConstant(rows, cols, false);
    for (Eigen::Index b = 0; b < rows; ++b)
      alive.row(b).head(static_cast<Eigen::Index>(space.num_ops(static_cast<std::size_t>(b)))).setConstant(true);
  }

  std::size_t num_blocks() const noexcept { return static_cast<std::size_t>(loss.rows()); }
  bool sampled(std::size_t b, OpIndex k) const { return samples(Eigen::Index(b), Eigen::Index(k)) > 0; }
  bool is_alive(std::size_t b, OpIndex k) const { return alive(Eigen::Index(b), Eigen::Index(k)); }
  /// The k-th alive op of block b in index order (k < ops_left(b)); throws std::logic_error otherwise.
  OpIndex nth_alive(std::size_t b, std::size_t k) const {
    for (Eigen::Index op = 0; op < alive.cols(); ++op)
      if (alive(Eigen::Index(b), op) && k-- == 0) return static_cast<OpIndex>(op);
    throw std::logic_error("faunae::OpStatistics::nth_alive(): block " + std::to_string(b) + " has fewer alive ops than asked for");
  }
  /// |Ω^i|: ops still alive in block b.
  std::size_t ops_left(std::size_t b) const { return static_cast<std::size_t>(alive.row(Eigen::Index(b)).count()); }
  /// K of Algorithm 1: the largest number of ops left in any block.
  std::size_t max_ops_left() const {
    std::size_t k = 0;
    for (std::size_t b = 0; b < num_blocks(); ++b) k = std::max(k, ops_left(b));
    return k;
  }

  friend bool operator==(const OpStatistics& x, const OpStatistics& y) {
    if (x.loss.rows() != y.loss.rows() || x.loss.cols() != y.loss.cols()) return false;
    // NaN marks "never sampled": compare it as a value, not as IEEE does.
    const bool same_loss = ((x.loss == y.loss) || (x.loss.isNaN() && y.loss.isNaN())).all();
    return same_loss && (x.samples == y.samples).all() && (x.alive == y.alive).all();
  }
};

/// Whether a mutation changed the op of a block (op mutation) or skipped / restored a block
/// through its identity op (depth mutation), in AmoebaNet's terms (paper III.B).
enum class MutationKind { op, depth };

/// One mutated block of one epoch and what eq. (5) decided.
struct BlockMutation {
  std::size_t block = 0;
  OpIndex from = 0;
  OpIndex to = 0;
  MutationKind kind = MutationKind::op;
  double loss_from = 0.0;  ///< l(o_{n-1}) compared by eq. (5); NaN if never sampled
  double loss_to = 0.0;    ///< l(o_n) after eq. (4)
  bool accepted = false;
};

/// One op removed from one block by eq. (10).
struct Elimination {
  std::size_t block = 0;
  OpIndex op = 0;
  double score = 0.0;                   ///< w(o) of eq. (9) (or the policy's own score)
  std::optional<OpIndex> replacement;   ///< set when `op` was the block's current op
};

/// Everything that happened in one epoch; epoch 0 is the evaluation of α0.
struct EpochRecord {
  std::size_t epoch = 0;
  Architecture evaluated;              ///< α_n as proposed and evaluated
  Architecture architecture;           ///< α_n after eq. (5) (and eq. (10) if ops were removed)
  double loss = 0.0;                   ///< the evaluator's loss a of α_n
  std::vector<std::pair<std::string, double>> metrics;  ///< extra metrics the evaluator reported
  std::vector<BlockMutation> mutations;
  std::vector<Elimination> eliminations;
  BlockOpTable<double> probabilities;  ///< p of eq. (3) used to draw α_n (empty for epoch 0)
  bool reverted_as_invalid = false;    ///< every mutation reverted: the mixed α_n was not valid
};

/// The complete, serializable state of a search.
struct SearchState {
  Architecture current;              ///< the base architecture for the next mutation
  OpStatistics stats;
  Rng rng;
  std::size_t epoch = 0;             ///< mutation epochs completed (α0's evaluation is epoch 0)
  std::size_t evaluations = 0;       ///< N: architectures evaluated, α0 included
  std::size_t epochs_since_elimination = 0;
  std::size_t elimination_rounds = 0;
  std::vector<EpochRecord> history;

  bool started() const noexcept { return evaluations > 0; }

  /// What `history` evaluated, by architecture (mean observed loss, count, the incumbent), brought up
  /// to date on each call in O(log n) per new record. Derived from the history, never saved. Between
  /// two calls the history may grow, or lose its last record (an epoch rolled back) and grow again; code
  /// that changes earlier records in place must call evaluated_index.clear() (Search replaces the whole
  /// state on load and reset, which starts a fresh index).
  const EvaluatedIndex& evaluated() const {
    evaluated_index.sync(std::span<const EpochRecord>(history));
    return evaluated_index;
  }
  /// evaluated()'s cache; not part of the state (a copy or a reload rebuilds it from the history).
  mutable EvaluatedIndex evaluated_index;

  struct Counters {
    std::size_t epoch, evaluations, epochs_since_elimination, elimination_rounds;
  };
  Counters counters() const noexcept { return {epoch, evaluations, epochs_since_elimination, elimination_rounds}; }
  void set_counters(const Counters& c) noexcept {
    epoch = c.epoch;
    evaluations = c.evaluations;
    epochs_since_elimination = c.epochs_since_elimination;
    elimination_rounds = c.elimination_rounds;
  }
};

}  // namespace faunae

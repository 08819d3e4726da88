// Search: FaUNAE's Algorithm 1, generic over the search space, the evaluator and both policies.
//
//   faunae::Search search(space, {.seed = 7});            // FaunaeMutation + UcbElimination
//   faunae::SearchResult found = search.run(evaluator, logger, progress);
//
// One epoch (Search::step):
//   1. α_n ← MutationPolicy::propose(α_{n−1}, statistics)          eqs. (1)–(3)
//   2. a   ← Evaluator::evaluate(α_n)                               eq. (6) in the paper's evaluator
//   3. l(o) ← λ2·l(o) + (1−λ2)·a for the op o of every block in α_n eq. (4); sa(o) += 1
//   4. AcceptancePolicy::accept: the next base α_n                   eq. (5): each mutated block
//                                                                   keeps its new op iff l(new) < l(old)
//   5. if EliminationPolicy::due: every block drops its selected op  eqs. (9)–(10)
// Epoch 0 evaluates α0 alone (Algorithm 1: f_θ0 is trained and scored before evolving).
//
// Beside it: core/checkpoint.hpp (the checkpoint file: envelope, space fingerprint, state checks)
// and policies/size_budget.hpp (eliminations and architectures under the model-size budget).
#pragma once

#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/checkpoint.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/search_state.hpp"
#include "faunae/core/serialization.hpp"
#include "faunae/policies/acceptance.hpp"
#include "faunae/policies/faunae_mutation.hpp"
#include "faunae/policies/size_budget.hpp"
#include "faunae/policies/ucb_elimination.hpp"

namespace faunae {

struct SearchOptions {
  std::uint64_t seed = 0;                  ///< fixes the whole search bit for bit
  double lambda2 = 0.3;                    ///< λ2 of eq. (4) (paper: 0.3)
  std::size_t max_epochs = 0;              ///< stop `run` after this many mutation epochs; 0 = policy decides
  std::filesystem::path checkpoint;        ///< if set, the state is saved there (atomically) after epochs
  std::size_t checkpoint_every = 1;        ///< epochs between checkpoints (the last epoch always saves)
  std::size_t max_proposal_attempts = 1000;  ///< re-draws of α_n while the space rejects it
  std::optional<Architecture> initial;     ///< α0; default: the space's initial_architecture()
  std::string run_id;                      ///< recorded in checkpoints; a checkpoint of another run is refused

  /// Throws InvalidArgument naming `where`, the option and its value if one is out of range (α0 is
  /// checked against the space by the Search).
  void check(std::string_view where = "faunae::Search") const {
    if (!(lambda2 >= 0.0 && lambda2 <= 1.0))
      throw InvalidArgument(fmt::format("{}: lambda2 (eq. 4) must be in [0, 1], got {}", where, lambda2));
    if (checkpoint_every == 0) throw InvalidArgument(fmt::format("{}: checkpoint_every must be at least 1, got 0", where));
    if (max_proposal_attempts == 0) throw InvalidArgument(fmt::format("{}: max_proposal_attempts must be at least 1, got 0", where));
  }
};

/// The number of evaluations a search with this elimination policy plans on `space` (α0's included),
/// without constructing a Search: 1 + the policy's total_epochs, capped by `max_epochs` (0 = no cap).
/// Throws InvalidArgument when the policy cannot tell (it has no total_epochs) and no cap is given.
template <SearchSpace Space, EliminationPolicy Elimination>
std::size_t planned_evaluations(const Space& space, const Elimination& elimination, std::size_t max_epochs = 0) {
  if constexpr (detail::HasTotalEpochs<Elimination>) {
    // The schedule depends only on the blocks and their ops: a shape without α0 or budget will do.
    std::vector<Block> blocks(space.num_blocks());
    for (std::size_t b = 0; b < blocks.size(); ++b)
      for (std::size_t k = 0; k < space.num_ops(b); ++k) blocks[b].ops.push_back(Op{std::string(space.op_name(b, k)), 0.0});
    const BlockSpace shape(std::move(blocks), Architecture(std::vector<OpIndex>(space.num_blocks(), 0)));
    const std::size_t planned = elimination.total_epochs(shape);
    return 1 + (max_epochs > 0 ? std::min(planned, max_epochs) : planned);
  } else {
    if (max_epochs == 0)
      throw InvalidArgument("faunae::planned_evaluations(): the elimination policy has no total_epochs(); give max_epochs");
    return 1 + max_epochs;
  }
}

template <SearchSpace Space, MutationPolicy Mutation = FaunaeMutation, EliminationPolicy Elimination_ = UcbElimination,
          AcceptancePolicy Acceptance_ = BlockwiseAcceptance>
class Search {
 public:
  using MutationPolicyType = Mutation;
  using EliminationPolicyType = Elimination_;
  using AcceptancePolicyType = Acceptance_;

  /// `space` must outlive the search (its is_valid() is consulted).
  explicit Search(const Space& space, SearchOptions options = {}, Mutation mutation = Mutation(),
                  Elimination_ elimination = Elimination_(), Acceptance_ acceptance = Acceptance_())
      : space_(space),
        table_(snapshot_of(space, options.initial)),
        options_(std::move(options)),
        mutation_(std::move(mutation)),
        elimination_(std::move(elimination)),
        acceptance_(std::move(acceptance)) {
    options_.check();
    if (options_.initial) check_architecture(*options_.initial, "faunae::Search: options.initial (α0)");
    share_policy_state();
    reset();
  }

  /// Back to the start: α0, empty statistics, RNG seeded from options.seed.
  void reset() {
    state_ = SearchState{};
    state_.current = options_.initial ? *options_.initial : space_.initial_architecture();
    check_architecture(state_.current, "faunae::Search: the initial architecture α0");
    state_.stats.reset(table_);
    state_.rng.reseed(options_.seed);
  }

  const SearchState& state() const noexcept { return state_; }
  const BlockSpace& space_table() const noexcept { return table_; }
  const SearchOptions& options() const noexcept { return options_; }
  Mutation& mutation_policy() noexcept { return mutation_; }
  Elimination_& elimination_policy() noexcept { return elimination_; }
  Acceptance_& acceptance_policy() noexcept { return acceptance_; }

  bool finished() const { return state_.started() && elimination_.finished(table_, state_); }

  /// Evaluations the search plans, α0's included (planned_epochs() + 1; 1 if the policy cannot tell).
  std::size_t planned_evaluations() const { return planned_epochs() + 1; }

  /// Mutation epochs the policy plans (0 if it cannot tell).
  std::size_t planned_epochs() const {
    if constexpr (detail::HasTotalEpochs<Elimination_>) {
      const std::size_t planned = elimination_.total_epochs(table_);
      return options_.max_epochs > 0 ? std::min(planned, options_.max_epochs) : planned;
    } else {
      return options_.max_epochs;
    }
  }

  /// Runs epochs until the elimination policy says the search is over, options.max_epochs is
  /// reached, or a hook asks to stop. Continues from the current state (after `load`, a resume).
  template <Evaluator E, Hook... Hooks>
  SearchResult run(E& evaluator, Hooks&... hooks) {
    bool stop = false;
    while (!stop && !finished() && !(options_.max_epochs > 0 && state_.epoch >= options_.max_epochs))
      stop = step(evaluator, hooks...);
    SearchResult r = result();
    (detail::call_on_end(hooks, r, state_), ...);
    return r;
  }

  /// One epoch of Algorithm 1 (epoch 0: the evaluation of α0). Returns true if a hook asked to stop.
  /// If the evaluator throws or returns a non-finite loss, the state stays that of the last completed
  /// epoch and an EvaluationError is thrown.
  template <Evaluator E, Hook... Hooks>
  bool step(E& evaluator, Hooks&... hooks) {
    if (finished()) return true;
    share_policy_state();
    const Rng rng_before = state_.rng;
    EpochRecord record;
    record.epoch = state_.started() ? state_.epoch + 1 : 0;
    if (state_.started()) {
      Proposal proposal;
      try {
        proposal = propose();  // eqs. (1)–(3)
      } catch (...) {
        state_.rng = rng_before;  // the draws of a failed proposal leave no trace either
        throw;
      }
      record.evaluated = std::move(proposal.architecture);
      record.probabilities = std::move(proposal.probabilities);
    } else {
      record.evaluated = state_.current;
    }
    Evaluation evaluation;
    try {
      evaluation = to_evaluation(evaluator.evaluate(record.evaluated));
    } catch (const std::exception& e) {
      state_.rng = rng_before;
      // The evaluator's own exception stays reachable (std::rethrow_if_nested) for callers that
      // handle its type, e.g. an out-of-memory error.
      std::throw_with_nested(EvaluationError(fmt::format(
          "faunae::Search::step(): the evaluator threw at epoch {} on {}: {}; the search state is kept at epoch {}",
          record.epoch, record.evaluated.to_string(), e.what(), state_.epoch)));
    } catch (...) {  // not a std::exception: passed on as it is, with the state as before the step
      state_.rng = rng_before;
      throw;
    }
    if (!std::isfinite(evaluation.loss)) {
      state_.rng = rng_before;
      throw EvaluationError(fmt::format(
          "faunae::Search::step(): training diverged: the evaluator returned a non-finite loss ({}) at epoch {} on {}; "
          "the search state is kept at epoch {}",
          evaluation.loss, record.epoch, record.evaluated.to_string(), state_.epoch));
    }
    record.loss = evaluation.loss;
    record.metrics = std::move(evaluation.metrics);
    // Everything below either completes or is rolled back: a failed epoch leaves no trace.
    // eq. (4) touches one (block, op) cell per block, eliminate() commits the alive set last: back up
    // only those cells and α_{n−1} (a copy of the whole statistics is ~2 KB per epoch at 16 × 7).
    backup_cells_.clear();
    for (std::size_t b = 0; b < record.evaluated.size(); ++b) {
      const auto row = static_cast<Eigen::Index>(b), col = static_cast<Eigen::Index>(record.evaluated[b]);
      backup_cells_.push_back({state_.stats.loss(row, col), state_.stats.samples(row, col)});
    }
    backup_current_ = state_.current;
    const SearchState::Counters counters = state_.counters();
    const BlockOpTable<bool> alive_before = state_.stats.alive;
    // The policies see this epoch's record as history.back() (acceptance and elimination use it).
    state_.history.push_back(std::move(record));
    try {
      EpochRecord& current_record = state_.history.back();
      smooth_losses(current_record.evaluated, current_record.loss);  // eq. (4)
      ++state_.evaluations;
      if (current_record.epoch > 0) {
        accept_or_revert(current_record);  // eq. (5) or the acceptance policy's rule
        ++state_.epoch;
        ++state_.epochs_since_elimination;
        if (elimination_.due(table_, state_)) eliminate(state_.history.back());  // eqs. (9)–(10)
      }
    } catch (...) {
      const EpochRecord& failed = state_.history.back();
      for (std::size_t b = 0; b < failed.evaluated.size(); ++b) {
        const auto row = static_cast<Eigen::Index>(b), col = static_cast<Eigen::Index>(failed.evaluated[b]);
        state_.stats.loss(row, col) = backup_cells_[b].first;
        state_.stats.samples(row, col) = backup_cells_[b].second;
      }
      state_.stats.alive = alive_before;
      state_.history.pop_back();
      std::swap(state_.current, backup_current_);
      state_.set_counters(counters);
      state_.rng = rng_before;
      throw;
    }
    state_.history.back().architecture = state_.current;
    const EpochRecord& done = state_.history.back();

    if (!options_.checkpoint.empty() &&
        (done.epoch % options_.checkpoint_every == 0 || finished() ||
         (options_.max_epochs > 0 && state_.epoch >= options_.max_epochs)))
      try {
        save(options_.checkpoint, evaluator);
      } catch (const IoError& e) {
        throw IoError(fmt::format("faunae::Search::step(): epoch {} is complete in memory, but its checkpoint could not "
                                  "be written; the previous checkpoint is intact (resume from it, or save() or run() again once the "
                                  "disk is writable): {}",
                                  done.epoch, e.what()));
      }

    bool stop = false;
    // Every hook is called (the call comes before `|| stop`); any of them may ask to stop.
    for (const auto& m : done.mutations) ((stop = detail::call_on_mutation(hooks, m, state_) || stop), ...);
    for (const auto& x : done.eliminations) ((stop = detail::call_on_elimination(hooks, x, state_) || stop), ...);
    ((stop = detail::call_on_epoch(hooks, done, state_) || stop), ...);
    return stop;
  }

  /// What the search found: the base α (or the acceptance policy's result(), e.g. the best evaluated
  /// architecture for the baselines), whether that architecture was evaluated, and the history.
  SearchResult result() const {
    Architecture found = state_.current;
    if constexpr (detail::HasResult<Acceptance_>) found = acceptance_.result(table_, state_);
    const bool evaluated = detail::was_evaluated(state_, found);
    return SearchResult{std::move(found), state_.evaluations, state_.epoch, finished(), state_.history, evaluated};
  }

  // --- checkpoints -----------------------------------------------------------------------------

  /// The whole search (space fingerprint, policy configs, state) and, for a StatefulEvaluator, its state.
  template <class E = std::nullptr_t>
  nlohmann::json to_json(const E* evaluator = nullptr) const {
    nlohmann::json payload = {{"space", space_fingerprint(table_)}, {"config", config()}, {"state", detail::state_to_json(state_)}};
    if constexpr (StatefulEvaluator<E>)
      if (evaluator) payload["evaluator"] = evaluator->state();
    return payload;
  }

  /// Writes a checkpoint atomically (write, fsync, rename) with a checksum of its content.
  template <class E = std::nullptr_t>
  void save(const std::filesystem::path& path, const E& evaluator = nullptr) const {
    const E* ev = nullptr;
    if constexpr (!std::is_same_v<E, std::nullptr_t>) ev = &evaluator;
    write_checkpoint(path, to_json(ev));
  }

  /// Restores a checkpoint written by `save`: checks the format, the checksum, that it was written for
  /// this space and with the same policy parameters, and the consistency of the state. On any error the
  /// search is left as it was. A StatefulEvaluator gets its state back too.
  template <class E = std::nullptr_t>
  void load(const std::filesystem::path& path, E& evaluator = detail_null()) {
    const std::string where = fmt::format("faunae::Search::load('{}')", path.string());
    const nlohmann::json payload = read_checkpoint(path, where);
    from_json(payload, &evaluator, where);
  }

  /// Restores from the payload of a checkpoint (see to_json). Strong guarantee: on error, no change.
  template <class E = std::nullptr_t>
  void from_json(const nlohmann::json& payload, E* evaluator = nullptr, std::string_view where = "faunae::Search::from_json()") {
    const nlohmann::json& fingerprint = detail::member(payload, "space", where);
    if (fingerprint != space_fingerprint(table_))
      throw IoError(fmt::format("{}: the checkpoint was written for another search space ({})", where,
                                describe_space_difference(table_, fingerprint)));
    const nlohmann::json& stored = detail::member(payload, "config", where);
    if (stored.is_object() && stored.value("run_id", std::string()) != options_.run_id)
      throw IoError(fmt::format("{}: the checkpoint belongs to run '{}', this search is run '{}'", where,
                                stored.value("run_id", std::string()), options_.run_id));
    if (stored != config())
      throw IoError(fmt::format("{}: the checkpoint was written with other parameters: stored {}, this search has {}",
                                where, stored.dump(), config().dump()));
    SearchState restored;
    try {
      restored = detail::state_from_json(detail::member(payload, "state", where));
    } catch (const IoError& e) {
      throw IoError(fmt::format("{}: {}", where, e.what()));
    } catch (const std::exception& e) {
      throw IoError(fmt::format("{}: invalid search state: {}", where, e.what()));
    }
    detail::check_restored_state(table_, restored, where);
    if constexpr (StatefulEvaluator<E>) {
      if (evaluator) {
        if (!payload.contains("evaluator"))
          throw IoError(fmt::format("{}: the checkpoint holds no evaluator state, but the evaluator has one", where));
        evaluator->restore(payload["evaluator"]);
      }
    }
    state_ = std::move(restored);
  }

 private:
  // The space as a table; α0 from options.initial when given (a space may have none of its own).
  static BlockSpace snapshot_of(const Space& space, const std::optional<Architecture>& initial) {
    try {
      return BlockSpace::snapshot(space, /*keep_validity=*/false, initial);
    } catch (const InvalidArchitecture& e) {
      if (!initial) throw;
      throw InvalidArchitecture(fmt::format("faunae::Search: options.initial (α0): {}", e.what()));
    }
  }

  static std::nullptr_t& detail_null() {
    static std::nullptr_t none = nullptr;
    return none;
  }

  void check_architecture(const Architecture& a, std::string_view where) const {
    table_.check_architecture(a, where);
    if (!allowed(a))
      throw InvalidArchitecture(fmt::format("{}: {} is rejected by the search space's is_valid()", where, a.to_string()));
  }

  // The space's is_valid() and its model-size budget (the snapshot holds max_size(), if any).
  bool allowed(const Architecture& a) const {
    if (!table_.within_max_size(a)) return false;
    return static_cast<bool>(space_.is_valid(a));
  }

  // l(o) of eq. (4) for ranking replacements: an op never sampled (NaN) ranks last.
  double loss_for_ranking(std::size_t b, OpIndex k) const {
    const double l = state_.stats.loss(Eigen::Index(b), Eigen::Index(k));
    return std::isnan(l) ? std::numeric_limits<double>::infinity() : l;
  }

  // Policies that can share state do (the detected hook `elimination.share_with(mutation)`; FaUNAE-TS:
  // one credit model absorbs the history once instead of once per policy, with the same results), and
  // a mutation policy that adapts to the budget is told it (the detected hook
  // `mutation.plan_evaluations(n)`). On construction and before every epoch: copying or moving a
  // search copies its policies apart, and this links the copies again. A no-op once linked.
  void share_policy_state() {
    if constexpr (detail::HasShareWith<Elimination_, Mutation>) elimination_.share_with(mutation_);
    if constexpr (detail::HasPlanEvaluations<Mutation>) mutation_.plan_evaluations(planned_evaluations());
  }

  Proposal propose() {
    for (std::size_t attempt = 0; attempt < options_.max_proposal_attempts; ++attempt) {
      Proposal p = mutation_.propose(table_, state_, state_.rng);
      if (p.architecture.size() != table_.num_blocks())
        throw std::logic_error(fmt::format("faunae::Search: the mutation policy proposed {} blocks, the space has {}",
                                           p.architecture.size(), table_.num_blocks()));
      for (std::size_t b = 0; b < p.architecture.size(); ++b)
        if (p.architecture[b] >= table_.num_ops(b) || !state_.stats.is_alive(b, p.architecture[b]))
          throw std::logic_error(fmt::format(
              "faunae::Search: the mutation policy proposed op {} for block {}, which is not an alive op", p.architecture[b], b));
      if (allowed(p.architecture)) return p;
    }
    throw InvalidArgument(fmt::format("faunae::Search::step(): no valid architecture in {} proposals at epoch {}; the "
                                      "search space's is_valid() rejects what the mutation policy draws",
                                      options_.max_proposal_attempts, state_.epoch + 1));
  }

  // eq. (4): l(o) ← λ2·l(o) + (1 − λ2)·a for the op of every block; an op's first sample sets l(o) = a.
  void smooth_losses(const Architecture& evaluated, double a) {
    const double l2 = options_.lambda2;
    for (std::size_t b = 0; b < evaluated.size(); ++b) {
      const auto row = static_cast<Eigen::Index>(b);
      const auto col = static_cast<Eigen::Index>(evaluated[b]);
      double& l = state_.stats.loss(row, col);
      auto& sa = state_.stats.samples(row, col);
      l = sa == 0 ? a : l2 * l + (1.0 - l2) * a;
      ++sa;
    }
  }

  // eq. (5), or the acceptance policy's rule: the next base α_n; every block where α_n differs from
  // α_{n−1} is one mutation, accepted iff the next base holds α_n's op.
  void accept_or_revert(EpochRecord& record) {
    Architecture& next = next_;  // reused buffer: no allocation per epoch
    next = acceptance_.accept(table_, static_cast<const SearchState&>(state_));
    if (next.size() != table_.num_blocks())
      throw std::logic_error(fmt::format("faunae::Search: the acceptance policy returned {} blocks, the space has {}",
                                         next.size(), table_.num_blocks()));
    for (std::size_t b = 0; b < next.size(); ++b)
      if (next[b] >= table_.num_ops(b) || !state_.stats.is_alive(b, next[b]))
        throw std::logic_error(fmt::format(
            "faunae::Search: the acceptance policy chose op {} for block {}, which is not an alive op", next[b], b));
    std::size_t changed = 0;
    for (std::size_t b = 0; b < state_.current.size(); ++b) changed += state_.current[b] != record.evaluated[b];
    record.mutations.reserve(changed);
    for (std::size_t b = 0; b < next.size(); ++b) {
      const OpIndex from = state_.current[b];
      const OpIndex to = record.evaluated[b];
      if (from == to) continue;
      BlockMutation m;
      m.block = b;
      m.from = from;
      m.to = to;
      const auto identity = table_.identity_op(b);
      m.kind = identity && (from == *identity || to == *identity) ? MutationKind::depth : MutationKind::op;
      m.loss_from = state_.stats.loss(Eigen::Index(b), Eigen::Index(from));
      m.loss_to = state_.stats.loss(Eigen::Index(b), Eigen::Index(to));
      m.accepted = next[b] == to;
      record.mutations.push_back(m);
    }
    if (next == state_.current) return;
    if (!allowed(next)) {
      // Per-block decisions can combine into an architecture the space forbids: keep α_{n−1}.
      record.reverted_as_invalid = true;
      for (auto& m : record.mutations) m.accepted = false;
      return;
    }
    std::swap(state_.current, next);
  }

  // eq. (10): Ω^i ← Ω^i − {selected op}; the block's current op moves to the named replacement.
  void eliminate(EpochRecord& record) {
    std::vector<Elimination> chosen = detail::select_within_budget(table_, state_, elimination_);
    Architecture next = state_.current;
    BlockOpTable<bool> alive = state_.stats.alive;
    std::vector<bool> seen(table_.num_blocks(), false);
    for (Elimination& e : chosen) {
      const auto b = e.block;
      if (b >= table_.num_blocks() || seen[b] || e.op >= table_.num_ops(b) || !alive(Eigen::Index(b), Eigen::Index(e.op)) ||
          state_.stats.ops_left(b) <= 1)
        throw std::logic_error(fmt::format(
            "faunae::Search: the elimination policy selected block {} op {}, which is out of range, repeated, already "
            "removed or the block's last op",
            b, e.op));
      seen[b] = true;
      alive(Eigen::Index(b), Eigen::Index(e.op)) = false;
      if (next[b] == e.op) {
        if (!e.replacement || *e.replacement >= table_.num_ops(b) || *e.replacement == e.op ||
            !alive(Eigen::Index(b), Eigen::Index(*e.replacement)))
          throw std::logic_error(fmt::format(
              "faunae::Search: the elimination policy removed block {}'s current op {} without naming an alive replacement",
              b, e.op));
        next[b] = *e.replacement;
      } else {
        e.replacement.reset();
      }
    }
    detail::shrink_to_budget(table_, next, alive, chosen, [this](std::size_t b, OpIndex k) { return loss_for_ranking(b, k); });
    if (!allowed(next)) repair_after_elimination(next, alive, chosen);
    state_.stats.alive = std::move(alive);
    state_.current = std::move(next);
    state_.epochs_since_elimination = 0;
    ++state_.elimination_rounds;
    record.eliminations = std::move(chosen);
  }

  // The replacements the policy named combine into an architecture that the space's cross-block rule
  // rejects: try, block by block, the other alive ops in order of smoothed loss (eq. 4, never sampled
  // last) and keep the first change that makes the architecture valid.
  void repair_after_elimination(Architecture& next, const BlockOpTable<bool>& alive, std::vector<Elimination>& chosen) {
    for (Elimination& e : chosen) {
      if (!e.replacement) continue;
      const auto b = e.block;
      std::vector<OpIndex> candidates;
      for (OpIndex k = 0; k < table_.num_ops(b); ++k)
        if (alive(Eigen::Index(b), Eigen::Index(k)) && k != *e.replacement) candidates.push_back(k);
      const auto loss_of = [&](OpIndex k) { return loss_for_ranking(b, k); };
      std::stable_sort(candidates.begin(), candidates.end(), [&](OpIndex x, OpIndex y) { return loss_of(x) < loss_of(y); });
      for (OpIndex k : candidates) {
        Architecture trial = next;
        trial[b] = k;
        if (allowed(trial)) {
          next = std::move(trial);
          e.replacement = k;
          return;
        }
      }
    }
    throw InvalidArgument(fmt::format(
        "faunae::Search::step(): after eliminating ops at epoch {}, no replacement makes the architecture {} valid; "
        "the search space's is_valid() conflicts with the ops left (express per-block restrictions by leaving the op "
        "out of that block, and keep is_valid() for rules across blocks)",
        state_.epoch, next.to_string()));
  }

  nlohmann::json config() const {
    nlohmann::json c = {{"seed", options_.seed}, {"lambda2", options_.lambda2}};
    if constexpr (detail::HasConfig<Mutation>) c["mutation"] = mutation_.config();
    if constexpr (detail::HasConfig<Elimination_>) c["elimination"] = elimination_.config();
    // The paper's eq. (5) adds nothing, so checkpoints written before acceptance policies still resume.
    if constexpr (!std::is_same_v<Acceptance_, BlockwiseAcceptance> && detail::HasConfig<Acceptance_>)
      c["acceptance"] = acceptance_.config();
    if (options_.initial) c["initial"] = options_.initial->ops();
    if (!options_.run_id.empty()) c["run_id"] = options_.run_id;  // absent when empty: older checkpoints resume
    if (const auto budget = table_.max_size()) c["max_size"] = *budget;  // a resume under another budget is refused
    return c;
  }

  const Space& space_;
  BlockSpace table_;
  SearchOptions options_;
  Mutation mutation_;
  Elimination_ elimination_;
  Acceptance_ acceptance_;
  SearchState state_;
  std::vector<std::pair<double, std::int64_t>> backup_cells_;
  Architecture backup_current_;
  Architecture next_;  // scratch for eq. (5)
};

/// The faithful FaUNAE of the paper (FaunaeMutation + UcbElimination).
template <SearchSpace Space>
using FaUNAE = Search<Space, FaunaeMutation, UcbElimination>;

/// Ablation: FaUNAE without operation elimination (same number of epochs as FaUNAE by default).
template <SearchSpace Space>
using FaUNAENoElimination = Search<Space, FaunaeMutation, NoElimination>;

}  // namespace faunae

// The MutationPolicy and EliminationPolicy concepts: the two pluggable halves of Algorithm 1.
#pragma once

#include <concepts>
#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "faunae/core/architecture.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/rng.hpp"
#include "faunae/core/search_state.hpp"

namespace faunae {

/// What a mutation policy proposes: α_n and the per-(block, op) probabilities it was drawn from
/// (kept in the history; an empty table is allowed for policies without probabilities).
struct Proposal {
  Architecture architecture;
  BlockOpTable<double> probabilities;
};

/// MutationPolicy: proposes α_n from α_{n-1} = `state.current` and the statistics (eqs. 1–3).
///
/// Requirements, for `P p`, the space snapshot `space`, the state `s` and the search's `rng`:
///  1. `p.propose(space, s, rng)` returns a faunae::Proposal whose architecture has one op per block,
///     each still alive in `s.stats.alive`. The driver re-asks (bounded) while `space.is_valid` says no.
///  2. All randomness comes from `rng`, so a seed reproduces the search.
/// Optional (detected): `p.config()` → nlohmann::json of its parameters, stored in checkpoints and
/// compared on resume; `p.plan_evaluations(n)`, through which the search tells the policy the
/// evaluations it plans (Search::planned_evaluations(), α0's included; 1 when it cannot tell), on
/// construction and before every epoch.
///
/// Satisfied by: faunae::FaunaeMutation, faunae::ThompsonMutation.
template <class P>
concept MutationPolicy = requires(P& p, const BlockSpace& space, const SearchState& s, Rng& rng) {
  { p.propose(space, s, rng) } -> std::same_as<Proposal>;
};

/// EliminationPolicy: decides when and which op each block loses (eqs. 9–10 and the K·E schedule),
/// and when the search is over.
///
/// Requirements, for `P p`, the space snapshot `space` and the state `s` after an epoch:
///  1. `p.due(space, s)` → true when ops are to be removed now;
///  2. `p.select(space, s)` → the faunae::Elimination list: at most one per block, only alive ops,
///     never the last op of a block; where it removes the block's current op it names an alive
///     `replacement`;
///  3. `p.finished(space, s)` → true when the search is over (e.g. one op left per block).
/// Optional (detected): `p.total_epochs(space)` → the planned number of mutation epochs (progress
/// display); `p.config()` → nlohmann::json of its parameters; `p.select(space, s, removable)` with a
/// `BlockOpTable<bool>` of the ops it may remove (a subset of the alive ops; the search withholds ops
/// that a model-size budget needs, see SearchSpace's max_size()) — without it, a search under a
/// budget stops with an error when the policy's choice would leave no architecture within it.
///
/// Satisfied by: faunae::UcbElimination, faunae::NoElimination.
template <class P>
concept EliminationPolicy = requires(P& p, const BlockSpace& space, const SearchState& s) {
  { p.due(space, s) } -> std::convertible_to<bool>;
  { p.select(space, s) } -> std::same_as<std::vector<Elimination>>;
  { p.finished(space, s) } -> std::convertible_to<bool>;
};

/// AcceptancePolicy: decides, after α_n has been evaluated, which architecture the next epoch mutates
/// from (eq. 5 and its variants), and what the search returns.
///
/// Requirements, for `P p`, the space snapshot `space`, the state `s` after eq. (4) of this epoch
/// (`s.history.back()` is this epoch's record: `evaluated` = α_n and its `loss`; `s.current` = α_{n−1})
/// and `s.evaluations` counting α_n:
///  1. `p.accept(space, s)` → the next base architecture: any architecture of alive ops; a block
///     where α_n differs from α_{n−1} counts as an accepted mutation iff the result holds α_n's op.
///     The driver keeps α_{n−1} if the result is not allowed by the space (is_valid, budget).
/// Optional (detected): `p.result(space, s)` → the architecture the search returns (default:
/// `s.current`); `p.config()` → nlohmann::json of its parameters.
///
/// Satisfied by: faunae::BlockwiseAcceptance (eq. 5, the paper's), faunae::ArchitectureAcceptance,
/// faunae::IncumbentAcceptance, faunae::LocalSearchAcceptance.
template <class P>
concept AcceptancePolicy = requires(P& p, const BlockSpace& space, const SearchState& s) {
  { p.accept(space, s) } -> std::same_as<Architecture>;
};

namespace detail {
template <class P>
concept HasResult = requires(const P& p, const BlockSpace& space, const SearchState& s) {
  { p.result(space, s) } -> std::same_as<Architecture>;
};
template <class P>
concept HasConfig = requires(const P& p) {
  { p.config() } -> std::convertible_to<nlohmann::json>;
};
template <class P>
concept HasSelectRemovable = requires(const P& p, const BlockSpace& space, const SearchState& s,
                                      const BlockOpTable<bool>& removable) {
  { p.select(space, s, removable) } -> std::same_as<std::vector<Elimination>>;
};
template <class P>
concept HasTotalEpochs = requires(const P& p, const BlockSpace& space) {
  { p.total_epochs(space) } -> std::convertible_to<std::size_t>;
};
/// An elimination policy that can read what the mutation policy keeps instead of keeping its own
/// (PosteriorElimination reads ThompsonMutation's credit model): Search calls `e.share_with(m)`.
template <class E, class M>
concept HasShareWith = requires(E& e, const M& m) { e.share_with(m); };
/// A mutation policy that adapts to the search's budget (ThompsonMutation's scan of α0's
/// neighbourhood): Search calls `m.plan_evaluations(planned_evaluations())`.
template <class M>
concept HasPlanEvaluations = requires(M& m, std::size_t n) { m.plan_evaluations(n); };
}  // namespace detail

}  // namespace faunae

// Named searches beyond the paper's: every variant is a Search with other policies, so each one
// checkpoints, resumes, logs and reports like the faithful FaUNAE (search/search.hpp).
//
//   faunae::FaUNAE<S>               the paper: FaunaeMutation + UcbElimination + BlockwiseAcceptance
//   faunae::FaUNAENoElimination<S>  ablation: no op is removed
//   faunae::FaUNAER<S>              RegressionElimination instead of eq. (9)
//   faunae::FaUNAETS<S>             the recommended search (docs/baselines.md): Thompson-sampling
//                                   mutation over an additive Bayesian credit model, architecture-level
//                                   acceptance, posterior elimination
//   faunae::FaUNAELT<S>             FaUNAE-TS's policies as a local search in the model's order: every
//                                   base's neighbourhood scanned while the budget covers it
//                                   (faunae_lt() builds it)
//   faunae::RandomSearch<S>, faunae::RegularizedEvolution<S>, faunae::LocalSearch<S>: baselines
//                                   (baselines/baselines.hpp)
#pragma once

#include "faunae/policies/acceptance.hpp"
#include "faunae/policies/posterior_elimination.hpp"
#include "faunae/policies/regression_elimination.hpp"
#include "faunae/policies/thompson_mutation.hpp"
#include "faunae/search/search.hpp"

namespace faunae {

/// FaUNAE-R (a variant, not the paper's): eq. (9) replaced by a ridge-regression credit assignment.
template <SearchSpace Space>
using FaUNAER = Search<Space, FaunaeMutation, RegressionElimination>;

/// FaUNAE-TS, the recommended search (not the paper's): FaUNAE's shape — trial and test from α0,
/// elimination down to one op per block on Algorithm 1's K·E schedule, the model-size budget, any
/// label-free evaluator — with the credit assignment of an additive Bayesian model of the loss.
///
///   faunae::FaUNAETS<Space> search(space, {.seed = 7}, faunae::ThompsonMutation(),
///                                  faunae::PosteriorElimination({.epochs_per_op = 3}));
///
/// The two policies read one model (AdditiveLossModel through a SharedAdditiveModel): the search links
/// them (PosteriorElimination::share_with) on construction and before every epoch, so each evaluation
/// is absorbed once; the results are those of two separate models, bit for bit. A copy of the search
/// gets a copy of the model, never the original's.
template <SearchSpace Space>
using FaUNAETS = Search<Space, ThompsonMutation, PosteriorElimination, ArchitectureAcceptance>;

/// FaUNAE-LT's mutation options: FaUNAE-TS's, with every base's neighbourhood scanned first
/// (ThompsonMutationOptions::scan_base_neighbourhood; thompson_mutation.hpp).
inline ThompsonMutationOptions faunae_lt_mutation_options() {
  ThompsonMutationOptions o;
  o.scan_base_neighbourhood = true;
  return o;
}

/// FaUNAE-LT (a variant, not the paper's; issue 29): FaUNAE-TS with one mutation option changed, so
/// that on spaces whose ops interact (cells with zero and skip ops) it keeps local search's steps,
/// while the model orders the moves and leads out of local optima: each time the base moves, its
/// whole one-block neighbourhood is evaluated (lowest drawn loss first) before any multi-block move,
/// as long as the evaluations left exceed the neighbourhood. The base follows the best observed, so
/// every scan is a best-improvement step of local search; with less budget left, or at a local
/// optimum, FaUNAE-TS's Thompson-sampled moves run. FaUNAE's shape is kept whole: trial and test from
/// α0, PosteriorElimination down to one op per block on Algorithm 1's K·E schedule, the size budget.
/// (PosteriorEliminationOptions::confident_only, which removes only confidently worse ops, was
/// measured as an ablation and costs more than it saves: docs/benchmarks.md.)
/// The type is FaUNAETS's; the option makes the difference, and a checkpoint records it.
///
///   auto search = faunae::faunae_lt(space, {.seed = 7}, /*epochs_per_op=*/3);
template <SearchSpace Space>
using FaUNAELT = FaUNAETS<Space>;

template <SearchSpace Space>
FaUNAELT<Space> faunae_lt(const Space& space, SearchOptions options = {}, std::size_t epochs_per_op = 3) {
  return FaUNAELT<Space>(space, std::move(options), ThompsonMutation(faunae_lt_mutation_options()),
                         PosteriorElimination({.epochs_per_op = epochs_per_op}));
}

}  // namespace faunae

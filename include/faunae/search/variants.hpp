// Named searches beyond the paper's: every variant is a Search with other policies, so each one
// checkpoints, resumes, logs and reports like the faithful FaUNAE (search/search.hpp).
//
//   faunae::FaUNAE<S>               the paper: FaunaeMutation + UcbElimination + BlockwiseAcceptance
//   faunae::FaUNAENoElimination<S>  ablation: no op is removed
//   faunae::FaUNAER<S>              RegressionElimination instead of eq. (9)
//   faunae::FaUNAETS<S>             the recommended search (docs/baselines.md): Thompson-sampling
//                                   mutation over an additive Bayesian credit model, architecture-level
//                                   acceptance, posterior elimination
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

}  // namespace faunae

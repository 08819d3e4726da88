// faunae: Fast and Unsupervised Neural Architecture Evolution (Xue et al., IEEE CIM 2021), header-only.
// The core knows nothing of Torch; backends/ plug into these concepts.
#pragma once

#include "faunae/baselines/baselines.hpp"
#include "faunae/concepts.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/core/architecture_json.hpp"
#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rank_correlation.hpp"
#include "faunae/core/rng.hpp"
#include "faunae/core/search_state.hpp"
#include "faunae/hooks/hooks.hpp"
#include "faunae/policies/acceptance.hpp"
#include "faunae/policies/additive_model.hpp"
#include "faunae/policies/best_evaluated.hpp"
#include "faunae/policies/faunae_mutation.hpp"
#include "faunae/policies/posterior_elimination.hpp"
#include "faunae/policies/regression_elimination.hpp"
#include "faunae/policies/thompson_mutation.hpp"
#include "faunae/policies/ucb_elimination.hpp"
#include "faunae/search/search.hpp"
#include "faunae/search/variants.hpp"

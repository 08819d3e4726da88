// All concepts of faunae. See docs/concepts.md for how to satisfy each.
#pragma once

#include "faunae/concepts/evaluator.hpp"
#include "faunae/concepts/hooks.hpp"
#include "faunae/concepts/policies.hpp"
#include "faunae/concepts/search_space.hpp"

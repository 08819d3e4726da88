// faunae::tabular: a search space and an evaluator over a table of measured architectures
// (a tabular NAS benchmark such as NAS-Bench-Macro). No Torch: a search costs microseconds, so the
// algorithm can be studied over hundreds of seeds against real measurements.
#pragma once

#include "faunae/tabular/benchmark_table.hpp"

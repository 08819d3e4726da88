// The search driver's own cost per epoch: mutation (eqs. 1–3), the loss update and acceptance
// (eqs. 4–5), elimination (eqs. 9–10) and the history, with an evaluator that costs nothing.
//
// Space: 16 blocks × 7 ops (identity, two convolutions, four split-attention convolutions, as in the
// paper's ResNet search block), α0 = conv3x3 everywhere. Evaluator: a fixed additive function of
// the ops (a few nanoseconds). Target: under 1 µs per epoch. Numbers in docs/benchmarks.md.
#include <array>
#include <cstddef>
#include <vector>

#include <benchmark/benchmark.h>

#include "faunae/faunae.hpp"
#include "faunae/policies/regression_elimination.hpp"
#include "faunae/search/variants.hpp"

namespace {

constexpr std::size_t kBlocks = 16;
constexpr std::size_t kOps = 7;

faunae::BlockSpace make_space() {
  // Sizes in parameters, roughly those of a ResNet-50 bottleneck's 3×3 stage at 64 channels.
  const std::vector<faunae::Op> ops = {{"identity", 0.0},       {"conv3x3", 36864.0},    {"conv5x5", 102400.0},
                                       {"saconv3_r2", 45056.0}, {"saconv5_r2", 110592.0}, {"saconv3_r4", 49152.0},
                                       {"saconv5_r4", 114688.0}};
  return faunae::uniform_space(kBlocks, ops, faunae::Architecture(std::vector<faunae::OpIndex>(kBlocks, 1)), "identity");
}

/// loss = Σ_b w[b][op_b]: deterministic, a few nanoseconds, and with a structure the search can follow.
struct TrivialEvaluator {
  std::array<double, kBlocks * kOps> weight{};
  TrivialEvaluator() {
    for (std::size_t b = 0; b < kBlocks; ++b)
      for (std::size_t k = 0; k < kOps; ++k) weight[b * kOps + k] = 1.0 + 0.01 * static_cast<double>((b * 7 + k * 3) % 11);
  }
  double evaluate(const faunae::Architecture& a) const {
    double loss = 0.0;
    for (std::size_t b = 0; b < kBlocks; ++b) loss += weight[b * kOps + a[b]];
    return loss;
  }
};

constexpr std::size_t kStepsBeforeReset = std::size_t{1} << 16;  // bounds the history's memory

// Steady state: one step() of a long search without elimination; the history keeps growing (reset,
// untimed, every 65536 epochs to bound memory).
void BM_Step_NoElimination(benchmark::State& state) {
  const faunae::BlockSpace space = make_space();
  faunae::Search<faunae::BlockSpace, faunae::FaunaeMutation, faunae::NoElimination> search(
      space, {.seed = 1}, faunae::FaunaeMutation(), faunae::NoElimination({.epochs_per_op = 0, .epochs = std::size_t{1} << 40}));
  TrivialEvaluator evaluator;
  search.step(evaluator);  // epoch 0: α0
  std::size_t steps = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(search.step(evaluator));
    if (++steps == kStepsBeforeReset) {
      state.PauseTiming();
      search.reset();
      search.step(evaluator);
      steps = 0;
      state.ResumeTiming();
    }
  }
  state.counters["epochs"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Step_NoElimination);

// The mutation policy alone (eqs. 1–3) on a state after 1000 epochs.
void BM_Propose(benchmark::State& state) {
  const faunae::BlockSpace space = make_space();
  faunae::Search<faunae::BlockSpace, faunae::FaunaeMutation, faunae::NoElimination> search(
      space, {.seed = 1}, faunae::FaunaeMutation(), faunae::NoElimination({.epochs_per_op = 0, .epochs = 1000}));
  TrivialEvaluator evaluator;
  search.run(evaluator);
  faunae::FaunaeMutation mutation;
  faunae::Rng rng(3);
  for (auto _ : state) benchmark::DoNotOptimize(mutation.propose(search.space_table(), search.state(), rng));
}
BENCHMARK(BM_Propose);

// A whole faithful FaUNAE search (UcbElimination, E = 3: Σ_{m=2}^{7} 3m = 81 epochs), construction
// excluded; the "per_epoch" counter is the time divided by the 81 epochs (+ α0's evaluation).
template <class Elimination, class Mutation = faunae::FaunaeMutation, class Acceptance = faunae::BlockwiseAcceptance>
void full_search(benchmark::State& state, Elimination elimination, Mutation mutation = Mutation(),
                 Acceptance acceptance = Acceptance()) {
  const faunae::BlockSpace space = make_space();
  TrivialEvaluator evaluator;
  std::size_t epochs = 0;
  for (auto _ : state) {
    state.PauseTiming();
    faunae::Search<faunae::BlockSpace, Mutation, Elimination, Acceptance> search(space, {.seed = 1}, mutation,
                                                                                 elimination, acceptance);
    state.ResumeTiming();
    faunae::SearchResult result = search.run(evaluator);  // not const: DoNotOptimize(const T&) is deprecated (benchmark 1.8)
    epochs = result.epochs;
    benchmark::DoNotOptimize(result.architecture);
  }
  state.counters["epochs"] = static_cast<double>(epochs);
  state.counters["per_epoch"] = benchmark::Counter(static_cast<double>(epochs),
                                                   benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_FullSearch_FaUNAE(benchmark::State& state) { full_search(state, faunae::UcbElimination({.epochs_per_op = 3})); }
BENCHMARK(BM_FullSearch_FaUNAE)->Unit(benchmark::kMicrosecond);

void BM_FullSearch_RegressionElimination(benchmark::State& state) {
  full_search(state, faunae::RegressionElimination({.epochs_per_op = 3}));
}
BENCHMARK(BM_FullSearch_RegressionElimination)->Unit(benchmark::kMicrosecond);

// The recommended FaUNAE-TS: Thompson-sampling mutation over the additive credit model, posterior
// elimination, architecture-level acceptance (target: ≤ 10 µs per epoch at 16 blocks × 7 ops).
void BM_FullSearch_FaUNAETS(benchmark::State& state) {
  full_search(state, faunae::PosteriorElimination({.epochs_per_op = 3}), faunae::ThompsonMutation(),
              faunae::ArchitectureAcceptance());
}
BENCHMARK(BM_FullSearch_FaUNAETS)->Unit(benchmark::kMicrosecond);

// The same at E = 4: 109 planned evaluations exceed α0's 96 one-block neighbours + 1, so the scan of
// α0's neighbourhood is on (96 of the 108 epochs); and with the scan switched off, for the difference.
void BM_FullSearch_FaUNAETS_E4_Scan(benchmark::State& state) {
  full_search(state, faunae::PosteriorElimination({.epochs_per_op = 4}), faunae::ThompsonMutation(),
              faunae::ArchitectureAcceptance());
}
BENCHMARK(BM_FullSearch_FaUNAETS_E4_Scan)->Unit(benchmark::kMicrosecond);
void BM_FullSearch_FaUNAETS_E4_NoScan(benchmark::State& state) {
  full_search(state, faunae::PosteriorElimination({.epochs_per_op = 4}),
              faunae::ThompsonMutation({.scan_alpha0_neighbourhood = false}), faunae::ArchitectureAcceptance());
}
BENCHMARK(BM_FullSearch_FaUNAETS_E4_NoScan)->Unit(benchmark::kMicrosecond);

// FaUNAE-LT (every base's neighbourhood scanned while the budget covers it) at E = 3 and E = 4: its
// scans add a neighbourhood walk per proposal and a centre update per absorbed record.
void BM_FullSearch_FaUNAELT(benchmark::State& state) {
  full_search(state, faunae::PosteriorElimination({.epochs_per_op = 3}), faunae::ThompsonMutation(faunae::faunae_lt_mutation_options()),
              faunae::ArchitectureAcceptance());
}
BENCHMARK(BM_FullSearch_FaUNAELT)->Unit(benchmark::kMicrosecond);
void BM_FullSearch_FaUNAELT_E4(benchmark::State& state) {
  full_search(state, faunae::PosteriorElimination({.epochs_per_op = 4}), faunae::ThompsonMutation(faunae::faunae_lt_mutation_options()),
              faunae::ArchitectureAcceptance());
}
BENCHMARK(BM_FullSearch_FaUNAELT_E4)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

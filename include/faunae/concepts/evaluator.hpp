// The Evaluator concept: what scores an architecture (paper III.C: the InfoNCE loss of eq. (6) on
// held-out data; any loss where lower is better works).
#pragma once

#include <concepts>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "faunae/core/architecture.hpp"

namespace faunae {

/// The result of one evaluation: the loss a of eq. (4) (lower is better) and optional extra metrics
/// (accuracy, kNN score, seconds, ...) that the history and logs keep.
struct Evaluation {
  double loss = 0.0;
  std::vector<std::pair<std::string, double>> metrics;
};

/// What `evaluate` may return: a loss convertible to double, or an Evaluation.
template <class R>
concept EvaluationResult = std::convertible_to<R, double> || std::same_as<std::remove_cvref_t<R>, Evaluation>;

/// Evaluator: gives the loss of an architecture, lower is better.
///
/// Requirements, for `E e` (non-const: an evaluator may be stateful, e.g. a supernet that trains k
/// steps before it scores) and an architecture `a` valid in the search space:
///  1. `e.evaluate(a)` returns a double-convertible loss or a faunae::Evaluation.
///  2. The loss is finite; NaN or Inf stops the search with an EvaluationError (state kept).
///
/// Optional (detected, see StatefulEvaluator): `e.state()` → nlohmann::json and
/// `e.restore(json)`, so that checkpoints hold the evaluator's state too (weights file names,
/// noise RNG, ...) and a resumed search ends exactly where an uninterrupted one does.
///
/// Satisfied by: faunae::tabular::TabularEvaluator, faunae::torch_backend::ContrastiveEvaluator and
/// ZeroCostEvaluator, any lambda wrapped in faunae::FunctionEvaluator.
template <class E>
concept Evaluator = requires(E& e, const Architecture& a) {
  { e.evaluate(a) } -> EvaluationResult;
};

/// An Evaluator whose state can be saved in, and restored from, a checkpoint.
template <class E>
concept StatefulEvaluator = Evaluator<E> && requires(E& e, const E& ce, const nlohmann::json& j) {
  { ce.state() } -> std::convertible_to<nlohmann::json>;
  e.restore(j);
};

/// Normalizes what an evaluator returned into an Evaluation.
template <EvaluationResult R>
Evaluation to_evaluation(R&& r) {
  if constexpr (std::same_as<std::remove_cvref_t<R>, Evaluation>) return Evaluation(std::forward<R>(r));
  else return Evaluation{static_cast<double>(r), {}};
}

/// Wraps any callable `double(const Architecture&)` (or returning Evaluation) as an Evaluator.
template <class F>
  requires std::invocable<F&, const Architecture&> && EvaluationResult<std::invoke_result_t<F&, const Architecture&>>
class FunctionEvaluator {
 public:
  explicit FunctionEvaluator(F f) : f_(std::move(f)) {}
  decltype(auto) evaluate(const Architecture& a) { return f_(a); }

 private:
  F f_;
};

}  // namespace faunae

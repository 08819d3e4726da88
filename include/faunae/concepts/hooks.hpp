// Hooks: optional observers of a search (ensmallen's callbacks, adapted). Every method is optional
// and detected; a hook pays nothing for what it does not write. A method returning `true` stops the
// search after the current epoch (the state stays resumable).
#pragma once

#include <concepts>
#include <cstddef>
#include <vector>

#include "faunae/core/architecture.hpp"
#include "faunae/core/search_state.hpp"

namespace faunae {

/// What a search returns.
struct SearchResult {
  Architecture architecture;         ///< the found architecture (the base α after the last epoch)
  std::size_t evaluations = 0;       ///< architectures evaluated, α0 included
  std::size_t epochs = 0;            ///< mutation epochs run
  bool finished = false;             ///< the policy's end was reached (not stopped by a hook or a cap)
  std::vector<EpochRecord> history;  ///< every epoch, epoch 0 being α0's evaluation
  bool evaluated = false;            ///< `architecture` is one the search evaluated (the faithful
                                     ///< FaUNAE may return one it never evaluated)
};

/// What a callback returns to say whether the work goes on: faunae's one stop convention, for the
/// hooks of a search and for train_contrastive's on_epoch. A callback that returns void never stops.
/// (A hook may also return bool, true meaning stop; train_contrastive refuses bool at compile time,
/// since there true once meant "go on".)
enum class Flow { proceed, stop };

/// Hook: any type with at least one of these members (each may return void, Flow, or bool: true = stop):
///  1. `on_epoch(const EpochRecord&, const SearchState&)`: after every epoch (α0's evaluation too);
///  2. `on_mutation(const BlockMutation&, const SearchState&)`: per mutated block, after eq. (5);
///  3. `on_elimination(const Elimination&, const SearchState&)`: per removed op (eq. 10);
///  4. `on_end(const SearchResult&, const SearchState&)`: once, when `run` returns.
/// Satisfied by: faunae::JsonLinesLogger, faunae::ProgressDisplay, faunae::StopAfter.
template <class H>
concept Hook = requires(H& h, const EpochRecord& e, const SearchState& s) { h.on_epoch(e, s); } ||
               requires(H& h, const BlockMutation& m, const SearchState& s) { h.on_mutation(m, s); } ||
               requires(H& h, const Elimination& x, const SearchState& s) { h.on_elimination(x, s); } ||
               requires(H& h, const SearchResult& r, const SearchState& s) { h.on_end(r, s); };

namespace detail {
// Calls `f` and turns its result into "stop?": void → false, Flow → whether it is Flow::stop, bool →
// as returned.
template <class F>
bool stop_requested(F&& f) {
  if constexpr (std::same_as<std::invoke_result_t<F>, void>) {
    f();
    return false;
  } else if constexpr (std::same_as<std::remove_cvref_t<std::invoke_result_t<F>>, Flow>) {
    return f() == Flow::stop;
  } else {
    return static_cast<bool>(f());
  }
}

template <class H>
bool call_on_epoch(H& h, const EpochRecord& e, const SearchState& s) {
  if constexpr (requires { h.on_epoch(e, s); }) return stop_requested([&] { return h.on_epoch(e, s); });
  else return false;
}
template <class H>
bool call_on_mutation(H& h, const BlockMutation& m, const SearchState& s) {
  if constexpr (requires { h.on_mutation(m, s); }) return stop_requested([&] { return h.on_mutation(m, s); });
  else return false;
}
template <class H>
bool call_on_elimination(H& h, const Elimination& x, const SearchState& s) {
  if constexpr (requires { h.on_elimination(x, s); }) return stop_requested([&] { return h.on_elimination(x, s); });
  else return false;
}
template <class H>
void call_on_end(H& h, const SearchResult& r, const SearchState& s) {
  if constexpr (requires { h.on_end(r, s); }) h.on_end(r, s);
}
}  // namespace detail

}  // namespace faunae

// Ready-made hooks: a JSON-lines logger, a console progress display, and a stop condition.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/concepts/hooks.hpp"
#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/serialization.hpp"

namespace faunae {

/// Writes one JSON object per epoch (the full EpochRecord plus the ops left per block) to a stream or
/// a file opened in append mode, flushed after every line so that a killed run keeps its log.
class JsonLinesLogger {
 public:
  explicit JsonLinesLogger(std::ostream& out) : out_(&out) {}
  explicit JsonLinesLogger(const std::filesystem::path& path) : file_(path, std::ios::app), out_(&file_) {
    if (!file_) throw IoError(fmt::format("faunae::JsonLinesLogger: cannot open '{}' for appending", path.string()));
  }

  void on_epoch(const EpochRecord& record, const SearchState& state) {
    nlohmann::json line = detail::record_to_json(record);
    nlohmann::json left = nlohmann::json::array();
    for (std::size_t b = 0; b < state.stats.num_blocks(); ++b) left.push_back(state.stats.ops_left(b));
    line["ops_left"] = std::move(left);
    line["evaluations"] = state.evaluations;
    *out_ << line.dump() << '\n';
    out_->flush();
    if (!*out_) throw IoError("faunae::JsonLinesLogger: writing the log failed (disk full?)");
  }

 private:
  std::ofstream file_;
  std::ostream* out_;
};

/// A one-line progress display for a terminal: epoch, ops left, loss, elapsed and remaining time.
/// Redraws in place ('\r') on a terminal; prints one line per epoch elsewhere (logs, pipes).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::size_t planned_epochs = 0, std::FILE* out = stderr)
      : ProgressDisplay(planned_epochs, out, is_terminal(out)) {}
  ProgressDisplay(std::size_t planned_epochs, std::FILE* out, bool in_place)
      : planned_(planned_epochs), out_(out), in_place_(in_place), start_(std::chrono::steady_clock::now()) {}

  static bool is_terminal(std::FILE* f) {
#ifdef FAUNAE_HAVE_POSIX_IO
    return f != nullptr && ::isatty(::fileno(f)) == 1;
#else
    (void)f;
    return false;
#endif
  }

  void on_epoch(const EpochRecord& record, const SearchState& state) {
    using namespace std::chrono;
    const double elapsed = duration<double>(steady_clock::now() - start_).count();
    const std::size_t done = record.epoch;
    std::string remaining = "?";
    if (planned_ > 0 && done > 0 && done <= planned_)
      remaining = format_seconds(elapsed / static_cast<double>(done) * static_cast<double>(planned_ - done));
    std::size_t accepted = 0;
    for (const auto& m : record.mutations) accepted += m.accepted ? 1 : 0;
    fmt::print(out_, "{}[faunae] epoch {}{} | ops left ≤{} | loss {:.4f} | mutated {} kept {} | {} elapsed, {} left{}",
               in_place_ ? "\r" : "", done, planned_ > 0 ? fmt::format("/{}", planned_) : "", state.stats.max_ops_left(),
               record.loss, record.mutations.size(), accepted, format_seconds(elapsed), remaining,
               in_place_ ? "   " : "\n");
    std::fflush(out_);
  }

  void on_end(const SearchResult& result, const SearchState&) {
    fmt::print(out_, "{}[faunae] {} after {} evaluations: {}\n", in_place_ ? "\n" : "",
               result.finished ? "finished" : "stopped", result.evaluations, result.architecture.to_string());
    std::fflush(out_);
  }

  static std::string format_seconds(double s) {
    const auto t = static_cast<long long>(s + 0.5);
    if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
    if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
    return fmt::format("{}s", t);
  }

 private:
  std::size_t planned_;
  std::FILE* out_;
  bool in_place_;
  std::chrono::steady_clock::time_point start_;
};

/// Stops the search after a given number of mutation epochs (the state stays resumable).
class StopAfter {
 public:
  explicit StopAfter(std::size_t epochs) : epochs_(epochs) {}
  bool on_epoch(const EpochRecord& record, const SearchState&) const { return record.epoch >= epochs_; }

 private:
  std::size_t epochs_;
};

static_assert(Hook<JsonLinesLogger> && Hook<ProgressDisplay> && Hook<StopAfter>);

}  // namespace faunae

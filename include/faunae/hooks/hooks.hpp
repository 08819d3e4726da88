// Ready-made hooks: a JSON-lines logger, a console progress display, and a stop condition.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
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
/// Opening a file whose last line was cut short (a crash or a full disk in the middle of a line)
/// drops that partial line first, so that the next line does not run into it.
class JsonLinesLogger {
 public:
  explicit JsonLinesLogger(std::ostream& out) : out_(&out) {}
  explicit JsonLinesLogger(const std::filesystem::path& path) : path_(path) {
    drop_partial_last_line(path);
    file_.open(path, std::ios::app);
    if (!file_) throw IoError(fmt::format("faunae::JsonLinesLogger: cannot open '{}' for appending", path.string()));
    out_ = &file_;
  }

  void on_epoch(const EpochRecord& record, const SearchState& state) {
    nlohmann::json line = detail::record_to_json(record);
    nlohmann::json left = nlohmann::json::array();
    for (std::size_t b = 0; b < state.stats.num_blocks(); ++b) left.push_back(state.stats.ops_left(b));
    line["ops_left"] = std::move(left);
    line["evaluations"] = state.evaluations;
    errno = 0;
    *out_ << line.dump() << '\n';
    out_->flush();
    if (!*out_) {
      const int err = errno;
      throw IoError(fmt::format("faunae::JsonLinesLogger: writing the log{} failed at epoch {}: {}",
                                path_.empty() ? std::string() : " '" + path_.string() + "'", record.epoch,
                                err != 0 ? std::strerror(err) : "stream error"));
    }
  }

 private:
  static void drop_partial_last_line(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size == 0) return;
    std::ifstream in(path, std::ios::binary);
    // Only the tail is read: the last newline is normally within the last line's length.
    std::uintmax_t keep = 0;
    for (std::uintmax_t chunk = 4096;; chunk *= 4) {
      const std::uintmax_t from = size > chunk ? size - chunk : 0;
      std::string tail(static_cast<std::size_t>(size - from), '\0');
      in.seekg(static_cast<std::streamoff>(from));
      in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
      if (!in) throw IoError(fmt::format("faunae::JsonLinesLogger: cannot read '{}'", path.string()));
      if (tail.back() == '\n') return;
      if (const auto nl = tail.rfind('\n'); nl != std::string::npos) {
        keep = from + nl + 1;
        break;
      }
      if (from == 0) break;  // one line and no newline: all of it is the cut line
    }
    in.close();
    std::filesystem::resize_file(path, keep, ec);
    if (ec) throw IoError(fmt::format("faunae::JsonLinesLogger: cannot drop the cut last line of '{}': {}", path.string(), ec.message()));
  }

  std::filesystem::path path_;
  std::ofstream file_;
  std::ostream* out_ = nullptr;
};

/// A one-line progress display for a terminal: phase, epoch, ops left per block (up to 16 blocks;
/// the most left in any block beyond that), loss, elapsed and remaining time, e.g.
///   [faunae] search | epoch 6/18 | ops left 3 3 2 2 3 3 3 3 | loss 5.4526 | mutated 3 kept 1 | 4m02s elapsed, 8m05s left
/// Redraws in place ('\r') on a terminal; prints one line per epoch elsewhere (logs, pipes). The
/// remaining time is extrapolated from the epochs this display has seen, so it stays right after a
/// resume.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::size_t planned_epochs = 0, std::FILE* out = stderr)
      : ProgressDisplay(planned_epochs, out, is_terminal(out)) {}
  ProgressDisplay(std::size_t planned_epochs, std::FILE* out, bool in_place)
      : planned_(planned_epochs), out_(out), in_place_(in_place), start_(std::chrono::steady_clock::now()) {}

  /// Names the phase shown first on the line (default "search").
  ProgressDisplay& phase(std::string name) {
    phase_ = std::move(name);
    return *this;
  }

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
    if (!first_epoch_) first_epoch_ = done;
    const std::size_t seen = done - *first_epoch_ + 1;  // epochs run since this display started
    std::string remaining = "?";
    if (planned_ > 0 && done <= planned_)
      remaining = format_seconds(elapsed / static_cast<double>(seen) * static_cast<double>(planned_ - done));
    std::size_t accepted = 0;
    for (const auto& m : record.mutations) accepted += m.accepted ? 1 : 0;
    std::string left;
    if (state.stats.num_blocks() <= 16) {
      for (std::size_t b = 0; b < state.stats.num_blocks(); ++b) left += fmt::format("{}{}", b ? " " : "", state.stats.ops_left(b));
    } else {
      left = fmt::format("≤{}", state.stats.max_ops_left());
    }
    fmt::print(out_, "{}[faunae] {} | epoch {}{} | ops left {} | loss {:.4f} | mutated {} kept {} | {} elapsed, {} left{}",
               in_place_ ? "\r" : "", phase_, done, planned_ > 0 ? fmt::format("/{}", planned_) : "", left, record.loss,
               record.mutations.size(), accepted, format_seconds(elapsed), remaining, in_place_ ? "   " : "\n");
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
  std::string phase_ = "search";
  std::optional<std::size_t> first_epoch_;
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

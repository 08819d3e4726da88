// fault_search: a small FaUNAE search that the fault-injection drivers kill, starve of disk and resume.
//
//   fault_search run   DIR [--resume] [--sleep-us N] [--seed S]
//       searches a synthetic space (8 blocks × 5 ops, 84 mutation epochs) with a stateful, noisy
//       evaluator that sleeps N µs per evaluation, checkpoints every epoch to DIR/checkpoint.json,
//       logs every epoch to DIR/log.jsonl and, at the end, writes DIR/result.json (the whole search
//       state: architecture, statistics, RNG, full history; and the evaluator's state). Exit 0; on an
//       error it prints "fault_search: error: <message>" and exits 1.
//   fault_search check DIR
//       the invariants after a kill: DIR/checkpoint.json loads (format, checksum, consistency), and
//       no epoch that the log reports complete is missing from it (checkpoint epoch ≥ last epoch of
//       a complete log line; the log is written after the checkpoint). Prints "checkpoint epoch E,
//       log epoch L" and exits 0, or prints what is wrong and exits 2.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/faunae.hpp"

namespace fs = std::filesystem;

namespace {

faunae::BlockSpace fault_space() {
  std::vector<faunae::Op> ops{{"identity", 0.0}, {"op1", 10.0}, {"op2", 20.0}, {"op3", 30.0}, {"op4", 40.0}};
  return faunae::uniform_space(8, ops, faunae::Architecture(std::vector<faunae::OpIndex>(8, 1)), std::string("identity"));
}

/// A stateful evaluator: a fixed landscape (op 2 best) plus noise from its own RNG, which the
/// checkpoint must carry for a resumed search to be the uninterrupted one.
class SleepyEvaluator {
 public:
  SleepyEvaluator(std::uint64_t seed, long sleep_us) : rng_(seed), sleep_us_(sleep_us) {}
  faunae::Evaluation evaluate(const faunae::Architecture& a) {
    if (sleep_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    double loss = 1.0;
    for (std::size_t b = 0; b < a.size(); ++b) {
      const double k = static_cast<double>(a[b]);
      loss += 0.1 * (k - 2.0) * (k - 2.0) + 0.01 * static_cast<double>(b);
    }
    ++calls_;
    return faunae::Evaluation{loss + 0.3 * (rng_.uniform() - 0.5), {{"calls", static_cast<double>(calls_)}}};
  }
  nlohmann::json state() const { return {{"rng", rng_}, {"calls", calls_}}; }
  void restore(const nlohmann::json& j) {
    rng_ = j.at("rng").get<faunae::Rng>();
    calls_ = j.at("calls").get<std::size_t>();
  }

 private:
  faunae::Rng rng_;
  long sleep_us_;
  std::size_t calls_ = 0;
};

using FaultSearch = faunae::FaUNAE<faunae::BlockSpace>;

FaultSearch make_search(const faunae::BlockSpace& space, std::uint64_t seed, const fs::path& checkpoint) {
  return FaultSearch(space, {.seed = seed, .checkpoint = checkpoint}, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 6}));
}

int run(const fs::path& dir, bool resume, long sleep_us, std::uint64_t seed) {
  const faunae::BlockSpace space = fault_space();
  fs::create_directories(dir);
  FaultSearch search = make_search(space, seed, dir / "checkpoint.json");
  SleepyEvaluator evaluator(seed + 1, sleep_us);
  if (resume && fs::exists(dir / "checkpoint.json")) {
    search.load(dir / "checkpoint.json", evaluator);
    fmt::print(stderr, "fault_search: resumed at epoch {}\n", search.state().epoch);
  }
  faunae::JsonLinesLogger log(dir / "log.jsonl");
  const faunae::SearchResult result = search.run(evaluator, log);
  if (!result.finished) throw std::logic_error("fault_search: the search stopped before its end");
  faunae::write_file_atomically(dir / "result.json", search.to_json(&evaluator).dump(1) + "\n");
  fmt::print(stderr, "fault_search: finished after {} epochs: {}\n", result.epochs, result.architecture.to_string());
  return 0;
}

int check(const fs::path& dir) {
  const faunae::BlockSpace space = fault_space();
  const fs::path checkpoint = dir / "checkpoint.json";
  // The last epoch of a complete (newline-terminated) log line; a line cut by the kill does not count.
  long logged = -1;
  if (fs::exists(dir / "log.jsonl")) {
    const std::string text = faunae::read_file(dir / "log.jsonl", "fault_search check");
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
      logged = std::max(logged, static_cast<long>(nlohmann::json::parse(text.substr(start, end - start)).at("epoch").get<std::size_t>()));
  }
  if (!fs::exists(checkpoint)) {
    if (logged >= 0) {
      fmt::print("LOST: the log reports epoch {} complete, but there is no checkpoint\n", logged);
      return 2;
    }
    fmt::print("no checkpoint yet, log epoch -\n");
    return 0;
  }
  // The seed is part of the stored configuration (load() compares it): take it from the file.
  std::uint64_t seed = 0;
  try {
    seed = nlohmann::json::parse(faunae::read_file(checkpoint, "fault_search check")).at("payload").at("config").at("seed").get<std::uint64_t>();
  } catch (const std::exception& e) {
    fmt::print("CORRUPT: {}\n", e.what());
    return 2;
  }
  FaultSearch search = make_search(space, seed, {});
  SleepyEvaluator evaluator(0, 0);
  try {
    search.load(checkpoint, evaluator);
  } catch (const std::exception& e) {
    fmt::print("CORRUPT: {}\n", e.what());
    return 2;
  }
  const long epoch = search.state().started() ? static_cast<long>(search.state().epoch) : -1;
  fmt::print("checkpoint epoch {}, log epoch {}\n", epoch, logged);
  if (epoch < logged) {
    fmt::print("LOST: the log reports epoch {} complete, the checkpoint holds epoch {}\n", logged, epoch);
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::strcmp(argv[1], "check") == 0) return check(argv[2]);
    if (argc < 3 || std::strcmp(argv[1], "run") != 0) {
      std::fputs("usage: fault_search run DIR [--resume] [--sleep-us N] [--seed S] | fault_search check DIR\n", stderr);
      return 64;
    }
    bool resume = false;
    long sleep_us = 0;
    std::uint64_t seed = 3;
    for (int i = 3; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg == "--resume") resume = true;
      else if (arg == "--sleep-us" && i + 1 < argc) sleep_us = std::stol(argv[++i]);
      else if (arg == "--seed" && i + 1 < argc) seed = std::stoull(argv[++i]);
      else throw faunae::InvalidArgument(fmt::format("fault_search: unknown argument '{}'", arg));
    }
    return run(argv[2], resume, sleep_us, seed);
  } catch (const std::exception& e) {
    fmt::print(stderr, "fault_search: error: {}\n", e.what());
    return 1;
  }
}

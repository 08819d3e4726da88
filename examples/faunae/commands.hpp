// The `faunae` program's commands, each in its own file, called by main.cpp once the run folder is
// locked and the configuration resolved and checked:
//
//   search   search_command.cpp  evolve α0 (or run a baseline) on unlabeled images, checkpointed every
//                                epoch, resumable; writes search.json (a faunae::RunRecord), found.json
//   train    train_command.cpp   the final unsupervised training of the found architecture, α0 and a
//                                random one at the same budget; writes weights/, train.json
//   probe    train_command.cpp   linear evaluation and kNN accuracy of the trained networks; probe.json
//   export   export_command.cpp  the trained weights (Python: torch.load) and network.json
//   report   export_command.cpp  one self-contained HTML page of the run (report.hpp)
//
// A command returns the process's exit status: 0, or 130 when SIGINT/SIGTERM stopped it (the search's
// checkpoint is saved). Errors are exceptions; main() prints them.
#pragma once

#include <atomic>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "config.hpp"

namespace faunae::program {

/// Set by SIGINT and SIGTERM: the search finishes its epoch and checkpoints, train stops after its
/// epoch; both return 130.
extern std::atomic<bool> interrupted;

int search_command(const Config& c, const std::filesystem::path& run, bool resume, bool quiet, const std::string& run_id);
/// `which`: evolved, alpha0, random.
int train_command(const Config& c, const std::filesystem::path& run, const std::vector<std::string>& which);
int probe_command(const Config& c, const std::filesystem::path& run, const std::vector<std::string>& which);
/// `name`: evolved or alpha0.
int export_command(const std::filesystem::path& run, const std::filesystem::path& out, const std::string& name);
int report_command(const std::filesystem::path& run, const std::filesystem::path& out);

}  // namespace faunae::program

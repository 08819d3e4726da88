// faunae: the paper's whole pipeline on unlabeled images, without writing C++ — and, for C++ users,
// the example of how the library's pieces fit:
//
//   search   evolve α0 on unlabeled images (Algorithm 1: FaunaeMutation + UcbElimination, scored by
//            the ContrastiveEvaluator, or by a zero-cost proxy: search.evaluator), checkpointed every
//            epoch, resumable (--resume); search.method picks a variant (faunae-ts, faunae-r) or a
//            baseline (random, rea, local) instead, all of them faunae::Search objects run by the
//            same run_search
//   train    final unsupervised training of the found architecture (and of α0 and a random one, at
//            the same budget, for comparison)
//   probe    linear evaluation and kNN accuracy of the trained networks (the labels' only use)
//   export   the trained weights (Python: torch.load) and the architecture JSON
//   report   one self-contained HTML page of the run
//   pipeline all of the above, in order (the README's demo)
//
// Everything of a run lives in its folder (--run DIR): config.json, checkpoint.json and evaluator/
// (search state), log.jsonl, search.json, weights/, train.json, probe.json, report.html.
//
// The program's files: main.cpp (the command line), config.hpp/.cpp (the configuration),
// library_options.hpp (the configuration as the library's options), run_folder.hpp/.cpp (one run, one
// writer), commands.hpp and one file per command (search_command.cpp, train_command.cpp for train and
// probe, export_command.cpp for export and report), run_setup.hpp (what the commands share on the
// torch side) and report.hpp/.cpp (the HTML page, from report/page.css and page.js).
#include <atomic>
#include <csignal>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <faunae/core/error.hpp>
#include <faunae/core/run_folder.hpp>
#include <faunae/torch/cpu_memory.hpp>
#include <faunae/torch/error_text.hpp>

#include "commands.hpp"
#include "config.hpp"
#include "library_options.hpp"
#include "run_folder.hpp"

namespace fs = std::filesystem;
namespace program = faunae::program;
using faunae::program::Config;

std::atomic<bool> faunae::program::interrupted{false};

int main(int argc, char** argv) {
  CLI::App app{"faunae: Fast and Unsupervised Neural Architecture Evolution (Xue et al., IEEE CIM 2021).\n"
               "Evolves an architecture on unlabeled images, trains it, and judges it by linear evaluation.\n"
               "Start with `faunae pipeline` (Fashion-MNIST from Debian's dataset-fashion-mnist, a few CPU minutes)."};
  app.require_subcommand(1);
  std::string run_dir = "runs/default", config_file;
  std::vector<std::string> sets, which{"evolved", "alpha0", "random"};
  bool quiet = false, overwrite = false;
  std::string resume_mode;  // "" (not given), "on" (--resume), "auto" (--resume=auto)
  std::string export_out, export_which = "evolved", report_out;
  const auto common = [&](CLI::App* sub) {
    sub->add_option("--run", run_dir, "the run's folder (created; holds config, checkpoints, logs, weights, report)")->capture_default_str();
    sub->add_option("--config", config_file, "a JSON configuration (docs/program.md lists every key)");
    sub->add_option("--set", sets, "override one key, e.g. --set search.epochs_per_op=3 --set device=cuda")->take_all();
  };
  auto* search_cmd = app.add_subcommand("search", "evolve α0 on unlabeled images (checkpoint every epoch)");
  common(search_cmd);
  search_cmd->add_flag("--resume{on}", resume_mode,
                       "continue the run in --run from its last checkpoint; --resume=auto: the same, and start a new run if the folder "
                       "holds none (for restarting launchers: torchrun --max-restarts, Slurm --requeue)");
  search_cmd->add_flag("--overwrite", overwrite, "the folder holds a run: move it aside to <run>.replaced-<UTC time>, then start");
  search_cmd->add_flag("--quiet,-q", quiet, "no progress line");
  auto* train_cmd = app.add_subcommand("train", "train the evolved (and α0, random) architecture without labels");
  common(train_cmd);
  train_cmd->add_option("--which", which, "evolved, alpha0, random")->delimiter(',')->capture_default_str();
  auto* probe_cmd = app.add_subcommand("probe", "linear evaluation and kNN of the trained networks (uses labels)");
  common(probe_cmd);
  probe_cmd->add_option("--which", which, "evolved, alpha0, random")->delimiter(',')->capture_default_str();
  auto* export_cmd = app.add_subcommand("export", "write the trained weights and the architecture JSON");
  common(export_cmd);
  export_cmd->add_option("--out", export_out, "folder to write")->required();
  export_cmd->add_option("--which", export_which, "evolved or alpha0")->capture_default_str();
  auto* report_cmd = app.add_subcommand("report", "write the run's HTML report");
  common(report_cmd);
  report_cmd->add_option("--out", report_out, "the HTML file (default: <run>/report.html)");
  auto* pipeline_cmd = app.add_subcommand("pipeline", "search, train, probe and report in one go (the README demo)");
  common(pipeline_cmd);
  pipeline_cmd->add_flag("--resume{on}", resume_mode, "continue an interrupted search (--resume=auto: or start if there is none)");
  pipeline_cmd->add_flag("--overwrite", overwrite, "the folder holds a run: move it aside to <run>.replaced-<UTC time>, then start");
  pipeline_cmd->add_flag("--quiet,-q", quiet, "no progress line");
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, [](int) { faunae::program::interrupted.store(true); });
  std::signal(SIGTERM, [](int) { faunae::program::interrupted.store(true); });
  try {
    if (!resume_mode.empty() && resume_mode != "on" && resume_mode != "auto")
      throw faunae::InvalidArgument(fmt::format("--resume: takes no value or 'auto', got '{}'", resume_mode));
    const bool resume = !resume_mode.empty();
    const bool starts = search_cmd->parsed() || pipeline_cmd->parsed();
    const std::string command = search_cmd->parsed() ? "search" : "pipeline";
    if (overwrite && resume)
      throw faunae::InvalidArgument(fmt::format("faunae {}: --overwrite and --resume exclude each other: --resume continues the run in "
                                                "'{}', --overwrite moves it aside and starts a new one",
                                                command, run_dir));
    const fs::path run(run_dir);
    // One process in a run folder at a time, whatever the command: a second one stops here, at once.
    faunae::RunFolderLock lock(run);
    const bool fresh = starts ? !resume : false;
    // The configuration first: a bad --set or --config must leave the folder as it is (--overwrite
    // moves nothing then). A fresh run reads nothing from the folder.
    const Config c = program::resolve_config(run, config_file, sets, fresh);
    // The commands that build networks check the library's options now (export and report read only
    // the run's files: a run made on CUDA can be reported on a machine without it).
    if (!export_cmd->parsed() && !report_cmd->parsed()) program::check_library_options(c);
    if (starts && !resume) {
      // Never a new run over (or mixed into) another one.
      if (const std::string held = program::describe_run(run); !held.empty()) {
        if (!overwrite)
          throw faunae::InvalidArgument(fmt::format(
              "faunae {}: the run folder '{}' already holds {}; continue it with --resume, start over with --overwrite (which moves it "
              "to '{}.replaced-<UTC time>' first), or choose another --run",
              command, run.string(), held, run.string()));
        const fs::path aside = program::aside_folder(run);
        std::error_code ec;
        fs::rename(run, aside, ec);  // the locked .lock moves along: nobody can take the old run meanwhile
        if (ec)
          throw faunae::IoError(fmt::format("faunae {} --overwrite: cannot move '{}' to '{}': {}", command, run.string(), aside.string(),
                                            ec.message()));
        lock = faunae::RunFolderLock(run);
        fmt::print(stderr, "[faunae] --overwrite: moved {} from {} to {}\n", held, run.string(), aside.string());
      }
    }
    // The run's id: kept on resume, new for a new run (legacy runs resumed keep none).
    std::string run_id = starts && resume ? program::folder_run_id(run) : std::string();
    if (starts && run_id.empty() && !(resume && fs::exists(run / "checkpoint.json"))) run_id = faunae::new_run_id();
    // A resume from a checkpoint writes config.json once the checkpoint accepts it (run_search), so a
    // refused --resume --set ... leaves the run as it was.
    if (starts && !(resume && fs::exists(run / "checkpoint.json"))) program::write_config(run, c, run_id);
    torch::set_num_threads(static_cast<int>(c.threads));
    torch::set_num_interop_threads(1);
    faunae::torch_backend::keep_freed_cpu_memory();  // no page faults on every step's tensors (cpu_memory.hpp)
    const fs::path report_file = report_out.empty() ? run / "report.html" : fs::path(report_out);
    if (search_cmd->parsed()) return program::search_command(c, run, resume, quiet, run_id);
    if (train_cmd->parsed()) return program::train_command(c, run, which);
    if (probe_cmd->parsed()) return program::probe_command(c, run, which);
    if (export_cmd->parsed()) return program::export_command(run, export_out, export_which);
    if (report_cmd->parsed()) return program::report_command(run, report_file);
    // pipeline
    if (const int rc = program::search_command(c, run, resume, quiet, run_id); rc != 0) return rc;
    if (const int rc = program::train_command(c, run, which); rc != 0) return rc;
    if (const int rc = program::probe_command(c, run, which); rc != 0) return rc;
    return program::report_command(run, report_file);
  } catch (const std::exception& e) {
    fmt::print(stderr, "faunae: error: {}\n", faunae::torch_backend::error_text(e, 2000));
    return 1;
  }
}

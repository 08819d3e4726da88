// FaUNAE on NAS-Bench-Macro (CIFAR-10, 6561 architectures measured by training): evolves α0 with the
// noisy tabular evaluator and prints the found architecture, its true mean accuracy, its rank among
// the 6561 and the evaluations used. By default the faithful FaUNAE and the recommended FaUNAE-TS run
// side by side from the same α0, with the same budget and evaluator noise (--method picks one, or
// faunae-lt). With one method it is resumable: --checkpoint run.json, then --resume.
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <faunae/faunae.hpp>
#include <faunae/tabular.hpp>

int main(int argc, char** argv) {
  CLI::App app{"FaUNAE on NAS-Bench-Macro: evolve an architecture against real CIFAR-10 measurements"};
  std::string table_path = FAUNAE_NAS_BENCH_MACRO;
  std::string alpha0 = "11111111";
  std::uint64_t seed = 0;
  std::size_t epochs_per_op = 3;
  double epsilon = faunae::FaunaeMutationOptions{}.epsilon;
  std::string checkpoint, log, out;
  std::vector<std::string> methods{"faunae", "faunae-ts"};
  bool resume = false, quiet = false;
  app.add_option("--table", table_path, "NAS-Bench-Macro JSON file")->check(CLI::ExistingFile);
  app.add_option("--alpha0", alpha0, "initial architecture: an 8-character key over {0,1,2}, or 'random'");
  app.add_option("--seed", seed, "seed of the search (the evaluator's noise and a random α0 use streams derived from it)");
  app.add_option("--epochs-per-op,-E", epochs_per_op, "E: epochs per remaining op between eliminations")->check(CLI::PositiveNumber);
  app.add_option("--epsilon", epsilon, "ε of eq. (1) (faunae)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--method", methods, "faunae (the paper's), faunae-ts (recommended), faunae-lt; comma-separated, run side by side")
      ->delimiter(',')
      ->check(CLI::IsMember({"faunae", "faunae-ts", "faunae-lt"}));
  app.add_option("--checkpoint", checkpoint, "save the search state here after every epoch (atomically)");
  app.add_flag("--resume", resume, "continue from --checkpoint instead of starting over");
  app.add_option("--log", log, "append one JSON line per epoch to this file");
  app.add_option("--out", out, "write the found architecture's JSON here");
  app.add_flag("--quiet,-q", quiet, "no progress line");
  CLI11_PARSE(app, argc, argv);
  if (resume && checkpoint.empty()) {
    std::cerr << "--resume needs --checkpoint PATH\n";
    return 2;
  }
  if (methods.size() != 1 && !(checkpoint.empty() && log.empty() && out.empty())) {
    std::cerr << "--checkpoint, --log and --out need one --method (got " << methods.size() << ")\n";
    return 2;
  }

  try {
    const auto table = faunae::tabular::BenchmarkTable::load(table_path);
    faunae::Architecture initial;
    if (alpha0 == "random") {
      faunae::Rng rng(faunae::stream_seed(seed, "example.initial"));
      const faunae::tabular::TabularSpace any(table, "11111111");
      initial = faunae::random_architecture(any, rng);
    } else {
      initial = table.architecture(alpha0);
    }
    const faunae::tabular::TabularSpace space(table, initial);
    auto describe = [&](const faunae::Architecture& a) {
      const auto& e = table.at(a);
      return fmt::format("{}  true mean accuracy {:.3f}%  rank {:>4} / {}  params {:.3f}M", table.key(a), e.mean,
                         table.rank(a), table.size(), e.size / 1e6);
    };
    std::cout << "alpha0: " << describe(initial) << '\n';
    // One search, whichever its type: resume, hooks, the report.
    const auto run = [&](auto& search, const std::string& title) {
      // Every method sees the same evaluator noise stream (a fresh evaluator with the same seed).
      faunae::tabular::TabularEvaluator evaluator(table, faunae::stream_seed(seed, "example.evaluator_noise"));
      if (resume && std::filesystem::exists(checkpoint)) {
        search.load(checkpoint, evaluator);
        std::cerr << fmt::format("resumed from {} at epoch {}\n", checkpoint, search.state().epoch);
      }
      // Hooks are compile-time: pick the combination the flags ask for.
      faunae::ProgressDisplay progress(search.planned_epochs());
      std::optional<faunae::JsonLinesLogger> logger;
      if (!log.empty()) logger.emplace(std::filesystem::path(log));
      const auto found = quiet ? (logger ? search.run(evaluator, *logger) : search.run(evaluator))
                               : (logger ? search.run(evaluator, *logger, progress) : search.run(evaluator, progress));
      std::cout << fmt::format("{:<27} {}\n", title + ":", describe(found.architecture))
                << fmt::format("{:<27} {} evaluations ({} mutation epochs{})\n", "", found.evaluations, found.epochs,
                               found.finished ? "" : ", not finished");
      if (methods.size() == 1) std::cout << faunae::architecture_to_json(space, found.architecture).dump() << '\n';
      if (!out.empty())
        faunae::write_file_atomically(out, faunae::architecture_to_json(space, found.architecture).dump(2) + "\n");
    };
    const faunae::SearchOptions options{.seed = seed, .checkpoint = checkpoint};
    for (const std::string& method : methods) {
      if (method == "faunae") {
        faunae::FaUNAE<faunae::tabular::TabularSpace> search(space, options, faunae::FaunaeMutation({.epsilon = epsilon}),
                                                             faunae::UcbElimination({.epochs_per_op = epochs_per_op}));
        run(search, "FaUNAE (the paper's)");
      } else if (method == "faunae-ts") {
        faunae::FaUNAETS<faunae::tabular::TabularSpace> search(space, options, faunae::ThompsonMutation(),
                                                               faunae::PosteriorElimination({.epochs_per_op = epochs_per_op}));
        run(search, "FaUNAE-TS (recommended)");
      } else {
        auto search = faunae::faunae_lt(space, options, epochs_per_op);
        run(search, "FaUNAE-LT");
      }
    }
    std::cout << fmt::format("best in table: {:.3f}%\n", table.best_mean());
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}

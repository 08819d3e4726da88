// `faunae export` and `faunae report` (commands.hpp): what leaves the run folder for use elsewhere.
// Neither needs Torch: export copies the trained weights and writes network.json from the run record.
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <faunae/core/architecture_json.hpp>
#include <faunae/core/atomic_file.hpp>
#include <faunae/core/error.hpp>
#include <faunae/core/run_record.hpp>

#include "commands.hpp"
#include "report.hpp"
#include "run_folder.hpp"

namespace faunae::program {

namespace fs = std::filesystem;

int export_command(const fs::path& run, const fs::path& out, const std::string& name) {
  const auto weights = run / "weights" / (name + ".pt");
  if (!fs::exists(weights)) throw faunae::IoError(fmt::format("export: {} is missing: run `faunae train --which {}` first", weights.string(), name));
  check_same_run(run, folder_run_id(run), {"search.json", "train.json"}, "export");
  const faunae::RunRecord record = faunae::read_run_record(run / "search.json", "faunae export", "run `faunae search` first");
  if (!record.config.is_object() || !record.config.contains("space") || !record.config.contains("data"))
    throw faunae::InvalidArgument(fmt::format("faunae export: {}: 'config' must hold the run's 'space' and 'data' sections",
                                              (run / "search.json").string()));
  fs::create_directories(out);
  fs::copy_file(weights, out / "weights.pt", fs::copy_options::overwrite_existing);
  const faunae::ArchitectureSummary& a = name == "evolved" ? record.found : record.initial;
  const nlohmann::json network = {{"space", record.config["space"]}, {"data", record.config["data"]}, {"architecture", faunae::architecture_summary_to_json(record.space, a)}};
  faunae::write_file_atomically(out / "network.json", network.dump(2) + "\n");
  fmt::print("exported {} to {}: weights.pt (Python: torch.load(...) gives a dict name → tensor), network.json\n", name, out.string());
  return 0;
}

int report_command(const fs::path& run, const fs::path& out) {
  check_same_run(run, folder_run_id(run), {"search.json", "train.json", "probe.json"}, "report");
  faunae::report::write_report(run, out);
  fmt::print("report: {}\n", out.string());
  return 0;
}

}  // namespace faunae::program

// The `faunae` program's run folder (run_folder.hpp).
#include "run_folder.hpp"

#include <array>
#include <ctime>
#include <exception>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/json_reader.hpp"

namespace faunae::program {

namespace fs = std::filesystem;

namespace {

/// The files that make a folder hold a run (".lock" alone does not).
constexpr std::array<std::string_view, 11> kRunFiles = {"config.json", "checkpoint.json", "evaluator", "log.jsonl", "search.json",
                                                        "found.json",  "weights",         "train.json", "probe.json", "report.html",
                                                        "checkpoint.json.tmp"};

/// The run id recorded in a run file's JSON ("" for files written before run ids existed).
std::string run_id_in(const nlohmann::json& j) {
  return j.is_object() && j.contains("run_id") && j["run_id"].is_string() ? j["run_id"].get<std::string>() : std::string();
}

}  // namespace

std::string folder_run_id(const fs::path& run) {
  try {
    if (fs::exists(run / "config.json")) return run_id_in(read_config_file(run / "config.json"));
  } catch (const std::exception&) {
  }
  return "";
}

std::string describe_run(const fs::path& run) {
  std::vector<std::string> parts;
  for (const auto name : kRunFiles) {
    const auto path = run / std::string(name);
    if (!fs::exists(path)) continue;
    std::string part(name);
    try {
      if (name == "search.json") {
        const auto j = read_json_file(path, "faunae");
        part = fmt::format("a {} search of {} epochs (search.json)", j.value("finished", false) ? "finished" : "stopped",
                           j.contains("history") ? j["history"].size() : 0);
      } else if (name == "checkpoint.json") {
        const auto j = read_json_file(path, "faunae");
        part = fmt::format("checkpoint.json at epoch {}", j.at("payload").at("state").at("epoch").dump());
      }
    } catch (const std::exception&) {
    }
    parts.push_back(part);
  }
  if (parts.empty()) return "";
  const std::string id = folder_run_id(run);
  return fmt::format("{}: {}", id.empty() ? std::string("a run") : "run " + id, fmt::join(parts, ", "));
}

void write_config(const fs::path& run, const Config& c, const std::string& run_id) {
  auto j = config_to_json(c);
  j["run_id"] = run_id;
  write_file_atomically(run / "config.json", j.dump(2) + "\n");
}

void check_same_run(const fs::path& run, const std::string& run_id, std::initializer_list<std::string_view> files, std::string_view command) {
  for (const auto name : files) {
    const auto path = run / std::string(name);
    if (!fs::exists(path)) continue;
    const std::string id = run_id_in(read_json_file(path, fmt::format("faunae {}", command)));
    if (id != run_id)
      throw InvalidArgument(fmt::format(
          "faunae {}: '{}' belongs to run {}, but the run folder '{}' holds run {} (config.json): its files come from two runs; "
          "start again with `faunae search --run {} --overwrite` (or restore the file)",
          command, path.string(), id.empty() ? std::string("<none>") : id, run.string(), run_id.empty() ? std::string("<none>") : run_id,
          run.string()));
  }
}

fs::path aside_folder(const fs::path& run) {
  fs::path base = fs::absolute(run).lexically_normal();
  if (base.filename().empty()) base = base.parent_path();
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  fs::path aside = base.parent_path() / fmt::format("{}.replaced-{}", base.filename().string(), stamp);
  for (int n = 2; fs::exists(aside); ++n) aside = base.parent_path() / fmt::format("{}.replaced-{}-{}", base.filename().string(), stamp, n);
  return aside;
}

Config resolve_config(const fs::path& run, const std::string& file, const std::vector<std::string>& sets, bool fresh) {
  nlohmann::json j = nlohmann::json::object();
  const auto saved = run / "config.json";
  if (!fresh && fs::exists(saved)) j = read_config_file(saved);
  else if (!file.empty()) j = read_config_file(file);
  // The run's id is no configuration: config.json records it (write_config), and another run's
  // config.json given as --config lends its keys, not its id.
  if (j.is_object()) j.erase("run_id");
  for (const auto& s : sets) apply_override(j, s);
  return config_from_json(j);
}

}  // namespace faunae::program

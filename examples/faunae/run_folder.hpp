// The `faunae` program's run folder: one run, one writer.
//
// Every command holds the folder's lock (faunae::RunFolderLock, `.lock`) while it runs, so a second
// process on the same folder stops at once. A run has an id (config.json's "run_id", 16 hex digits),
// copied into search.json, train.json and probe.json; train, probe, export and report refuse files of
// another run. A new search refuses a folder that holds a run: --resume continues it, --overwrite
// moves it aside to the sibling folder `<DIR>.replaced-<UTC time>` first (nothing is deleted).
#pragma once

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace faunae::program {

/// The id of the run in `run` (config.json's "run_id"; "" if none or no config.json).
std::string folder_run_id(const std::filesystem::path& run);

/// What `run` holds, for the refusal of a new search: "" if no run, else e.g. "run 3f2a9c0d1e4b5a67:
/// a finished search of 19 epochs (search.json), checkpoint.json at epoch 19, train.json, probe.json".
std::string describe_run(const std::filesystem::path& run);

/// Writes the run's config.json: the resolved configuration and the run's id.
void write_config(const std::filesystem::path& run, const Config& c, const std::string& run_id);

/// Refuses to go on when a file of `files` in `run` belongs to another run than the folder's
/// (config.json's `run_id`): `command` would mix two runs.
void check_same_run(const std::filesystem::path& run, const std::string& run_id, std::initializer_list<std::string_view> files,
                    std::string_view command);

/// The sibling folder that --overwrite moves `run` to: `<run>.replaced-<UTC time>` (then -2, -3, ...
/// if that exists).
std::filesystem::path aside_folder(const std::filesystem::path& run);

/// The configuration of a command: `run`'s config.json unless `fresh` (a new search), else the file
/// `file` (if given), then the --set assignments `sets`. The run's id is no configuration: it is left out.
Config resolve_config(const std::filesystem::path& run, const std::string& file, const std::vector<std::string>& sets, bool fresh);

}  // namespace faunae::program
